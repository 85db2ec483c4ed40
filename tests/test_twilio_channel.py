"""TwilioChannel against the real twilio library: real signatures, real REST client."""
from __future__ import annotations

import asyncio
import json
import re
import socket
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from bot.channels.twilio_channel import EMPTY_TWIML, TwilioChannel, classify_twilio_error, render_text
from bot.delivery import Failure, Outcome, Rate, SendError
from bot.messages import Choice, IncomingMessage, Location, Media, OutgoingMessage
from bot.settings import Settings
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN

SID = ACCOUNT_SID
TOKEN = AUTH_TOKEN
PUBLIC = "https://kampung.example.org"
WEBHOOK_URL = PUBLIC + "/webhooks/twilio"


class RecordingQueue:
    """enqueue stub: keeps messages, reports duplicates by external_id like the inbox does."""

    def __init__(self):
        self.messages: list[IncomingMessage] = []
        self.results: list[bool] = []
        self._seen: set[str] = set()

    async def __call__(self, msg: IncomingMessage) -> bool:
        fresh = msg.external_id is None or msg.external_id not in self._seen
        if fresh:
            self.messages.append(msg)
            if msg.external_id:
                self._seen.add(msg.external_id)
        self.results.append(fresh)
        return fresh


def make_settings(base_url: str = "", **overrides) -> Settings:
    values = dict(
        public_base_url=PUBLIC,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_whatsapp_from="+14155238886",
        twilio_sms_from="+15005550006",
        twilio_api_base_url=base_url,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def queue():
    return RecordingQueue()


@pytest.fixture
async def channel(fake, queue):
    channel = TwilioChannel(make_settings(fake.base_url), queue)
    await channel.start()
    yield channel
    await channel.stop()


@pytest.fixture
async def http(channel):
    app = Starlette(routes=channel.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://internal:8000") as client:
        yield client


def sign(params: dict, url: str = WEBHOOK_URL, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


async def post_signed(http, params: dict, url: str = WEBHOOK_URL, path: str = "/webhooks/twilio", **sign_kwargs):
    headers = {"X-Twilio-Signature": sign(params, url, **sign_kwargs)}
    return await http.post(path, data=params, headers=headers)


def whatsapp_params(**extra) -> dict:
    params = {
        "SmsMessageSid": "SM11111111111111111111111111111111",
        "MessageSid": "SM11111111111111111111111111111111",
        "AccountSid": SID,
        "From": "whatsapp:+6281234567001",
        "To": "whatsapp:+14155238886",
        "Body": "Halo, saya mau lapor",
        "NumMedia": "0",
        "NumSegments": "1",
        "ProfileName": "Bu Sari",
        "WaId": "6281234567001",
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


# -- webhook -------------------------------------------------------------


async def test_whatsapp_text_is_enqueued(http, queue):
    resp = await post_signed(http, whatsapp_params())
    assert resp.status_code == 200
    assert resp.text == EMPTY_TWIML
    assert resp.headers["content-type"].startswith("text/xml")
    assert queue.messages == [
        IncomingMessage(
            channel="whatsapp",
            address="+6281234567001",
            text="Halo, saya mau lapor",
            profile_name="Bu Sari",
            external_id="twilio:SM11111111111111111111111111111111",
        )
    ]


async def test_sms_sender_without_prefix(http, queue):
    params = {"MessageSid": "SM" + "2" * 32, "From": "+6281234567002", "To": "+15005550006", "Body": "stop"}
    resp = await post_signed(http, params)
    assert resp.status_code == 200
    [msg] = queue.messages
    assert (msg.channel, msg.address, msg.text) == ("sms", "+6281234567002", "stop")
    assert msg.profile_name is None
    assert msg.external_id == "twilio:SM" + "2" * 32


async def test_media_and_location(http, queue):
    params = whatsapp_params(
        Body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME2",
        MediaContentType1="audio/ogg",
        Latitude="-6.2088",
        Longitude="106.8456",
        Address="Jl. Kampung Melayu",
    )
    resp = await post_signed(http, params)
    assert resp.status_code == 200
    [msg] = queue.messages
    assert msg.text == ""
    assert msg.media == [
        Media(params["MediaUrl0"], "image/jpeg"),
        Media(params["MediaUrl1"], "audio/ogg"),
    ]
    assert [m.kind for m in msg.media] == ["image", "audio"]
    assert msg.location == Location(-6.2088, 106.8456)


async def test_garbage_location_and_media_count_are_ignored(http, queue):
    params = whatsapp_params(NumMedia="lots", Latitude="south", Longitude="106.8")
    resp = await post_signed(http, params)
    assert resp.status_code == 200
    [msg] = queue.messages
    assert msg.location is None
    assert msg.media == []


async def test_unknown_fields_are_accepted(http, queue):
    params = whatsapp_params(ButtonText="Ya", ReferralCtwaClid="xyz", SomethingNew2030="42")
    resp = await post_signed(http, params)
    assert resp.status_code == 200
    assert len(queue.messages) == 1


async def test_query_string_is_part_of_signed_url(http, queue):
    params = whatsapp_params()
    resp = await post_signed(http, params, url=WEBHOOK_URL + "?v=2", path="/webhooks/twilio?v=2")
    assert resp.status_code == 200
    assert len(queue.messages) == 1


async def test_forged_signature_is_403(http, queue):
    resp = await http.post("/webhooks/twilio", data=whatsapp_params(), headers={"X-Twilio-Signature": "AAAA" * 7})
    assert resp.status_code == 403
    assert resp.content == b""
    assert queue.messages == []


async def test_signature_with_wrong_token_is_403(http, queue):
    resp = await post_signed(http, whatsapp_params(), token="someone-elses-token")
    assert resp.status_code == 403
    assert queue.messages == []


async def test_tampered_body_is_403(http, queue):
    params = whatsapp_params()
    headers = {"X-Twilio-Signature": sign(params)}
    resp = await http.post("/webhooks/twilio", data={**params, "Body": "changed"}, headers=headers)
    assert resp.status_code == 403
    assert queue.messages == []


async def test_missing_signature_is_403(http, queue):
    resp = await http.post("/webhooks/twilio", data=whatsapp_params())
    assert resp.status_code == 403
    assert queue.messages == []


async def test_signature_for_another_url_is_403(http, queue):
    # Signed for the internal address the request actually reached: the channel
    # must check against PUBLIC_BASE_URL, so this is rejected.
    resp = await post_signed(http, whatsapp_params(), url="http://internal:8000/webhooks/twilio")
    assert resp.status_code == 403
    resp = await post_signed(http, whatsapp_params(), url=PUBLIC + "/webhooks/other")
    assert resp.status_code == 403
    assert queue.messages == []


async def test_valid_signature_without_from_is_400(http, queue):
    params = whatsapp_params()
    del params["From"]
    resp = await post_signed(http, params)
    assert resp.status_code == 400
    assert queue.messages == []


async def test_duplicate_delivery_answers_200_twice(http, queue):
    params = whatsapp_params()
    first = await post_signed(http, params)
    second = await post_signed(http, params)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.text == EMPTY_TWIML
    assert queue.results == [True, False]
    assert len(queue.messages) == 1


async def test_get_is_not_allowed(http):
    resp = await http.get("/webhooks/twilio")
    assert resp.status_code == 405


# -- rendering -------------------------------------------------------------


def test_render_text_without_choices():
    assert render_text(OutgoingMessage("sms", "+62", "Terima kasih")) == "Terima kasih"


def test_render_text_with_choices():
    out = OutgoingMessage("whatsapp", "+62", "Pilih:", choices=[Choice("yes", "Ya"), Choice("no", "Tidak")])
    assert render_text(out) == "Pilih:\n\n1. Ya\n2. Tidak"


def test_render_text_choices_only():
    out = OutgoingMessage("whatsapp", "+62", "", choices=[Choice("a", "A")])
    assert render_text(out) == "1. A"


# -- sending ---------------------------------------------------------------


async def test_send_whatsapp_with_choices(channel, fake):
    out = OutgoingMessage(
        "whatsapp", "+6281234567001", "Mau ikut kerja bakti?", choices=[Choice("yes", "Ya"), Choice("no", "Tidak")]
    )
    sid = await channel.send(out)
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    [req] = fake.requests
    assert req["From"] == "whatsapp:+14155238886"
    assert req["To"] == "whatsapp:+6281234567001"
    assert req["Body"] == "Mau ikut kerja bakti?\n\n1. Ya\n2. Tidak"
    assert req["MediaUrl"] == []
    assert req["sid"] == sid


async def test_send_whatsapp_from_already_prefixed(fake, queue):
    channel = TwilioChannel(make_settings(fake.base_url, twilio_whatsapp_from="whatsapp:+14155238886"), queue)
    await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "hai"))
    assert fake.requests[0]["From"] == "whatsapp:+14155238886"


async def test_send_sms_with_choices(channel, fake):
    out = OutgoingMessage("sms", "+6281234567002", "Pilih", choices=[Choice("a", "Pagi"), Choice("b", "Sore")])
    await channel.send(out)
    [req] = fake.requests
    assert req["From"] == "+15005550006"
    assert req["To"] == "+6281234567002"
    assert req["Body"] == "Pilih\n\n1. Pagi\n2. Sore"


async def test_send_with_media_url(channel, fake):
    out = OutgoingMessage("whatsapp", "+6281234567001", "Jadwal", media_url="https://kampung.example.org/m/jadwal.png")
    await channel.send(out)
    [req] = fake.requests
    assert req["MediaUrl"] == ["https://kampung.example.org/m/jadwal.png"]
    assert req["Body"] == "Jadwal"


async def test_send_with_document_path_sends_text_only(channel, fake):
    out = OutgoingMessage("whatsapp", "+6281234567001", "Laporan", document_path="/tmp/laporan.pdf")
    await channel.send(out)
    [req] = fake.requests
    assert req["Body"] == "Laporan"
    assert req["MediaUrl"] == []


async def test_send_500_is_transient(channel, fake):
    fake.fail_next(1, status=500)
    with pytest.raises(SendError) as info:
        await channel.send(OutgoingMessage("sms", "+6281234567002", "halo"))
    assert info.value.outcome is Outcome.TRANSIENT
    assert isinstance(info.value.__cause__, TwilioRestException) and info.value.__cause__.status == 500
    # The failure is not sticky: the next send goes through.
    assert (await channel.send(OutgoingMessage("sms", "+6281234567002", "halo"))).startswith("SM")
    assert [r["response_status"] for r in fake.requests] == [500, 201]


async def test_send_invalid_number_is_unreachable(channel, fake):
    with pytest.raises(SendError) as info:
        await channel.send(OutgoingMessage("whatsapp", "+62", "halo"))
    assert (info.value.outcome, info.value.failure, info.value.code) == (
        Outcome.UNREACHABLE, Failure.INVALID_NUMBER, "21211")
    assert fake.requests[0]["response_status"] == 400


async def test_send_with_wrong_credentials_is_transient(fake, queue):
    channel = TwilioChannel(make_settings(fake.base_url, twilio_auth_token="wrong"), queue)
    await channel.start()
    try:
        with pytest.raises(SendError) as info:
            await channel.send(OutgoingMessage("sms", "+6281234567002", "halo"))
    finally:
        await channel.stop()
    # A wrong token must not fail the message for good: fixing the setting sends it.
    assert (info.value.outcome, info.value.code) == (Outcome.TRANSIENT, "20003")
    assert fake.requests == []


async def test_base_url_redirect_survives_edge_env(fake, queue, monkeypatch):
    # TWILIO_EDGE/TWILIO_REGION make the client rewrite hostnames; the redirect must win.
    monkeypatch.setenv("TWILIO_EDGE", "singapore")
    monkeypatch.setenv("TWILIO_REGION", "sg1")
    channel = TwilioChannel(make_settings(fake.base_url), queue)
    await channel.start()
    await channel.send(OutgoingMessage("sms", "+6281234567002", "halo"))
    await channel.stop()
    assert len(fake.requests) == 1


async def test_send_unknown_channel_raises(channel, fake):
    with pytest.raises(ValueError):
        await channel.send(OutgoingMessage("telegram", "123", "halo"))
    assert fake.requests == []


async def test_send_sms_without_sms_sender_is_refused(fake, queue):
    channel = TwilioChannel(make_settings(fake.base_url, twilio_sms_from=""), queue)
    with pytest.raises(SendError) as info:
        await channel.send(OutgoingMessage("sms", "+6281234567002", "halo"))
    assert info.value.outcome is Outcome.PERMANENT
    assert fake.requests == []


# -- status callbacks, senders, templates, limits -------------------------------

SERVICE = "MG" + "ab" * 16
CONTENT = "HX" + "cd" * 16


class NoReceipts:
    """Stands in for StatusReceipts where only the callback URL matters."""

    def callback_url(self, outbox_id: int) -> str:
        return f"{PUBLIC}/webhooks/twilio/status?o={outbox_id}"

    def route(self, signed_form):
        raise AssertionError("not served in these tests")


async def started(channel: TwilioChannel) -> TwilioChannel:
    await channel.start()
    return channel


async def test_send_asks_for_a_status_callback_naming_the_outbox_row(fake, queue):
    channel = await started(TwilioChannel(make_settings(fake.base_url), queue, receipts=NoReceipts()))
    await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "halo", outbox_id=42))
    await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "tanpa baris"))
    await channel.stop()
    first, second = fake.requests
    assert first["StatusCallback"] == "https://kampung.example.org/webhooks/twilio/status?o=42"
    assert "StatusCallback" not in second


