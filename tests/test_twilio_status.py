"""Twilio's status callbacks: signed like the webhook, recorded per outbox row, forward only,
and a failure handed to the dispatcher's record_failure."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from twilio.request_validator import RequestValidator

from bot import outbox
from bot.app import build_app
from bot.channels.twilio_channel import MAX_WEBHOOK_BYTES, TwilioChannel
from bot.channels.twilio_status import StatusReceipts
from bot.delivery import Failure, Outcome
from bot.messages import OutgoingMessage
from bot.settings import load_settings
from db.models import Outbox
from tests.conftest import START
from tests.fakes.server import await_for
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN

PUBLIC = "https://bot.example.org"
STATUS_URL = PUBLIC + "/webhooks/twilio/status"
SID = "SM" + "5a" * 16
OTHER_SID = "SM" + "6b" * 16


class FixedClock:
    def now(self):
        return START + timedelta(minutes=5)


@pytest.fixture
def kampung(tmp_path, fake):
    environ = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kampung.db'}",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": "+14155238886",
        "TWILIO_SMS_FROM": "+15005550006",
        "TWILIO_API_BASE_URL": fake.base_url,
        "PUBLIC_BASE_URL": PUBLIC,
    }
    app = build_app(load_settings(env_file=None, environ=environ), clock=FixedClock())
    yield app
    app.engine.dispose()


@pytest.fixture
def receipts(kampung):
    return StatusReceipts(kampung.sessions, kampung.clock, kampung.settings)


@pytest.fixture
def failures(monkeypatch):
    """What reaches the dispatcher's record_failure (its own behaviour is tested with it)."""
    calls = []

    def record_failure(session, outbox_id, error, now, sms_available):
        calls.append((outbox_id, error.outcome, error.failure, error.code, now, sms_available))

    monkeypatch.setattr(outbox, "record_failure", record_failure, raising=False)
    return calls


@pytest.fixture
def channel(kampung, receipts):
    async def enqueue(msg):
        raise AssertionError("a status callback is not an incoming message")

    return TwilioChannel(kampung.settings, enqueue, receipts=receipts)


@pytest.fixture
async def http(channel):
    web = Starlette(routes=channel.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://internal:8000") as client:
        yield client


def add_row(app, provider_id: str | None = SID, status: str = "sent") -> int:
    with app.sessions.begin() as session:
        row = Outbox(channel="whatsapp", address="+6281234567001", payload={"text": "halo"}, status=status,
                     not_before=START, created_at=START, sent_at=START, provider_id=provider_id)
        session.add(row)
        session.flush()
        return row.id


def row(app, row_id: int) -> Outbox:
    with app.sessions() as session:
        return session.get(Outbox, row_id)


def callback(status: str, sid: str = SID, **extra) -> dict:
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "MessageStatus": status,
              "SmsStatus": status, "From": "whatsapp:+14155238886", "To": "whatsapp:+6281234567001",
              "ApiVersion": "2010-04-01", **extra}
    return params


async def post(http, params: dict, outbox_id: int | None, token: str = AUTH_TOKEN):
    query = f"?o={outbox_id}" if outbox_id is not None else ""
    signature = RequestValidator(token).compute_signature(STATUS_URL + query, params)
    return await http.post(f"/webhooks/twilio/status{query}", data=params, headers={"X-Twilio-Signature": signature})


async def test_receipts_move_delivery_forward(kampung, http):
    row_id = add_row(kampung)
    for status in ("queued", "sent", "delivered"):
        assert (await post(http, callback(status), row_id)).status_code == 204
        assert row(kampung, row_id).delivery == status
    found = row(kampung, row_id)
    assert found.delivery_at == FixedClock().now()
    assert found.status == "sent"  # the dispatcher's column is not the receipt's


async def test_late_receipts_never_move_delivery_back(kampung, http):
    row_id = add_row(kampung)
    await post(http, callback("read"), row_id)
    for status in ("delivered", "sent", "queued", "failed"):
        assert (await post(http, callback(status, ErrorCode="30008"), row_id)).status_code == 204
    found = row(kampung, row_id)
    assert (found.delivery, found.error_code) == ("read", None)


async def test_read_without_delivered_counts_as_read(kampung, http):
    row_id = add_row(kampung)
    await post(http, callback("sent"), row_id)
    await post(http, callback("read"), row_id)
    assert row(kampung, row_id).delivery == "read"


async def test_63016_by_callback_hands_the_row_to_record_failure(kampung, http, failures):
    row_id = add_row(kampung)
    await post(http, callback("sent"), row_id)
    assert (await post(http, callback("failed", ErrorCode="63016"), row_id)).status_code == 204
    found = row(kampung, row_id)
    assert (found.delivery, found.error_code) == ("failed", "63016")
    assert failures == [(row_id, Outcome.OUTSIDE_WINDOW, Failure.OUTSIDE_WINDOW, "63016", FixedClock().now(), True)]


async def test_63003_undelivered_is_not_on_whatsapp(kampung, http, failures):
    row_id = add_row(kampung)
    await post(http, callback("undelivered", ErrorCode="63003"), row_id)
    assert row(kampung, row_id).delivery == "undelivered"
    assert [(f[1], f[2]) for f in failures] == [(Outcome.NOT_ON_CHANNEL, Failure.NOT_ON_WHATSAPP)]


async def test_a_failure_is_recorded_once(kampung, http, failures):
    row_id = add_row(kampung)
    await post(http, callback("failed", ErrorCode="63016"), row_id)
    await post(http, callback("failed", ErrorCode="63016"), row_id)
    await post(http, callback("delivered"), row_id)
    assert row(kampung, row_id).delivery == "failed"
    assert len(failures) == 1


