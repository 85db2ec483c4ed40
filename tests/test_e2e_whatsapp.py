"""The whole bot over Twilio: signed webhooks in, the worker, the outbox, and the real
twilio REST client talking to a fake Twilio server.

The web app runs with its lifespan (TestClient as a context manager), so the worker
loop really runs; tests poll the fake server with a deadline for the replies.
"""
from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.outbox import Dispatcher
from bot.services import Services
from bot.settings import load_settings
from db.models import Inbox, Outbox
from tests.e2e_support import CallbackRelay, count, settle
from tests.fakes.server import wait_for
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi

SID = ACCOUNT_SID
TOKEN = AUTH_TOKEN
PUBLIC = "https://bot.example.org"
WEBHOOK_URL = PUBLIC + "/webhooks/twilio"
WA_FROM = "+14155238886"
SMS_FROM = "+15005550006"
BUSY_WAIT = 5.0

_sids = (f"SM{n:032d}" for n in itertools.count(1))


@pytest.fixture
def app(tmp_path, fake) -> App:
    settings = load_settings(env_file=None, environ={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kampung.db'}",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_WHATSAPP_FROM": WA_FROM,
        "TWILIO_SMS_FROM": SMS_FROM,
        "TWILIO_API_BASE_URL": fake.base_url,
        "PUBLIC_BASE_URL": PUBLIC,
    })
    settings.validate()
    app = build_app(settings)
    yield app
    app.engine.dispose()


def sign(params: dict) -> str:
    return RequestValidator(TOKEN).compute_signature(WEBHOOK_URL, params)


class Bot:
    """The running bot as a resident and a tester see it: webhooks in, Twilio requests out."""

    def __init__(self, app: App, services: Services, client: TestClient, fake: FakeTwilioApi):
        self.app = app
        self.services = services
        self.client = client
        self.fake = fake

    def post(self, sender: str, body: str = "", sid: str | None = None, signature: str | None = "sign",
             opens_window: bool = True, **extra):
        """POST what Twilio posts for an incoming message from ``sender`` (None drops a field);
        the fake Twilio then counts WhatsApp's 24-hour window as open, unless told otherwise."""
        sid = sid or next(_sids)
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": SID,
            "From": sender,
            "To": f"whatsapp:{WA_FROM}" if sender and sender.startswith("whatsapp:") else SMS_FROM,
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        params = {k: v for k, v in params.items() if v is not None}
        if sender and opens_window:
            self.fake.open_windows.add(sender.removeprefix("whatsapp:"))
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        return self.client.post("/webhooks/twilio", data=params, headers=headers)

    def replies(self, to: str) -> list[dict]:
        """Messages Twilio accepted for ``to``, oldest first."""
        return [r for r in self.fake.requests if r.get("To") == to and r["response_status"] == 201]

    def wait_replies(self, to: str, count: int, timeout: float = BUSY_WAIT) -> list[dict]:
        """Wait until ``to`` has received at least ``count`` messages in total."""
        return wait_for(
            lambda: self.replies(to), lambda found: len(found) >= count,
            lambda found: f"{to} got {len(found)} replies, expected {count}: {[r['Body'][:60] for r in found]}",
            timeout,
        )

    def send(self, sender: str, text: str) -> list[dict]:
        """A resident sends ``text``; returns the replies it caused once they are sent."""
        to = sender
        before = len(self.replies(to))
        assert self.post(sender, text).status_code == 200
        settle(self.app)
        self.wait_sent(sender.removeprefix("whatsapp:"))
        new = self.replies(to)[before:]
        assert new, f"no reply to {text!r}"
        return new

    def wait_sent(self, address: str) -> None:
        """Wait until no outbox row for `address` is new or on its way (settle() does not
        count the dispatcher's claimed rows)."""
        wait_for(lambda: [(r.id, r.status) for r in self.outbox(address)
                          if r.status in ("claimed", "sending") or (r.status == "pending" and r.attempts == 0)],
                 lambda busy: not busy, lambda busy: f"still on their way: {busy}", BUSY_WAIT)

    def worker_pass(self) -> None:
        """One full inbox + outbox pass, in the web app's event loop."""
        self.client.portal.call(self.services.worker.run_once)

    def outbox(self, address: str | None = None) -> list[Outbox]:
        with self.app.sessions() as session:
            query = select(Outbox).order_by(Outbox.id)
            if address is not None:
                query = query.where(Outbox.address == address)
            return list(session.scalars(query))


@pytest.fixture
def bot(app, fake):
    services = Services(app)
    with TestClient(services.web_app(), base_url="http://internal:8000") as client:  # runs the lifespan
        # Twilio's status callbacks reach the bot like its webhooks do: signed, at the public URL.
        fake.callback_sink = relay = CallbackRelay(client, PUBLIC)
        try:
            yield Bot(app, services, client, fake)
        finally:
            fake.callback_sink = None
            relay.close()


# -- tests -----------------------------------------------------------------------

WA_BOT = f"whatsapp:{WA_FROM}"


