"""The background loop of a bot process: process the inbox, then dispatch the outbox.
Photos residents and staff send (with reports, with announcements) are fetched beside
the loop, one batch at a time, so a slow download never holds up a reply.

Webhook routes and the Telegram poller only call `enqueue`, which stores the message
and wakes the loop; the loop also polls once a second to pick up rows written by
other processes (a second worker, the CLI, the scheduler)."""
from __future__ import annotations

import asyncio
import logging

from bot.app import App
from bot.media import PhotoFetcher
from bot.messages import IncomingMessage
from bot.outbox import Dispatcher, Sender

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, app: App, senders: dict[str, Sender], poll_seconds: float = 1.0):
        self.app = app
        self.dispatcher = Dispatcher(app.sessions, senders, app.clock)
        self.photos = PhotoFetcher(app.engine, app.settings.data_dir, app.clock)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._photo_task: asyncio.Task | None = None

    async def enqueue(self, msg: IncomingMessage) -> bool:
        fresh = await asyncio.to_thread(self.app.core.enqueue, msg)
        self._wake.set()
        return fresh

    async def run_once(self) -> None:
        await asyncio.to_thread(self.app.core.process_inbox)
        await self.dispatcher.dispatch()
        if self._photo_task is None or self._photo_task.done():
            self._photo_task = asyncio.create_task(self._fetch_photos())

    async def _fetch_photos(self) -> None:
        try:
            await self.photos.fetch_pending()
        except Exception:
            log.exception("photo fetch pass failed; retrying")

    async def run(self) -> None:
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()
                try:
                    await self.run_once()
                except Exception:
                    log.exception("worker pass failed; retrying")
        finally:
            if self._photo_task is not None:
                self._photo_task.cancel()
