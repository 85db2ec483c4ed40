"""`kampung broadcasts list|cancel|send`: announcements at the desk, with the same rules
as in chat (quiet hours, past times, audiences); the sender is "pengurus kampung"."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import func, select

from bot.broadcasts import (BroadcastError, NewBroadcast, created_say, cancel_broadcast, create_broadcast,
                            tally)
from bot.events import parse_audience
from db.broadcasts import Broadcast, BroadcastRun
from flows.base import Say, When
from flows.broadcast import audience_say, rule_say
from flows.scope import Scope
from handlers.natural_time import parse_when
from handlers.recurrence import NOT_RECURRING, Recurrence, parse_recurrence


def add_cli(subparsers, make_app) -> None:
    parser = subparsers.add_parser("broadcasts", help="announcements: list, cancel, send")
    parser.set_defaults(func=lambda args: _run(make_app(args), args))
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="scheduled and repeating announcements, and the latest sent")
    actions.add_parser("cancel", help="stop a scheduled or repeating announcement").add_argument("id", type=int)
    p = actions.add_parser("send", help="send an announcement now, at a time, or repeating (sender: pengurus)")
    p.add_argument("--audience", required=True, help="all | rw | rt:NN | paguyuban:NAME")
    p.add_argument("--text", required=True)
    p.add_argument("--photo", help="an http(s) image URL to attach")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at", help='a natural time, e.g. "besok jam 8 malam"')
    when.add_argument("--every", help='a repetition, e.g. "setiap Jumat jam 16.00"')


def _run(app, args) -> int:
    lang = app.settings.default_language
    renderer = app.core.notifier.renderer

    def say(key: str, **params) -> None:
        print(renderer.message("console", "desk", lang, key, params).text)

    try:
        with app.engine.begin() as conn:
            _DESK[args.action](app, conn, args, say)
    except BroadcastError as exc:
        say(exc.key, **exc.params)
        return 2
    return 0


def _desk_list(app, conn, args, say) -> None:
    table = Broadcast.__table__
    rows = conn.execute(select(table).order_by((table.c.status != "scheduled"), table.c.id.desc()).limit(30)).all()
    if not rows:
        say("broadcast.cli.none")
    runs = {r.broadcast_id: r for r in conn.execute(
        select(BroadcastRun.__table__).where(BroadcastRun.id.in_(
            select(func.max(BroadcastRun.id)).group_by(BroadcastRun.broadcast_id))))}
    for b in rows:
        when = (rule_say(Recurrence.from_spec(b.rule)) if b.rule
                else Say("broadcast.when_at", {"at": When(b.next_run_at or b.created_at)}))
        last = runs.get(b.id)
        result = ""
        if last is not None:
            counts = tally(conn, last.id)
            result = Say("broadcast.cli.last_run", {"at": When(last.started_at), "sent": counts.sent,
                                                    "failed": counts.failed,
                                                    "waiting": counts.waiting + counts.uncertain,
                                                    "stopped": last.skipped})
        short = b.text if len(b.text) <= 60 else b.text[:57] + "..."
        say("broadcast.cli.line", id=b.id, status=Say(f"broadcast.status.{b.status}"), audience=audience_say(b.audience),
            when=when, text=short, last=result)


def _desk_cancel(app, conn, args, say) -> None:
    if not cancel_broadcast(conn, args.id, Scope(True, frozenset()), app.clock.now()):
        raise BroadcastError("broadcast.cli.no_such", id=args.id)
    say("broadcast.cancelled_one", id=args.id)


def _desk_send(app, conn, args, say) -> None:
    settings, now = app.settings, app.clock.now()
    zone = settings.timezone
    try:
        audience = parse_audience(conn, args.audience)
    except ValueError as exc:
        raise BroadcastError("broadcast.cli.bad_audience", reason=str(exc)) from None
    photo = (args.photo or "").strip() or None
    if photo and not photo.startswith(("https://", "http://")):
        raise BroadcastError("broadcast.cli.bad_photo", photo=photo)
    at = rule = None
    if args.at:
        found = parse_when(args.at, now, zone)
        if found.at is None:
            raise BroadcastError(f"when.{found.reason}")
        at = found.at.astimezone(timezone.utc)
    elif args.every:
        rec = parse_recurrence(args.every, now, zone)
        if rec.rule is None:
            raise BroadcastError(f"broadcast.every_{rec.reason}" if rec.reason != NOT_RECURRING
                                 else "broadcast.every_not_recurring")
        rule = rec.rule
    new = NewBroadcast(args.text, audience, photo, at, rule)
    created = create_broadcast(conn, app.core.notifier, new, now, zone, settings.quiet_window(),
                               language=settings.default_language)
    say(created_say(created, new).key, **created_say(created, new).params)


_DESK = {"list": _desk_list, "cancel": _desk_cancel, "send": _desk_send}
