"""A resident imported from the RT's list, who never wrote to the bot, gets the
announcement and the event reminder: as an approved WhatsApp template, or by SMS when
no template is approved. The bot runs whole (webhook app, worker, real twilio client)
against a fake Twilio that enforces WhatsApp's 24-hour window like the real one."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from bot.app import build_app
from bot.broadcasts import NewBroadcast, create_broadcast
from bot.clock import ManualClock
from bot.events import NewEvent, add_event
from bot.residents_import import import_residents
from bot.services import Services
from bot.settings import load_settings
from db.models import Outbox
from db.templates import WhatsAppTemplate
from scheduler.due import DueTasks
from tests.e2e_support import CallbackRelay
from tests.fakes.server import wait_for
from tests.test_e2e_whatsapp import PUBLIC, SID, SMS_FROM, TOKEN, WA_FROM

TINI = "+6281234567055"
START = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)  # 10:00 WIB
EVENT_AT = datetime(2026, 12, 4, 12, 30, tzinfo=timezone.utc)  # Friday 19:30 WIB


def make_app(tmp_path, fake, sms: bool):
    environ = {"DATABASE_URL": f"sqlite:///{tmp_path / 'kampung.db'}", "TWILIO_ACCOUNT_SID": SID,
               "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_WHATSAPP_FROM": WA_FROM, "TWILIO_API_BASE_URL": fake.base_url,
               "PUBLIC_BASE_URL": PUBLIC, "DATA_DIR": str(tmp_path / "data")}
    if sms:
        environ["TWILIO_SMS_FROM"] = SMS_FROM
    return build_app(load_settings(env_file=None, environ=environ), clock=ManualClock(START))


@pytest.fixture
def running(fake):
    """Start the whole bot on an app; Twilio's status callbacks reach it, signed."""
    def start(app):
        client = TestClient(Services(app).web_app(), base_url="http://internal:8000")
        client.__enter__()
        fake.callback_sink = relay = CallbackRelay(client, PUBLIC)
        started.append((app, client, relay))
    started: list = []
    fake.enforce_window = True  # nobody has written: every window is closed
    yield start
    fake.callback_sink = None
    for app, client, relay in started:
        relay.close()
        client.__exit__(None, None, None)
        app.engine.dispose()


def import_tini(app) -> None:
    with app.sessions.begin() as session:
        report = import_residents(session, io.StringIO(f"phone,name,rt\n{TINI},Bu Tini,4\n"),
                                  consent_collected=True, now=app.clock.now())
    assert (report.created, report.errors) == (1, [])


def approve(app, *kinds: str) -> dict[str, str]:
    sids = {kind: f"HX{n:032d}" for n, kind in enumerate(kinds, 1)}
    with app.engine.begin() as conn:
        conn.execute(insert(WhatsAppTemplate), [
            {"kind": kind, "language": "id", "friendly_name": f"kampung_{kind}_id", "content_sid": sid,
             "category": "utility", "status": "approved", "updated_at": app.clock.now()}
            for kind, sid in sids.items()])
    return sids


def announce_and_remind(app) -> None:
    """An announcement to everyone now; an event for RT 04 whose evening-before reminder
    then comes due."""
    notifier = app.core.notifier
    with app.engine.begin() as conn:
        create_broadcast(conn, notifier, NewBroadcast("Kerja bakti Minggu pagi jam 07.00", "all", sender_name="Pak RT"),
                         app.clock.now(), app.settings.timezone, app.settings.quiet_window())
        add_event(conn, notifier, NewEvent("rembuk", "Rembuk warga", EVENT_AT, "Balai RW 05", "rt:04"),
                  app.clock.now(), app.settings.timezone)
    app.clock.set(datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc))  # Thursday 19:00 WIB
    assert DueTasks.of(app).run(app.clock.now()) >= 1


def sent_to(fake, to: str, count: int) -> list[dict]:
    return wait_for(lambda: [r for r in fake.requests if r.get("To") == to and r["response_status"] == 201],
                    lambda found: len(found) >= count, lambda found: f"{len(found)} messages to {to}: {found}",
                    timeout=10)


def test_outside_the_window_the_approved_templates_go(tmp_path, fake, running):
    app = make_app(tmp_path, fake, sms=False)
    import_tini(app)
    sids = approve(app, "announcement", "event_reminder")
    announce_and_remind(app)
    running(app)

    announcement, reminder = sent_to(fake, f"whatsapp:{TINI}", 2)[:2]
    assert announcement["ContentSid"] == sids["announcement"] and "Body" not in announcement
    assert "Kerja bakti Minggu pagi" in announcement["ContentVariables"]
    assert reminder["ContentSid"] == sids["event_reminder"] and "Rembuk warga" in reminder["ContentVariables"]
    wait_for(lambda: delivery(app), lambda rows: rows and all(d == "delivered" for _, d in rows),
             lambda rows: f"receipts: {rows}")


def test_without_an_approved_template_they_go_by_sms(tmp_path, fake, running):
    app = make_app(tmp_path, fake, sms=True)
    import_tini(app)
    announce_and_remind(app)
    running(app)

    texts = [r["Body"] for r in sent_to(fake, TINI, 2)]
    assert any("Kerja bakti Minggu pagi" in t for t in texts) and any("Rembuk warga" in t for t in texts)
    assert all(r["From"] == SMS_FROM for r in fake.requests if r.get("To") == TINI)
    assert not [r for r in fake.requests if r.get("To") == f"whatsapp:{TINI}"]


def delivery(app) -> list[tuple[str, str | None]]:
    with app.engine.connect() as conn:
        return conn.execute(select(Outbox.channel, Outbox.delivery).where(Outbox.address == TINI)).all()
