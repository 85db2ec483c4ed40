"""A small fake Telegram Bot API server for tests.

The real python-telegram-bot client talks to it over HTTP, so tests cover PTB's
actual request encoding (JSON, url-encoded form, multipart uploads) and response
parsing. Only the methods Kampung Bot uses are implemented; everything called is
recorded for assertions.

Usage::

    api = FakeTelegramAPI(token="123:ABC").start()
    settings = Settings(telegram_bot_token=api.token, telegram_api_base_url=api.base_url)
    ...
    api.calls("sendMessage")  # -> [{"chat_id": 42, "text": "...", ...}]
    api.stop()
"""
from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeService, await_for, wait_for

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

# Form fields PTB JSON-encodes (lists/dicts); everything else in a form is a plain string.
_JSON_FIELDS = {
    "reply_markup",
    "commands",
    "allowed_updates",
    "scope",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "media",
}
_INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "message_id", "max_connections", "cache_time"}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification"}


class UploadedFile:
    """One multipart file part, as received."""

    def __init__(self, filename: str | None, content_type: str, content: bytes):
        self.filename = filename
        self.content_type = content_type
        self.content = content

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.content)} bytes)"


def _coerce(name: str, value: str) -> Any:
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in _INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if name in _BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    return value


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
            params[name] = _coerce(name, payload.decode("utf-8"))
    return params


async def _read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {k: _coerce(k, v) for k, v in request.query_params.items()}
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        data = json.loads(body)
        if isinstance(data, dict):
            params.update(data)
    elif content_type.startswith("multipart/form-data"):
        params.update(_parse_multipart(content_type, body))
    else:
        params.update({k: _coerce(k, v) for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True)})
    return params


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": code, "description": description}, status_code=code)


class FakeTelegramAPI(FakeService):
    """Fake Bot API on ``base_url``; configure PTB with ``telegram_api_base_url=base_url``."""

    def __init__(self, token: str = DEFAULT_TOKEN, max_poll_hold: float = 1.0):
        self.token = token
        # Long polling is honoured only briefly so tests and shutdown stay fast.
        self.max_poll_hold = max_poll_hold
        self._lock = threading.Lock()
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: dict[str, list[tuple[int, str]]] = {}
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
        """Params of every call to ``method`` (or (method, params) of all calls), oldest first."""
        with self._lock:
            if method is None:
                return [(m, dict(p)) for m, p in self._calls]
            return [dict(p) for m, p in self._calls if m == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [m for m, _ in self._calls]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

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

    def fail_next(self, method: str, error_code: int = 400, description: str = "Bad Request: test failure") -> None:
        """Make the next call to ``method`` return an error like Telegram does."""
        with self._lock:
            self._failures.setdefault(method, []).append((error_code, description))

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
            params = await _read_params(request)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Bad Request: can't parse parameters")
        with self._lock:
            self._calls.append((method, params))
            queued = self._failures.get(method)
            failure = queued.pop(0) if queued else None
        if failure:
            return _error(*failure)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["path"]
        with self._lock:
            self._calls.append(("downloadFile", {"path": path}))
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
        chat = (
            {"id": chat_id, "type": "private", "first_name": "Test"}
            if isinstance(chat_id, int)
            else {"id": -1001, "type": "channel", "title": str(chat_id)}
        )
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

    def _m_sendMessage(self, params):
        if not params.get("chat_id"):
            return _error(400, "Bad Request: chat not found")
        if not params.get("text"):
            return _error(400, "Bad Request: message text is empty")
        return self._new_message(params, text=params["text"])

    def _m_sendPhoto(self, params):
        if not params.get("chat_id"):
            return _error(400, "Bad Request: chat not found")
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
