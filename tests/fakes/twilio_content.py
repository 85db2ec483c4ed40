"""A fake Twilio Content API (WhatsApp templates) served over real HTTP.

Every request is checked against Twilio's published OpenAPI description of the API
(tests.fakes.twilio_contract with `twilio_content_v1.json`): path parameters and the
JSON body (required fields, types, patterns, unknown fields). A request the real API
would refuse is answered 400 and kept in `violations`, which a test asserts is empty. On top of the spec it applies the rules
WhatsApp applies to a text template (placeholders numbered from 1 with a sample each,
none opening or closing the body, a body of at most 1024 characters, a lowercase name
unique per language).

    with FakeContentApi() as fake:
        settings = Settings(..., twilio_content_base_url=fake.base_url)
        ...
        fake.approve("kampung_announcement_id")
"""
from __future__ import annotations

import json
import re
import secrets
import threading
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import FakeService, basic_auth_matches
from tests.fakes.twilio_contract import TWILIO_CONTENT, Contract
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, twilio_error

DEFAULT_PAGE_SIZE = 50
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def whatsapp_problems(body: str, variables: dict) -> list[str]:
    """WhatsApp's rules for a text template body and its samples."""
    problems = []
    used = _PLACEHOLDER.findall(body)
    if sorted(set(used), key=int) != [str(n) for n in range(1, len(set(used)) + 1)]:
        problems.append(f"placeholders {used} are not numbered 1, 2, …")
    problems += [f"placeholder {{{{{name}}}}} has no sample" for name in used if not variables.get(name)]
    stripped = body.strip()
    if _PLACEHOLDER.match(stripped) or re.search(r"\{\{\d+\}\}\W*$", stripped):
        problems.append("a placeholder opens or closes the body")
    filled = _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), ""), body)
    if len(filled.encode("utf-16-le")) // 2 > 1024:
        problems.append("body longer than 1024 characters with its samples")
    return problems


