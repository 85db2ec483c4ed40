"""TelegramChannel with the real python-telegram-bot against a fake Bot API server."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from telegram import Update
from telegram.error import ChatMigrated, InvalidToken, NetworkError, TimedOut

from bot.channels.telegram_channel import TelegramChannel, classify, update_to_incoming
from bot.delivery import Bucket, Failure, Outcome, Rate, SendError
from bot.messages import Choice, IncomingMessage, Location, Media, OutgoingMessage
from bot.settings import Settings
from tests.fakes.telegram_api import CHAT, USER, FakeTelegramAPI, callback_update, message_update

SECRET = "webhook-secret-123"
COMMANDS = [("start", "Mulai"), ("menu", "Menu utama"), ("bantuan", "Bantuan")]


class Inbox:
    """enqueue stub that dedups by external_id, like the real inbox table."""

    def __init__(self) -> None:
        self.messages: list[IncomingMessage] = []
        self.seen: set[str] = set()
        self.results: list[bool] = []

    async def __call__(self, msg: IncomingMessage) -> bool:
        fresh = msg.external_id not in self.seen
        self.seen.add(msg.external_id)
        if fresh:
            self.messages.append(msg)
        self.results.append(fresh)
        return fresh


def convert(data: dict) -> IncomingMessage | None:
    return update_to_incoming(Update.de_json(data, None))


def make_settings(api: FakeTelegramAPI, **overrides) -> Settings:
    values = {
        "telegram_bot_token": api.token,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": api.base_url,
        "public_base_url": "https://kampung.example.org",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
async def channel(api, inbox):
    ch = TelegramChannel(make_settings(api), inbox, COMMANDS)
    await ch.start()
    yield ch
    await ch.stop()


@pytest.fixture
async def client(channel):
    app = Starlette(routes=channel.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def post_update(client: httpx.AsyncClient, data, secret: str | None = SECRET):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = data if isinstance(data, (bytes, str)) else json.dumps(data)
    return client.post("/webhooks/telegram", content=body, headers=headers)


# -- start/stop -------------------------------------------------------------------


async def test_start_webhook_mode_sets_commands_and_webhook(api, channel):
    assert api.calls("setMyCommands") == [
        {
            "commands": [
                {"command": "start", "description": "Mulai"},
                {"command": "menu", "description": "Menu utama"},
                {"command": "bantuan", "description": "Bantuan"},
            ]
        }
    ]
    [hook] = api.calls("setWebhook")
    assert hook["url"] == "https://kampung.example.org/webhooks/telegram"
    assert hook["secret_token"] == SECRET
    assert set(hook["allowed_updates"]) == {"message", "callback_query"}
    assert "getUpdates" not in api.methods()
    assert "getMe" in api.methods()  # initialize() talked to the fake, not api.telegram.org


async def test_public_base_url_trailing_slash_is_not_doubled(api, inbox):
    ch = TelegramChannel(make_settings(api, public_base_url="https://kampung.example.org/"), inbox, [])
    await ch.start()
    await ch.stop()
    assert api.calls("setWebhook")[0]["url"] == "https://kampung.example.org/webhooks/telegram"
    assert api.calls("setMyCommands") == []


async def test_polling_mode_receives_pushed_update_and_stops(api, inbox):
    api.webhook = {"url": "https://stale.example/hook"}  # left over from an earlier deployment
    ch = TelegramChannel(make_settings(api, public_base_url="", telegram_webhook_secret=""), inbox, COMMANDS)
    await ch.start()
    try:
        assert api.calls("deleteWebhook")
        assert api.calls("setWebhook") == []
        assert api.calls("setMyCommands")
        api.push_update(message_update(41, text="/menu"))
        api.push_update(callback_update(42, data="lang_id"))
        for _ in range(200):
            if len(inbox.messages) >= 2:
                break
            await asyncio.sleep(0.025)
        await api.wait_for_call("answerCallbackQuery")
    finally:
        await asyncio.wait_for(ch.stop(), timeout=10)

    assert [m.external_id for m in inbox.messages] == ["telegram:41", "telegram:42"]
    assert inbox.messages[0].text == "/menu"
    assert inbox.messages[0].address == "555"
    assert inbox.messages[1].choice_id == "lang_id"
    assert api.calls("answerCallbackQuery")[0]["callback_query_id"] == "cbq-42"
    # stop() confirmed the fetched updates, so a restart won't get them again.
    assert api.pending_updates() == []


async def test_polling_skips_a_mistyped_update_and_goes_on(api, inbox):
    ch = TelegramChannel(make_settings(api, public_base_url="", telegram_webhook_secret=""), inbox, [])
    await ch.start()
    try:
        api.push_update(message_update(51, text=12345))
        api.push_update(message_update(52, text="halo"))
        for _ in range(200):
            if inbox.messages:
                break
            await asyncio.sleep(0.025)
    finally:
        await asyncio.wait_for(ch.stop(), timeout=10)
    assert [m.external_id for m in inbox.messages] == ["telegram:52"]


async def test_stop_without_start_is_harmless(api, inbox):
    ch = TelegramChannel(make_settings(api), inbox, COMMANDS)
    await ch.stop()


# -- webhook route ------------------------------------------------------------------


async def test_webhook_with_right_secret_enqueues(client, inbox):
    resp = await post_update(client, message_update(7, text="halo"))
    assert resp.status_code == 200
    [msg] = inbox.messages
    assert msg == IncomingMessage(
        channel="telegram",
        address="555",
        text="halo",
        profile_name="Siti Rahayu",
        external_id="telegram:7",
    )


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_webhook_with_missing_or_wrong_secret_is_forbidden(client, inbox, secret):
    resp = await post_update(client, message_update(7, text="halo"), secret=secret)
    assert resp.status_code == 403
    assert inbox.messages == []


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'{"foo": 1}', b'{"update_id": "x"}'])
async def test_webhook_with_malformed_body_is_bad_request(client, inbox, body):
    resp = await post_update(client, body)
    assert resp.status_code == 400
    assert inbox.messages == []


async def test_webhook_duplicate_update_is_acknowledged_but_not_enqueued_twice(client, inbox):
    first = await post_update(client, message_update(9, text="lapor"))
    second = await post_update(client, message_update(9, text="lapor"))
    assert (first.status_code, second.status_code) == (200, 200)
    assert inbox.results == [True, False]
    assert len(inbox.messages) == 1


async def test_webhook_callback_query_sets_choice_and_answers_it(client, inbox, api):
    resp = await post_update(client, callback_update(12, data="report_trash"))
    assert resp.status_code == 200
    [msg] = inbox.messages
    assert msg.choice_id == "report_trash"
    assert msg.text == ""
    assert msg.address == "555"
    assert msg.external_id == "telegram:12"
    [answer] = await api.wait_for_call("answerCallbackQuery")
    assert answer["callback_query_id"] == "cbq-12"


async def test_webhook_ignored_update_is_still_ok(client, inbox):
    edited = {
        "update_id": 20,
        "edited_message": {
            "message_id": 5,
            "date": 1_700_000_000,
            "edit_date": 1_700_000_100,
            "chat": CHAT,
            "from": USER,
            "text": "diedit",
        },
    }
    resp = await post_update(client, edited)
    assert resp.status_code == 200
    assert inbox.messages == []


async def test_webhook_answer_failure_does_not_break_route(client, inbox, api):
    api.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old")
    resp = await post_update(client, callback_update(13))
    assert resp.status_code == 200
    assert inbox.messages[0].choice_id == "report_trash"


# -- conversion ---------------------------------------------------------------------


def test_convert_text_and_command_with_bot_mention():
    assert convert(message_update(1, text="/start@KampungBot")).text == "/start"
    assert convert(message_update(2, text="/menu@KampungBot lapor")).text == "/menu lapor"
    assert convert(message_update(3, text="email saya a@b.c")).text == "email saya a@b.c"


def test_convert_photo_uses_largest_size_and_caption():
    msg = convert(
        message_update(
            3,
            caption="sampah menumpuk",
            photo=[
                {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 900},
                {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 853, "file_size": 90000},
                {"file_id": "medium", "file_unique_id": "m", "width": 320, "height": 213, "file_size": 9000},
            ],
        )
    )
    assert msg.text == "sampah menumpuk"
    assert msg.media == [Media("telegram-file:large", "image/jpeg")]
    assert msg.media[0].kind == "image"


def test_convert_sticker():
    msg = convert(
        message_update(
            4,
            sticker={
                "file_id": "stk1",
                "file_unique_id": "u1",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
        )
    )
    assert msg.media == [Media("telegram-file:stk1", "sticker")]
    assert msg.media[0].kind == "sticker"
    assert msg.text == ""


def test_convert_voice_with_and_without_mime_type():
    msg = convert(message_update(5, voice={"file_id": "v1", "file_unique_id": "u", "duration": 3, "mime_type": "audio/ogg"}))
    assert msg.media == [Media("telegram-file:v1", "audio/ogg")]
    msg = convert(message_update(6, voice={"file_id": "v2", "file_unique_id": "u", "duration": 3}))
    assert msg.media == [Media("telegram-file:v2", "audio/ogg")]
    assert msg.media[0].kind == "audio"


def test_convert_document_audio_video():
    doc = convert(
        message_update(
            7,
            document={"file_id": "d1", "file_unique_id": "u", "file_name": "ktp.pdf", "mime_type": "application/pdf"},
        )
    )
    assert doc.media == [Media("telegram-file:d1", "application/pdf")]
    audio = convert(message_update(8, audio={"file_id": "a1", "file_unique_id": "u", "duration": 9, "mime_type": "audio/mpeg"}))
    assert audio.media == [Media("telegram-file:a1", "audio/mpeg")]
    video = convert(
        message_update(
            9, video={"file_id": "vd1", "file_unique_id": "u", "width": 1, "height": 1, "duration": 2, "mime_type": "video/mp4"}
        )
    )
    assert video.media == [Media("telegram-file:vd1", "video/mp4")]


def test_convert_location():
    msg = convert(message_update(10, location={"latitude": -6.2088, "longitude": 106.8456}))
    assert msg.location == Location(lat=-6.2088, lon=106.8456)
    assert msg.text == ""
    assert msg.media == []


def test_convert_callback_query():
    msg = convert(callback_update(11, data="yes"))
    assert msg.choice_id == "yes"
    assert msg.text == ""
    assert msg.profile_name == "Siti Rahayu"
    assert msg.external_id == "telegram:11"


def test_convert_group_chat_uses_chat_id_as_address():
    data = message_update(12, text="halo")
    data["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "RT 05"}
    assert convert(data).address == "-100123"


def test_convert_ignores_updates_without_content():
    assert convert({"update_id": 1, "edited_message": message_update(1, text="x")["message"] | {"edit_date": 1}}) is None
    assert (
        convert(
            {
                "update_id": 2,
                "my_chat_member": {
                    "chat": CHAT,
                    "from": USER,
                    "date": 1_700_000_000,
                    "old_chat_member": {"status": "member", "user": {"id": 123456, "is_bot": True, "first_name": "K"}},
                    "new_chat_member": {
                        "status": "kicked",
                        "user": {"id": 123456, "is_bot": True, "first_name": "K"},
                        "until_date": 0,
                    },
                },
            }
        )
        is None
    )
    assert convert(message_update(3, new_chat_members=[USER])) is None


# -- sending ------------------------------------------------------------------------


async def test_send_text_returns_message_id(api, channel):
    mid = await channel.send(OutgoingMessage(channel="telegram", address="555", text="Halo!"))
    [call] = api.calls("sendMessage")
    assert call["chat_id"] == 555
    assert call["text"] == "Halo!"
    assert "reply_markup" not in call
    assert mid.isdigit()


async def test_send_with_choices_uses_inline_keyboard(api, channel):
    out = OutgoingMessage(
        channel="telegram",
        address="555",
        text="Mau lapor apa?",
        choices=[Choice("trash", "Sampah"), Choice("flood", "Banjir"), Choice("other", "Lainnya")],
    )
    await channel.send(out)
    [call] = api.calls("sendMessage")
    assert call["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Sampah", "callback_data": "trash"}],
            [{"text": "Banjir", "callback_data": "flood"}],
            [{"text": "Lainnya", "callback_data": "other"}],
        ]
    }


async def test_send_with_media_url_uses_send_photo(api, channel):
    out = OutgoingMessage(
        channel="telegram",
        address="555",
        text="Jadwal ronda",
        media_url="https://kampung.example.org/media/jadwal.png",
        choices=[Choice("ok", "Oke")],
    )
    mid = await channel.send(out)
    assert api.calls("sendMessage") == []
    [call] = api.calls("sendPhoto")
    assert call["photo"] == "https://kampung.example.org/media/jadwal.png"
    assert call["caption"] == "Jadwal ronda"
    assert call["reply_markup"]["inline_keyboard"] == [[{"text": "Oke", "callback_data": "ok"}]]
    assert mid.isdigit()


async def test_send_document_uploads_file(api, channel, tmp_path):
    path = tmp_path / "laporan.csv"
    path.write_bytes(b"tanggal,jumlah\n2024-01-01,3\n")
    await channel.send(OutgoingMessage(channel="telegram", address="555", text="Laporan", document_path=str(path)))
    [call] = api.calls("sendDocument")
    assert call["document"].filename == "laporan.csv"
    assert call["document"].content == b"tanggal,jumlah\n2024-01-01,3\n"
    assert call["caption"] == "Laporan"


async def test_a_stored_image_goes_as_a_photo_in_the_chat(api, channel, tmp_path):
    image = tmp_path / "pengumuman-1.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0jpeg")
    await channel.send(OutgoingMessage(channel="telegram", address="555", text="Denah bazar", document_path=str(image)))
    [call] = api.calls("sendPhoto")
    assert call["caption"] == "Denah bazar" and call["photo"].content == b"\xff\xd8\xff\xe0jpeg"
    assert api.calls("sendDocument") == []


def test_own_contact_carries_the_phone_and_someone_elses_is_ignored():
    mine = convert(message_update(40, contact={"phone_number": "6281234567001", "first_name": "Siti", "user_id": 555}))
    assert (mine.contact_phone, mine.text) == ("+6281234567001", "")
    assert convert(message_update(41, contact={"phone_number": "6281234567999", "first_name": "Budi",
                                               "user_id": 777})) is None




async def test_wrong_token_is_rejected_by_fake(api, inbox):
    ch = TelegramChannel(make_settings(api, telegram_bot_token="999:wrong"), inbox, COMMANDS)
    with pytest.raises(InvalidToken):
        await ch.start()
    assert api.methods() == []  # rejected before being recorded


def test_convert_group_command_names_the_sender():
    group = {"id": -1001234, "type": "supergroup", "title": "UMKM RW 05"}
    msg = convert({"update_id": 90, "message": {"message_id": 5, "date": 1_700_000_000, "chat": group,
                                                "from": USER, "text": "/hubungkan@KampungBot UMKM RW 05"}})
    assert (msg.address, msg.sender_id, msg.text) == ("-1001234", "555", "/hubungkan UMKM RW 05")
    private = convert(message_update(91, text="halo"))
    assert private.sender_id is None


# -- send errors, classified for the dispatcher ----------------------------------------


@pytest.mark.parametrize(("code", "description", "outcome", "failure"), [
    (403, "Forbidden: bot was blocked by the user", Outcome.UNREACHABLE, Failure.BLOCKED),
    (403, "Forbidden: user is deactivated", Outcome.UNREACHABLE, Failure.BLOCKED),
    (403, "Forbidden: bot was kicked from the supergroup chat", Outcome.UNREACHABLE, Failure.BLOCKED),
    (400, "Bad Request: chat not found", Outcome.UNREACHABLE, Failure.CHAT_NOT_FOUND),
    (400, "Bad Request: can't parse entities: Unsupported start tag \"x\"", Outcome.PERMANENT, Failure.REFUSED),
    (500, "Internal Server Error", Outcome.TRANSIENT, None),
    (502, "Bad Gateway", Outcome.TRANSIENT, None),
])
async def test_send_errors_are_classified(api, channel, code, description, outcome, failure):
    api.fail_next("sendMessage", code, description)
    with pytest.raises(SendError) as raised:
        await channel.send(OutgoingMessage(channel="telegram", address="555", text="x"))
    error = raised.value
    assert (error.outcome, error.failure) == (outcome, failure)
    assert error.code == (None if code >= 500 else str(code))
    assert error.retry_after is None


async def test_flood_control_gives_retry_after_and_ptb_does_not_retry(api, channel):
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 220", retry_after=220)
    with pytest.raises(SendError) as raised:
        await channel.send(OutgoingMessage(channel="telegram", address="555", text="x"))
    assert raised.value.outcome is Outcome.RATE_LIMITED
    assert (raised.value.code, raised.value.retry_after) == ("429", 220.0)
    # One request only: waiting and retrying are the dispatcher's (no PTB rate limiter).
    assert len(api.calls("sendMessage")) == 1
    assert channel.bot.rate_limiter is None


async def test_blocked_and_unknown_chats_at_the_fake_are_unreachable(api, channel):
    api.mark_blocked(555)
    api.mark_unknown(777)
    with pytest.raises(SendError) as blocked:
        await channel.send(OutgoingMessage(channel="telegram", address="555", text="x"))
    with pytest.raises(SendError) as unknown:
        await channel.send(OutgoingMessage(channel="telegram", address="777", text="x"))
    assert (blocked.value.outcome, blocked.value.failure, blocked.value.code) == (
        Outcome.UNREACHABLE, Failure.BLOCKED, "403")
    assert (unknown.value.outcome, unknown.value.failure, unknown.value.code) == (
        Outcome.UNREACHABLE, Failure.CHAT_NOT_FOUND, "400")


async def test_unreachable_api_is_transient(api, channel):
    api.stop()  # connection refused from now on
    with pytest.raises(SendError) as raised:
        await channel.send(OutgoingMessage(channel="telegram", address="555", text="x"))
    assert raised.value.outcome is Outcome.TRANSIENT


def test_timeouts_and_migrated_groups_are_classified():
    assert classify(TimedOut()).outcome is Outcome.TRANSIENT
    assert classify(NetworkError("Bad Gateway")).outcome is Outcome.TRANSIENT
    migrated = classify(ChatMigrated(-100999))
    assert (migrated.outcome, migrated.failure) == (Outcome.UNREACHABLE, Failure.CHAT_NOT_FOUND)
    assert "-100999" in str(migrated)


async def test_missing_attachment_is_permanent(api, channel, tmp_path):
    out = OutgoingMessage(channel="telegram", address="555", text="x", document_path=str(tmp_path / "gone.pdf"))
    with pytest.raises(SendError) as raised:
        await channel.send(out)
    assert (raised.value.outcome, raised.value.failure) == (Outcome.PERMANENT, Failure.REFUSED)
    assert api.calls("sendDocument") == []


# -- limits the dispatcher keeps --------------------------------------------------------


def test_buckets_per_private_chat_and_per_group(api, inbox):
    ch = TelegramChannel(make_settings(api, telegram_rate_per_second=25.0), inbox, [])
    private = ch.buckets(OutgoingMessage(channel="telegram", address="555", text="x"))
    group = ch.buckets(OutgoingMessage(channel="telegram", address="-100123", text="x"))
    channel_name = ch.buckets(OutgoingMessage(channel="telegram", address="@kampung_rw05", text="x"))
    overall = Bucket("telegram", Rate(25.0, 1.0))
    assert private == [overall, Bucket("telegram:chat:555", Rate(1.0, 1.0))]
    assert group == [overall, Bucket("telegram:group:-100123", Rate(20.0, 60.0))]
    assert channel_name == [overall, Bucket("telegram:group:@kampung_rw05", Rate(20.0, 60.0))]


def test_max_length_is_shorter_for_a_caption(api, inbox):
    ch = TelegramChannel(make_settings(api), inbox, [])
    assert ch.max_length(OutgoingMessage(channel="telegram", address="555", text="x")) == 4096
    assert ch.max_length(OutgoingMessage(channel="telegram", address="555", text="x", media_url="https://x/a.png")) == 1024
    assert ch.max_length(OutgoingMessage(channel="telegram", address="555", text="x", document_path="/a.pdf")) == 1024


async def test_text_too_long_for_a_caption_follows_the_photo(api, channel):
    text = "Pengumuman kerja bakti. " * 60  # 1,440 characters
    out = OutgoingMessage(channel="telegram", address="555", text=text, media_url="https://kampung.example.org/m/a.png",
                          choices=[Choice("ok", "Oke")])
    mid = await channel.send(out)
    [photo] = api.delivered("sendPhoto")
    [message] = api.delivered("sendMessage")
    assert "caption" not in photo and "reply_markup" not in photo
    assert message["text"] == text
    assert message["reply_markup"]["inline_keyboard"] == [[{"text": "Oke", "callback_data": "ok"}]]
    assert mid.isdigit()


async def test_caption_length_is_counted_as_telegram_counts_it(api, channel):
    """*bold* markers vanish when parsed, an emoji outside the BMP counts twice."""
    fits = "*" + "a" * 1022 + "*b"  # 1,024 visible characters in 1,026
    await channel.send(OutgoingMessage(channel="telegram", address="555", text=fits, media_url="https://x.org/a.png"))
    too_long = "🎉" * 600  # 600 characters, 1,200 UTF-16 units
    await channel.send(OutgoingMessage(channel="telegram", address="556", text=too_long, media_url="https://x.org/a.png"))
    first, second = api.delivered("sendPhoto")
    assert first["caption"] == "<b>" + "a" * 1022 + "</b>b"
    assert "caption" not in second
    assert [m["text"] for m in api.delivered("sendMessage")] == [too_long]


# -- webhook hardening ----------------------------------------------------------------


async def test_webhook_body_over_64kb_is_refused_by_its_length(client, inbox):
    update = message_update(30, text="x" * 70_000)
    resp = await post_update(client, update)
    assert resp.status_code == 413
    assert inbox.messages == []


async def test_webhook_chunked_body_over_64kb_is_refused_while_reading(client, inbox):
    async def chunks():
        yield b'{"update_id": 31, "message": {"text": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}'

    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    resp = await client.post("/webhooks/telegram", content=chunks(), headers=headers)
    assert resp.status_code == 413
    assert inbox.messages == []


async def test_webhook_checks_the_secret_before_reading_the_body(client, inbox):
    read = []

    async def body():
        read.append(True)
        yield json.dumps(message_update(32, text="halo")).encode()

    resp = await client.post("/webhooks/telegram", content=body(), headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
    assert resp.status_code == 403
    assert read == []


def _with_message(**fields) -> dict:
    data = message_update(40, text="halo")
    data["message"].update(fields)
    return data


@pytest.mark.parametrize("update", [
    _with_message(date=10**20),
    _with_message(text=12345),
    _with_message(text=["halo"]),
    _with_message(caption=7, text=None),
    _with_message(chat="555"),
    _with_message(chat=[CHAT]),
    _with_message(location={"latitude": "selatan", "longitude": 106.8}),
    {"update_id": 41, "message": [message_update(41, text="halo")["message"]]},
    {"update_id": 42, "callback_query": callback_update(42)["callback_query"] | {"data": 5}},
    {"update_id": -1, "message": message_update(1, text="halo")["message"]},
    {"update_id": 2**64, "message": message_update(1, text="halo")["message"]},
    {"update_id": True, "message": message_update(1, text="halo")["message"]},
], ids=["huge-date", "numeric-text", "text-list", "numeric-caption", "chat-string", "chat-list", "latitude-text",
        "message-list", "numeric-callback-data", "negative-update-id", "huge-update-id",
        "boolean-update-id"])
async def test_webhook_mistyped_update_is_bad_request_not_server_error(client, inbox, update, caplog):
    resp = await post_update(client, update)
    assert resp.status_code == 400
    assert inbox.messages == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_webhook_bad_content_length_is_bad_request(channel, inbox):
    app = Starlette(routes=channel.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        request = c.build_request("POST", "/webhooks/telegram", content=b"{}",
                                  headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        request.headers["Content-Length"] = "lots"
        resp = await c.send(request)
    assert resp.status_code == 400
