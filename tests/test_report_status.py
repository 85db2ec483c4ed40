"""A report's status lifecycle through `kampung reports set-status`: allowed changes,
refused ones with a clear message, and the news reaching reporter and supporters in
their own language."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.cli import main
from db.models import Outbox
from db.reports import Report


@pytest.fixture
def darmi(kampung):
    """A supporter who reads Javanese, on Telegram."""
    darmi = kampung.resident("telegram:5150")
    darmi.onboard(name="Mbah Darmi", language="3")
    return darmi


@pytest.fixture
def reported(sri, darmi):
    sri.says("lapor")
    sri.says("4")
    sri.says("lampu mati depan masjid")
    sri.says("lewati")
    sri.says("lewati")
    sri.says("kirim").hears("LPR-0001")
    darmi.says("lapor")
    darmi.says("4")
    darmi.says("1").hears("LPR-0001")


@pytest.fixture
def cli(monkeypatch, settings, capsys):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)

    def run(*argv: str) -> tuple[int, str]:
        code = main(["--env-file", "/nonexistent", "reports", "set-status", *argv])
        return code, capsys.readouterr().out.strip()

    return run


def news(app, address: str) -> list[str]:
    """Texts queued for one address, oldest first."""
    with app.sessions() as session:
        return [row.payload["text"] for row in session.scalars(
            select(Outbox).where(Outbox.address == address).order_by(Outbox.id))]


def status(app) -> tuple[str, str | None]:
    with app.sessions() as session:
        report = session.get(Report, 1)
        return report.status, report.status_note


def test_each_change_reaches_reporter_and_supporter_in_their_language(app, reported, cli, sri):
    assert cli("LPR-0001", "diverifikasi") == (0, "LPR-0001 sekarang: diverifikasi. 2 warga diberi kabar.")
    assert news(app, "+6281234567001")[-1] == (
        "Kabar laporan *LPR-0001* (Lampu jalan mati): sudah dicek pengurus dan akan segera ditangani 👍")
    assert news(app, "5150")[-1] == (
        "Kabar laporan *LPR-0001* (Lampu dalan mati): wis dicek pengurus lan enggal ditangani 👍")

    assert cli("lpr-1", "dikerjakan", "--note", "tukang datang Senin")[0] == 0
    assert news(app, "+6281234567001")[-1].endswith("*sedang dikerjakan* 🛠️\nCatatan pengurus: tukang datang Senin")
    assert news(app, "5150")[-1].endswith("*lagi digarap* 🛠️\nCathetan pengurus: tukang datang Senin")

    assert cli("1", "selesai")[0] == 0
    assert "sudah *selesai* ✅" in news(app, "+6281234567001")[-1]
    assert "wis *rampung* ✅" in news(app, "5150")[-1]
    assert status(app) == ("done", None)
    sri.says("laporan saya").hears("*LPR-0001* Lampu jalan mati: *selesai*")


def test_english_reader_gets_english_news(kampung, cli, app):
    joe = kampung.resident("telegram:777")
    joe.onboard(name="Joe", language="2")
    joe.says("report")
    joe.says("1")
    joe.says("big hole near the mosque")
    joe.says("skip")
    joe.says("skip")
    joe.says("send")
    cli("LPR-0001", "diverifikasi")
    assert news(app, "777")[-1].startswith("News about report *LPR-0001* (Damaged road / potholes): the committee")


def test_invalid_transition_is_refused_and_nobody_is_told(app, reported, cli):
    before = news(app, "+6281234567001")
    code, out = cli("LPR-0001", "selesai")
    assert code == 2
    assert out == "LPR-0001 berstatus baru, tidak bisa langsung menjadi selesai. Yang bisa: diverifikasi, ditolak."
    assert status(app) == ("new", None)
    assert news(app, "+6281234567001") == before


def test_rejection_needs_a_reason_which_the_reporter_reads(app, reported, cli, sri):
    code, out = cli("LPR-0001", "ditolak")
    assert code == 2 and "perlu alasan" in out and "--note" in out
    assert status(app) == ("new", None)

    assert cli("LPR-0001", "ditolak", "--note", "  lampu milik PLN,   sudah diteruskan ")[0] == 0
    assert status(app) == ("rejected", "lampu milik PLN, sudah diteruskan")
    assert news(app, "+6281234567001")[-1].endswith(
        "*tidak bisa ditindaklanjuti*.\nCatatan pengurus: lampu milik PLN, sudah diteruskan")
    sri.says("laporan saya").hears("*ditolak*\n   Catatan: lampu milik PLN, sudah diteruskan")

    code, out = cli("LPR-0001", "dikerjakan")
    assert code == 2 and out == "LPR-0001 sudah berstatus ditolak; statusnya tidak bisa diubah lagi."


@pytest.mark.parametrize("argv, expected", [
    (("LPR-0099", "diverifikasi"), "Laporan LPR-0099 tidak ada."),
    (("abc", "diverifikasi"), 'Nomor laporan "abc" tidak dikenal. Tulis seperti LPR-0042.'),
    (("LPR-0001", "beres"), 'Status "beres" tidak dikenal. Pilih salah satu: baru, diverifikasi, dikerjakan, selesai, ditolak.'),
])
def test_unknown_ticket_or_status_is_explained(app, reported, cli, argv, expected):
    assert cli(*argv) == (2, expected)


def test_status_news_reaches_a_resident_who_said_stop(app, reported, cli, sri):
    sri.says("STOP")
    cli("LPR-0001", "diverifikasi")
    assert "sudah dicek pengurus" in news(app, "+6281234567001")[-1]


def test_report_outlives_its_erased_reporter_and_supporters_still_hear(app, reported, cli, sri):
    sri.says("hapus data saya")
    sri.says("ya").hears("sudah kami hapus")
    farewell = news(app, "+6281234567001")
    with app.sessions() as session:
        report = session.get(Report, 1)
        assert (report.resident_id, report.status) == (None, "new")

    assert cli("LPR-0001", "diverifikasi") == (0, "LPR-0001 sekarang: diverifikasi. 1 warga diberi kabar.")
    assert "wis dicek pengurus" in news(app, "5150")[-1]
    assert news(app, "+6281234567001") == farewell
