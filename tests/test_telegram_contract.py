"""The fake Bot API refuses what the real one refuses, by the published method list."""
from __future__ import annotations

import json

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest

from tests.fakes.telegram_api import FakeTelegramAPI, UploadedFile
from tests.fakes.telegram_contract import check_request, spec


@pytest.fixture
async def bot(api):
    async with Bot(api.token, base_url=f"{api.base_url}/bot", base_file_url=f"{api.base_url}/file/bot") as b:
        yield b


def post(api: FakeTelegramAPI, method: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{api.base_url}/bot{api.token}/{method}", **kwargs)


# -- the checker itself ---------------------------------------------------------------


def test_every_method_the_fake_answers_is_in_the_spec():
    implemented = {name.removeprefix("_m_") for name in dir(FakeTelegramAPI) if name.startswith("_m_")}
    assert implemented <= set(spec()["methods"])


def test_a_correct_form_request_is_decoded_by_its_types():
    params, problems = check_request("sendMessage", {
        "chat_id": "-100123", "text": "halo", "disable_notification": "true",
        "reply_markup": json.dumps({"inline_keyboard": [[{"text": "Oke", "callback_data": "ok"}]]}),
    }, form=True)
    assert problems == []
    assert params == {"chat_id": -100123, "text": "halo", "disable_notification": True,
                      "reply_markup": {"inline_keyboard": [[{"text": "Oke", "callback_data": "ok"}]]}}
    named, problems = check_request("sendMessage", {"chat_id": "@kampung_rw05", "text": "halo"}, form=True)
    assert (named["chat_id"], problems) == ("@kampung_rw05", [])


@pytest.mark.parametrize(("method", "params", "form", "problem"), [
    ("sendMessage", {"chat_id": 5, "text": "x", "colour": "red"}, False, "sendMessage: unknown field 'colour'"),
    ("sendMessage", {"chat_id": 5}, False, "sendMessage: required field 'text' is missing"),
    ("sendMessage", {"chat_id": 5, "text": 12}, False, "sendMessage.text: expected String, got int 12"),
    ("sendMessage", {"chat_id": 5.5, "text": "x"}, False, "sendMessage.chat_id: expected"),
    ("sendMessage", {"chat_id": "5", "text": "x", "disable_notification": "maybe"}, True,
     "sendMessage.disable_notification: 'maybe' is not Boolean"),
    ("sendMessage", {"chat_id": "5", "text": "x", "reply_markup": "{not json"}, True, "sendMessage.reply_markup:"),
    ("sendMessage", {"chat_id": 5, "text": "x", "reply_markup": {"inline_keyboard": [[{"callback_data": "ok"}]]}},
     False, "required field 'text' of InlineKeyboardButton is missing"),
    ("sendMessage", {"chat_id": 5, "text": "x", "reply_markup": {"inline_keyboard": [{"text": "Oke"}]}},
     False, "sendMessage.reply_markup.inline_keyboard[0]: expected Array of InlineKeyboardButton, got dict"),
    ("sendPhoto", {"chat_id": "5", "photo": UploadedFile("a.jpg", "image/jpeg", b"x"),
                   "caption": UploadedFile("c.txt", "text/plain", b"x")}, True,
     "sendPhoto.caption: a file was uploaded where String is expected"),
    ("sendMesage", {"chat_id": 5, "text": "x"}, False, "sendMesage: no such Bot API method"),
])
def test_requests_the_real_api_would_refuse_are_violations(method, params, form, problem):
    _, problems = check_request(method, params, form=form)
    assert any(p.startswith(problem) or problem in p for p in problems), problems


def test_union_types_accept_any_of_their_alternatives():
    reply = {"keyboard": [[{"text": "Setuju"}, {"text": "📱", "request_contact": True}]], "one_time_keyboard": True}
    assert check_request("sendMessage", {"chat_id": 5, "text": "x", "reply_markup": reply}, form=False)[1] == []
    scope = {"type": "chat", "chat_id": -100123}
    assert check_request("setMyCommands", {"commands": [{"command": "menu", "description": "Menu"}],
                                           "scope": scope}, form=False)[1] == []


# -- the fake answers a violation with 400 and keeps it ----------------------------------


def test_unknown_field_is_refused_and_recorded(api):
    resp = post(api, "sendMessage", json={"chat_id": 555, "text": "halo", "colour": "red"})
    assert resp.status_code == 400
    assert resp.json() == {"ok": False, "error_code": 400, "description": "Bad Request: sendMessage: unknown field 'colour'"}
    assert api.delivered("sendMessage") == []
    with pytest.raises(AssertionError, match="unknown field 'colour'"):
        api.assert_no_violations()


def test_wrong_type_in_a_form_is_refused_and_recorded(api):
    resp = post(api, "sendMessage", data={"chat_id": "555", "text": "halo", "disable_notification": "maybe"})
    assert resp.status_code == 400
    assert api.take_violations() == ["sendMessage.disable_notification: 'maybe' is not Boolean"]


def test_unreadable_body_is_a_violation(api):
    resp = post(api, "sendMessage", content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert api.take_violations() == ["sendMessage: unreadable request (a JSON body must be an object)"]


async def test_ptb_with_an_extra_field_is_refused(api, bot):
    """What a test sees when the bot's code sends a field the Bot API does not have."""
    with pytest.raises(BadRequest, match="unknown field 'colour'"):
        await bot.send_message(chat_id=555, text="halo", api_kwargs={"colour": "red"})
    assert api.take_violations() == ["sendMessage: unknown field 'colour'"]


async def test_ptb_requests_pass_the_contract(api, bot, tmp_path):
    """Text, buttons, uploads and URLs as python-telegram-bot encodes them are all valid."""
    await bot.send_message(chat_id=555, text="<b>halo</b>", parse_mode="HTML", disable_notification=True)
    await bot.send_photo(chat_id=-100123, photo="https://kampung.example.org/a.png", caption="denah")
    path = tmp_path / "laporan.csv"
    path.write_bytes(b"a,b\n")
    with path.open("rb") as fh:
        await bot.send_document(chat_id="@kampung_rw05", document=fh, filename="laporan.csv")
    await bot.set_webhook(url="https://kampung.example.org/webhooks/telegram", secret_token="s3cret",
                          allowed_updates=["message", "callback_query"])
    assert [m for m, _ in api.delivered()] == ["getMe", "sendMessage", "sendPhoto", "sendDocument", "setWebhook"]
