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
from tests.e2e_support import count, settle
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

    def post(self, sender: str, body: str = "", sid: str | None = None, signature: str | None = "sign", **extra):
        """POST what Twilio posts for an incoming message from ``sender`` (None drops a field)."""
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
        new = self.replies(to)[before:]
        assert new, f"no reply to {text!r}"
        return new

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
        yield Bot(app, services, client, fake)


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
    assert resp.json() == {"status": "ok", "database": "ok"}


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
    assert failed.error.startswith("TwilioRestException") and "500" in failed.error
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
