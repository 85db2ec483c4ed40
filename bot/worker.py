"""The background loops of a bot process, independent of each other so that neither
a failing or slow dispatcher nor a failing inbox pass stops the other:
- processing: the inbox, whenever a webhook stored a message and once per poll;
- dispatching: the outbox, woken after a processing pass wrote replies and once per poll;
- recovery: once a minute, rows a crashed dispatcher left mid-send (in every process
  that sends, `kampung serve` as well as `kampung run`).
Each loop logs a failed pass and carries on. Photos residents and staff send (with
reports, with announcements) are fetched beside them, one batch at a time, so a slow
download never holds up a reply.

Webhook routes and the Telegram poller only call `enqueue`, which stores the message
and wakes the processing loop; polling picks up rows written by other processes (a
second worker, the CLI, the scheduler)."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from bot.app import App
from bot.media import PhotoFetcher
from bot.messages import IncomingMessage
from bot.outbox import Dispatcher, Sender

log = logging.getLogger(__name__)
RECOVER_SECONDS = 60.0
INBOX_BATCH = 100


class Worker:
    def __init__(self, app: App, senders: dict[str, Sender], poll_seconds: float = 1.0,
                 recover_seconds: float = RECOVER_SECONDS):
        self.app = app
        self.dispatcher = Dispatcher(app.sessions, senders, app.clock, settings=app.settings)
        self.photos = PhotoFetcher(app.engine, app.settings.data_dir, app.clock)
        self.poll_seconds = poll_seconds
        self.recover_seconds = recover_seconds
        self._inbox_wake = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._photo_task: asyncio.Task | None = None

    async def enqueue(self, msg: IncomingMessage) -> bool:
        fresh = await asyncio.to_thread(self.app.core.enqueue, msg)
        self._inbox_wake.set()
        return fresh

    async def run_once(self) -> None:
        """One processing pass, then one dispatching pass (tests, the console)."""
        await self._process()
        await self.dispatcher.dispatch()

    async def _process(self) -> None:
        processed = await asyncio.to_thread(self.app.core.process_inbox, INBOX_BATCH)
        if processed:
            self._outbox_wake.set()
        if processed >= INBOX_BATCH:  # more may be waiting: the next pass comes at once
            self._inbox_wake.set()
        if self._photo_task is None or self._photo_task.done():
            self._photo_task = asyncio.create_task(self._fetch_photos())

    async def _fetch_photos(self) -> None:
        try:
            await self.photos.fetch_pending()
        except Exception:
            log.exception("photo fetch pass failed; retrying")

    async def _recover(self) -> None:
        await asyncio.to_thread(self.dispatcher.recover)

    async def run(self) -> None:
        loops = [
            asyncio.create_task(_loop("inbox", self._process, self._inbox_wake, self.poll_seconds)),
            asyncio.create_task(_loop("outbox", self.dispatcher.dispatch, self._outbox_wake, self.poll_seconds)),
            asyncio.create_task(_loop("recovery", self._recover, None, self.recover_seconds)),
        ]
        try:
            await asyncio.gather(*loops)
        finally:
            tasks = [t for t in (*loops, self._photo_task) if t is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _loop(name: str, work: Callable[[], Awaitable], wake: asyncio.Event | None, every: float) -> None:
    """Run `work` now, then whenever woken or `every` seconds have passed, forever;
    a failed pass is logged and the next one comes as usual."""
    while True:
        if wake is not None:
            wake.clear()
        try:
            await work()
        except Exception:
            log.exception("%s pass failed; retrying", name)
        await _wait(wake, every)


async def _wait(wake: asyncio.Event | None, seconds: float) -> None:
    try:
        if wake is None:
            await asyncio.sleep(seconds)
        else:
            await asyncio.wait_for(wake.wait(), timeout=seconds)
    except TimeoutError:
        pass
