"""import_residents and `kampung residents import` against a real SQLite database."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot import cli
from bot.app import build_app
from bot.messages import IncomingMessage
from bot.residents_import import ImportReport, import_residents
from bot.settings import load_settings
from db.models import Identity, Membership, Resident

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)

# Line numbers: the header is line 1.
CSV = """\
phone,name,rt,rw,paguyuban
081234567001,Siti Rahayu,4,05,PKK RW 05;umkm rw 05
6281234567002,Budi Santoso,RT 04,5,
+62 812-3456-7003,Agus Salim,rt10,,Karang Taruna | Pengajian Al-Ikhlas
12345,Bad Phone,04,05,
081234567004,Wrong Rt,12,05,
081234567005,Wrong Rw,04,07,
081234567006,Unknown Group,04,05,Klub Catur
081234567007,,04,05,
0812 3456 7001,Siti Again,04,05,

081234567008,  Dewi  Lestari ,02,05,PKK RW 05
"""


@pytest.fixture
def app(tmp_path):
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{tmp_path}/k.db"}))
    yield app
    app.engine.dispose()


def run_import(app, text: str, consent: bool = False, now: datetime = NOW) -> ImportReport:
    with app.sessions.begin() as session:
        return import_residents(session, io.StringIO(text), consent_collected=consent, now=now)


def residents(app) -> dict[str, Resident]:
    with app.sessions() as session:
        rows = session.scalars(select(Resident).options(selectinload(Resident.memberships))).unique().all()
        return {r.phone: r for r in rows}


def groups_of(resident: Resident) -> set[str]:
    return {m.paguyuban.name for m in resident.memberships}


def test_good_rows_stored_bad_rows_reported(app):
    report = run_import(app, CSV)

    assert (report.created, report.updated) == (4, 0)
    errors = dict(report.errors)
    assert sorted(errors) == [5, 6, 7, 8, 9, 10]
    assert "'12345'" in errors[5] and "phone" in errors[5]
    assert "RT '12'" in errors[6]
    assert "RW '07'" in errors[7] and "05" in errors[7]
    assert "paguyuban 'Klub Catur' does not exist" in errors[8]
    assert errors[9] == "name is missing"
    assert errors[10] == "phone +6281234567001 already on line 2"

    stored = residents(app)
    assert set(stored) == {"+6281234567001", "+6281234567002", "+6281234567003", "+6281234567008"}
    siti = stored["+6281234567001"]
    assert siti.name == "Siti Rahayu" and siti.rt.number == "04"
    assert groups_of(siti) == {"PKK RW 05", "UMKM RW 05"}
    assert stored["+6281234567002"].rt.number == "04" and groups_of(stored["+6281234567002"]) == set()
    assert stored["+6281234567003"].rt.number == "10"
    assert groups_of(stored["+6281234567003"]) == {"Karang Taruna", "Pengajian Al-Ikhlas"}
    dewi = stored["+6281234567008"]
    assert dewi.name == "Dewi Lestari" and dewi.rt.number == "02"
    for r in stored.values():
        assert r.language == "id" and r.opted_out is False and r.created_at == NOW
        assert r.consent_at is None and r.consent_source is None
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == 0


def test_several_problems_in_one_row_are_one_error(app):
    report = run_import(app, "phone,name,rt\n0812,X,99\n")
    assert report.created == 0
    [(line, reason)] = report.errors
    assert line == 2
    assert "phone" in reason and "name" in reason and "RT '99'" in reason


def test_reimport_updates_instead_of_duplicating(app):
    run_import(app, CSV)
    later = datetime(2026, 4, 1, tzinfo=timezone.utc)
    report = run_import(
        app,
        "Name , PHONE, Paguyuban, RT\n"
        "Siti R.,+6281234567001,Karang Taruna|PKK RW 05,7\n"
        "Eko Prasetyo,081234567009,,1\n",
        now=later,
    )

    assert (report.created, report.updated, report.errors) == (1, 1, [])
    stored = residents(app)
    assert len(stored) == 5
    siti = stored["+6281234567001"]
    assert siti.name == "Siti R." and siti.rt.number == "07"
    assert groups_of(siti) == {"Karang Taruna", "PKK RW 05"}
    assert siti.created_at == NOW  # kept from the first import
    assert stored["+6281234567009"].rt.number == "01"
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Membership)) == 2 + 2 + 1  # Siti, Agus, Dewi


def test_consent_collected_skips_onboarding(app):
    run_import(app, "phone,name,rt\n081234567001,Siti Rahayu,04\n", consent=True)
    run_import(app, "phone,name,rt\n081234567002,Budi Santoso,05\n")

    stored = residents(app)
    assert stored["+6281234567001"].consent_at == NOW
    assert stored["+6281234567001"].consent_source == "paper"
    assert stored["+6281234567002"].consent_at is None

    rows = app.core.receive(IncomingMessage("whatsapp", "+6281234567001", "halo"))
    assert rows and all(r.flow == "help" for r in rows)
    rows = app.core.receive(IncomingMessage("whatsapp", "+6281234567002", "halo"))
    assert rows and rows[-1].flow == "onboarding"

    # Both were linked to the imported resident, not created anew.
    assert len(residents(app)) == 2


def test_import_without_consent_leaves_existing_consent(app):
    run_import(app, "phone,name,rt\n081234567001,Siti Rahayu,04\n", consent=True)
    run_import(app, "phone,name,rt\n081234567001,Siti Rahayu,05\n", now=datetime(2026, 5, 1, tzinfo=timezone.utc))
    siti = residents(app)["+6281234567001"]
    assert siti.consent_at == NOW and siti.consent_source == "paper" and siti.rt.number == "05"


def test_missing_header_column_imports_nothing(app):
    report = run_import(app, "phone,nama,rt\n081234567001,Siti Rahayu,04\n")
    assert report.created == report.updated == 0
    [(line, reason)] = report.errors
    assert line == 1 and "name" in reason
    assert residents(app) == {}


def test_empty_file_is_one_error(app):
    report = run_import(app, "")
    assert report.errors and report.errors[0][0] == 1 and len(report.errors) == 1


def test_cli_import_end_to_end(tmp_path, monkeypatch, capsys):
    db = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    csv_path = tmp_path / "warga.csv"
    csv_path.write_text("\ufeffphone,name,rt,rw,paguyuban\n081234567001,Siti Rahayu,4,05,PKK RW 05\n0812,Bad,04,05,\n", encoding="utf-8")

    code = cli.main(["--env-file", "/nonexistent", "residents", "import", str(csv_path), "--consent-collected"])

    assert code == 0
    out = capsys.readouterr().out
    assert "3" in out and "'0812' is not a valid phone number" in out  # the bad row, by line
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{db}"}))
    stored = residents(app)
    assert set(stored) == {"+6281234567001"}
    siti = stored["+6281234567001"]
    assert siti.name == "Siti Rahayu" and siti.rt.number == "04" and siti.consent_source == "paper"
    assert groups_of(siti) == {"PKK RW 05"}
    app.engine.dispose()


def test_cli_import_only_bad_rows_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    csv_path = tmp_path / "warga.csv"
    csv_path.write_text("phone,name,rt\n0812,Bad,04\n", encoding="utf-8")
    assert cli.main(["--env-file", "/nonexistent", "residents", "import", str(csv_path)]) == 1