def test_new_whatsapp_resident_gets_welcome_and_consent_question(bot):
    resp = bot.post("whatsapp:+6281234567001", "halo", ProfileName="Bu Sri")
    assert resp.status_code == 200
    assert "<Response></Response>" in resp.text  # empty TwiML: replies go through the REST API

    welcome, consent = bot.wait_replies("whatsapp:+6281234567001", 2)
    assert welcome["From"] == consent["From"] == WA_BOT
    assert "Kampung Home Industri" in welcome["Body"]
    assert "setuju?" in consent["Body"]
    assert consent["Body"].endswith("\n\n1. Setuju\n2. Tidak setuju")
    assert welcome["account_sid"] == SID


def test_complete_onboarding_by_whatsapp_reaches_main_menu(bot):
    sri = "whatsapp:+6281234567002"
    assert "1. Setuju" in bot.send(sri, "halo")[-1]["Body"]
    assert bot.send(sri, "1")[-1]["Body"].startswith("Siapa nama Anda")
    rt = bot.send(sri, "Bu Sri")[-1]["Body"]
    assert "RT berapa (RW 05)" in rt and "\n4. RT 04\n" in rt
    paguyuban = bot.send(sri, "4")[-1]["Body"]
    assert paguyuban.endswith(
        "1. Karang Taruna\n2. PKK RW 05\n3. Pengajian Al-Ikhlas\n4. UMKM RW 05\n5. Tidak ikut / lewati"
    )
    assert "1. Bahasa Indonesia" in bot.send(sri, "1, 3")[-1]["Body"]
    done, menu = bot.send(sri, "1")

    assert done["Body"].startswith("Selesai, Bu Sri!")
    assert menu["Body"].startswith("Menu utama")
    assert "\n1. Usaha saya" in menu["Body"]
    last = bot.outbox("+6281234567002")[-1]
    assert (last.payload["flow"], last.payload["step"]) == ("help", "menu")
    assert {row.status for row in bot.outbox()} == {"sent"}
    assert {r["From"] for r in bot.replies(sri)} == {WA_BOT}


def test_sms_resident_is_answered_from_the_sms_number(bot):
    resp = bot.post("+6281234567003", "halo")
    assert resp.status_code == 200

    welcome, consent = bot.wait_replies("+6281234567003", 2)
    assert welcome["From"] == consent["From"] == SMS_FROM
    assert "1. Setuju" in consent["Body"]
    assert not any(r["To"].startswith("whatsapp:") for r in bot.fake.requests)


