"""A fake Telegram Bot API server for tests that behaves like the real one.

The real python-telegram-bot client talks to it over HTTP, so tests cover PTB's
actual request encoding (JSON, url-encoded form, multipart uploads) and response
parsing. Only the methods Kampung Bot uses are implemented; everything called is
recorded for assertions.

Like Telegram it refuses what Telegram refuses:
- every request is checked against the published Bot API (tests.fakes.telegram_contract);
  a violation is answered 400 *and* kept in ``violations``, which the test's fixture
  asserts empty (``assert_no_violations``): a request the real API would refuse fails the test;
- flood control, with 429 ``retry_after`` answers counted in ``throttled``: at most
  ``rate_per_second`` (30) sends a second overall, with a burst of ``global_burst`` (35)
  to absorb network jitter; 1 a second to one private chat with a burst of
  ``chat_burst`` (5), as Telegram tolerates a short burst; and at most 20 in any
  60 seconds to one group or channel. A refused send uses up no allowance;
- chats marked blocked (403) or unknown (400 "chat not found"), captions over 1,024 and
  texts over 4,096 characters as Telegram counts them (after HTML parsing, in UTF-16 units).

``delay=(0.1, 0.2)`` answers each call after a random 100-200 ms, without holding up
other requests, like a distant server.

Usage::

    api = FakeTelegramAPI(token="123:ABC").start()
    settings = Settings(telegram_bot_token=api.token, telegram_api_base_url=api.base_url)
    ...
    api.calls("sendMessage")  # -> [{"chat_id": 42, "text": "...", ...}], every attempt
    api.delivered("sendMessage")  # -> the same, only those Telegram accepted
    api.stop()
    api.assert_no_violations()
"""
from __future__ import annotations

import asyncio
import collections
import email.parser
import email.policy
import html
import itertools
import json
import math
import random
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeService, await_for, wait_for
from tests.fakes.telegram_contract import Upload, check_request

DEFAULT_TOKEN = "123456:TEST-token"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Kampung Bot",
    "username": "KampungBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
GROUP_WINDOW = 60.0
BLOCKED = "Forbidden: bot was blocked by the user"
# Telegram's HTML parse mode: these tags, and &lt; &gt; &amp; &quot; or numeric entities.
_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
              "tg-emoji", "code", "pre", "blockquote"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)(?:\s[^<>]*)?>")
_BAD_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")


class UploadedFile(Upload):
    """One multipart file part, as received."""

    def __init__(self, filename: str | None, content_type: str, content: bytes):
        self.filename = filename
        self.content_type = content_type
        self.content = content

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.content)} bytes)"


