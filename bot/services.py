"""Running the bot: channels from settings, the worker, the scheduler, the web app.

`kampung run` is the main job (everything, one scheduler); `kampung serve` is the
webhook app with its worker and no scheduler, so several may run side by side.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App
from bot.channels.telegram_channel import TelegramChannel
from bot.channels.twilio_channel import TwilioChannel
from bot.channels.twilio_status import StatusReceipts
from bot.files import file_routes
from bot.web import create_web_app
from bot.worker import Worker
from scheduler.due import DueTasks

log = logging.getLogger(__name__)
COMMANDS = ("start", "menu", "bantuan", "batal")


def telegram_commands(app: App) -> list[tuple[str, str]]:
    lang = app.settings.default_language
    return [(cmd, app.catalog.text(lang, f"telegram.command.{cmd}")) for cmd in COMMANDS]


class Services:
    """The channels configured in settings, wired to one worker."""

    def __init__(self, app: App):
        self.app = app
        self.channels = []
        self.worker = Worker(app, {})
        settings = app.settings
        if settings.twilio_enabled:
            receipts = StatusReceipts(app.sessions, app.clock, settings)
            self.channels.append(TwilioChannel(settings, self.worker.enqueue, receipts=receipts))
        if settings.telegram_enabled:
            self.channels.append(TelegramChannel(settings, self.worker.enqueue, telegram_commands(app)))
        for channel in self.channels:
            for name in channel.names:
                self.worker.dispatcher.senders[name] = channel.send
                self.worker.dispatcher.policies[name] = channel
            self.worker.photos.downloaders[channel.media_prefix] = channel.download

    def web_app(self, with_scheduler: bool = False):
        routes = [route for channel in self.channels for route in channel.routes()] + file_routes(self.app.settings)

        @contextlib.asynccontextmanager
        async def lifespan(_web):
            async with self.running(with_scheduler):
                yield

        return create_web_app(self.app, routes, lifespan=lifespan)

    @contextlib.asynccontextmanager
    async def running(self, with_scheduler: bool = False):
        """Start channels, the worker loop and (optionally) the scheduler; stop them after."""
        for channel in self.channels:
            await channel.start()
        worker_task = asyncio.create_task(self.worker.run())
        scheduler = self._scheduler() if with_scheduler else None
        try:
            yield
        finally:
            if scheduler:
                scheduler.shutdown(wait=False)
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
            for channel in self.channels:
                await channel.stop()

    def _scheduler(self) -> AsyncIOScheduler:
        due = DueTasks.of(self.app)
        scheduler = AsyncIOScheduler(timezone=self.app.settings.timezone)
        scheduler.add_job(lambda: due.run(self.app.clock.now()), "interval", seconds=30, id="due", max_instances=1)
        scheduler.start()
        return scheduler


async def serve_forever(services: Services, host: str, port: int, with_scheduler: bool) -> None:
    """Serve webhooks (when any channel needs them) and run until interrupted."""
    settings = services.app.settings
    if settings.webhooks_enabled:
        web = services.web_app(with_scheduler)
        # log_config=None: uvicorn's loggers go through our handlers (bot.log_setup masks them).
        config = uvicorn.Config(web, host=host, port=port, log_level=settings.log_level.lower(), log_config=None)
        await uvicorn.Server(config).serve()
    else:
        async with services.running(with_scheduler=with_scheduler):
            await asyncio.Event().wait()

