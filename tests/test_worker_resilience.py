"""The worker's loops fail independently: a dispatcher that raises or hangs never
stops the inbox from being processed, a failing inbox pass never stops sending, and
recovery of rows left mid-send runs in the worker itself (so under `kampung serve`)."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot.messages import IncomingMessage
from bot.worker import Worker
from db.models import Inbox

SRI = "+6281234567001"


async def eventually(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def processed(app) -> int:
    with app.engine.connect() as conn:
        return len(conn.scalars(select(Inbox.id).where(Inbox.processed_at.is_not(None))).all())


@pytest.fixture
async def running(app):
    """Start a worker's loops (after the test set it up); cancelled at the end."""
    tasks = []

    def start(worker: Worker) -> Worker:
        tasks.append(asyncio.create_task(worker.run()))
        return worker

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def say(worker: Worker, text: str, n: int) -> None:
    assert await worker.enqueue(IncomingMessage("whatsapp", SRI, text, external_id=f"twilio:SM{n}"))


async def test_a_failing_dispatcher_never_stops_processing(app, running, caplog):
    worker = Worker(app, {}, poll_seconds=0.05)
    calls = []

    async def broken():
        calls.append(time.monotonic())
        raise ConnectionError("provider down")

    worker.dispatcher.dispatch = broken
    running(worker)
    await say(worker, "halo", 1)
    await eventually(lambda: processed(app) == 1)
    await say(worker, "setuju", 2)
    await eventually(lambda: processed(app) == 2)
    await eventually(lambda: len(calls) >= 3)  # it keeps being tried
    assert any("outbox pass failed" in r.getMessage() for r in caplog.records)


async def test_a_hanging_dispatcher_never_stops_processing(app, running):
    worker = Worker(app, {}, poll_seconds=0.05)
    never = asyncio.Event()
    started = []

    async def hanging():
        started.append(1)
        await never.wait()

    worker.dispatcher.dispatch = hanging
    running(worker)
    await eventually(lambda: started)
    for n, text in enumerate(("halo", "setuju", "Bu Sri"), start=1):
        await say(worker, text, n)
    await eventually(lambda: processed(app) == 3)
    assert len(started) == 1


async def test_a_failing_inbox_pass_never_stops_sending(app, running, monkeypatch, caplog):
    worker = Worker(app, {}, poll_seconds=0.05)
    dispatched = []

    def broken(limit: int) -> int:
        raise OSError("database connection lost")

    async def dispatch():
        dispatched.append(1)

    monkeypatch.setattr(app.core, "process_inbox", broken)
    worker.dispatcher.dispatch = dispatch
    running(worker)
    await eventually(lambda: len(dispatched) >= 3)
    assert any("inbox pass failed" in r.getMessage() for r in caplog.records)


async def test_processing_wakes_the_dispatcher_at_once(app, running):
    worker = Worker(app, {}, poll_seconds=30)
    dispatched = []

    async def dispatch():
        dispatched.append(time.monotonic())

    worker.dispatcher.dispatch = dispatch
    running(worker)
    await eventually(lambda: len(dispatched) == 1)  # the first pass at start
    await say(worker, "halo", 1)
    await eventually(lambda: len(dispatched) == 2, timeout=3)  # not after the 30 s poll


async def test_recovery_runs_in_the_worker_every_period_and_survives_failures(app, running, caplog):
    worker = Worker(app, {}, poll_seconds=0.05, recover_seconds=0.05)
    calls = []

    def recover() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("database connection lost")
        return 0

    worker.dispatcher.recover = recover
    running(worker)
    await eventually(lambda: len(calls) >= 3)
    assert any("recovery pass failed" in r.getMessage() for r in caplog.records)


def test_run_once_processes_then_dispatches(app):
    worker = Worker(app, {})
    order = []

    async def dispatch():
        order.append(("dispatch", processed(app)))

    worker.dispatcher.dispatch = dispatch

    async def main():
        await say(worker, "halo", 1)
        await worker.run_once()

    asyncio.run(main())
    assert order == [("dispatch", 1)]
