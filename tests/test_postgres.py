"""The same bot on PostgreSQL, where a value longer than its column is an error rather
than stored as SQLite would, and where two dispatchers really run side by side.

Enabled by TEST_DATABASE_URL (a PostgreSQL URL whose user may create databases, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); each test gets a database of its own.
"""
from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.app import build_app
from bot.messages import OutgoingMessage
from bot.outbox import Dispatcher
from bot.services import Services
from bot.settings import load_settings
from db.inbox import DeadLetter
from db.models import Inbox, Outbox
from tests.transcript import Kampung

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not ADMIN_URL.startswith("postgresql"), reason="TEST_DATABASE_URL is not PostgreSQL")
TOKEN = "pg-test-token"
PUBLIC = "https://bot.example.org"


@pytest.fixture
def database_url():
    name = f"kampung_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = build_app(load_settings(env_file=None, environ={
        "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data"),
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_WHATSAPP_FROM": "+14155238886", "PUBLIC_BASE_URL": PUBLIC, "QUIET_HOURS": "off"}))
    yield app
    app.engine.dispose()


def test_a_resident_onboards_on_postgresql(app):
    sri = Kampung(app).resident("whatsapp:+6281234567001")
    sri.onboard()
    assert "Menu utama" in sri.says("menu").text


def test_odd_senders_are_refused_at_the_edge_and_nothing_is_stored(app):
    client = TestClient(Services(app).web_app())  # no lifespan: only the route
    validator = RequestValidator(TOKEN)

    def post(sender: str, sid: str):
        form = {"MessageSid": sid, "From": sender, "To": "whatsapp:+14155238886", "Body": "halo", "NumMedia": "0"}
        signature = validator.compute_signature(PUBLIC + "/webhooks/twilio", form)
        return client.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature})

    assert post("messenger:1234567890123456", "SM" + "a" * 32).status_code == 400
    assert post("whatsapp:+62" + "8" * 80, "SM" + "b" * 32).status_code == 400
    assert post("whatsapp:+6281234567001", "SM" + "c" * 97).status_code == 400
    assert post("whatsapp:+6281234567001", "SM" + "d" * 32).status_code == 200
    with app.engine.connect() as conn:
        assert conn.scalars(select(Inbox.sender)).all() == ["whatsapp:+6281234567001"]


def test_a_row_the_database_refuses_becomes_a_dead_letter_and_the_rest_go_on(app):
    """An address longer than its column (stored before the edge checked lengths) fails on
    PostgreSQL on every attempt; after three it is set aside and the next message is answered."""
    long_address = "+62" + "8" * 70
    bad = {"channel": "whatsapp", "address": long_address, "text": "halo"}
    good = {"channel": "whatsapp", "address": "+6281234567001", "text": "halo"}
    with app.engine.begin() as conn:
        for n, payload in enumerate((bad, good)):
            conn.execute(insert(Inbox).values(external_id=f"twilio:SM{n:032d}", sender=f"whatsapp:{payload['address']}",
                                              payload=payload, received_at=app.clock.now()))
    for _ in range(3):
        app.core.process_inbox()

    with app.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Inbox).where(Inbox.processed_at.is_(None))) == 0
        assert conn.scalar(select(func.count()).select_from(DeadLetter)) == 1
        answered = conn.scalars(select(Outbox.address).where(Outbox.address == "+6281234567001")).all()
    assert len(answered) == 2  # welcome and the consent question


def test_two_dispatchers_side_by_side_send_each_message_once(app):
    with app.engine.begin() as conn:
        conn.execute(insert(Outbox), [
            {"resident_id": None, "channel": "telegram", "address": str(1000 + n), "status": "pending",
             "payload": OutgoingMessage("telegram", str(1000 + n), f"pesan {n}").to_dict(), "attempts": 0,
             "priority": 2, "not_before": app.clock.now(), "created_at": app.clock.now()}
            for n in range(300)])
    sent: list[str] = []

    async def send(out: OutgoingMessage) -> str:
        await asyncio.sleep(0.001)
        sent.append(out.address)
        return f"{len(sent)}"

    async def both() -> None:
        first = Dispatcher(app.sessions, {"telegram": send}, app.clock, settings=app.settings)
        second = Dispatcher(app.sessions, {"telegram": send}, app.clock, settings=app.settings)
        await asyncio.gather(first.dispatch(), second.dispatch())

    asyncio.run(both())
    assert sorted(sent) == sorted(str(1000 + n) for n in range(300))
    with app.engine.connect() as conn:
        assert set(conn.scalars(select(Outbox.status))) == {"sent"}