async def test_without_receipts_no_callback_is_asked_for(channel, fake):
    await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "halo", outbox_id=42))
    assert "StatusCallback" not in fake.requests[0]


async def test_messaging_service_replaces_from(fake, queue):
    channel = await started(TwilioChannel(make_settings(fake.base_url, twilio_messaging_service_sid=SERVICE), queue))
    await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "halo"))
    await channel.send(OutgoingMessage("sms", "+6281234567002", "halo"))
    await channel.stop()
    wa, sms = fake.requests
    assert (wa["MessagingServiceSid"], wa["To"]) == (SERVICE, "whatsapp:+6281234567001")
    assert (sms["MessagingServiceSid"], sms["To"]) == (SERVICE, "+6281234567002")
    assert "From" not in wa and "From" not in sms


async def test_template_goes_with_content_sid_and_variables_and_no_body(channel, fake):
    out = OutgoingMessage("whatsapp", "+6281234567001", "Pengumuman: kerja bakti Minggu", kind="announcement",
                          content_sid=CONTENT, content_variables={"1": "Kampung Melati", "2": "kerja bakti Minggu"})
    assert (await channel.send(out)).startswith("SM")
    [req] = fake.requests
    assert req["ContentSid"] == CONTENT
    assert json.loads(req["ContentVariables"]) == {"1": "Kampung Melati", "2": "kerja bakti Minggu"}
    assert "Body" not in req
    assert req["response_status"] == 201


