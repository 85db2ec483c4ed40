"""`kampung events list|cancel|report` (and `events add --invite`) against a real SQLite
database, on the real clock, with their exit codes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.app import build_app
from bot.cli import main
from bot.settings import load_settings
from db.events import Event, EventAttendance, EventReminder, EventRsvp
from db.models import Outbox, Resident
from tests.transcript import Kampung

WIB = ZoneInfo("Asia/Jakarta")
EVENING = (datetime.now(WIB) + timedelta(days=10)).replace(hour=19, minute=30, second=0, microsecond=0)
AT = EVENING.strftime("%Y-%m-%d %H:%M")
SRI, BUDI, WATI = "+6281234567001", "+6281234567002", "+6281234567006"


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def app(url):
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    yield app
    app.engine.dispose()


@pytest.fixture
def residents(app):
    """Bu Sri and Pak Budi in RT 04, Bu Wati in RT 05."""
    kampung = Kampung(app)
    for phone, name, rt in ((SRI, "Bu Sri", "4"), (BUDI, "Pak Budi", "4"), (WATI, "Bu Wati", "5")):
        kampung.resident(f"whatsapp:{phone}").onboard(name=name, rt=rt)
    with app.engine.connect() as conn:
        return {phone: rid for phone, rid in conn.execute(select(Resident.phone, Resident.id))}


def kampung(*args: str) -> int:
    return main(["--env-file", "/nonexistent", "events", *args])


def add(title="Musyawarah kas RW", audience="rt:04", *extra: str) -> int:
    return kampung("add", "--kind", "rembuk", "--title", title, "--at", AT, "--place", "Balai RW 05",
                   "--audience", audience, *extra)


def outbox(app, phone: str, fragment: str) -> list[str]:
    with app.engine.connect() as conn:
        return [p["text"] for a, p in conn.execute(select(Outbox.address, Outbox.payload).order_by(Outbox.id))
                if phone in a and fragment in p["text"]]


def test_add_invite_then_list(app, residents, capsys):
    assert kampung("list") == 0
    assert "Tidak ada acara." in capsys.readouterr().out
    assert add("Musyawarah kas RW", "rt:04", "--invite") == 0
    assert "Undangan terkirim ke 2 warga." in capsys.readouterr().out
    assert len(outbox(app, SRI, "Undangan acara")) == 1 and outbox(app, WATI, "Undangan acara") == []
    assert kampung("list") == 0
    out = capsys.readouterr().out
    assert "#1 " in out and "Musyawarah kas RW (Rembuk warga)" in out and "Warga RT 04" in out
    assert "akan datang" in out and "diundang 2, hadir 0, tidak 0, mungkin 0, datang 0" in out


def test_cancel_tells_invitees_drops_reminders_and_exit_codes(app, residents, capsys):
    assert add("Musyawarah kas RW", "all", "--invite") == 0
    capsys.readouterr()
    assert kampung("cancel", "1") == 0
    assert "Acara #1 (Musyawarah kas RW) dibatalkan. Warga yang dikabari: 3." in capsys.readouterr().out
    with app.engine.connect() as conn:
        assert conn.scalar(select(Event.cancelled_at)) is not None
        assert set(conn.scalars(select(EventReminder.status))) == {"dropped"}
    assert len(outbox(app, BUDI, "Acara dibatalkan")) == 1
    assert kampung("cancel", "1") == 2
    assert "sudah dibatalkan" in capsys.readouterr().out
    assert kampung("cancel", "99") == 2
    assert "acara #99 tidak ada" in capsys.readouterr().out
    assert kampung("list") == 0
    assert "Tidak ada acara." in capsys.readouterr().out
    assert kampung("list", "--all") == 0
    assert "dibatalkan" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        kampung("cancel", "satu")
    assert exit_info.value.code == 2


def seed_past(app, residents) -> None:
    """Two past events: 5 days ago for everyone (Sri and Budi said hadir; Sri and Wati
    came), 40 days ago for RT 04 (Budi came); and one cancelled 3 days ago."""
    now = datetime.now(timezone.utc)
    with app.engine.begin() as conn:
        ids = [conn.execute(insert(Event).values(kind="rembuk", title=title, starts_at=now - timedelta(days=days),
                                                 place="Balai", agenda="", audience=audience, checklist=False,
                                                 created_at=now - timedelta(days=60), cancelled_at=cancelled))
               .inserted_primary_key[0]
               for title, days, audience, cancelled in (("Rapat", 5, "all", None), ("Kerja bakti", 40, "rt:04", None),
                                                        ("Batal", 3, "all", now - timedelta(days=4)))]
        conn.execute(insert(EventRsvp), [{"event_id": ids[0], "resident_id": residents[p], "answer": "yes",
                                          "updated_at": now} for p in (SRI, BUDI)])
        conn.execute(insert(EventAttendance), [
            {"event_id": e, "resident_id": residents[p], "marked_at": now, "marked_by": None}
            for e, p in ((ids[0], SRI), (ids[0], WATI), (ids[1], BUDI), (ids[2], SRI))])


def test_report_text_csv_since_and_a_bad_date(app, residents, capsys):
    seed_past(app, residents)
    assert kampung("report") == 0
    out = capsys.readouterr().out
    assert "2 acara, 2 dengan daftar hadir." in out
    assert "• RT 04: diundang 4, bilang hadir 2, datang 2 (50%), dari 2 acara" in out
    assert "• RT 05: diundang 1, bilang hadir 0, datang 1 (100%), dari 1 acara" in out
    assert kampung("report", "--format", "csv") == 0
    assert capsys.readouterr().out.splitlines() == [
        "rt,events,invited,rsvp_yes,attended,attended_percent", "04,2,4,2,2,50", "05,1,1,0,1,100"]
    since = (datetime.now(WIB) - timedelta(days=10)).strftime("%Y-%m-%d")
    assert kampung("report", "--since", since, "--format", "csv") == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["04,1,2,2,1,50", "05,1,1,0,1,100"]
    assert kampung("report", "--since", "kemarin") == 2
    assert "--since harus berupa tanggal YYYY-MM-DD" in capsys.readouterr().out