async def test_sms_available_follows_the_settings(tmp_path, fake, failures):
    settings = load_settings(env_file=None, environ={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wa-only.db'}", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": "+14155238886", "PUBLIC_BASE_URL": PUBLIC})
    app = build_app(settings, clock=FixedClock())
    try:
        row_id = add_row(app)
        StatusReceipts(app.sessions, app.clock, settings).record(row_id, SID, "failed", 63003)
    finally:
        app.engine.dispose()
    assert failures[0][-1] is False


async def test_sid_must_match_the_rows_provider_id(kampung, http, failures):
    row_id = add_row(kampung)
    assert (await post(http, callback("failed", sid=OTHER_SID, ErrorCode="63016"), row_id)).status_code == 204
    assert row(kampung, row_id).delivery is None
    assert failures == []


async def test_callback_before_the_provider_id_is_stored_fills_it(kampung, http):
    row_id = add_row(kampung, provider_id=None, status="sending")
    await post(http, callback("sent"), row_id)
    found = row(kampung, row_id)
    assert (found.delivery, found.provider_id) == ("sent", SID)


async def test_without_o_the_row_is_found_by_message_sid(kampung, http):
    row_id = add_row(kampung)
    assert (await post(http, callback("delivered"), None)).status_code == 204
    assert row(kampung, row_id).delivery == "delivered"
    assert (await post(http, callback("delivered", sid=OTHER_SID), None)).status_code == 204  # unknown: ignored


async def test_unknown_row_and_unknown_status_are_ignored(kampung, http):
    row_id = add_row(kampung)
    assert (await post(http, callback("delivered"), row_id + 100)).status_code == 204
    assert (await post(http, callback("partially_delivered"), row_id)).status_code == 204
    assert row(kampung, row_id).delivery is None


async def test_forged_callback_is_403(kampung, http, failures):
    row_id = add_row(kampung)
    assert (await post(http, callback("failed", ErrorCode="63016"), row_id, token="forged")).status_code == 403
    # Signed for another row: the query is part of what Twilio signs.
    params = callback("failed", ErrorCode="63016")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{STATUS_URL}?o={row_id + 1}", params)
    resp = await http.post(f"/webhooks/twilio/status?o={row_id}", data=params,
                           headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 403
    resp = await http.post(f"/webhooks/twilio/status?o={row_id}", data=params)
    assert resp.status_code == 403
    assert row(kampung, row_id).delivery is None
    assert failures == []


async def test_oversized_callback_is_413(kampung, http):
    row_id = add_row(kampung)
    resp = await post(http, callback("delivered", Padding="x" * MAX_WEBHOOK_BYTES), row_id)
    assert resp.status_code == 413
    assert row(kampung, row_id).delivery is None


@pytest.mark.parametrize("query, sid, code", [
    ("o=abc", SID, None),
    ("o=" + "9" * 30, SID, None),
    ("o=1", "SM1", None),
    ("o=1", SID + "NumMedia0", None),
    ("o=1", SID, "63016x"),
])
async def test_malformed_callback_is_400(kampung, http, query, sid, code):
    params = callback("failed", sid=sid, **({"ErrorCode": code} if code else {}))
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{STATUS_URL}?{query}", params)
    resp = await http.post(f"/webhooks/twilio/status?{query}", data=params, headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 400


async def test_fake_twilio_callbacks_are_signed_and_accepted(kampung, channel, http, fake, failures):
    """The whole loop: a send asks for callbacks, the fake signs them like Twilio, the bot
    accepts them; outside the window the message is accepted and fails afterwards."""
    loop = asyncio.get_running_loop()

    def sink(url, params, headers):
        path = url.removeprefix(PUBLIC)
        return asyncio.run_coroutine_threadsafe(http.post(path, data=params, headers=headers), loop).result(10).status_code

    fake.callback_sink = sink
    fake.enforce_window = True
    fake.read_receipts = True
    fake.open_windows.add("+6281234567001")
    open_row, closed_row = add_row(kampung, provider_id=None), add_row(kampung, provider_id=None)
    await channel.start()
    try:
        await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "halo", outbox_id=open_row))
        await channel.send(OutgoingMessage("whatsapp", "+6281234567002", "halo", outbox_id=closed_row))
    finally:
        await channel.stop()
    assert [r["response_status"] for r in fake.requests] == [201, 201]

    await await_for(lambda: fake.callbacks, lambda found: len(found) == 4,
                    lambda found: f"callbacks so far: {found}")
    assert {c["status_code"] for c in fake.callbacks} == {204}
    assert row(kampung, open_row).delivery == "read"
    assert (row(kampung, closed_row).delivery, row(kampung, closed_row).error_code) == ("failed", "63016")
    assert [f[:2] for f in failures] == [(closed_row, Outcome.OUTSIDE_WINDOW)]


async def test_failure_by_callback_goes_through_the_dispatchers_record_failure(kampung, http):
    """With the real record_failure: not on WhatsApp moves the message to SMS, outside
    the window has it planned again (as a template); both go out again."""
    not_on_whatsapp, outside = add_row(kampung), add_row(kampung, provider_id=OTHER_SID)
    await post(http, callback("failed", ErrorCode="63003"), not_on_whatsapp)
    await post(http, callback("failed", sid=OTHER_SID, ErrorCode="63016"), outside)
    moved, replanned = row(kampung, not_on_whatsapp), row(kampung, outside)
    # It goes again: the receipt of the last try no longer says where it stands.
    assert (moved.status, moved.channel, moved.failure, moved.delivery) == ("pending", "sms", "not_on_whatsapp", None)
    assert (replanned.status, replanned.failure, replanned.error_code) == ("pending", "outside_window", "63016")
