"""WhatsApp and SMS through Twilio.

The webhook only authenticates, translates and enqueues: Twilio expects a quick
answer, and processing happens later from the inbox. Replies go out through the
REST API (never as TwiML) so that every reply path is the same for all channels.

Sends use twilio's own asyncio client, so the dispatcher can keep hundreds in flight;
each asks for a status callback (bot.channels.twilio_status) that reports whether the
message was delivered, read, or failed afterwards — WhatsApp's 24-hour window (63016)
is only ever reported that way.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import aiohttp
import httpx
import phonenumbers
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.delivery import Bucket, Failure, Outcome, Rate, SendError
from bot.files import public_url
from bot.messages import IncomingMessage, Location, Media, OutgoingMessage
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.channels.twilio_status import StatusReceipts

log = logging.getLogger(__name__)
# twilio's HTTP client logs every request and response at INFO: hundreds a second.
_http_log = logging.getLogger(__name__ + ".http")
_http_log.setLevel(logging.WARNING)

WEBHOOK_PATH = "/webhooks/twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
HTTP_TIMEOUT_SECONDS = 30.0
WHATSAPP_PREFIX = "whatsapp:"
TWILIO_API = "https://api.twilio.com"
# Twilio's limit for one message body (WhatsApp and SMS, which Twilio splits in segments).
MAX_BODY = 1600
# Webhook bodies are a few hundred bytes; anything near this is not from Twilio.
MAX_WEBHOOK_BYTES = 64 * 1024
# The documented shape of a message SID. Checked because Twilio's signature concatenates
# names and values without a separator: "MessageSid=<sid>NumMedia0" signs like the real
# pair of fields, and only a strict shape stops the shifted boundary.
MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
# An E.164 number: at most 15 digits; Twilio's From field for WhatsApp and SMS.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
DEFAULT_RETRY_AFTER = 1.0

# Twilio error codes the dispatcher acts on (https://www.twilio.com/docs/api/errors).
_CODES: dict[int, tuple[Outcome, Failure | None]] = {
    21211: (Outcome.UNREACHABLE, Failure.INVALID_NUMBER),   # invalid 'To' number
    21614: (Outcome.UNREACHABLE, Failure.INVALID_NUMBER),   # 'To' is not a valid mobile number
    21610: (Outcome.OPTED_OUT, Failure.UNSUBSCRIBED),       # the recipient replied STOP
    63003: (Outcome.NOT_ON_CHANNEL, Failure.NOT_ON_WHATSAPP),
    63024: (Outcome.NOT_ON_CHANNEL, Failure.NOT_ON_WHATSAPP),  # invalid message recipient
    63016: (Outcome.OUTSIDE_WINDOW, Failure.OUTSIDE_WINDOW),  # free-form outside the 24-hour window
}
_RATE_LIMIT_CODE = 20429


def classify_twilio_error(code: int | None, status: int | None, retry_after: float | None = None) -> SendError:
    """One Twilio failure — an error answer to a send (`status` is its HTTP status) or a
    status callback's ErrorCode (no status) — as the outcome the dispatcher acts on.
    Neither code nor status means the request got no answer (timeout, connection)."""
    if code in _CODES:
        outcome, failure = _CODES[code]
        return SendError(outcome, f"twilio error {code}", code=code, failure=failure)
    if status == 429 or code == _RATE_LIMIT_CODE:
        return SendError(Outcome.RATE_LIMITED, f"twilio rate limit ({code or status})", code=code or status,
                         retry_after=DEFAULT_RETRY_AFTER if retry_after is None else retry_after)
    if (status is not None and status >= 500) or (code is None and status is None):
        return SendError(Outcome.TRANSIENT, f"twilio unavailable ({code or status or 'no answer'})", code=code or status)
    if status == 401:
        # The account's credentials, not the message: fixing them must not have lost it.
        return SendError(Outcome.TRANSIENT, "twilio refused the credentials (TWILIO_AUTH_TOKEN)", code=code or status)
    return SendError(Outcome.PERMANENT, f"twilio refused ({code or status})", code=code or status,
                     failure=Failure.REFUSED)


def render_text(out: OutgoingMessage) -> str:
    """Body text with choices as a numbered list, since Twilio has no buttons here.

    People answer with the number (or the label); the flows match either.
    """
    if not out.choices:
        return out.text
    listing = "\n".join(f"{i}. {choice.label}" for i, choice in enumerate(out.choices, start=1))
    return f"{out.text}\n\n{listing}" if out.text else listing


def _whatsapp(address: str) -> str:
    return address if address.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + address


def _parse_location(params: ImmutableMultiDict) -> Location | None:
    """A shared WhatsApp location; anything unparseable is treated as no location."""
    try:
        lat = float(params["Latitude"])
        lon = float(params["Longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Location(lat=lat, lon=lon)


def _parse_media(params: ImmutableMultiDict) -> list[Media]:
    try:
        count = int(params.get("NumMedia") or 0)
    except ValueError:
        count = 0
    media = []
    for i in range(max(0, min(count, 20))):  # Twilio allows at most 10; cap garbage counts
        url = params.get(f"MediaUrl{i}")
        if url:
            media.append(Media(url=url, content_type=params.get(f"MediaContentType{i}") or ""))
    return media


def parse_sender(sender: str) -> tuple[str, str] | None:
    """``whatsapp:+E164`` or ``+E164`` as (channel, number); None for anything else
    (messenger:…, rcs:…, garbage), which the bot can neither store nor answer."""
    channel, number = ("whatsapp", sender[len(WHATSAPP_PREFIX):]) if sender.startswith(WHATSAPP_PREFIX) \
        else ("sms", sender)
    if not _E164.fullmatch(number):
        return None
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return channel, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def message_sid(params: ImmutableMultiDict) -> str | None:
    """The message's SID when every SID field present has the documented shape, else None."""
    sids = [params[name] for name in ("MessageSid", "SmsMessageSid", "SmsSid") if name in params]
    if not sids or not all(MESSAGE_SID.fullmatch(sid) for sid in sids) or len(set(sids)) > 1:
        return None
    return sids[0]


