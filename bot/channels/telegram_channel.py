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
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

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



_BOLD = re.compile(r"\*([^*\n]+)\*")


def to_html(text: str) -> str:
    """Catalogue texts use WhatsApp's *bold*; Telegram gets the same as escaped HTML."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))

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
        return IncomingMessage(text="", choice_id=query.data, **base)

    message = update.message
    if message is None:
        # edited_message, my_chat_member, channel_post, ...: not part of a conversation.
        return None

    contact = message.contact
    if contact is not None:
        # Only the sender's own number (the contact button) joins their account; a
        # forwarded contact card of someone else is not theirs to link.
        own = user is not None and contact.user_id == user.id and base["sender_id"] is None
        phone = _phone(contact.phone_number) if own else None
        return IncomingMessage(contact_phone=phone, **base) if phone else None

    text = message.text or message.caption or ""
    if message.text:
        text = _strip_command_mention(text)
    media = _message_media(message)
    location = (
        Location(lat=message.location.latitude, lon=message.location.longitude)
        if message.location
        else None
    )
    if not (text or media or location):
        # Service messages (members joined, pinned, ...) and unsupported content.
        return None
    return IncomingMessage(text=text, media=media, location=location, **base)


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
        """Authenticate, parse, enqueue, answer. Processing happens elsewhere."""
        expected = self.settings.telegram_webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("telegram webhook rejected: bad secret token")
            return JSONResponse({"ok": False}, status_code=403)
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"ok": False, "error": "invalid json"}, status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        try:
            update = Update.de_json(data, self.bot)
        except (TypeError, ValueError, KeyError, AttributeError):
            log.warning("telegram webhook: unparseable update %s", data.get("update_id"))
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)

        await self._enqueue_update(update)
        background = None
        if update.callback_query is not None:
            # After the response is sent: stops the button's spinner without delaying Telegram.
            background = BackgroundTask(self._answer_callback, update.callback_query.id)
        return JSONResponse({"ok": True}, background=background)

    async def _on_polled_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        await self._enqueue_update(update)
        if update.callback_query is not None:
            await self._answer_callback(update.callback_query.id)

    async def _enqueue_update(self, update: Update) -> None:
        msg = update_to_incoming(update)
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

    async def send(self, out: OutgoingMessage) -> str:
        """Send one message; returns Telegram's message_id. Errors propagate for the outbox to retry."""
        chat_id = _chat_id(out.address)
        markup = _markup(out.choices)
        if out.media_url:
            sent = await self.bot.send_photo(
                chat_id=chat_id, photo=out.media_url, caption=to_html(out.text) or None,
                reply_markup=markup, parse_mode=ParseMode.HTML,
            )
        elif out.document_path and Path(out.document_path).suffix.lower() in PHOTO_SUFFIXES:
            path = Path(out.document_path)
            with path.open("rb") as fh:
                sent = await self.bot.send_photo(
                    chat_id=chat_id, photo=fh, caption=to_html(out.text) or None,
                    reply_markup=markup, parse_mode=ParseMode.HTML,
                )
        elif out.document_path:
            path = Path(out.document_path)
            with path.open("rb") as fh:
                sent = await self.bot.send_document(
                    chat_id=chat_id,
                    document=fh,
                    filename=path.name,
                    caption=to_html(out.text) or None,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
        else:
            sent = await self.bot.send_message(
                chat_id=chat_id, text=to_html(out.text), reply_markup=markup, parse_mode=ParseMode.HTML
            )
        return str(sent.message_id)
