"""The fake Bot API enforces Telegram's flood limits and message sizes, so a bot that
ignores them sees 429s and 400s here as it would in production. (That the dispatcher
keeps to the limits is tested with the dispatcher.)"""
from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.channels.telegram_channel import TelegramChannel
from bot.delivery import Outcome, SendError
from bot.messages import OutgoingMessage
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI


async def _nothing(msg) -> bool:
    return True


@pytest.fixture
def api(request):
    server = FakeTelegramAPI(**getattr(request, "param", {})).start()
    yield server
    server.stop()
    server.assert_no_violations()


@pytest.fixture
async def channel(api):
    settings = Settings(telegram_bot_token=api.token, telegram_api_base_url=api.base_url,
                        telegram_webhook_secret="s", public_base_url="https://kampung.example.org")
    ch = TelegramChannel(settings, _nothing, [])
    await ch.start()
    yield ch
    await ch.stop()


async def burst(channel: TelegramChannel, addresses: list[str]) -> tuple[list[str], list[SendError]]:
    """Everything at once, as a bot that ignores the limits would send it."""
    results = await asyncio.gather(
        *(channel.send(OutgoingMessage(channel="telegram", address=a, text=f"pesan {i}")) for i, a in enumerate(addresses)),
        return_exceptions=True)
    sent = [r for r in results if isinstance(r, str)]
    errors = [r for r in results if isinstance(r, SendError)]
    assert len(sent) + len(errors) == len(addresses), results
    return sent, errors


def post(api: FakeTelegramAPI, method: str, **params) -> httpx.Response:
    return httpx.post(f"{api.base_url}/bot{api.token}/{method}", json=params)


async def test_a_burst_of_forty_to_one_chat_gets_429s(api, channel):
    sent, errors = await burst(channel, ["555"] * 40)

    assert errors, "40 messages at once to one chat must hit flood control"
    assert len(sent) >= 5  # Telegram lets a short burst through
    assert all(e.outcome is Outcome.RATE_LIMITED and e.code == "429" and e.retry_after >= 1 for e in errors)
    assert api.throttled == {"chat": len(errors)}
    assert len(api.delivered("sendMessage")) == len(sent)
    assert len(api.calls("sendMessage")) == 40  # each refused once, none retried by PTB


async def test_a_group_gets_twenty_messages_a_minute(api, channel):
    sent, errors = await burst(channel, ["-100123"] * 25)

    assert (len(sent), len(errors)) == (20, 5)
    assert api.throttled == {"group": 5}
    assert all(1 <= e.retry_after <= 60 for e in errors)


@pytest.mark.parametrize("api", [{"rate_per_second": 1, "global_burst": 10}], indirect=True)
async def test_the_overall_rate_applies_across_chats(api, channel):
    sent, errors = await burst(channel, [str(1000 + i) for i in range(20)])

    assert len(sent) >= 10 and errors
    assert api.throttled == {"global": len(errors)}


@pytest.mark.parametrize("api", [{"chat_burst": 1}], indirect=True)
async def test_a_refused_send_uses_no_allowance_and_retry_after_is_honest(api, channel):
    out = OutgoingMessage(channel="telegram", address="555", text="halo")
    await channel.send(out)
    with pytest.raises(SendError) as refused:
        await channel.send(out)
    await asyncio.sleep(refused.value.retry_after)
    await channel.send(out)
    assert len(api.delivered("sendMessage")) == 2


@pytest.mark.parametrize("api", [{"chat_burst": 1}], indirect=True)
def test_flood_control_answer_looks_like_telegrams(api):
    assert post(api, "sendMessage", chat_id=555, text="a").status_code == 200
    resp = post(api, "sendMessage", chat_id=555, text="b")
    assert resp.status_code == 429
    assert resp.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                           "parameters": {"retry_after": 1}}
    assert api.rate_limited == 1


@pytest.mark.parametrize("api", [{"limits": False}], indirect=True)
async def test_limits_can_be_switched_off(api, channel):
    sent, errors = await burst(channel, ["555"] * 40)
    assert (len(sent), errors) == (40, [])


def test_sizes_are_counted_after_parsing_in_utf16_units(api):
    assert post(api, "sendMessage", chat_id=1, text="a" * 4096).status_code == 200
    assert post(api, "sendMessage", chat_id=2, text="<b>" + "a" * 4096 + "</b>", parse_mode="HTML").status_code == 200
    too_long = post(api, "sendMessage", chat_id=3, text="🎉" * 2049)
    assert (too_long.status_code, too_long.json()["description"]) == (400, "Bad Request: message is too long")
    caption = post(api, "sendPhoto", chat_id=4, photo="https://x.org/a.png", caption="a" * 1025)
    assert (caption.status_code, caption.json()["description"]) == (400, "Bad Request: message caption is too long")
    assert post(api, "sendPhoto", chat_id=5, photo="https://x.org/a.png", caption="a" * 1024).status_code == 200


def test_html_the_real_api_cannot_parse_is_refused(api):
    resp = post(api, "sendMessage", chat_id=1, text="a < b", parse_mode="HTML")
    assert resp.status_code == 400 and resp.json()["description"].startswith("Bad Request: can't parse entities")
    resp = post(api, "sendMessage", chat_id=2, text="<blink>x</blink>", parse_mode="HTML")
    assert resp.status_code == 400


def test_blocked_and_unknown_chats(api):
    api.mark_blocked(555)
    api.mark_unknown(777)
    blocked = post(api, "sendMessage", chat_id=555, text="x")
    unknown = post(api, "sendMessage", chat_id=777, text="x")
    assert (blocked.status_code, blocked.json()["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert (unknown.status_code, unknown.json()["description"]) == (400, "Bad Request: chat not found")


@pytest.mark.parametrize("api", [{"delay": (0.1, 0.2)}], indirect=True)
async def test_a_slow_answer_holds_up_no_other_request(api, channel):
    sent, errors = await burst(channel, [str(2000 + i) for i in range(10)])
    assert (len(sent), errors) == (10, [])
    assert api.max_in_flight > 1
