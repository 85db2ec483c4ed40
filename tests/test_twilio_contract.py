"""The fake Twilio checks every request against Twilio's published OpenAPI spec: what the
real API would refuse fails the test that sent it. And the channel's own requests pass."""
from __future__ import annotations

import httpx
import pytest

from bot.channels.twilio_channel import TwilioChannel
from bot.messages import OutgoingMessage
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, API_VERSION
from tests.fakes.twilio_contract import TWILIO_API, Contract
from tests.test_twilio_channel import NoReceipts, RecordingQueue, make_settings

MESSAGES = f"/{API_VERSION}/Accounts/{ACCOUNT_SID}/Messages.json"
GOOD = {"To": "whatsapp:+6281234567001", "From": "whatsapp:+14155238886", "Body": "halo"}


def create(fake, fields, path: str = MESSAGES) -> httpx.Response:
    return httpx.post(fake.base_url + path, data=fields, auth=(ACCOUNT_SID, AUTH_TOKEN))


@pytest.mark.parametrize("fields, problem", [
    ({**GOOD, "StatusCallBack": "https://bot.example.org/s"}, "unknown field 'StatusCallBack'"),
    ({"From": "whatsapp:+14155238886", "Body": "halo"}, "missing required field 'To'"),
    ({**GOOD, "ValidityPeriod": "soon"}, "ValidityPeriod: 'soon' is not a integer"),
    ({**GOOD, "SmartEncoded": "maybe"}, "SmartEncoded: 'maybe' is not a boolean"),
    ({**GOOD, "ContentSid": "HX123"}, "does not match ^HX[0-9a-fA-F]{32}$"),
    ({**GOOD, "MessagingServiceSid": "MG" + "z" * 32}, "does not match ^MG[0-9a-fA-F]{32}$"),
    ({**GOOD, "StatusCallback": "https://bot_host.example.org/s"}, "is not a URL with a valid hostname"),
    ({**GOOD, "StatusCallback": "/webhooks/twilio/status"}, "is not a URL with a valid hostname"),
    ({**GOOD, "ContentRetention": "forever"}, "is not one of ['retain', 'discard']"),
    ({**GOOD, "Body": ["a", "b"]}, "field 'Body' given 2 times"),
])
def test_request_the_real_api_would_refuse_is_400_and_a_violation(fake, fields, problem):
    resp = create(fake, fields)
    assert resp.status_code == 400
    assert resp.json()["code"] == 20001
    violations = fake.take_violations()
    assert any(problem in v for v in violations), violations
    assert fake.requests == []


def test_a_violation_left_unread_fails_the_test_at_clear(fake):
    create(fake, {**GOOD, "Bogus": "1"})
    with pytest.raises(AssertionError, match="Bogus"):
        fake.clear()
    fake.clear()  # reported once, then forgotten


def test_valid_request_is_accepted(fake):
    assert create(fake, {**GOOD, "MediaUrl": ["https://a.example/1.jpg", "https://a.example/2.jpg"],
                         "ValidityPeriod": "600", "SmartEncoded": "true"}).status_code == 201
    assert fake.violations == []


def test_checker_knows_the_operations_and_path_parameters_of_the_spec():
    contract = Contract(TWILIO_API)
    assert contract.check("GET", f"/{API_VERSION}/Accounts/{ACCOUNT_SID}/Messages/SM{'0' * 32}.json") == []
    [unknown] = contract.check("PATCH", "/2010-04-01/Nowhere.json")
    assert "no such operation" in unknown
    problems = contract.check("POST", f"/{API_VERSION}/Accounts/AC123/Messages.json",
                              "application/x-www-form-urlencoded", list(GOOD.items()))
    assert any("path AccountSid" in p and "does not match" in p for p in problems)
    [problem] = contract.check("POST", MESSAGES, "application/json", {"To": "+62"})
    assert "body must be one of ['application/x-www-form-urlencoded']" in problem


async def test_every_request_the_channel_makes_passes_the_contract(fake):
    settings = make_settings(fake.base_url, files_secret="s3cret")
    channel = TwilioChannel(settings, RecordingQueue(), receipts=NoReceipts())
    service = TwilioChannel(make_settings(fake.base_url, twilio_messaging_service_sid="MG" + "ab" * 16),
                            RecordingQueue(), receipts=NoReceipts())
    outs = [
        (channel, OutgoingMessage("whatsapp", "+6281234567001", "halo", outbox_id=1)),
        (channel, OutgoingMessage("sms", "+6281234567002", "halo", outbox_id=2)),
        (channel, OutgoingMessage("whatsapp", "+6281234567001", "foto", media_url="https://kampung.example.org/a.png")),
        (channel, OutgoingMessage("whatsapp", "+6281234567001", "", kind="announcement", outbox_id=3,
                                  content_sid="HX" + "cd" * 16, content_variables={"1": "Melati"})),
        (service, OutgoingMessage("whatsapp", "+6281234567001", "halo", outbox_id=4)),
    ]
    for ch, out in outs:
        await ch.start()
        await ch.send(out)
        await ch.stop()
    assert [r["response_status"] for r in fake.requests] == [201] * len(outs)
    assert fake.violations == []
