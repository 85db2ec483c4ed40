"""The Twilio webhook at its edges: unsigned and oversized bodies cost nothing, and only
a MessageSid and a sender of the shapes Twilio sends are accepted, even when signed."""
from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from twilio.request_validator import RequestValidator

from bot.channels.twilio_channel import MAX_WEBHOOK_BYTES, TwilioChannel
from tests.test_twilio_channel import TOKEN, WEBHOOK_URL, RecordingQueue, make_settings, whatsapp_params

SID = "SM" + "a1" * 16


@pytest.fixture
def queue():
    return RecordingQueue()


@pytest.fixture
def web(queue):
    return Starlette(routes=TwilioChannel(make_settings(), queue).routes())


@pytest.fixture
async def http(web):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://internal:8000") as client:
        yield client


def sign(params: dict) -> str:
    return RequestValidator(TOKEN).compute_signature(WEBHOOK_URL, params)


async def post_signed(http, params: dict, signature: str | None = None):
    return await http.post("/webhooks/twilio", data=params, headers={"X-Twilio-Signature": signature or sign(params)})


class Upload:
    """A raw ASGI request whose body arrives in chunks; counts how many were read."""

    def __init__(self, headers: dict[str, str], chunks: list[bytes]):
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.chunks = chunks
        self.read = 0
        self.status: int | None = None

    async def run(self, app) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/webhooks/twilio", "raw_path": b"/webhooks/twilio", "query_string": b"", "root_path": "",
            "headers": self.headers, "client": ("127.0.0.1", 5000), "server": ("internal", 8000),
        }

        async def receive():
            self.read += 1
            more = self.read < len(self.chunks)
            return {"type": "http.request", "body": self.chunks[self.read - 1], "more_body": more}

        async def send(message):
            if message["type"] == "http.response.start":
                self.status = message["status"]

        await app(scope, receive, send)
        return self.status


FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_unsigned_5_mb_body_is_refused_without_being_read(web, queue):
    body = [b"Body=" + b"x" * (5 * 1024 * 1024)]
    upload = Upload({**FORM, "content-length": str(len(body[0]))}, body)
    assert await upload.run(web) == 403
    assert upload.read == 0
    assert queue.messages == []


async def test_declared_body_over_64_kb_is_413_without_being_read(web, queue):
    body = [b"Body=" + b"x" * MAX_WEBHOOK_BYTES]
    upload = Upload({**FORM, "content-length": str(len(body[0])), "x-twilio-signature": "c2lnbmVk"}, body)
    assert await upload.run(web) == 413
    assert upload.read == 0


async def test_streamed_body_over_64_kb_is_413_after_reading_at_most_the_cap(web, queue):
    chunks = [b"x" * 16384] * 64  # 1 MB without a Content-Length
    upload = Upload({**FORM, "x-twilio-signature": "c2lnbmVk"}, chunks)
    assert await upload.run(web) == 413
    assert upload.read <= MAX_WEBHOOK_BYTES // 16384 + 1
    assert queue.messages == []


async def test_signed_body_over_64_kb_is_413(http, queue):
    params = whatsapp_params(Body="x" * MAX_WEBHOOK_BYTES)
    resp = await post_signed(http, params)
    assert resp.status_code == 413
    assert queue.messages == []


async def test_body_just_under_the_cap_is_accepted(http, queue):
    params = whatsapp_params(Body="x" * (MAX_WEBHOOK_BYTES - 1024))
    assert (await post_signed(http, params)).status_code == 200
    assert len(queue.messages[0].text) == MAX_WEBHOOK_BYTES - 1024


async def test_shifted_boundary_keeps_the_signature_but_is_refused(http, queue):
    # Twilio signs name+value pairs joined without a separator: dropping NumMedia=0 and
    # appending "NumMedia0" to the MessageSid signs the same, but is a different SID.
    genuine = {"MessageSid": SID, "NumMedia": "0", "From": "whatsapp:+6281234567001", "Body": "halo"}
    signature = sign(genuine)
    shifted = {"MessageSid": SID + "NumMedia0", "From": "whatsapp:+6281234567001", "Body": "halo"}
    assert RequestValidator(TOKEN).validate(WEBHOOK_URL, shifted, signature)

    assert (await post_signed(http, shifted, signature)).status_code == 400
    assert queue.messages == []
    assert (await post_signed(http, genuine, signature)).status_code == 200
    assert [m.external_id for m in queue.messages] == [f"twilio:{SID}"]


@pytest.mark.parametrize("sid", [
    "SM2",
    "SM" + "a" * 31,
    "SM" + "a" * 33,
    "XX" + "a" * 32,
    "sm" + "a" * 32,
    "SM" + "g" * 32,
    "SM" + "a" * 95,  # 97 characters: over the column, once a 500
    "",
])
async def test_malformed_message_sid_is_400(http, queue, sid):
    params = whatsapp_params(MessageSid=sid, SmsMessageSid=sid)
    assert (await post_signed(http, params)).status_code == 400
    assert queue.messages == []


async def test_mms_sid_is_accepted(http, queue):
    sid = "MM" + "0f" * 16
    assert (await post_signed(http, whatsapp_params(MessageSid=sid, SmsMessageSid=sid))).status_code == 200
    assert queue.messages[0].external_id == f"twilio:{sid}"


async def test_missing_or_disagreeing_sids_are_400(http, queue):
    params = whatsapp_params()
    del params["MessageSid"], params["SmsMessageSid"]
    assert (await post_signed(http, params)).status_code == 400
    assert (await post_signed(http, whatsapp_params(SmsMessageSid="SM" + "b" * 32))).status_code == 400
    assert queue.messages == []


@pytest.mark.parametrize("sender", [
    "messenger:1234567890123456",
    "rcs:kampung_bot",
    "whatsapp:6281234567001",
    "whatsapp:+62 812 3456 7001",
    "telegram:12345",
    "+1234",
    "+" + "9" * 40,
    "whatsapp:+" + "6" * 200,
    "Kampung",
])
async def test_sender_that_is_not_a_phone_number_is_400_and_never_stored(http, queue, sender):
    assert (await post_signed(http, whatsapp_params(From=sender))).status_code == 400
    assert queue.messages == []


async def test_whatsapp_and_sms_senders_are_stored_as_e164(http, queue):
    await post_signed(http, whatsapp_params(From="whatsapp:+6281234567001"))
    sid = "SM" + "3" * 32
    await post_signed(http, whatsapp_params(From="+14155238886", MessageSid=sid, SmsMessageSid=sid))
    assert [(m.channel, m.address) for m in queue.messages] == [("whatsapp", "+6281234567001"),
                                                                 ("sms", "+14155238886")]


async def test_signed_json_body_is_403(http, queue):
    params = whatsapp_params()
    resp = await http.post("/webhooks/twilio", json=params, headers={"X-Twilio-Signature": sign(params)})
    assert resp.status_code == 403
    assert queue.messages == []

