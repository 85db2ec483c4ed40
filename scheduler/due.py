"""Work that becomes due at a time: the one hook both the APScheduler job (real time)
and `kampung simulate`'s clock lines (simulated time) call.

Each task looks for due rows in the database and handles them, writing any messages
to the outbox; the dispatcher sends them. Later features register their tasks here.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

log = logging.getLogger(__name__)

DueTask = Callable[[datetime], int]


class DueTasks:
    def __init__(self, tasks: list[DueTask] | None = None):
        self.tasks: list[DueTask] = list(tasks or [])

    def run(self, now: datetime) -> int:
        """Run every task for `now`; one failing task does not stop the others."""
        done = 0
        for task in self.tasks:
            try:
                done += task(now)
            except Exception:
                log.exception("due task %s failed", getattr(task, "__name__", task))
        return done