class Refused(Exception):
    """An error answer, raised from a method handler."""

    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse multipart/form-data with the stdlib (python-multipart isn't a dependency)."""
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = UploadedFile(filename, part.get_content_type(), payload)
        else:
            params[name] = payload.decode("utf-8")
    return params


async def _read_params(request: Request) -> tuple[dict[str, Any], bool]:
    """(raw params, whether they came as form fields) of one call."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params, True
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("a JSON body must be an object")
        if params:
            raise ValueError("parameters both in the query and in a JSON body")
        return data, False
    if content_type.startswith("multipart/form-data"):
        params.update(_parse_multipart(content_type, body))
    else:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    return params, True


def _error(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
    data: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        data["parameters"] = {"retry_after": retry_after}
    return JSONResponse(data, status_code=code)


def visible_length(text: str, parse_mode: str | None) -> int:
    """How long Telegram finds ``text``: after parsing the markup, in UTF-16 code units."""
    if (parse_mode or "").upper() == "HTML":
        for _closing, tag in _TAG.findall(text):
            if tag.lower() not in _HTML_TAGS:
                raise Refused(400, f"Bad Request: can't parse entities: Unsupported start tag \"{tag}\"")
        text = _TAG.sub("", text)
        if "<" in text or ">" in text or _BAD_AMPERSAND.search(text):
            raise Refused(400, "Bad Request: can't parse entities: unescaped <, > or &")
        text = html.unescape(text)
    return len(text.encode("utf-16-le")) // 2


def _is_group(chat_id: Any) -> bool:
    return isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)


class _TokenBucket:
    """``rate`` a second, at most ``burst`` at once."""

    def __init__(self, rate: float, burst: float, now: float):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until one send is allowed (0: now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class _Window:
    """At most ``count`` sends in any ``seconds``."""

    def __init__(self, count: int, seconds: float):
        self.count = count
        self.seconds = seconds
        self.sent: collections.deque[float] = collections.deque()

    def wait(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.count else self.sent[0] + self.seconds - now

    def take(self, now: float) -> None:
        self.sent.append(now)


class FakeTelegramAPI(FakeService):
    """Fake Bot API on ``base_url``; configure PTB with ``telegram_api_base_url=base_url``."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        max_poll_hold: float = 1.0,
        *,
        delay: tuple[float, float] | None = None,
        limits: bool = True,
        rate_per_second: float = 30.0,
        global_burst: float = 35.0,
        chat_rate_per_second: float = 1.0,
        chat_burst: float = 5.0,
        group_per_minute: int = 20,
    ):
        self.token = token
        # Long polling is honoured only briefly so tests and shutdown stay fast.
        self.max_poll_hold = max_poll_hold
        self.delay = delay
        self.limits = limits
        self._chat_rate = (chat_rate_per_second, chat_burst)
        self._group_per_minute = group_per_minute
        self._lock = threading.Lock()
        self._calls: list[tuple[str, dict[str, Any], bool]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: dict[str, list[tuple[int, str, int | None]]] = {}
        self._global = _TokenBucket(rate_per_second, global_burst, time.monotonic())
        self._chats: dict[Any, _TokenBucket] = {}
        self._groups: dict[Any, _Window] = {}
        self._blocked: dict[Any, str] = {}
        self._unknown: set[Any] = set()
        self.violations: list[str] = []
        # The most calls being answered at one moment (the delay holds none of them up).
        self.max_in_flight = 0
        self._in_flight = 0
        # 429s answered, by the limit that was hit: "global", "chat", "group".
        self.throttled: collections.Counter[str] = collections.Counter()
        self.webhook: dict[str, Any] = {"url": ""}
        self.commands: list[dict[str, Any]] = []
        self._closing = False
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )
        super().__init__()

    def stop(self) -> None:
        self._closing = True  # release long polls at once
        super().stop()

    # -- test helpers ----------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Any]:
        """Params of every call to ``method`` (or (method, params) of all calls), oldest first,
        whatever the answer."""
        with self._lock:
            if method is None:
                return [(m, dict(p)) for m, p, _ in self._calls]
            return [dict(p) for m, p, _ in self._calls if m == method]

    def delivered(self, method: str | None = None) -> list[Any]:
        """Like ``calls``, only the calls Telegram answered with success."""
        with self._lock:
            if method is None:
                return [(m, dict(p)) for m, p, ok in self._calls if ok]
            return [dict(p) for m, p, ok in self._calls if ok and m == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [m for m, _, _ in self._calls]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    @property
    def rate_limited(self) -> int:
        """How many 429s were answered."""
        with self._lock:
            return sum(self.throttled.values())

    def take_violations(self) -> list[str]:
        """The contract violations so far, forgotten (for tests that provoke them)."""
        with self._lock:
            found, self.violations = self.violations, []
        return found

    def assert_no_violations(self) -> None:
        """Fail when any request broke the Bot API contract; fixtures call it at teardown."""
        found = self.take_violations()
        assert not found, "requests the real Bot API would refuse:\n" + "\n".join(found)

    def mark_blocked(self, chat_id: int | str, description: str = BLOCKED) -> None:
        """Sends to ``chat_id`` answer 403 from now on (blocked, deactivated, kicked)."""
        with self._lock:
            self._blocked[chat_id] = description

    def mark_unknown(self, chat_id: int | str) -> None:
        """Sends to ``chat_id`` answer 400 "chat not found" from now on."""
        with self._lock:
            self._unknown.add(chat_id)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; assigns ``update_id`` when missing."""
        update = dict(update)
        with self._lock:
            if "update_id" not in update:
                update["update_id"] = next(self._update_ids)
            self._updates.append(update)
        return update

    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._updates)

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> str:
        """Make ``file_id`` downloadable through getFile + /file/bot<token>/<path>."""
        path = file_path or f"files/{file_id}"
        with self._lock:
            self._files[file_id] = (path, content)
        return path

    def fail_next(self, method: str, error_code: int = 400, description: str = "Bad Request: test failure",
                  retry_after: int | None = None) -> None:
        """Make the next call to ``method`` return an error like Telegram does; ``retry_after``
        adds the flood-control parameter (with ``error_code`` 429)."""
        with self._lock:
            self._failures.setdefault(method, []).append((error_code, description, retry_after))

    def _expect_calls(self, method: str, count: int) -> dict[str, Any]:
        return {
            "fetch": lambda: self.calls(method),
            "done": lambda found: len(found) >= count,
            "describe": lambda found: f"{method} called {len(found)} times, expected {count}; calls: {self.methods()}",
        }

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Await until ``method`` was called ``count`` times (calls arrive from other tasks)."""
        return await await_for(**self._expect_calls(method, count), timeout=timeout)

    def wait_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait (blocking) until ``method`` was called ``count`` times, by another thread."""
        return wait_for(**self._expect_calls(method, count), timeout=timeout)

    # -- routes ----------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        try:
            raw, form = await _read_params(request)
        except (ValueError, UnicodeDecodeError) as exc:
            with self._lock:
                self.violations.append(f"{method}: unreadable request ({exc})")
            return _error(400, "Bad Request: can't parse parameters")
        params, problems = check_request(method, raw, form=form)
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            response = self._answer(method, params, problems)
            if isinstance(response, Response):
                ok = False
            else:
                response = await self._run(method, params)
                ok = response.status_code == 200
            with self._lock:
                self._calls.append((method, params, ok))
            if self.delay and method != "getUpdates":
                await asyncio.sleep(random.uniform(*self.delay))
            return response
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, method: str, params: dict[str, Any], problems: list[str]) -> Response | None:
        """The error Telegram would answer before running ``method``, if any."""
        with self._lock:
            if problems:
                self.violations.extend(problems)
                return _error(400, f"Bad Request: {problems[0]}")
            queued = self._failures.get(method)
            if queued:
                return _error(*queued.pop(0))
            if not method.startswith("send"):
                return None
            chat_id = params.get("chat_id")
            if self.limits:
                throttled = self._throttle(chat_id)
                if throttled is not None:
                    return throttled
            if chat_id in self._blocked:
                return _error(403, self._blocked[chat_id])
            if chat_id in self._unknown:
                return _error(400, "Bad Request: chat not found")
        return None

    def _throttle(self, chat_id: Any) -> Response | None:
        """A 429 when a send to ``chat_id`` now would go over a limit; else counts it."""
        now = time.monotonic()
        if _is_group(chat_id):
            scope, limit = "group", self._groups.setdefault(chat_id, _Window(self._group_per_minute, GROUP_WINDOW))
        else:
            scope, limit = "chat", self._chats.get(chat_id)
            if limit is None:
                limit = self._chats[chat_id] = _TokenBucket(*self._chat_rate, now)
        waits = {"global": self._global.wait(now), scope: limit.wait(now)}
        hit = max(waits, key=waits.get)
        if waits[hit] > 0:
            self.throttled[hit] += 1
            seconds = max(1, math.ceil(waits[hit]))
            return _error(429, f"Too Many Requests: retry after {seconds}", seconds)
        self._global.take()
        if isinstance(limit, _Window):
            limit.take(now)
        else:
            limit.take()
        return None

    async def _run(self, method: str, params: dict[str, Any]) -> Response:
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except Refused as exc:
            return _error(exc.code, exc.description)
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["path"]
        with self._lock:
            self._calls.append(("downloadFile", {"path": path}, True))
            for stored_path, content in self._files.values():
                if stored_path == path:
                    return Response(content, media_type="application/octet-stream")
        return _error(404, "Not Found")

    # -- methods -----------------------------------------------------------------

    def _m_getMe(self, params):
        return BOT_USER

    def _m_setMyCommands(self, params):
        self.commands = params.get("commands") or []
        return True

    def _m_getMyCommands(self, params):
        return self.commands

    def _m_setWebhook(self, params):
        self.webhook = {
            "url": params.get("url", ""),
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        return True

    def _m_deleteWebhook(self, params):
        self.webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            with self._lock:
                self._updates.clear()
        return True

    def _m_getWebhookInfo(self, params):
        info = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates()),
        }
        if self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _m_getUpdates(self, params):
        if self.webhook.get("url"):
            # What Telegram does when a webhook is active.
            return _error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, self.max_poll_hold)
        while True:
            with self._lock:
                if offset:
                    # A given offset confirms everything before it, as on Telegram.
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
            if ready or self._closing or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)

    def _new_message(self, params: dict[str, Any], **content) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if not _is_group(chat_id):
            chat = {"id": chat_id, "type": "private", "first_name": "Test"}
        elif isinstance(chat_id, int):
            chat = {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        else:
            chat = {"id": -1001, "type": "channel", "title": str(chat_id)}
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            **content,
        }
        if (params.get("reply_markup") or {}).get("inline_keyboard"):  # Telegram echoes only inline keyboards
            message["reply_markup"] = params["reply_markup"]
        return message

    @staticmethod
    def _check_caption(params) -> None:
        if visible_length(params.get("caption") or "", params.get("parse_mode")) > CAPTION_LIMIT:
            raise Refused(400, "Bad Request: message caption is too long")

    def _m_sendMessage(self, params):
        if not params.get("chat_id"):
            return _error(400, "Bad Request: chat not found")
        length = visible_length(params.get("text") or "", params.get("parse_mode"))
        if not length:
            return _error(400, "Bad Request: message text is empty")
        if length > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        return self._new_message(params, text=params["text"])

    def _m_sendPhoto(self, params):
        if not params.get("chat_id"):
            return _error(400, "Bad Request: chat not found")
        self._check_caption(params)
        n = next(self._message_ids)
        content: dict[str, Any] = {
            "photo": [
                {"file_id": f"photo-{n}-s", "file_unique_id": f"ps{n}", "width": 90, "height": 90},
                {"file_id": f"photo-{n}-m", "file_unique_id": f"pm{n}", "width": 800, "height": 800},
            ]
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(params, **content)

    def _m_sendDocument(self, params):
        if not params.get("chat_id"):
            return _error(400, "Bad Request: chat not found")
        self._check_caption(params)
        doc = params.get("document")
        n = next(self._message_ids)
        content: dict[str, Any] = {
            "document": {
                "file_id": f"doc-{n}",
                "file_unique_id": f"d{n}",
                "file_name": doc.filename if isinstance(doc, UploadedFile) else str(doc),
                "mime_type": doc.content_type if isinstance(doc, UploadedFile) else "application/octet-stream",
            }
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(params, **content)

    def _m_answerCallbackQuery(self, params):
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True

    def _m_getFile(self, params):
        file_id = params.get("file_id")
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            return _error(400, "Bad Request: invalid file_id")
        path, content = stored
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(content), "file_path": path}


# -- updates as Telegram sends them, for tests ------------------------------------

USER = {"id": 555, "is_bot": False, "first_name": "Siti", "last_name": "Rahayu", "language_code": "id"}
CHAT = {"id": 555, "type": "private", "first_name": "Siti", "last_name": "Rahayu"}


def message_update(update_id: int = 1, **content) -> dict:
    return {
        "update_id": update_id,
        "message": {"message_id": 10 + update_id, "date": 1_700_000_000, "chat": CHAT, "from": USER, **content},
    }


def callback_update(update_id: int = 2, data: str = "report_trash") -> dict:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq-{update_id}",
            "from": USER,
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": 77,
                "date": 1_700_000_000,
                "chat": CHAT,
                "from": {"id": 123456, "is_bot": True, "first_name": "Kampung Bot"},
                "text": "Pilih:",
            },
        },
    }
