"""A fake Twilio REST API (Messages, and the media of incoming messages) served over real HTTP.

Tests point the real twilio client at it (TWILIO_API_BASE_URL), so the request the
library actually builds — form fields, basic auth, URL — is checked, against Twilio's
published OpenAPI spec too (tests.fakes.twilio_contract): a request the real API would
refuse is answered 400 and kept in `violations`, and `clear()` (run by the `fake`
fixture around every test) fails the test that made it.

It behaves like Twilio where the bot depends on it:
- a per-sender rate limit (WhatsApp 80 messages/s by default): beyond it, 429 with
  code 20429 and Retry-After, counted in `rate_limited`;
- an answer after `delay` seconds (a number or a (low, high) range), without holding
  up the other requests;
- WhatsApp's 24-hour window, when `enforce_window` is on: a free-form message to a
  number not in `open_windows` is accepted (201 queued) and fails afterwards with
  63016, reported only by the status callback; a template (ContentSid) passes;
- numbers in `not_on_whatsapp` fail by callback with 63003; numbers in `invalid_numbers`
  (or not E.164) are refused at once with 400 / 21211;
- a message with a StatusCallback gets signed callbacks, like Twilio's: sent then
  delivered (and read when `read_receipts`), or failed with the ErrorCode. They go to
  `callback_sink` — a base URL replacing the callback URL's origin, or a callable
  ``(url, params, headers) -> status`` run in a thread — and are kept in `callbacks`.

    with FakeTwilioApi("AC...", "token") as fake:
        settings = Settings(..., twilio_api_base_url=fake.base_url)
        ...
        assert fake.requests[0]["Body"] == "hello"
"""
from __future__ import annotations

import asyncio
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.fakes.server import FakeService, basic_auth_matches
from tests.fakes.twilio_contract import TWILIO_API, Contract, form_pairs

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
DEFAULT_RATES = {"whatsapp": 80.0, "sms": None}  # Twilio queues SMS instead of refusing it
CALLBACK_DELAY = 0.1  # Twilio reports a status a moment after answering the send


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Twilio's legacy error body, which twilio-python turns into TwilioRestException."""
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status, headers=headers,
    )


ACCOUNT_SID = "AC" + "5eed" * 8
AUTH_TOKEN = "fake-auth-token"

CallbackSink = str | Callable[[str, dict[str, str], dict[str, str]], int]


