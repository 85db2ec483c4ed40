"""Telegram channel on top of python-telegram-bot (PTB).

PTB is used only as a typed Bot API client and, without a public URL, as the
long-polling loop. Its handler/conversation machinery is deliberately unused:
every update becomes a plain ``IncomingMessage`` handed to ``enqueue`` so the core
processes all channels the same way, and the webhook route can answer Telegram
as soon as the update is safely queued.
"""
from __future__ import annotations

import hmac
import html
import json
import logging
import re
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.delivery import Bucket, Failure, Outcome, Rate, SendError
from bot.messages import SHARE_PHONE, IncomingMessage, Location, Media, OutgoingMessage
from bot.phones import normalize_phone
from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FILE_PREFIX = "telegram-file:"
# Only what update_to_incoming understands; Telegram then doesn't bother us with the rest.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]

# "/start@KampungBot foo" -> "/start foo": in groups Telegram appends the bot name.
_COMMAND_MENTION = re.compile(r"^(/\w+)@\w+")

Enqueue = Callable[[IncomingMessage], Awaitable[bool]]

# Telegram's limits on one message, counted in UTF-16 code units of the visible text.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# An update is a few KB at most; anything bigger is not from Telegram.
MAX_WEBHOOK_BODY = 64 * 1024
# update_id is a signed 64-bit integer on Telegram's side (and it becomes the inbox's external_id).
_MAX_UPDATE_ID = 2**63

_BOLD = re.compile(r"\*([^*\n]+)\*")


def to_html(text: str) -> str:
    """Catalogue texts use WhatsApp's *bold*; Telegram gets the same as escaped HTML."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def visible_length(text: str) -> int:
    """Length as Telegram counts it against its limits: the text after its markup is
    parsed, in UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(_BOLD.sub(r"\1", text).encode("utf-16-le")) // 2


def _strip_command_mention(text: str) -> str:
    return _COMMAND_MENTION.sub(r"\1", text, count=1)


def _message_media(message) -> list[Media]:
    """Attachments as ``telegram-file:`` references; downloading is someone else's job."""
    media: list[Media] = []
    if message.photo:
        # Telegram sends several sizes; the biggest is the useful one.
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        media.append(Media(FILE_PREFIX + largest.file_id, "image/jpeg"))
    if message.sticker:
        media.append(Media(FILE_PREFIX + message.sticker.file_id, "sticker"))
    if message.voice:
        media.append(Media(FILE_PREFIX + message.voice.file_id, message.voice.mime_type or "audio/ogg"))
    if message.audio:
        media.append(Media(FILE_PREFIX + message.audio.file_id, message.audio.mime_type or "audio/mpeg"))
    if message.video:
        media.append(Media(FILE_PREFIX + message.video.file_id, message.video.mime_type or "video/mp4"))
    if message.video_note:
        media.append(Media(FILE_PREFIX + message.video_note.file_id, "video/mp4"))
    if message.document:
        media.append(
            Media(
                FILE_PREFIX + message.document.file_id,
                message.document.mime_type or "application/octet-stream",
            )
        )
    return media


GROUP_CHATS = ("group", "supergroup")


def update_to_incoming(update: Update) -> IncomingMessage | None:
    """Translate one update, or None when it carries nothing the bot acts on.

    Pure (no network), so the webhook route and the polling loop share it and
    tests can feed it hand-written updates.
    """
    user = update.effective_user
    chat = update.effective_chat
    if chat is not None:
        address = str(chat.id)
    elif user is not None:
        # Callback from an inline-mode message has no chat; a private chat id equals the user id.
        address = str(user.id)
    else:
        return None
    base = {
        "channel": CHANNEL,
        "address": address,
        "profile_name": user.full_name if user else None,
        "external_id": f"telegram:{update.update_id}",
        # In a group the chat is the group; the person is who acts (e.g. /hubungkan).
        "sender_id": str(user.id) if user and chat is not None and chat.type in GROUP_CHATS else None,
    }

    query = update.callback_query
    if query is not None:
        if not query.data:
            return None
        return IncomingMessage(text="", choice_id=_string(query.data), **base)

    message = update.message
    if message is None:
        # edited_message, my_chat_member, channel_post, ...: not part of a conversation.
        return None

    contact = message.contact
    if contact is not None:
        # Only the sender's own number (the contact button) joins their account; a
        # forwarded contact card of someone else is not theirs to link.
        own = user is not None and contact.user_id == user.id and base["sender_id"] is None
        phone = _phone(_string(contact.phone_number)) if own else None
        return IncomingMessage(contact_phone=phone, **base) if phone else None

    text = _string(message.text or message.caption or "")
    if message.text:
        text = _strip_command_mention(text)
    media = _message_media(message)
    location = (
        Location(lat=_number(message.location.latitude), lon=_number(message.location.longitude))
        if message.location
        else None
    )
    if not (text or media or location):
        # Service messages (members joined, pinned, ...) and unsupported content.
        return None
    return IncomingMessage(text=text, media=media, location=location, **base)


