"""Housekeeping: files the bot made for one message (spreadsheet exports, chart
images under DATA_DIR/exports and DATA_DIR/charts) are removed after KEEP, so a
kampung's disk does not fill with copies of residents' data.

They are sent within minutes (WhatsApp fetches its signed /files link when the message
goes out), so a week leaves room for a dispatcher held back by a long outage. The
check runs at most once an hour; the last run is kept in the database so a restart
does not repeat it.

Retention (UU PDP: data no longer than needed): once a day, the text of messages
older than RETENTION_DAYS is cleared: processed inbox rows keep their delivery id (a
late redelivery is still ignored) and sender, sent and failed outbox rows keep their
status and delivery columns (the senders' summaries); dead letters that old go.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import String, cast, delete, select, update

from bot.features import Feature, TaskContext
from db.inbox import DeadLetter
from db.models import Inbox, KeyValue, Outbox

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)
EVERY = timedelta(hours=1)
FOLDERS = ("exports", "charts")
LAST_RUN_KEY = "housekeeping.files_checked_at"
RETENTION_EVERY = timedelta(days=1)
RETENTION_RUN_KEY = "housekeeping.retention_checked_at"
# Outbox rows the dispatcher is done with; pending, held and uncertain ones still matter.
FINISHED = ("sent", "failed")
CLEARED = "{}"


def _due(task: TaskContext, key: str, every: timedelta) -> bool:
    """True (and the run recorded) when the task last ran `every` or longer ago."""
    last = task.conn.scalar(select(KeyValue.value).where(KeyValue.key == key))
    if last is not None and task.now - datetime.fromisoformat(last) < every:
        return False
    task.conn.execute(KeyValue.__table__.delete().where(KeyValue.key == key))
    task.conn.execute(KeyValue.__table__.insert().values(key=key, value=task.now.isoformat()))
    return True


def remove_old_files(task: TaskContext) -> int:
    """Remove made-for-a-message files older than KEEP; returns how many went."""
    if not _due(task, LAST_RUN_KEY, EVERY):
        return 0
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


def clear_old_messages(task: TaskContext) -> int:
    """Clear the text of messages older than the retention period; returns how many rows."""
    if not _due(task, RETENTION_RUN_KEY, RETENTION_EVERY):
        return 0
    cutoff = task.now - timedelta(days=task.settings.retention_days)
    conn = task.conn
    inbox = conn.execute(update(Inbox).where(
        Inbox.processed_at < cutoff, cast(Inbox.payload, String) != CLEARED).values(payload={})).rowcount
    outbox = conn.execute(update(Outbox).where(
        Outbox.status.in_(FINISHED), Outbox.created_at < cutoff, cast(Outbox.payload, String) != CLEARED
    ).values(payload={})).rowcount
    letters = conn.execute(delete(DeadLetter).where(DeadLetter.failed_at < cutoff)).rowcount
    if inbox or outbox or letters:
        log.info("retention: cleared %s inbox and %s outbox messages, removed %s dead letters older than %s days",
                 inbox, outbox, letters, task.settings.retention_days)
    return inbox + outbox + letters


FEATURE = Feature(name="housekeeping", due_tasks=(remove_old_files, clear_old_messages))
