"""Housekeeping: files the bot made for one message (spreadsheet exports, chart
images under DATA_DIR/exports and DATA_DIR/charts) are removed after KEEP, so a
kampung's disk does not fill with copies of residents' data.

They are sent within minutes (WhatsApp fetches its signed /files link when the message
goes out), so a week leaves room for a dispatcher held back by a long outage. The
check runs at most once an hour; the last run is kept in the database so a restart
does not repeat it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.features import Feature, TaskContext
from db.models import KeyValue

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)
EVERY = timedelta(hours=1)
FOLDERS = ("exports", "charts")
LAST_RUN_KEY = "housekeeping.files_checked_at"


def remove_old_files(task: TaskContext) -> int:
    """Remove made-for-a-message files older than KEEP; returns how many went."""
    last = task.conn.scalar(select(KeyValue.value).where(KeyValue.key == LAST_RUN_KEY))
    if last is not None and task.now - datetime.fromisoformat(last) < EVERY:
        return 0
    task.conn.execute(KeyValue.__table__.delete().where(KeyValue.key == LAST_RUN_KEY))
    task.conn.execute(KeyValue.__table__.insert().values(key=LAST_RUN_KEY, value=task.now.isoformat()))
    cutoff = (task.now - KEEP).timestamp()
    removed = 0
    for folder in FOLDERS:
        for path in _files(Path(task.settings.data_dir) / folder):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("removed %s export and chart files older than %s days", removed, KEEP.days)
    return removed


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []


FEATURE = Feature(name="housekeeping", due_tasks=(remove_old_files,))