@dataclass
class _Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        self.tokens = self.burst

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class FakeTwilioApi(FakeService):
    """Fake ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with failure injection."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.contract = Contract(TWILIO_API)
        self._lock = threading.Lock()
        self._reset()
        self.app = Starlette(
            routes=[
                Route(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._create, methods=["POST"]),
                Route(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{sid}}.json", self._fetch, methods=["GET"]),
                Route(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{sid}}/Media/{{media_sid}}", self._media_url,
                      methods=["GET"]),
                Route("/cdn/{media_sid}", self._cdn, methods=["GET"]),
            ]
        )
        super().__init__()

    def _reset(self) -> None:
        self._requests: list[dict[str, Any]] = []
        self._messages: dict[str, dict[str, Any]] = {}
        self._failures: list[tuple[int, int, str, dict[str, str] | None]] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._media_requests: list[dict[str, Any]] = []
        self._callbacks: list[dict[str, Any]] = []
        self._buckets: dict[str, _Bucket] = {}
        self._violations: list[str] = []
        self._tasks: set[asyncio.Task] = getattr(self, "_tasks", set())
        self._generation = getattr(self, "_generation", 0) + 1
        self._in_flight = 0
        self.max_in_flight = 0
        self.rate_limited = 0
        self.rates: dict[str, float | None] = dict(DEFAULT_RATES)
        self.delay: float | tuple[float, float] = 0.0
        self.enforce_window = False
        self.open_windows: set[str] = set()
        self.not_on_whatsapp: set[str] = set()
        self.invalid_numbers: set[str] = set()
        self.read_receipts = False
        self.callback_sink: CallbackSink | None = None
        self._callback_client: httpx.AsyncClient | None = getattr(self, "_callback_client", None)

    # -- test controls -----------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of authenticated Messages.create requests, oldest first."""
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        """Status callbacks, in the order they went: url, params, and the status the bot answered
        (None when there was no `callback_sink`)."""
        with self._lock:
            return [dict(c) for c in self._callbacks]

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    def take_violations(self) -> list[str]:
        """The contract violations so far, forgotten: for a test that makes them on purpose."""
        with self._lock:
            found, self._violations = self._violations, []
        return found

    def clear(self) -> None:
        """Forget everything and restore the defaults. Raises AssertionError when a request
        since the last clear broke the published contract, so the test that sent it fails."""
        with self._lock:
            violations = self._violations
            self._reset()
        if violations:
            raise AssertionError("requests the real Twilio API would refuse:\n" + "\n".join(violations))

    def add_media(self, content: bytes, content_type: str = "image/jpeg") -> str:
        """Media of an incoming message: returns its MediaUrl, as a webhook would carry it."""
        media_sid = "ME" + secrets.token_hex(16)
        with self._lock:
            self._media[media_sid] = (content, content_type)
        return f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages/MM{secrets.token_hex(16)}/Media/{media_sid}"

    @property
    def media_requests(self) -> list[dict[str, Any]]:
        """Each media fetch: where (``api`` or ``cdn``) and whether credentials came with it."""
        with self._lock:
            return [dict(r) for r in self._media_requests]

    def fail_next(self, count: int = 1, status: int = 500, code: int | None = None, message: str | None = None,
                  retry_after: float | None = None) -> None:
        """Make the next ``count`` authenticated create calls fail.

        ``status=500`` imitates an outage; ``status=400`` a rejected message
        (default code 21211, invalid 'To' number); ``retry_after`` adds the header.
        """
        if code is None:
            code = 21211 if status == 400 else 20500
        if message is None:
            message = "The 'To' number is not a valid phone number." if status == 400 else "Internal Server Error"
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        with self._lock:
            self._failures.extend([(status, code, message, headers)] * count)

    # -- handlers ----------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        return basic_auth_matches(request, self.account_sid, self.auth_token)

    def _check(self, request: Request) -> JSONResponse | None:
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        if request.path_params["account_sid"] != self.account_sid:
            return twilio_error(404, 20404, "The requested resource was not found")
        return None

    async def _create(self, request: Request) -> JSONResponse:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._create_message(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _create_message(self, request: Request) -> JSONResponse:
        if (error := self._check(request)) is not None:
            return error
        pairs = form_pairs(await request.body())
        violations = self.contract.check("POST", request.url.path, request.headers.get("content-type", ""), pairs)
        if violations:
            with self._lock:
                self._violations.extend(violations)
            return twilio_error(400, 20001, "; ".join(violations))
        form = ImmutableMultiDict(pairs)
        record: dict[str, Any] = {k: v for k, v in form.items() if k != "MediaUrl"}
        record["MediaUrl"] = list(form.getlist("MediaUrl"))
        record["account_sid"] = self.account_sid
        answer, events = self._answer(form, record)
        with self._lock:
            record["response_status"] = answer.status_code
            self._requests.append(record)
            delay = self.delay
        await asyncio.sleep(random.uniform(*delay) if isinstance(delay, tuple) else delay)
        if events:
            task = asyncio.get_running_loop().create_task(self._callback(form["StatusCallback"], record["sid"], events))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return answer

    def _answer(self, form: ImmutableMultiDict, record: dict[str, Any]) -> tuple[JSONResponse, list]:
        """What Twilio answers, and the statuses the message will go through afterwards."""
        response, events = self._outcome(form, record)
        return response, events if form.get("StatusCallback") else []

    def _outcome(self, form: ImmutableMultiDict, record: dict[str, Any]) -> tuple[JSONResponse, list]:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure:
            return twilio_error(*failure), []
        to = form.get("To") or ""
        channel = "whatsapp" if to.startswith("whatsapp:") else "sms"
        number = to.removeprefix("whatsapp:")
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not sender:
            return twilio_error(400, 21603, "A 'From' phone number is required."), []
        if not self._take(channel, sender):
            return twilio_error(429, 20429, "Too Many Requests", headers={"Retry-After": "1"}), []
        if not E164.fullmatch(number) or number in self.invalid_numbers:
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number."), []
        if not form.get("Body") and not record["MediaUrl"] and not form.get("ContentSid"):
            return twilio_error(400, 21602, "Message body is required."), []
        resource = self._resource(form, record["MediaUrl"])
        record["sid"] = resource["sid"]
        with self._lock:
            self._messages[resource["sid"]] = resource
        return JSONResponse(resource, status_code=201), self._fate(channel, number, form)

    def _take(self, channel: str, sender: str) -> bool:
        with self._lock:
            rate = self.rates.get(channel)
            if rate is None:
                return True
            bucket = self._buckets.get(f"{channel}:{sender}")
            if bucket is None or bucket.rate != rate:
                bucket = self._buckets[f"{channel}:{sender}"] = _Bucket(rate, burst=rate)
            if bucket.take():
                return True
            self.rate_limited += 1
            return False

    def _fate(self, channel: str, number: str, form: ImmutableMultiDict) -> list[tuple[str, int | None]]:
        """The statuses a created message goes through, with their error codes."""
        with self._lock:
            if channel == "whatsapp" and number in self.not_on_whatsapp:
                return [("failed", 63003)]
            if (channel == "whatsapp" and self.enforce_window and not form.get("ContentSid")
                    and number not in self.open_windows):
                return [("failed", 63016)]
            return [("sent", None), ("delivered", None)] + ([("read", None)] if self.read_receipts else [])

    async def _callback(self, url: str, sid: str, events: list[tuple[str, int | None]]) -> None:
        """Post each status to the StatusCallback, signed with the auth token like Twilio does."""
        validator = RequestValidator(self.auth_token)
        with self._lock:
            resource = self._messages.get(sid)
            generation = self._generation
        for status, error_code in events:
            await asyncio.sleep(CALLBACK_DELAY)
            params = {
                "MessageSid": resource["sid"], "SmsSid": resource["sid"], "AccountSid": self.account_sid,
                "MessageStatus": status, "SmsStatus": status, "From": resource["from"] or "", "To": resource["to"],
                "ApiVersion": API_VERSION,
            }
            if resource["messaging_service_sid"]:
                params["MessagingServiceSid"] = resource["messaging_service_sid"]
            if error_code is not None:
                params["ErrorCode"] = str(error_code)
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            with self._lock:
                if resource is None or generation != self._generation:
                    return  # cleared since: the callbacks belong to an earlier test
                resource.update(status=status, error_code=error_code)
                sink = self.callback_sink
            answered = await self._post(sink, url, params, headers) if sink is not None else None
            with self._lock:
                self._callbacks.append({"url": url, "params": params, "status_code": answered})

    async def _post(self, sink: CallbackSink, url: str, params: dict[str, str], headers: dict[str, str]) -> int:
        if callable(sink):
            return await asyncio.to_thread(sink, url, params, headers)
        parts = urlsplit(url)
        target = sink.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        if self._callback_client is None:  # one client for all callbacks, as Twilio keeps its connections
            self._callback_client = httpx.AsyncClient(timeout=30.0)
        return (await self._callback_client.post(target, data=params, headers=headers)).status_code

    async def _fetch(self, request: Request) -> JSONResponse:
        if (error := self._check(request)) is not None:
            return error
        if violations := self.contract.check("GET", request.url.path):
            with self._lock:
                self._violations.extend(violations)
            return twilio_error(400, 20001, "; ".join(violations))
        with self._lock:
            resource = self._messages.get(request.path_params["sid"])
        if resource is None:
            return twilio_error(404, 20404, "The requested resource was not found")
        return JSONResponse(resource)

    async def _media_url(self, request: Request) -> Response:
        """Like Twilio: credentials required, then a redirect to the (unauthenticated) CDN."""
        with self._lock:
            self._media_requests.append({"at": "api", "authorized": self._authorized(request)})
        if (error := self._check(request)) is not None:
            return error
        media_sid = request.path_params["media_sid"]
        with self._lock:
            known = media_sid in self._media
        if not known:
            return twilio_error(404, 20404, "The requested resource was not found")
        return RedirectResponse(f"/cdn/{media_sid}", status_code=307)

    async def _cdn(self, request: Request) -> Response:
        with self._lock:
            self._media_requests.append({"at": "cdn", "authorized": "Authorization" in request.headers})
            stored = self._media.get(request.path_params["media_sid"])
        if stored is None:
            return Response(status_code=404)
        content, content_type = stored
        return Response(content, media_type=content_type)

    def _resource(self, form, media_urls: list[str]) -> dict[str, Any]:
        sid = ("MM" if media_urls else "SM") + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": form.get("Body") or "",
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": form.get("To"),
            "uri": uri,
        }