class FakeContentApi(FakeService):
    """Fake `POST /v1/Content`, `POST /v1/Content/{sid}/ApprovalRequests/whatsapp` and
    `GET /v1/ContentAndApprovals`, with approval controls and failure injection."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.contract = Contract(TWILIO_CONTENT)
        self._lock = threading.Lock()
        self._contents: dict[str, dict[str, Any]] = {}
        self._requests: list[dict[str, Any]] = []
        self._violations: list[str] = []
        self._failures: list[tuple[int, int, str]] = []
        self._failing: dict[tuple[str, str], tuple[int, int, str]] = {}
        self.app = Starlette(routes=[
            Route("/v1/Content", self._create, methods=["POST"]),
            Route("/v1/Content/{ContentSid}/ApprovalRequests/whatsapp", self._submit, methods=["POST"]),
            Route("/v1/ContentAndApprovals", self._list, methods=["GET"]),
        ])
        super().__init__()

    # -- test controls -----------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Each authenticated request: method, operation path and JSON body."""
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def violations(self) -> list[str]:
        """Requests the real API would refuse, described; a test asserts none."""
        with self._lock:
            return list(self._violations)

    @property
    def contents(self) -> dict[str, dict[str, Any]]:
        """Stored templates by sid, each with its `approval` (None before submission)."""
        with self._lock:
            return {sid: dict(c) for sid, c in self._contents.items()}

    def by_name(self, friendly_name: str) -> dict[str, Any]:
        with self._lock:
            return next(dict(c) for c in self._contents.values() if c["friendly_name"] == friendly_name)

    def approve(self, friendly_name: str) -> None:
        self.set_status(friendly_name, "approved")

    def reject(self, friendly_name: str, reason: str) -> None:
        self.set_status(friendly_name, "rejected", reason)

    def set_status(self, friendly_name: str, status: str, reason: str = "", category: str | None = None) -> None:
        """WhatsApp's verdict on a submitted template (it may change the category too)."""
        with self._lock:
            content = next(c for c in self._contents.values() if c["friendly_name"] == friendly_name)
            if content["approval"] is None:
                raise AssertionError(f"{friendly_name} was never submitted for approval")
            content["approval"].update(status=status, rejection_reason=reason)
            if category:
                content["approval"]["category"] = category

    def fail_next(self, count: int = 1, status: int = 500, code: int = 20500, message: str = "Internal Server Error") -> None:
        with self._lock:
            self._failures.extend([(status, code, message)] * count)

    def fail_create(self, friendly_name: str, status: int = 400, code: int = 20001,
                    message: str = "Invalid parameter") -> None:
        """Make the next create of the template named `friendly_name` fail."""
        with self._lock:
            self._failing[("create", friendly_name)] = (status, code, message)

    def fail_submit(self, name: str, status: int = 400, code: int = 20001, message: str = "Invalid parameter") -> None:
        """Make the next approval request for the template named `name` fail."""
        with self._lock:
            self._failing[("submit", name)] = (status, code, message)

    # -- handlers ----------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        return basic_auth_matches(request, self.account_sid, self.auth_token)

    async def _admit(self, request: Request, path: str) -> tuple[Any, JSONResponse | None]:
        """Authenticate, check against the spec, record; an error response or None."""
        if not self._authorized(request):
            return None, twilio_error(401, 20003, "Authenticate")
        raw = await request.body()
        body, problems = None, []
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                problems.append("the body is not JSON")
        problems += self.contract.check(request.method, request.url.path, request.headers.get("content-type", ""),
                                        body)
        with self._lock:
            self._requests.append({"method": request.method, "path": path, "params": dict(request.path_params),
                                   "body": body})
            self._violations += [f"{request.method} {path}: {p}" for p in problems]
            failure = self._failures.pop(0) if self._failures and not problems else None
        if problems:
            return body, twilio_error(400, 20001, "; ".join(problems))
        if failure:
            return body, twilio_error(*failure)
        return body, None

    async def _create(self, request: Request) -> JSONResponse:
        body, error = await self._admit(request, "/v1/Content")
        if error is not None:
            return error
        with self._lock:
            failure = self._failing.pop(("create", body.get("friendly_name") or ""), None)
        if failure:
            return twilio_error(*failure)
        text = (body["types"].get("twilio/text") or {}).get("body", "")
        variables = body.get("variables") or {}
        problems = whatsapp_problems(text, variables)
        if problems:
            with self._lock:
                self._violations += [f"POST /v1/Content {body.get('friendly_name')}: {p}" for p in problems]
            return twilio_error(400, 20001, "; ".join(problems))
        sid = "HX" + secrets.token_hex(16)
        now = _now()
        content = {"sid": sid, "account_sid": self.account_sid, "friendly_name": body.get("friendly_name") or "",
                   "language": body["language"], "variables": variables, "types": body["types"],
                   "date_created": now, "date_updated": now, "approval": None}
        with self._lock:
            self._contents[sid] = content
        return JSONResponse(self._resource(content), status_code=201)

    async def _submit(self, request: Request) -> JSONResponse:
        path = "/v1/Content/{ContentSid}/ApprovalRequests/whatsapp"
        body, error = await self._admit(request, path)
        if error is not None:
            return error
        sid = request.path_params["ContentSid"]
        with self._lock:
            failure = self._failing.pop(("submit", body["name"]), None)
        if failure:
            return twilio_error(*failure)
        problems = []
        if not _TEMPLATE_NAME.match(body["name"]):
            problems.append(f"template name {body['name']!r}: lowercase letters, digits and underscores only")
        if body["category"] not in CATEGORIES:
            problems.append(f"category {body['category']!r} is not one of {CATEGORIES}")
        with self._lock:
            content = self._contents.get(sid)
            if content is None:
                return twilio_error(404, 20404, "The requested resource was not found")
            if content["approval"] is not None:
                problems.append(f"{sid} was already submitted")
            if any(c["approval"] and c["approval"]["name"] == body["name"] and c["language"] == content["language"]
                   for c in self._contents.values()):
                problems.append(f"a template named {body['name']} already exists in {content['language']}")
            if problems:
                self._violations += [f"POST {path} {sid}: {p}" for p in problems]
                return twilio_error(400, 20001, "; ".join(problems))
            content["approval"] = {"name": body["name"], "category": body["category"], "content_type": "twilio/text",
                                   "status": "received", "rejection_reason": "", "allow_category_change": True}
            return JSONResponse(dict(content["approval"]), status_code=201)

    async def _list(self, request: Request) -> JSONResponse:
        _, error = await self._admit(request, "/v1/ContentAndApprovals")
        if error is not None:
            return error
        size = int(request.query_params.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(request.query_params.get("Page", 0))
        with self._lock:
            everything = [self._fields(c) | {"approval_requests": c["approval"] or self._unsubmitted()}
                          for c in self._contents.values()]
        chunk = everything[page * size:(page + 1) * size]
        base = f"{self.base_url}/v1/ContentAndApprovals"
        more = (page + 1) * size < len(everything)
        return JSONResponse({"contents": chunk, "meta": {
            "page": page, "page_size": size, "key": "contents",
            "first_page_url": f"{base}?PageSize={size}&Page=0",
            "previous_page_url": f"{base}?PageSize={size}&Page={page - 1}" if page else None,
            "next_page_url": f"{base}?PageSize={size}&Page={page + 1}" if more else None,
            "url": f"{base}?PageSize={size}&Page={page}"}})

    @staticmethod
    def _unsubmitted() -> dict[str, Any]:
        return {"name": "", "category": "", "content_type": "", "status": "unsubmitted", "rejection_reason": "",
                "allow_category_change": True}

    @staticmethod
    def _fields(content: dict[str, Any]) -> dict[str, Any]:
        return {key: content[key] for key in ("sid", "account_sid", "friendly_name", "language", "variables", "types",
                                              "date_created", "date_updated")}

    def _resource(self, content: dict[str, Any]) -> dict[str, Any]:
        url = f"https://content.twilio.com/v1/Content/{content['sid']}"
        return self._fields(content) | {"url": url, "links": {"approval_create": f"{url}/ApprovalRequests/whatsapp",
                                                              "approval_fetch": f"{url}/ApprovalRequests"}}