def _string(value) -> str:
    """PTB's de_json does not check types; a number where Telegram sends text is no update."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


# Files sent as a photo (shown in the chat) rather than as a document to download.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


def _phone(number: str | None) -> str | None:
    """Telegram gives the number with or without "+"; stored numbers are E.164."""
    digits = (number or "").strip()
    try:
        return normalize_phone(digits if digits.startswith("+") else f"+{digits}")
    except ValueError:
        return None


def _markup(choices) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Inline buttons, or, when the share-my-number button is among the choices, a reply
    keyboard (Telegram's contact button exists only there; the other labels come back as text)."""
    if not choices:
        return None
    if any(c.id == SHARE_PHONE for c in choices):
        return ReplyKeyboardMarkup(
            [[KeyboardButton(c.label, request_contact=True) if c.id == SHARE_PHONE else KeyboardButton(c.label)]
             for c in choices],
            one_time_keyboard=True, resize_keyboard=True)
    return InlineKeyboardMarkup([[InlineKeyboardButton(text=c.label, callback_data=c.id)] for c in choices])


def _chat_id(address: str) -> int | str:
    """Numeric chat ids go as int; ``@channelname`` stays a string."""
    try:
        return int(address)
    except ValueError:
        return address


def _bad_request(error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=400)


async def _read_capped(request: Request, limit: int) -> bytes | Response:
    """The body, or a 413/400 answer: a declared or actual size over ``limit`` stops the
    read there (a chunked body has no Content-Length to trust)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            return _bad_request("bad content-length")
        if int(declared) > limit:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
    return bytes(body)


def _retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 gives an int or a timedelta depending on PTB_TIMEDELTA (and warns about the int)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def classify(exc: TelegramError) -> SendError:
    """Telegram's answer as the dispatcher's outcome.

    403 is always about the recipient (blocked the bot, deactivated, kicked from the group);
    of the 400s only "chat not found" is. Everything else PTB raises is a network problem
    or Telegram's own (5xx): worth another try later.
    """
    detail = exc.message
    if isinstance(exc, RetryAfter):
        return SendError(Outcome.RATE_LIMITED, detail, code=429, retry_after=_retry_after_seconds(exc))
    if isinstance(exc, Forbidden):
        return SendError(Outcome.UNREACHABLE, detail, code=403, failure=Failure.BLOCKED)
    if isinstance(exc, ChatMigrated):
        # A group became a supergroup; its old id is dead. The new id arrives with the group's next message.
        return SendError(Outcome.UNREACHABLE, f"{detail} (new chat id {exc.new_chat_id})", code=400,
                         failure=Failure.CHAT_NOT_FOUND)
    if isinstance(exc, BadRequest):
        if "chat not found" in detail.lower():
            return SendError(Outcome.UNREACHABLE, detail, code=400, failure=Failure.CHAT_NOT_FOUND)
        return SendError(Outcome.PERMANENT, detail, code=400, failure=Failure.REFUSED)
    if isinstance(exc, InvalidToken):
        # The bot's own configuration, not the message: keep it for when the token is fixed.
        return SendError(Outcome.TRANSIENT, detail, code=401)
    # TimedOut, NetworkError (including Telegram's 5xx) and anything PTB adds later.
    return SendError(Outcome.TRANSIENT, detail)


def _is_group(chat_id: int | str) -> bool:
    """Negative ids are groups and channels; ``@name`` addresses a public group or channel."""
    return isinstance(chat_id, str) or chat_id < 0


class TelegramChannel:
    """Translate Telegram updates to IncomingMessage and OutgoingMessage to Bot API calls."""

    names = ("telegram",)

    def __init__(
        self,
        settings: Settings,
        enqueue: Enqueue,
        commands: list[tuple[str, str]],
    ) -> None:
        self.settings = settings
        self.enqueue = enqueue
        self.commands = list(commands)
        self.webhook_mode = bool(settings.public_base_url)
        builder = ApplicationBuilder().token(settings.telegram_bot_token)
        if settings.telegram_api_base_url:
            # PTB appends the token to both, so ".../bot" becomes ".../bot<token>/<method>".
            url = settings.telegram_api_base_url.rstrip("/")
            builder = builder.base_url(f"{url}/bot").base_file_url(f"{url}/file/bot")
        if self.webhook_mode:
            # Updates arrive through our own Starlette route; PTB's poller is not needed.
            builder = builder.updater(None)
        self.application: Application = builder.build()
        # Polling mode only: the updater feeds application.update_queue, this handler drains it.
        self.application.add_handler(TypeHandler(Update, self._on_polled_update))
        self._started = False

    @property
    def bot(self):
        return self.application.bot

    @property
    def webhook_url(self) -> str:
        return self.settings.public_base_url.rstrip("/") + WEBHOOK_PATH

    async def start(self) -> None:
        """Run inside the caller's event loop (PTB's documented non-run_polling pattern)."""
        app = self.application
        await app.initialize()
        try:
            if self.commands:
                await app.bot.set_my_commands(
                    [BotCommand(command, description) for command, description in self.commands]
                )
            if self.webhook_mode:
                await app.bot.set_webhook(
                    url=self.webhook_url,
                    secret_token=self.settings.telegram_webhook_secret or None,
                    allowed_updates=ALLOWED_UPDATES,
                )
                log.info("telegram webhook set to %s", self.webhook_url)
                await app.start()
            else:
                # A leftover webhook makes getUpdates fail with a conflict.
                await app.bot.delete_webhook()
                await app.start()
                await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
                log.info("telegram long polling started")
        except BaseException:
            await self._shutdown_quietly()
            raise
        self._started = True

    async def _shutdown_quietly(self) -> None:
        app = self.application
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        except Exception:
            log.exception("telegram shutdown after failed start")

    async def stop(self) -> None:
        """Reverse of start(); the webhook stays registered so Telegram keeps queueing updates."""
        if not self._started:
            return
        self._started = False
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    def routes(self) -> list[Route]:
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def _webhook(self, request: Request) -> Response:
        """Authenticate, parse, enqueue, answer. Processing happens elsewhere.

        The secret is checked before the body is read and the body is capped, so an
        unauthenticated or oversized request costs next to nothing; an update that PTB
        or update_to_incoming cannot make sense of is a 400, never a 500.
        """
        expected = self.settings.telegram_webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("telegram webhook rejected: bad secret token")
            return JSONResponse({"ok": False}, status_code=403)
        body = await _read_capped(request, MAX_WEBHOOK_BODY)
        if isinstance(body, Response):
            return body
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _bad_request("invalid json")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if type(update_id) is not int or not 0 <= update_id < _MAX_UPDATE_ID:
            return _bad_request("not an update")
        try:
            update = Update.de_json(data, self.bot)
            msg = update_to_incoming(update)
        except Exception as exc:  # de_json trusts its input: any mistyped field lands here
            log.warning("telegram webhook: update %s not understood (%s: %.200s)",
                        update_id, type(exc).__name__, exc)
            return _bad_request("not an update")

        await self._enqueue_incoming(update, msg)
        background = None
        if update.callback_query is not None:
            # After the response is sent: stops the button's spinner without delaying Telegram.
            background = BackgroundTask(self._answer_callback, update.callback_query.id)
        return JSONResponse({"ok": True}, background=background)

    async def _on_polled_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        try:
            msg = update_to_incoming(update)
        except Exception as exc:  # as in _webhook: a mistyped update must not stop polling
            log.warning("telegram update %s not understood (%s: %.200s)", update.update_id, type(exc).__name__, exc)
            return
        await self._enqueue_incoming(update, msg)
        if update.callback_query is not None:
            await self._answer_callback(update.callback_query.id)

    async def _enqueue_incoming(self, update: Update, msg: IncomingMessage | None) -> None:
        if msg is None:
            log.debug("telegram update %s ignored", update.update_id)
            return
        if not await self.enqueue(msg):
            log.info("telegram update %s is a duplicate", update.update_id)

    async def _answer_callback(self, callback_query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as exc:
            # Redelivered or stale queries can't be answered any more; harmless.
            log.warning("answerCallbackQuery %s failed: %s", callback_query_id, exc)

    media_prefix = FILE_PREFIX

    async def download(self, ref: str) -> bytes:
        """The file behind a ``telegram-file:<file_id>`` reference (getFile, then the file URL)."""
        file = await self.bot.get_file(ref.removeprefix(FILE_PREFIX))
        return bytes(await file.download_as_bytearray())

    def buckets(self, out: OutgoingMessage) -> list[Bucket]:
        """Telegram's limits a send to ``out.address`` counts against: the bot's overall
        rate, and one per private chat or per group."""
        settings = self.settings
        chat_id = _chat_id(out.address)
        if _is_group(chat_id):
            chat = Bucket(f"telegram:group:{out.address}", Rate(settings.telegram_group_rate_per_minute, 60.0))
        else:
            chat = Bucket(f"telegram:chat:{out.address}", Rate(settings.telegram_chat_rate_per_second))
        return [Bucket("telegram", Rate(settings.telegram_rate_per_second)), chat]

    def max_length(self, out: OutgoingMessage) -> int:
        """The most text one message may carry: a photo's or document's caption is shorter."""
        return CAPTION_LIMIT if out.media_url or out.document_path else TEXT_LIMIT

    async def send(self, out: OutgoingMessage) -> str:
        """Send one message; returns Telegram's message_id, or raises a classified SendError.

        PTB does not retry on its own here (no rate limiter is configured): the dispatcher
        decides about every retry and every wait.
        """
        try:
            return await self._send(out)
        except TelegramError as exc:
            raise classify(exc) from exc
        except OSError as exc:
            # The stored file to attach is gone or unreadable: another try won't find it either.
            raise SendError(Outcome.PERMANENT, f"attachment: {exc}", failure=Failure.REFUSED) from exc

    async def _send(self, out: OutgoingMessage) -> str:
        chat_id = _chat_id(out.address)
        markup = _markup(out.choices)
        if not (out.media_url or out.document_path):
            sent = await self._send_text(chat_id, out.text, markup)
            return str(sent.message_id)
        # A text too long for a caption follows the file as its own message, buttons and all.
        fits = visible_length(out.text) <= CAPTION_LIMIT
        caption = (to_html(out.text) or None) if fits else None
        file_markup = markup if fits else None
        if out.media_url:
            sent = await self.bot.send_photo(chat_id=chat_id, photo=out.media_url, caption=caption,
                                             reply_markup=file_markup, parse_mode=ParseMode.HTML)
        else:
            path = Path(out.document_path)
            with path.open("rb") as fh:
                if path.suffix.lower() in PHOTO_SUFFIXES:
                    sent = await self.bot.send_photo(chat_id=chat_id, photo=fh, caption=caption,
                                                     reply_markup=file_markup, parse_mode=ParseMode.HTML)
                else:
                    sent = await self.bot.send_document(chat_id=chat_id, document=fh, filename=path.name,
                                                        caption=caption, reply_markup=file_markup,
                                                        parse_mode=ParseMode.HTML)
        if not fits:
            sent = await self._send_text(chat_id, out.text, markup)
        return str(sent.message_id)

    async def _send_text(self, chat_id: int | str, text: str, markup):
        return await self.bot.send_message(chat_id=chat_id, text=to_html(text), reply_markup=markup,
                                           parse_mode=ParseMode.HTML)