def incoming_from_params(params: ImmutableMultiDict) -> IncomingMessage | None:
    """Translate validated webhook form fields; None when the sender or SID is not one
    Twilio would send for a WhatsApp or SMS message."""
    sender = parse_sender(params.get("From") or "")
    sid = message_sid(params)
    if sender is None or sid is None:
        return None
    channel, address = sender
    return IncomingMessage(
        channel=channel,
        address=address,
        text=params.get("Body") or "",
        media=_parse_media(params),
        location=_parse_location(params),
        profile_name=params.get("ProfileName") or None,
        external_id=f"twilio:{sid}",
    )


class _BodyTooLarge(Exception):
    pass


async def _capped_body(request: Request) -> bytes:
    """The request body, read no further than MAX_WEBHOOK_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise _BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise _BodyTooLarge
    return bytes(body)


class _HttpClient(AsyncTwilioHttpClient):
    """twilio's asyncio client with a real timeout, a connection pool sized for the
    dispatcher, and a 429's Retry-After kept (TwilioRestException drops the headers)."""

    def __init__(self, connections: int):
        super().__init__(pool_connections=False, logger=_http_log)
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS),
            connector=aiohttp.TCPConnector(limit=connections),
        )

    async def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                      allow_redirects=False):
        try:
            response = await super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                             timeout=timeout, allow_redirects=allow_redirects)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SendError(Outcome.TRANSIENT, f"twilio unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429:
            try:
                code = json.loads(response.text).get("code")
            except (ValueError, AttributeError):
                code = None
            raise classify_twilio_error(code, 429, _retry_after(response.headers.get("Retry-After")))
        return response


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


class TwilioChannel:
    """Translate Twilio webhooks to IncomingMessage and OutgoingMessage to Twilio REST calls.

    ``receipts`` records status callbacks; without it no send asks for one (nothing
    would answer at the callback URL)."""

    names = ("whatsapp", "sms")

    def __init__(
        self,
        settings: Settings,
        enqueue: Callable[[IncomingMessage], Awaitable[bool]],
        receipts: StatusReceipts | None = None,
    ):
        self.settings = settings
        self.enqueue = enqueue
        self.receipts = receipts
        self.validator = RequestValidator(settings.twilio_auth_token)
        self._owned: tuple[Client, asyncio.AbstractEventLoop] | None = None

    async def start(self) -> None:
        """Open the HTTP client in the running event loop (aiohttp sessions belong to one).
        Twilio itself calls the webhooks configured in its console."""
        self._client()

    async def stop(self) -> None:
        if self._owned is not None:
            client, _ = self._owned
            self._owned = None
            await client.http_client.close()

    def _client(self) -> Client:
        """This event loop's client, made on first use when start() was not run."""
        loop = asyncio.get_running_loop()
        if self._owned is None or self._owned[1] is not loop:
            client = Client(self.settings.twilio_account_sid, self.settings.twilio_auth_token,
                            http_client=_HttpClient(max(256, 2 * self.settings.send_concurrency)))
            if self.settings.twilio_api_base_url:
                _redirect_api(client, self.settings.twilio_api_base_url)
            self._owned = (client, loop)
        return self._owned[0]

    def routes(self) -> list[Route]:
        routes = [Route(WEBHOOK_PATH, self.webhook, methods=["POST"], name="twilio_webhook")]
        if self.receipts is not None:
            routes.append(self.receipts.route(self.signed_form))
        return routes

    def _signed_url(self, request: Request) -> str:
        """The URL Twilio signed: the public one, not what the proxy forwarded to us."""
        url = self.settings.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        return url

    async def signed_form(self, request: Request) -> ImmutableMultiDict | Response:
        """The form fields of a request Twilio signed, or the answer to give instead.

        The signature header is looked at before the body is read, and the body is read
        no further than MAX_WEBHOOK_BYTES: an unsigned or oversized request costs nothing.
        Only a urlencoded body is parsed (with the standard library: request.form() needs
        python-multipart); any other yields no fields, so the signature check fails.
        """
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            log.warning("twilio %s rejected: no signature", request.url.path)
            return Response(status_code=403)
        try:
            body = await _capped_body(request)
        except _BodyTooLarge:
            log.warning("twilio %s rejected: body over %d bytes", request.url.path, MAX_WEBHOOK_BYTES)
            return Response(status_code=413)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        params = ImmutableMultiDict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
                                    if content_type == "application/x-www-form-urlencoded" else [])
        if not self.validator.validate(self._signed_url(request), params, signature):
            log.warning("twilio %s rejected: bad signature (url=%s)", request.url.path, self._signed_url(request))
            return Response(status_code=403)
        return params

    async def webhook(self, request: Request) -> Response:
        params = await self.signed_form(request)
        if isinstance(params, Response):
            return params
        msg = incoming_from_params(params)
        if msg is None:
            log.warning("twilio webhook rejected: not a WhatsApp or SMS sender, or a malformed MessageSid")
            return Response(status_code=400)
        fresh = await self.enqueue(msg)
        if not fresh:
            log.info("twilio webhook: duplicate delivery %s ignored", msg.external_id)
        return Response(EMPTY_TWIML, media_type="text/xml")

    def _sender(self, channel: str) -> tuple[str, str]:
        """Who a message on `channel` comes from, as the create argument and its value:
        the Messaging Service when one is set (it picks the number), else the From number."""
        if channel not in self.names:
            raise ValueError(f"TwilioChannel cannot send on channel {channel!r}")
        if self.settings.twilio_messaging_service_sid:
            return "messaging_service_sid", self.settings.twilio_messaging_service_sid
        if channel == "whatsapp" and self.settings.twilio_whatsapp_from:
            return "from_", _whatsapp(self.settings.twilio_whatsapp_from)
        if channel == "sms" and self.settings.twilio_sms_from:
            return "from_", self.settings.twilio_sms_from
        raise SendError(Outcome.PERMANENT, f"cannot send {channel}: TWILIO_{channel.upper()}_FROM is not set",
                        failure=Failure.REFUSED)

    def buckets(self, out: OutgoingMessage) -> list[Bucket]:
        """Twilio limits messages per second per sender; one bucket per sender and channel."""
        rate = (self.settings.twilio_whatsapp_rate_per_second if out.channel == "whatsapp"
                else self.settings.twilio_sms_rate_per_second)
        return [Bucket(f"twilio:{out.channel}:{self._sender(out.channel)[1]}", Rate(rate))]

    def max_length(self, out: OutgoingMessage) -> int:
        """How long `out.text` may be: Twilio's body limit, less the numbered choices that
        render_text appends (never below half of it, however long the choices)."""
        listing = len(render_text(replace(out, text=""))) + 2 if out.choices else 0
        return max(MAX_BODY - listing, MAX_BODY // 2)

    def _request(self, out: OutgoingMessage) -> dict:
        """The Messages.create arguments for `out`."""
        field, sender = self._sender(out.channel)
        kwargs: dict = {"to": _whatsapp(out.address) if out.channel == "whatsapp" else out.address, field: sender}
        if out.content_sid:
            kwargs["content_sid"] = out.content_sid
            kwargs["content_variables"] = json.dumps(out.content_variables or {}, ensure_ascii=False)
        else:
            kwargs["body"] = render_text(out)
            media = out.media_url or (public_url(self.settings, out.document_path) if out.document_path else None)
            if media:
                kwargs["media_url"] = [media]
        if out.outbox_id is not None and self.receipts is not None:
            kwargs["status_callback"] = self.receipts.callback_url(out.outbox_id)
        return kwargs

    async def send(self, out: OutgoingMessage) -> str:
        """Send one message and return its Twilio SID; a refusal raises SendError.

        A document goes as a signed public link (bot.files), since Twilio fetches media
        by URL. A template (content_sid) carries its variables and no body.
        """
        kwargs = self._request(out)
        try:
            message = await self._client().messages.create_async(**kwargs)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise classify_twilio_error(exc.code, exc.status) from exc
        log.info("twilio sent %s on %s (outbox %s)", message.sid, out.channel, out.outbox_id)
        return message.sid

    @property
    def media_prefix(self) -> str:
        """Media URLs this channel downloads: those on the Twilio API it talks to."""
        return (self.settings.twilio_api_base_url or TWILIO_API).rstrip("/") + "/"

    async def download(self, url: str) -> bytes:
        """An incoming message's media. Twilio asks for the account's credentials (HTTP
        basic auth) and redirects to its CDN; httpx drops the credentials on the way there."""
        if not url.startswith(self.media_prefix):
            raise ValueError(f"not a Twilio media URL: {url}")
        auth = (self.settings.twilio_account_sid, self.settings.twilio_auth_token)
        async with httpx.AsyncClient(auth=auth, follow_redirects=True, timeout=HTTP_TIMEOUT_SECONDS) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.content


def _redirect_api(client: Client, base_url: str) -> None:
    """Point the REST client at another host (a fake in tests, a proxy in production).

    The twilio client builds each URL as ``client.api.base_url + "/2010-04-01/..."``
    at request time, so replacing the cached Api domain's base_url redirects
    Messages.create. Edge/region (e.g. TWILIO_EDGE in the environment) would rewrite
    the hostname afterwards, so they are cleared.
    """
    client.api.base_url = base_url.rstrip("/")
    client.edge = None
    client.region = None
