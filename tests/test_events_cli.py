"""`kampung events add` against a real SQLite database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.cli import main
from bot.settings import load_settings
from db.events import Event, EventReminder
from db.models import Outbox
from tests.transcript import Kampung

WIB = ZoneInfo("Asia/Jakarta")
# The CLI runs on the real clock: an evening ten days ahead has both reminders still to come.
EVENING = (datetime.now(WIB) + timedelta(days=10)).replace(hour=19, minute=30, second=0, microsecond=0)
AT = EVENING.strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def add(*extra: str) -> int:
    return main(["--env-file", "/nonexistent", "events", "add", "--kind", "kur", "--title", "Sosialisasi KUR BRI",
                 "--at", AT, "--place", "Balai RW 05", *extra])


def stored(url):
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        with app.engine.connect() as conn:
            event = conn.execute(select(Event)).one()
            due = conn.scalars(select(EventReminder.due_at).order_by(EventReminder.due_at)).all()
        return event, due
    finally:
        app.engine.dispose()


def test_add_stores_the_event_in_utc_with_two_reminders(url, capsys):
    assert add("--audience", "rt:4", "--agenda", "Syarat dan cara daftar KUR", "--checklist") == 0
    out = capsys.readouterr().out
    assert "Acara #1 tersimpan: Sosialisasi KUR BRI" in out and "pukul 19.30 WIB" in out and "Pengikut yang sudah dikabari: 0" in out
    event, due = stored(url)
    assert (event.kind, event.audience, event.checklist, event.agenda) == ("kur", "rt:04", True, "Syarat dan cara daftar KUR")
    assert event.starts_at == EVENING.astimezone(timezone.utc)
    evening_before = datetime.combine(EVENING.date() - timedelta(days=1), datetime.min.time().replace(hour=19), WIB)
    assert due == [evening_before.astimezone(timezone.utc), EVENING.astimezone(timezone.utc) - timedelta(hours=2)]


def test_add_tells_followers_in_the_audience(url, capsys):
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        sri = Kampung(app).resident("whatsapp:+6281234567001")
        sri.onboard()
        sri.says("ingatkan sosialisasi kur")
    finally:
        app.engine.dispose()
    assert add("--audience", "paguyuban:umkm rw 05") == 0
    assert "dikabari: 0" in capsys.readouterr().out  # Sri is not in UMKM RW 05
    assert add("--audience", "all") == 0
    assert "dikabari: 1" in capsys.readouterr().out
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        with app.engine.connect() as conn:
            texts = [p["text"] for p in conn.scalars(select(Outbox.payload))]
        assert sum("Ada acara baru" in t for t in texts) == 1
    finally:
        app.engine.dispose()


@pytest.mark.parametrize("extra, reason", [
    (["--audience", "rt:99"], "unknown RT"),
    (["--audience", "paguyuban:Arisan"], "unknown paguyuban"),
    (["--audience", "everyone"], "audience must be"),
    (["--audience", "all", "--at", "besok malam"], "cannot read the time"),
    (["--audience", "all", "--at", "2020-01-01 19:30"], "already passed"),
])
def test_bad_input_is_refused_with_a_reason(url, capsys, extra, reason):
    assert add(*extra) == 2
    out = capsys.readouterr().out
    assert out.startswith("Gagal:") and reason in out


def test_the_checklist_is_only_for_kur(url, capsys):
    assert main(["--env-file", "/nonexistent", "events", "add", "--kind", "posyandu", "--title", "Posyandu", "--at", AT,
                 "--place", "Pos RW", "--audience", "all", "--checklist"]) == 2
    assert "KUR" in capsys.readouterr().out
