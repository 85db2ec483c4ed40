"""`GET /healthz` says only ok or failing, and a hanging database never blocks the
event loop: other routes answer while the check waits."""
from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import httpx
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.web import HEALTH_TIMEOUT_SECONDS, create_web_app


async def pong(_request):
    return PlainTextResponse("pong")


def web(engine):
    return create_web_app(SimpleNamespace(engine=engine), [Route("/ping", pong)])


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://internal")


def hanging_engine(release: threading.Event):
    """An engine whose every connection attempt hangs until `release` is set."""
    import sqlite3

    def connect():
        release.wait(timeout=30)
        return sqlite3.connect(":memory:")

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


async def test_ok_when_the_database_answers(app):
    async with client(web(app.engine)) as http:
        resp = await http.get("/healthz")
    assert (resp.status_code, resp.json()) == (200, {"status": "ok"})


async def test_failing_without_the_drivers_error_text():
    """Connection refused: the driver's text names host and port; the answer does not."""
    engine = create_engine("postgresql+psycopg://kampung:secret@127.0.0.1:1/kampung")
    async with client(web(engine)) as http:
        resp = await http.get("/healthz")
    assert (resp.status_code, resp.json()) == (503, {"status": "failing"})


async def test_a_hanging_database_fails_the_check_in_time_and_blocks_nothing_else():
    release = threading.Event()
    try:
        async with client(web(hanging_engine(release))) as http:
            started = time.monotonic()
            check = asyncio.create_task(http.get("/healthz"))
            await asyncio.sleep(0.2)
            pong_resp = await http.get("/ping")
            pong_after = time.monotonic() - started
            assert pong_resp.text == "pong" and not check.done()
            assert pong_after < HEALTH_TIMEOUT_SECONDS

            resp = await check
            took = time.monotonic() - started
            assert (resp.status_code, resp.json()) == (503, {"status": "failing"})
            assert HEALTH_TIMEOUT_SECONDS <= took < HEALTH_TIMEOUT_SECONDS + 1.5

            # While the stuck check still holds its thread, further checks fail at once.
            again = time.monotonic()
            assert (await http.get("/healthz")).status_code == 503
            assert time.monotonic() - again < 0.5
    finally:
        release.set()
