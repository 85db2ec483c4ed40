"""The ASGI app: channel webhook routes plus `GET /healthz`.

The health check asks the database for `SELECT 1` in a thread of its own with a
timeout, so a hanging database never blocks the event loop (webhooks that need no
database keep answering), and it says only "ok" or "failing": a driver's error text
names hosts and ports, which is for the log, not for whoever calls the URL."""
from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger(__name__)
HEALTH_TIMEOUT_SECONDS = 2.0


class DatabaseCheck:
    """One check at a time, each in a daemon thread: a check stuck on a hanging
    database holds only its own thread (never the pool the worker and webhooks use,
    nor the process at exit), and while it hangs further checks fail at once."""

    def __init__(self, app, timeout: float = HEALTH_TIMEOUT_SECONDS):
        self.app = app
        self.timeout = timeout
        self._thread: threading.Thread | None = None

    async def ok(self) -> bool:
        if self._thread is not None and self._thread.is_alive():
            log.warning("health check: the previous database check has not returned yet")
            return False
        loop = asyncio.get_running_loop()
        outcome = loop.create_future()
        self._thread = threading.Thread(target=self._ping, args=(loop, outcome), name="healthz", daemon=True)
        self._thread.start()
        try:
            error = await asyncio.wait_for(asyncio.shield(outcome), timeout=self.timeout)
        except TimeoutError:
            log.warning("health check: the database did not answer within %s s", self.timeout)
            return False
        if error is not None:
            log.warning("health check: the database failed: %s", error)
            return False
        return True

    def _ping(self, loop: asyncio.AbstractEventLoop, outcome: asyncio.Future) -> None:
        try:
            with self.app.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            error = None
        except Exception as exc:
            error = exc
        try:
            loop.call_soon_threadsafe(_settle, outcome, error)
        except RuntimeError:  # the loop closed while the database hung
            pass


def _settle(outcome: asyncio.Future, error: Exception | None) -> None:
    if not outcome.done():
        outcome.set_result(error)


def create_web_app(app, routes: list[Route], lifespan=None) -> Starlette:
    check = DatabaseCheck(app)

    async def healthz(_request: Request) -> JSONResponse:
        if await check.ok():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "failing"}, status_code=503)

    return Starlette(routes=[Route("/healthz", healthz), *routes], lifespan=lifespan)
