"""`kampung broadcasts list|show|cancel|send`: announcements at the desk, with the same
rules as in chat (quiet hours, past times, audiences); the sender is "pengurus kampung".
`show N` lists how the latest run of announcement N went for each recipient: name, RT,
channel, the phone masked, status in words and the reason it failed."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import func, select

from bot.broadcasts import (GAVE_UP, BroadcastError, NewBroadcast, created_say, cancel_broadcast, create_broadcast,
                            reach, recipient_status, summary_params, tally)
from bot.events import parse_audience
from bot.unreached import shown_address
from db.broadcasts import Broadcast, BroadcastDelivery, BroadcastRun
from db.models import Outbox, Resident, Rt
from flows.base import Say, When
from flows.broadcast import audience_say, rule_say
from flows.unreached import channels_say, reason_say, unreached_say
from flows.scope import Scope
from handlers.natural_time import parse_when
from handlers.recurrence import NOT_RECURRING, Recurrence, parse_recurrence


def add_cli(subparsers, make_app) -> None:
    parser = subparsers.add_parser("broadcasts", help="announcements: list, cancel, send")
    parser.set_defaults(func=lambda args: _run(make_app(args), args))
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="scheduled and repeating announcements, and the latest sent")
    actions.add_parser("show", help="each recipient's status in the latest run of an announcement").add_argument(
        "id", type=int)
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
            result = Say("broadcast.cli.last_run", {
                "at": When(last.started_at), "delivered": counts.delivered + counts.read, "failed": counts.failed,
                "unreachable": counts.unreachable,
                "waiting": counts.sent + counts.held + counts.waiting + counts.uncertain, "stopped": last.skipped})
        short = b.text if len(b.text) <= 60 else b.text[:57] + "..."
        say("broadcast.cli.line", id=b.id, status=Say(f"broadcast.status.{b.status}"), audience=audience_say(b.audience),
            when=when, text=short, last=result)


_RECIPIENTS = (select(BroadcastDelivery.outbox_id, BroadcastDelivery.chat_id, Resident.name, Rt.number,
                      Outbox.channel, Outbox.address, Outbox.status, Outbox.delivery, Outbox.failure)
               .join(Resident, Resident.id == BroadcastDelivery.resident_id, isouter=True)
               .join(Rt, Rt.id == Resident.rt_id, isouter=True)
               .join(Outbox, Outbox.id == BroadcastDelivery.outbox_id, isouter=True)
               .where(BroadcastDelivery.resident_id.is_not(None) | BroadcastDelivery.chat_id.is_not(None)))


def _desk_show(app, conn, args, say) -> None:
    b = conn.execute(select(Broadcast.id, Broadcast.audience).where(Broadcast.id == args.id)).first()
    if b is None:
        raise BroadcastError("broadcast.cli.no_broadcast", id=args.id)
    run = conn.execute(select(BroadcastRun.id, BroadcastRun.started_at, BroadcastRun.skipped)
                       .where(BroadcastRun.broadcast_id == b.id).order_by(BroadcastRun.id.desc()).limit(1)).first()
    if run is None:
        raise BroadcastError("broadcast.cli.never_sent", id=args.id)
    say("broadcast.cli.show", id=b.id, audience=audience_say(b.audience), at=When(run.started_at))
    rows = conn.execute(_RECIPIENTS.where(BroadcastDelivery.run_id == run.id)
                        .order_by(Resident.name, BroadcastDelivery.id)).all()
    for row in rows:
        status = recipient_status(row.outbox_id, row.status, row.delivery)
        if row.chat_id is not None:
            say("broadcast.cli.show_group", chat=row.chat_id, status=Say(f"delivery.status.{status}"))
            continue
        shown = shown_address(row.channel, row.address) if row.channel else ""
        reason = (Say("broadcast.cli.show_reason", {"reason": reason_say(row.failure or GAVE_UP)})
                  if status == "failed" else "")
        say("broadcast.cli.show_line", name=row.name or "-", rt=row.number or Say("broadcast.cli.no_rt"),
            channel=Say(f"delivery.channel.{row.channel}") if row.channel else Say("broadcast.cli.no_channel"),
            address=Say("broadcast.cli.show_address", {"address": shown}) if shown else "",
            status=Say(f"delivery.status.{status}"), reason=reason)
    summary = {"id": b.id, "audience": audience_say(b.audience), "stopped": run.skipped,
               **summary_params(tally(conn, run.id))}
    say("broadcast.summary", **summary)


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
    said = created_say(created, new)
    say(said.key, **said.params)
    if created.run is None:  # scheduled: who it would reach as things are now
        now_reach = reach(conn, audience, settings.phone_channels)
        people = now_reach.people
        say("broadcast.cli.reach", count=people.reached, channels=channels_say(people.channels),
            groups=Say("broadcast.preview_groups", {"count": now_reach.groups}) if now_reach.groups else "",
            stopped=people.stopped, unreached=unreached_say("broadcast.cli.reach_unreached", people))


_DESK = {"list": _desk_list, "show": _desk_show, "cancel": _desk_cancel, "send": _desk_send}
