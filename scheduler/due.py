"""Work that becomes due at a time (reminders, scheduled announcements): the one hook
that both the APScheduler job (real time) and `kampung simulate`'s clock lines
(simulated time) call.

Each feature's task looks for due rows in the database, handles them and writes any
messages to the outbox, in its own transaction; the dispatcher sends them. Due work
lives in database rows, so it survives a restart, and only the one process that runs
the scheduler (`kampung run`) or the simulator runs it.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.features import DueTask, TaskContext
from bot.notify import Notifier
from bot.settings import Settings

log = logging.getLogger(__name__)


class DueTasks:
    def __init__(self, engine: Engine, notifier: Notifier, settings: Settings, tasks: tuple[DueTask, ...]):
        self.engine = engine
        self.notifier = notifier
        self.settings = settings
        self.tasks = tasks

    def run(self, now: datetime) -> int:
        """Run every task for `now`; one failing task does not stop the others."""
        done = 0
        for task in self.tasks:
            try:
                with self.engine.begin() as conn:
                    done += task(TaskContext(conn, self.notifier, now, self.settings))
            except Exception:
                log.exception("due task %s failed", getattr(task, "__name__", task))
        return done

    @classmethod
    def of(cls, app) -> DueTasks:
        return cls(app.engine, app.core.notifier, app.settings, tuple(t for f in app.features for t in f.due_tasks))
