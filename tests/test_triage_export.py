"""`kampung reports export`: CSV and XLSX that spreadsheets open, Open311 GeoReport v2
JSON with the fields city systems read, an RT-only export, and the same files sent in
chat from the triage flow (an RT head's file holds only their RT)."""
from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app import build_app
from bot.cli import main
from bot.messages import Media
from bot.roles_admin import grant_role
from bot.settings import load_settings

# Fixtures: three reports in RT 04 and 05, Pak Joko (ketua RT 04), Bu Ani (koordinator).
from tests.test_triage import PAK_RT, koordinator, pak_rt, reports  # noqa: F401
from tests.transcript import Kampung


@pytest.fixture
def export(monkeypatch, settings, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))

    def run(*argv: str) -> tuple[int, str]:
        code = main(["--env-file", "/nonexistent", "reports", "export", *argv])
        return code, capsys.readouterr().out.strip()

    return run


@pytest.fixture
def closed_one(reports, monkeypatch, settings, capsys):  # noqa: F811
    """LPR-0002 is done, with a note."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    main(["--env-file", "/nonexistent", "reports", "set-status", "LPR-0002", "diverifikasi"])
    main(["--env-file", "/nonexistent", "reports", "set-status", "LPR-0002", "dikerjakan"])
    main(["--env-file", "/nonexistent", "reports", "set-status", "LPR-0002", "selesai", "--note", "sudah diaspal"])
    capsys.readouterr()


def test_csv_has_every_report_oldest_first(closed_one, export, tmp_path):
    out = tmp_path / "laporan.csv"
    assert export("--format", "csv", "--output", str(out)) == (0, f"3 laporan ditulis ke {out}")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["ticket"] for r in rows] == ["LPR-0001", "LPR-0002", "LPR-0003"]
    first, second = rows[0], rows[1]
    assert (first["category"], first["rt"], first["status"]) == ("Jalan rusak / berlubang", "04", "baru")
    assert (first["lat"], first["lon"], first["people"]) == ("-6.9932", "110.4203", "1")
    assert first["created_at"].endswith("+07:00")
    assert (second["status"], second["status_note"]) == ("selesai", "sudah diaspal")


def test_xlsx_opens_in_openpyxl(closed_one, export, tmp_path):
    code, said = export("--format", "xlsx")
    assert code == 0
    path = said.rsplit(" ", 1)[1]
    assert path.startswith(str(tmp_path / "data" / "exports")) and path.endswith(".xlsx")
    sheet = load_workbook(path).active
    values = list(sheet.values)
    assert values[0][:4] == ("ticket", "category", "rt", "status")
    assert [v[0] for v in values[1:]] == ["LPR-0001", "LPR-0002", "LPR-0003"]
    assert values[1][6:8] == (-6.9932, 110.4203)


def test_open311_fields(closed_one, export, tmp_path):
    out = tmp_path / "requests.json"
    assert export("--format", "open311", "--output", str(out))[0] == 0
    requests = json.loads(out.read_text(encoding="utf-8"))
    first, second = requests[0], requests[1]
    assert first["service_request_id"] == "LPR-0001"
    assert (first["status"], second["status"]) == ("open", "closed")
    assert first["service_name"] == "Jalan rusak / berlubang" and first["service_code"] == "road"
    assert first["description"] == "jalan berlubang depan masjid"
    assert (first["lat"], first["long"]) == (-6.9932, 110.4203)
    assert first["address"] == "RT 04" and second["address"] == "RT 05"
    assert first["requested_datetime"] == "2026-11-22T10:00:00+07:00"
    assert second["updated_datetime"].endswith("+07:00") and second["status_notes"] == "sudah diaspal"


def test_rt_export_has_only_that_rt(closed_one, export, tmp_path):
    out = tmp_path / "rt05.csv"
    assert export("--format", "csv", "--rt", "5", "--output", str(out))[0] == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        assert [r["ticket"] for r in csv.DictReader(fh)] == ["LPR-0002"]


def test_photo_urls_and_landmark(kampung, export, tmp_path, clock):
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.onboard()
    sri.says("lapor")
    sri.says("1", media=[Media("https://api.twilio.com/media/ME1", "image/jpeg")])
    sri.says("jalan ambles dekat jembatan")  # the photo came first: no photo question
    sri.says("depan warung Bu Tini")
    clock.set(clock.now() + timedelta(minutes=1))
    sri.says("kirim").hears("LPR-0001")
    out = tmp_path / "r.json"
    export("--format", "open311", "--output", str(out))
    request = json.loads(out.read_text(encoding="utf-8"))[0]
    assert request["media_url"] == "https://api.twilio.com/media/ME1"
    assert request["address"] == "depan warung Bu Tini, RT 04"
    assert request["lat"] is None and request["long"] is None


# -- export in chat ---------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path):
    """The conftest settings with the data directory (where exports go) under tmp_path."""
    return load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{tmp_path}/kampung.db",
                                                 "DATA_DIR": str(tmp_path / "data")})


def sent_file(replies, settings):
    """The one document in a reply, checked to be an existing file under DATA_DIR/exports."""
    documents = [m["document_path"] for m in replies.messages if m["document_path"]]
    assert len(documents) == 1, replies.messages
    path = Path(documents[0])
    assert path.is_file() and path.resolve().is_relative_to((settings.data_dir / "exports").resolve())
    return path


def test_rt_head_gets_an_xlsx_of_their_rt_only(closed_one, pak_rt, settings):  # noqa: F811
    pak_rt.says("tangani laporan")
    pak_rt.says("unduh").at("triage", "export").offers("Excel (XLSX)", "CSV", "Kembali ke daftar")
    pak_rt.says("pdf").hears("Maaf").at("triage", "export")  # not offered: asked again, nothing written
    assert not (settings.data_dir / "exports").exists()
    replies = pak_rt.says("exel").hears("Ini file laporannya (Excel (XLSX)): 2 laporan dari RT 04.").at(
        "triage", "list")
    path = sent_file(replies, settings)
    assert path.name.startswith("reports-rt04-") and path.suffix == ".xlsx"
    values = list(load_workbook(path).active.values)
    assert [v[0] for v in values[1:]] == ["LPR-0001", "LPR-0003"]
    assert {v[2] for v in values[1:]} == {"04"}


def test_koordinator_gets_a_csv_of_every_rt_closed_ones_too(closed_one, koordinator, settings):  # noqa: F811
    koordinator.says("kelola laporan")
    replies = koordinator.says("download").at("triage", "export")
    assert replies.choices[:3] == ["Excel (XLSX)", "CSV", "Open311 (untuk sistem aduan kota)"]
    path = sent_file(koordinator.says("2").hears("3 laporan dari semua RT"), settings)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["ticket"], r["status"]) for r in rows] == [("LPR-0001", "baru"), ("LPR-0002", "selesai"),
                                                          ("LPR-0003", "baru")]


def test_export_with_no_open_reports_and_open311(kampung, pak_rt, settings):  # noqa: F811
    pak_rt.says("tangani laporan").hears("Tidak ada laporan terbuka")
    pak_rt.says("1").at("triage", "export")
    path = sent_file(pak_rt.says("open311").hears("0 laporan dari RT 04"), settings)
    assert path.suffix == ".json" and json.loads(path.read_text(encoding="utf-8")) == []


def test_batal_at_the_format_writes_nothing(reports, pak_rt, settings):  # noqa: F811
    pak_rt.says("tangani laporan")
    pak_rt.says("unduh laporan").at("triage", "export")
    pak_rt.says("kembali").at("triage", "list")
    pak_rt.says("unduh").at("triage", "export")
    pak_rt.says("batal").at("help", "menu")
    assert not (settings.data_dir / "exports").exists()


def test_export_resumes_after_restart(reports, pak_rt, settings, clock, app):  # noqa: F811
    pak_rt.says("tangani laporan")
    pak_rt.says("unduh").at("triage", "export")
    app.engine.dispose()
    clock.set(clock.now() + timedelta(hours=2))
    again = build_app(settings, clock=clock)
    try:
        replies = Kampung(again).resident(f"whatsapp:{PAK_RT}").says("csv").hears("2 laporan dari RT 04")
        assert sent_file(replies, settings).suffix == ".csv"
    finally:
        again.engine.dispose()


@pytest.mark.parametrize("language, command, export_word, expected", [
    ("2", "triage", "download", "Here is the reports file (CSV): 3 reports from every RT."),
    ("3", "ngurus laporan", "undhuh", "Iki filé laporan (CSV): 3 laporan saka kabèh RT."),
])
def test_export_in_english_and_javanese(reports, kampung, app, settings, language, command, export_word,  # noqa: F811
                                        expected):
    wiryo = kampung.resident("whatsapp:+6281234567009")
    wiryo.onboard(name="Pak Wiryo", language=language)
    with app.sessions.begin() as session:
        grant_role(session, "+6281234567009", "ketua_rw", None)
    wiryo.says(command)
    asked = wiryo.says(export_word).at("triage", "export")
    assert "Mau file jenis apa" not in asked.text
    sent_file(wiryo.says("csv").hears(expected), settings)
