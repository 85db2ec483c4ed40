"""WhatsApp and SMS through Twilio.

The webhook only authenticates, translates and enqueues: Twilio expects a quick
answer, and processing happens later from the inbox. Replies go out through the
REST API (never as TwiML) so that every reply path is the same for all channels.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

import httpx
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.files import public_url
from bot.messages import IncomingMessage, Location, Media, OutgoingMessage, split_sender
from bot.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
HTTP_TIMEOUT_SECONDS = 30.0
WHATSAPP_PREFIX = "whatsapp:"
TWILIO_API = "https://api.twilio.com"


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


async def _form_params(request: Request) -> ImmutableMultiDict:
    """Parse the urlencoded body Twilio posts.

    Parsed here with the standard library rather than ``request.form()``, which
    needs python-multipart. Any other content type yields no fields, so the
    signature check fails.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return ImmutableMultiDict()
    body = (await request.body()).decode("utf-8", errors="replace")
    return ImmutableMultiDict(parse_qsl(body, keep_blank_values=True))


def incoming_from_params(params: ImmutableMultiDict) -> IncomingMessage:
    """Translate validated webhook form fields; the caller has checked ``From`` exists."""
    channel, address = split_sender(params["From"])
    if channel not in ("whatsapp", "sms"):
        # Twilio's other address kinds (messenger:, rcs:…) still reply over the SMS path.
        channel, address = "sms", params["From"]
    sid = params.get("MessageSid") or params.get("SmsMessageSid")
    return IncomingMessage(
        channel=channel,
        address=address,
        text=params.get("Body") or "",
        media=_parse_media(params),
        location=_parse_location(params),
        profile_name=params.get("ProfileName") or None,
        external_id=f"twilio:{sid}" if sid else None,
    )


class TwilioChannel:
    """Translate Twilio webhooks to IncomingMessage and OutgoingMessage to Twilio REST calls."""

    names = ("whatsapp", "sms")

    def __init__(
        self,
        settings: Settings,
        enqueue: Callable[[IncomingMessage], Awaitable[bool]],
        client: Client | None = None,
    ):
        self.settings = settings
        self.enqueue = enqueue
        self.validator = RequestValidator(settings.twilio_auth_token)
        if client is None:
            client = Client(
                settings.twilio_account_sid,
                settings.twilio_auth_token,
                http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT_SECONDS),
            )
            if settings.twilio_api_base_url:
                _redirect_api(client, settings.twilio_api_base_url)
        self.client = client

    async def start(self) -> None:
        """Nothing to start: Twilio calls the webhook configured in its console."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def routes(self) -> list[Route]:
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"], name="twilio_webhook")]

    def _signed_url(self, request: Request) -> str:
        """The URL Twilio signed: the public one, not what the proxy forwarded to us."""
        url = self.settings.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        return url

    async def webhook(self, request: Request) -> Response:
        params = await _form_params(request)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self.validator.validate(self._signed_url(request), params, signature):
            log.warning("twilio webhook rejected: bad or missing signature (url=%s)", self._signed_url(request))
            return Response(status_code=403)
        if not params.get("From"):
            log.warning("twilio webhook rejected: no From field")
            return Response(status_code=400)
        msg = incoming_from_params(params)
        fresh = await self.enqueue(msg)
        if not fresh:
            log.info("twilio webhook: duplicate delivery %s ignored", msg.external_id)
        return Response(EMPTY_TWIML, media_type="text/xml")

    def _addresses(self, out: OutgoingMessage) -> tuple[str, str]:
        if out.channel == "whatsapp":
            if not self.settings.twilio_whatsapp_from:
                raise ValueError("cannot send WhatsApp: TWILIO_WHATSAPP_FROM is not set")
            return _whatsapp(self.settings.twilio_whatsapp_from), _whatsapp(out.address)
        if out.channel == "sms":
            if not self.settings.twilio_sms_from:
                raise ValueError("cannot send SMS: TWILIO_SMS_FROM is not set")
            return self.settings.twilio_sms_from, out.address
        raise ValueError(f"TwilioChannel cannot send on channel {out.channel!r}")

    async def send(self, out: OutgoingMessage) -> str:
        """Send one message and return its Twilio SID; any failure raises.

        The twilio client is blocking, so it runs in a worker thread. A document goes
        as a signed public link (bot.files), since Twilio fetches media by URL.
        """
        from_, to = self._addresses(out)
        kwargs: dict = {"from_": from_, "to": to, "body": render_text(out)}
        media = out.media_url or (public_url(self.settings, out.document_path) if out.document_path else None)
        if media:
            kwargs["media_url"] = [media]
        message = await asyncio.to_thread(self.client.messages.create, **kwargs)
        log.info("twilio sent %s to %s:%s", message.sid, out.channel, out.address)
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