def test_forged_signature_is_forbidden_and_not_processed(bot):
    forged = sign({"From": "whatsapp:+6281234567004", "Body": "something else"})
    assert bot.post("whatsapp:+6281234567004", "halo", signature=forged).status_code == 403
    assert bot.post("whatsapp:+6281234567004", "halo", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403

    bot.worker_pass()
    assert count(bot.app, Inbox) == 0
    assert count(bot.app, Outbox) == 0
    assert bot.fake.requests == []


def test_unsigned_request_is_forbidden(bot):
    assert bot.post("whatsapp:+6281234567005", "halo", signature=None).status_code == 403
    bot.worker_pass()
    assert count(bot.app, Inbox) == 0
    assert bot.fake.requests == []


def test_signed_request_without_from_is_bad_request(bot):
    assert bot.post(None, "halo").status_code == 400
    bot.worker_pass()
    assert count(bot.app, Inbox) == 0
    assert bot.fake.requests == []


def test_same_message_sid_twice_is_processed_once(bot):
    sid = next(_sids)
    first = bot.post("whatsapp:+6281234567006", "halo", sid=sid)
    second = bot.post("whatsapp:+6281234567006", "halo", sid=sid)
    assert (first.status_code, second.status_code) == (200, 200)

    bot.wait_replies("whatsapp:+6281234567006", 2)
    settle(bot.app)
    bot.worker_pass()  # nothing more to do
    assert len(bot.replies("whatsapp:+6281234567006")) == 2
    assert count(bot.app, Inbox) == 1
    assert len(bot.outbox("+6281234567006")) == 2


def test_voice_note_gets_friendly_cannot_read_reply(bot):
    resp = bot.post(
        "whatsapp:+6281234567007", "",
        NumMedia="1",
        MediaUrl0=f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1",
        MediaContentType0="audio/ogg",
    )
    assert resp.status_code == 200

    bot.wait_replies("whatsapp:+6281234567007", 1)
    settle(bot.app)
    bodies = [r["Body"] for r in bot.replies("whatsapp:+6281234567007")]
    assert bodies[0].startswith("Maaf, kami belum bisa membaca pesan suara"), bodies
    assert "1. Setuju" in bodies[-1]  # and the conversation still starts


def test_healthz(bot):
    resp = bot.client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_failed_send_is_kept_and_retried_later(bot):
    sri = "whatsapp:+6281234567008"
    bot.fake.fail_next(1, status=500)
    assert bot.post(sri, "halo").status_code == 200

    # The first reply fails: it stays pending with the error, waiting for its back-off.
    deadline = time.monotonic() + BUSY_WAIT
    while True:
        rows = bot.outbox("+6281234567008")
        if len(rows) == 2 and (rows[0].status, rows[0].attempts) == ("pending", 1) and rows[1].status != "sending":
            break
        assert time.monotonic() < deadline, [(r.status, r.attempts, r.error) for r in rows]
        time.sleep(0.02)
    failed = rows[0]
    assert "20500" in failed.error
    assert failed.not_before > failed.created_at
    assert bot.fake.requests[0]["response_status"] == 500

    # Past the back-off a dispatcher sends it: nothing is lost.
    later = ManualClock(failed.not_before + timedelta(seconds=1))
    dispatcher = Dispatcher(bot.app.sessions, bot.services.worker.dispatcher.senders, later)
    assert bot.client.portal.call(dispatcher.dispatch) >= 1

    rows = bot.outbox("+6281234567008")
    assert [(r.status, r.attempts) for r in rows] == [("sent", 2), ("sent", 1)]
    assert all(r.provider_id.startswith("SM") for r in rows)
    bodies = [r["Body"] for r in bot.replies(sri)]
    assert len(bodies) == 2
    assert any("Kampung Home Industri" in b for b in bodies)
    assert any("1. Setuju" in b for b in bodies)


# -- delivery receipts and the edge of the webhook ----------------------------------


def test_replies_ask_for_receipts_and_receipts_mark_them_delivered_and_read(bot):
    bot.fake.read_receipts = True
    sri = "whatsapp:+6281234567011"
    bot.post(sri, "halo")
    replies = bot.wait_replies(sri, 2)
    rows = bot.outbox("+6281234567011")
    assert [r["StatusCallback"] for r in replies] == [f"{PUBLIC}/webhooks/twilio/status?o={row.id}" for row in rows]

    callbacks = wait_for(lambda: bot.fake.callbacks, lambda found: len(found) == 3 * len(rows),
                         lambda found: f"callbacks: {found}")
    assert {c["status_code"] for c in callbacks} == {204}
    assert [r.delivery for r in bot.outbox("+6281234567011")] == ["read"] * len(rows)
    first = bot.outbox("+6281234567011")[0].provider_id
    assert [c["params"]["MessageStatus"] for c in callbacks if c["params"]["MessageSid"] == first] == [
        "sent", "delivered", "read"], callbacks


def test_outside_the_window_the_failure_arrives_by_callback_and_the_message_goes_by_sms(bot):
    """Twilio accepts a free-form message outside the 24-hour window (201 queued) and
    fails it afterwards with 63016, by status callback only; with no template approved
    and TWILIO_SMS_FROM set, the message then goes by SMS."""
    bot.fake.enforce_window = True
    sri = "whatsapp:+6281234567012"
    bot.post(sri, "halo", opens_window=False)  # as if WhatsApp's window had closed meanwhile
    by_sms = bot.wait_replies("+6281234567012", 2)
    on_whatsapp = bot.replies(sri)
    assert [r["Body"] for r in by_sms] == [r["Body"] for r in on_whatsapp]
    assert [r["response_status"] for r in on_whatsapp] == [201, 201]
    failed = [c["params"] for c in bot.fake.callbacks if c["params"]["To"] == sri]
    assert [(c["MessageStatus"], c["ErrorCode"]) for c in failed] == [("failed", "63016")] * 2
    rows = wait_for(lambda: bot.outbox("+6281234567012"), lambda found: all(r.delivery == "delivered" for r in found),
                    lambda found: f"rows: {[(r.id, r.channel, r.status, r.delivery) for r in found]}")
    assert [(r.channel, r.status) for r in rows] == [("sms", "sent")] * 2


def test_forged_status_callback_is_403(bot):
    sri = "whatsapp:+6281234567013"
    bot.post(sri, "halo")
    bot.wait_replies(sri, 2)
    settle(bot.app)
    row = bot.outbox("+6281234567013")[0]
    params = {"MessageSid": row.provider_id, "MessageStatus": "failed", "ErrorCode": "63003"}
    forged = RequestValidator("not-the-token").compute_signature(f"{PUBLIC}/webhooks/twilio/status?o={row.id}", params)
    resp = bot.client.post(f"/webhooks/twilio/status?o={row.id}", data=params, headers={"X-Twilio-Signature": forged})
    assert resp.status_code == 403
    assert bot.client.post(f"/webhooks/twilio/status?o={row.id}", data=params).status_code == 403
    assert bot.outbox("+6281234567013")[0].failure is None


def test_messenger_sender_is_400_and_never_stored(bot):
    assert bot.post("messenger:1234567890123456", "halo").status_code == 400
    assert bot.post("whatsapp:+" + "6" * 60, "halo").status_code == 400
    bot.worker_pass()
    assert count(bot.app, Inbox) == 0
    assert bot.fake.requests == []


def test_message_sid_of_97_characters_is_400_not_500(bot):
    assert bot.post("whatsapp:+6281234567014", "halo", sid="SM" + "a" * 95).status_code == 400
    assert bot.post("whatsapp:+6281234567014", "halo", sid="SM" + "b" * 32 + "NumMedia0").status_code == 400
    bot.worker_pass()
    assert count(bot.app, Inbox) == 0
