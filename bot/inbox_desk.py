"""`kampung inbox failed|retry`: messages the worker set aside after their processing
kept failing (dead letters), and putting one back once the cause is fixed."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from bot.log_setup import redact
from db.inbox import DeadLetter
from db.models import Inbox


def register(subparsers, make_app) -> None:
    parser = subparsers.add_parser("inbox", help="messages whose processing failed: list, retry")
    parser.set_defaults(func=lambda args: _run(make_app(args), args))
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("failed", help="list messages set aside after failing (id, when, sender, error)")
    actions.add_parser("retry", help="process a failed message again").add_argument("id", type=int)


def _run(app, args) -> int:
    lang = app.settings.default_language

    def say(key: str, **params) -> None:
        print(app.catalog.text(lang, key, **params))

    with app.engine.begin() as conn:
        if args.action == "failed":
            return _failed(conn, app.settings.timezone, say)
        return _retry(conn, args.id, say)


def _failed(conn, timezone: str, say) -> int:
    rows = conn.execute(select(DeadLetter.inbox_id, DeadLetter.failed_at, DeadLetter.sender, DeadLetter.error)
                        .order_by(DeadLetter.failed_at, DeadLetter.id)).all()
    if not rows:
        say("cli.inbox_none")
    zone = ZoneInfo(timezone)
    for inbox_id, failed_at, sender, error in rows:
        lines = error.strip().splitlines() or [""]
        say("cli.inbox_failed_line", id=inbox_id, when=failed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            sender=redact(sender), error=redact(lines[0]))
    return 0


def _retry(conn, inbox_id: int, say) -> int:
    """The inbox row becomes unprocessed with no attempts; the next worker pass takes it."""
    if not conn.execute(delete(DeadLetter).where(DeadLetter.inbox_id == inbox_id)).rowcount:
        say("cli.inbox_no_such", id=inbox_id)
        return 2
    conn.execute(update(Inbox).where(Inbox.id == inbox_id).values(processed_at=None, attempts=0))
    say("cli.inbox_retried", id=inbox_id)
    return 0