def test_buckets_one_per_sender_and_channel(queue):
    channel = TwilioChannel(make_settings(twilio_whatsapp_rate_per_second=80, twilio_sms_rate_per_second=1), queue)
    [wa] = channel.buckets(OutgoingMessage("whatsapp", "+6281234567001", "x"))
    [sms] = channel.buckets(OutgoingMessage("sms", "+6281234567002", "x"))
    assert (wa.key, wa.rate) == ("twilio:whatsapp:whatsapp:+14155238886", Rate(80))
    assert (sms.key, sms.rate) == ("twilio:sms:+15005550006", Rate(1))
    assert channel.buckets(OutgoingMessage("whatsapp", "+6281234567009", "y")) == [wa]

    service = TwilioChannel(make_settings(twilio_messaging_service_sid=SERVICE), queue)
    assert service.buckets(OutgoingMessage("whatsapp", "+6281234567001", "x"))[0].key == f"twilio:whatsapp:{SERVICE}"


def test_max_length_is_twilios_body_limit_less_the_choices(queue):
    channel = TwilioChannel(make_settings(), queue)
    assert channel.max_length(OutgoingMessage("whatsapp", "+6281234567001", "x")) == 1600
    assert channel.max_length(OutgoingMessage("sms", "+6281234567002", "x")) == 1600
    out = OutgoingMessage("whatsapp", "+6281234567001", "", choices=[Choice("yes", "Ya"), Choice("no", "Tidak")])
    limit = channel.max_length(out)
    assert len(render_text(replace(out, text="x" * limit))) == 1600


