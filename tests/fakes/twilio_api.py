"""A fake Twilio REST API (Messages, and the media of incoming messages) served over real HTTP.

Tests point the real ``twilio.rest.Client`` at it (TWILIO_API_BASE_URL), so the
request the library actually builds — form fields, basic auth, URL — is checked.

    with FakeTwilioApi("AC...", "token") as fake:
        settings = Settings(..., twilio_api_base_url=fake.base_url)
        ...
        assert fake.requests[0]["Body"] == "hello"
"""
from __future__ import annotations

import base64
import secrets
import threading
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeService

API_VERSION = "2010-04-01"


def twilio_error(status: int, code: int, message: str) -> JSONResponse:
    """Twilio's legacy error body, which twilio-python turns into TwilioRestException."""
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


ACCOUNT_SID = "AC" + "5eed" * 8
AUTH_TOKEN = "fake-auth-token"


class FakeTwilioApi(FakeService):
    """Fake ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with failure injection."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._messages: dict[str, dict[str, Any]] = {}
        self._failures: list[tuple[int, int, str]] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._media_requests: list[dict[str, Any]] = []
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

    # -- test controls -----------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of authenticated Messages.create requests, oldest first."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._failures.clear()
            self._media.clear()
            self._media_requests.clear()

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

    def fail_next(self, count: int = 1, status: int = 500, code: int | None = None, message: str | None = None) -> None:
        """Make the next ``count`` authenticated create calls fail.

        ``status=500`` imitates an outage; ``status=400`` a rejected message
        (default code 21211, invalid 'To' number).
        """
        if code is None:
            code = 21211 if status == 400 else 20500
        if message is None:
            message = "The 'To' number is not a valid phone number." if status == 400 else "Internal Server Error"
        with self._lock:
            self._failures.extend([(status, code, message)] * count)

    # -- handlers ----------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token)

    def _check(self, request: Request) -> JSONResponse | None:
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        if request.path_params["account_sid"] != self.account_sid:
            return twilio_error(404, 20404, "The requested resource was not found")
        return None

    async def _create(self, request: Request) -> JSONResponse:
        if (error := self._check(request)) is not None:
            return error
        # Parsed by hand: request.form() would need python-multipart.
        form = ImmutableMultiDict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        record: dict[str, Any] = {k: v for k, v in form.items() if k != "MediaUrl"}
        record["MediaUrl"] = list(form.getlist("MediaUrl"))
        record["account_sid"] = self.account_sid
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            record["response_status"] = failure[0] if failure else 201
            self._requests.append(record)
        if failure:
            return twilio_error(*failure)
        if not form.get("To"):
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not record["MediaUrl"] and not form.get("ContentSid"):
            return twilio_error(400, 21602, "Message body is required.")
        resource = self._resource(form, record["MediaUrl"])
        with self._lock:
            self._messages[resource["sid"]] = resource
            record["sid"] = resource["sid"]
        return JSONResponse(resource, status_code=201)

    async def _fetch(self, request: Request) -> JSONResponse:
        if (error := self._check(request)) is not None:
            return error
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
        sid = "SM" + secrets.token_hex(16)
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
