"""Serve an ASGI app with uvicorn in a background thread, for fake upstream APIs.

Real HTTP clients (twilio, python-telegram-bot) talk to these fakes over a real
socket, so the tests exercise their actual request building and error handling.
"""
from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import time
from typing import Callable, TypeVar

import uvicorn

T = TypeVar("T")
POLL_INTERVAL = 0.02


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """Run ``app`` on 127.0.0.1 on a free port; usable as a context manager.

    ``base_url`` is ``http://127.0.0.1:PORT`` (no trailing slash) once started.
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = None, startup_timeout: float = 10.0):
        self.app = app
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        if self._thread is not None:
            return self
        if self.port is None:
            self.port = _free_port()
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        # The server runs in a non-main thread, so it must not touch signal handlers.
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, name=f"fake-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"fake server on port {self.port} failed to start")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"fake server on port {self.port} did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class FakeService:
    """Base of the fake upstream APIs: subclasses set ``self.app`` and call super().__init__()."""

    app = None

    def __init__(self) -> None:
        self._server = ServerThread(self.app)

    def start(self):
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._server.base_url


def basic_auth_matches(request, user: str, password: str) -> bool:
    """Whether a request carries HTTP basic credentials `user`:`password` (Twilio's auth)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given_user, _, given_password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return secrets.compare_digest(given_user, user) and secrets.compare_digest(given_password, password)


def _settled(found, done, describe, deadline: float) -> bool:
    if done(found):
        return True
    if time.monotonic() > deadline:
        raise AssertionError(describe(found))
    return False


def wait_for(fetch: Callable[[], T], done: Callable[[T], bool], describe: Callable[[T], str], timeout: float = 5.0) -> T:
    """Poll ``fetch()`` until ``done(result)``; fail with ``describe(result)`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not _settled(found := fetch(), done, describe, deadline):
        time.sleep(POLL_INTERVAL)
    return found


async def await_for(fetch: Callable[[], T], done: Callable[[T], bool], describe: Callable[[T], str], timeout: float = 5.0) -> T:
    """``wait_for`` for tests running in the event loop that does the work."""
    deadline = time.monotonic() + timeout
    while not _settled(found := fetch(), done, describe, deadline):
        await asyncio.sleep(POLL_INTERVAL)
    return found