async def test_429_is_rate_limited_with_retry_after_from_the_header(channel, fake):
    fake.fail_next(1, status=429, code=20429, message="Too Many Requests", retry_after=7)
    with pytest.raises(SendError) as info:
        await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "halo"))
    assert (info.value.outcome, info.value.code, info.value.retry_after) == (Outcome.RATE_LIMITED, "20429", 7.0)


async def test_fake_rate_limit_answers_20429_and_counts(channel, fake):
    fake.rates["whatsapp"] = 2
    outcomes = []
    for _ in range(3):
        try:
            await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "halo"))
            outcomes.append("sent")
        except SendError as exc:
            outcomes.append((exc.outcome, exc.retry_after))
    assert outcomes == ["sent", "sent", (Outcome.RATE_LIMITED, 1.0)]
    assert fake.rate_limited == 1


async def test_unreachable_api_is_transient(queue):
    channel = await started(TwilioChannel(make_settings(f"http://127.0.0.1:{_closed_port()}"), queue))
    with pytest.raises(SendError) as info:
        await channel.send(OutgoingMessage("sms", "+6281234567002", "halo"))
    await channel.stop()
    assert info.value.outcome is Outcome.TRANSIENT


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("code, status, outcome, failure", [
    (21211, 400, Outcome.UNREACHABLE, Failure.INVALID_NUMBER),
    (21614, 400, Outcome.UNREACHABLE, Failure.INVALID_NUMBER),
    (21610, 400, Outcome.OPTED_OUT, Failure.UNSUBSCRIBED),
    (63003, None, Outcome.NOT_ON_CHANNEL, Failure.NOT_ON_WHATSAPP),
    (63024, 400, Outcome.NOT_ON_CHANNEL, Failure.NOT_ON_WHATSAPP),
    (63016, None, Outcome.OUTSIDE_WINDOW, Failure.OUTSIDE_WINDOW),
    (20429, 429, Outcome.RATE_LIMITED, None),
    (None, 429, Outcome.RATE_LIMITED, None),
    (20500, 500, Outcome.TRANSIENT, None),
    (None, 503, Outcome.TRANSIENT, None),
    (None, None, Outcome.TRANSIENT, None),
    (21602, 400, Outcome.PERMANENT, Failure.REFUSED),
    (30007, None, Outcome.PERMANENT, Failure.REFUSED),
])
def test_classify_twilio_error(code, status, outcome, failure):
    error = classify_twilio_error(code, status)
    assert (error.outcome, error.failure) == (outcome, failure)
    if outcome is Outcome.RATE_LIMITED:
        assert error.retry_after == 1.0


async def test_hundreds_of_sends_are_in_flight_at_once(channel, fake):
    # SMS: the fake does not rate-limit it, so only the client can hold sends back.
    fake.delay = 0.3
    outs = [OutgoingMessage("sms", f"+62812345{n:05d}", f"pesan {n}") for n in range(300)]
    sids = await asyncio.gather(*(channel.send(out) for out in outs))
    assert len(set(sids)) == 300
    assert sorted(r["To"] for r in fake.requests) == sorted(out.address for out in outs)
    assert fake.max_in_flight >= 200
