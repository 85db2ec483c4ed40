"""The events feature: the residents' view of upcoming events, their RSVPs and
follows, the reminders (due-rows sent by the scheduler), and `kampung events add`.

Reminders go, by default, the evening before at 19:00 kampung time and 2 hours
before, to every invitee who has not declined and has not said STOP. A reminder
whose time passed while the bot was down is still sent within a grace period
(setting REMINDER_GRACE_MINUTES, default 60), otherwise dropped and
logged. Each reminder row is claimed and marked in the transaction that writes its
outbox rows, so it is never sent twice.

A cancelled event (bot.event_admin) is listed to nobody and its reminders are
dropped; when its time changes, its pending reminders are replaced
(`reschedule_reminders`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, delete, insert, select, true, update
from sqlalchemy.engine import Connection

from bot.features import EffectContext, Feature, TaskContext
from bot.groups import group_chats_for
from bot.notify import Notifier
from bot.rt_numbers import normalize_rt
from bot.timefmt import format_when
from db.events import Event, EventFollow, EventReminder, EventRsvp
from db.models import Membership, Paguyuban, Resident, Rt
from flows.base import ResidentInfo, Say
from flows.events import KINDS, FollowKind, SetRsvp, event_card, joined
from handlers.understanding import clean

log = logging.getLogger(__name__)

EVENING_REMINDER = time(19, 0)
LAST_REMINDER_BEFORE = timedelta(hours=2)


@dataclass(frozen=True)
class EventInfo:
    id: int
    kind: str
    title: str
    starts_at: datetime
    place: str
    agenda: str
    checklist: bool
    rsvp: str | None


# -- what a resident sees (ctx.store.events) ---------------------------------
_EVENT_FIELDS = (Event.id, Event.kind, Event.title, Event.starts_at, Event.place, Event.agenda, Event.checklist)
_MINE = (
    select(*_EVENT_FIELDS, EventRsvp.answer.label("rsvp"))
    .outerjoin(EventRsvp, and_(EventRsvp.event_id == Event.id, EventRsvp.resident_id == bindparam("rid")))
    .where(Event.starts_at > bindparam("now"), Event.audience.in_(bindparam("audiences", expanding=True)),
           Event.cancelled_at.is_(None))
)
_UPCOMING = _MINE.order_by(Event.starts_at, Event.id).limit(bindparam("limit"))
_ONE = _MINE.where(Event.id == bindparam("eid"))
_FOLLOWS = select(EventFollow.kind).where(EventFollow.resident_id == bindparam("rid"))


def _audiences_of(resident: ResidentInfo) -> list[str]:
    """The audience values that include this resident."""
    found = ["all"]
    if resident.rt:
        found += ["rw", f"rt:{resident.rt}"]
    return found + [f"paguyuban:{name}" for name in resident.paguyuban]


class EventsView:
    """Read-only: events for this resident that have not started yet, and follows."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self._conn = conn
        self._resident = resident
        self._params = {"rid": resident.id, "now": now, "audiences": _audiences_of(resident)}

    def upcoming(self, limit: int) -> list[EventInfo]:
        return [EventInfo(**row._mapping) for row in self._conn.execute(_UPCOMING, {**self._params, "limit": limit})]

    def get(self, event_id: int | None) -> EventInfo | None:
        if event_id is None:
            return None
        row = self._conn.execute(_ONE, {**self._params, "eid": event_id}).first()
        return EventInfo(**row._mapping) if row else None

    def follows(self) -> frozenset[str]:
        return frozenset(self._conn.scalars(_FOLLOWS, {"rid": self._resident.id}))


# -- effects -----------------------------------------------------------------------
_UPDATE_RSVP = (
    update(EventRsvp)
    .where(EventRsvp.event_id == bindparam("eid"), EventRsvp.resident_id == bindparam("rid"))
    .values(answer=bindparam("reply"), updated_at=bindparam("at"))
)
_INSERT_RSVP = insert(EventRsvp).values(event_id=bindparam("eid"), resident_id=bindparam("rid"),
                                        answer=bindparam("reply"), updated_at=bindparam("at"))
_UNFOLLOW = delete(EventFollow).where(EventFollow.resident_id == bindparam("rid"), EventFollow.kind == bindparam("k"))
_FOLLOW = insert(EventFollow).values(resident_id=bindparam("rid"), kind=bindparam("k"), created_at=bindparam("at"))


def _set_rsvp(ctx: EffectContext, effect: SetRsvp) -> None:
    params = {"eid": effect.event_id, "rid": ctx.resident.id, "reply": effect.answer, "at": ctx.now}
    if not ctx.conn.execute(_UPDATE_RSVP, params).rowcount:
        ctx.conn.execute(_INSERT_RSVP, params)


def _follow_kind(ctx: EffectContext, effect: FollowKind) -> None:
    params = {"rid": ctx.resident.id, "k": effect.kind, "at": ctx.now}
    ctx.conn.execute(_UNFOLLOW, params)
    if effect.follow:
        ctx.conn.execute(_FOLLOW, params)


# -- who is invited ---------------------------------------------------------------
def in_audience(audience: str):
    """SQL condition on Resident for one audience value."""
    if audience == "all":
        return true()
    if audience == "rw":
        return Resident.rt_id.is_not(None)
    scope, _, value = audience.partition(":")
    if scope == "rt":
        return Resident.rt_id.in_(select(Rt.id).where(Rt.number == value))
    return Resident.id.in_(
        select(Membership.resident_id).join(Paguyuban, Paguyuban.id == Membership.paguyuban_id)
        .where(Paguyuban.name == value)
    )


def _invitees(audience: str):
    return select(Resident.id).where(Resident.consent_at.is_not(None), in_audience(audience)).order_by(Resident.id)


def _event_message(event: EventInfo, key: str) -> tuple[str, dict]:
    """A reminder or announcement, with the KUR checklist when the event has one."""
    say = Say(key, {"card": Say("events.card", event_card(event)), "kind": Say(f"events.kind.{event.kind}")})
    if event.checklist:
        say = joined([say, Say("events.checklist")])
    return say.key, say.params


# -- reminders (due task) ---------------------------------------------------------
_DUE = (
    select(*_EVENT_FIELDS, Event.audience, Event.cancelled_at, EventReminder.id.label("reminder_id"),
           EventReminder.due_at)
    .join(Event, Event.id == EventReminder.event_id)
    .where(EventReminder.status == "pending", EventReminder.due_at <= bindparam("now"))
    .order_by(EventReminder.due_at, EventReminder.id)
)
_CLOSE_REMINDER = (
    update(EventReminder)
    .where(EventReminder.id == bindparam("reminder_id"), EventReminder.status == "pending")
    .values(status=bindparam("new_status"), handled_at=bindparam("at"), recipients=bindparam("count"))
)
_COUNT_RECIPIENTS = (
    update(EventReminder).where(EventReminder.id == bindparam("reminder_id")).values(recipients=bindparam("count"))
)


def send_due_reminders(task: TaskContext) -> int:
    """Send every reminder that is due; drop those too late. Returns rows handled."""
    conn, notifier, now = task.conn, task.notifier, task.now
    grace = timedelta(minutes=task.settings.reminder_grace_minutes)
    rows = conn.execute(_DUE, {"now": now}).all()
    for row in rows:
        late = now - row.due_at
        if row.cancelled_at is not None:
            _close(conn, row.reminder_id, "dropped", now, 0)
            log.info("reminder %s for cancelled event %s dropped", row.reminder_id, row.id)
            continue
        if late > grace or now >= row.starts_at:
            _close(conn, row.reminder_id, "dropped", now, 0)
            log.warning("reminder %s for event %s dropped: due %s, now %s, grace %s",
                        row.reminder_id, row.id, row.due_at.isoformat(), now.isoformat(), grace)
            continue
        if not _close(conn, row.reminder_id, "sent", now, None):
            continue  # another runner has it
        declined = select(EventRsvp.resident_id).where(EventRsvp.event_id == row.id, EventRsvp.answer == "no")
        residents = conn.scalars(_invitees(row.audience).where(Resident.id.not_in(declined))).all()
        key, params = _event_message(_event_info(row), "events.reminder")
        sent = sum(notifier.notify(conn, rid, key, params, now, announcement=True, even_in_quiet_hours=True)
                   for rid in residents)  # timed to the event: waiting for the morning could be too late
        conn.execute(_COUNT_RECIPIENTS, {"reminder_id": row.reminder_id, "count": sent})
        log.info("reminder %s for event %s sent to %s residents", row.reminder_id, row.id, sent)
    return len(rows)


def _close(conn: Connection, reminder_id: int, status: str, now: datetime, count: int | None) -> bool:
    """Mark a pending reminder handled; False if it no longer was pending."""
    params = {"reminder_id": reminder_id, "new_status": status, "at": now, "count": count}
    return bool(conn.execute(_CLOSE_REMINDER, params).rowcount)


def _event_info(row) -> EventInfo:
    return EventInfo(**{column.key: row._mapping[column.key] for column in _EVENT_FIELDS}, rsvp=None)


# -- announcing an event (kampung events add) -----------------------------------------
@dataclass(frozen=True)
class NewEvent:
    kind: str
    title: str
    starts_at: datetime
    place: str
    audience: str
    agenda: str = ""
    checklist: bool = False


@dataclass(frozen=True)
class Added:
    event_id: int
    reminders: list[datetime]
    notified: int


def reminder_times(starts_at: datetime, now: datetime, zone: str) -> list[datetime]:
    """The evening before at 19:00 and 2 hours before (timezone.utc), leaving out times already past."""
    tz = ZoneInfo(zone)
    evening = datetime.combine(starts_at.astimezone(tz).date() - timedelta(days=1), EVENING_REMINDER, tzinfo=tz)
    times = {evening.astimezone(timezone.utc), starts_at - LAST_REMINDER_BEFORE}
    return sorted(t for t in times if t > now)


def add_event(conn: Connection, notifier: Notifier, new: NewEvent, now: datetime, zone: str, *,
              invite: bool = False, created_by: int | None = None) -> Added:
    """Store an event and its reminder rows; tell audience members who follow its kind,
    or, with `invite`, send every audience member (not STOP) an invitation saying how
    to answer. `notified` counts the messages queued."""
    if new.kind not in KINDS:
        raise ValueError(f"unknown kind {new.kind!r}; use one of {', '.join(KINDS)}")
    if new.starts_at <= now:
        raise ValueError("that time has already passed")
    if new.checklist and new.kind != "kur":
        raise ValueError("the readiness checklist is for KUR socialisation (--kind kur)")
    event_id = conn.execute(insert(Event).values(
        kind=new.kind, title=new.title, starts_at=new.starts_at, place=new.place, agenda=new.agenda,
        audience=new.audience, checklist=new.checklist, created_at=now, created_by=created_by,
    )).inserted_primary_key[0]
    reminders = reschedule_reminders(conn, event_id, new.starts_at, now, zone)
    invitees = _invitees(new.audience)
    if not invite:
        invitees = invitees.where(Resident.id.in_(select(EventFollow.resident_id).where(EventFollow.kind == new.kind)))
    residents = conn.scalars(invitees).all()
    event = EventInfo(event_id, new.kind, new.title, new.starts_at, new.place, new.agenda, new.checklist, None)
    key, params = _event_message(event, "event_admin.invitation" if invite else "events.announce")
    notified = sum(notifier.notify(conn, rid, key, params, now, announcement=True) for rid in residents)
    posted = post_to_groups(conn, notifier, new.audience, "event_admin.group_invitation", params, now) if invite else 0
    log.info("event %s added (%s, %s); %s %s told, %s group chats", event_id, new.kind, new.audience, notified,
             "invitees" if invite else "followers", posted)
    return Added(event_id, reminders, notified)


def post_to_groups(conn: Connection, notifier: Notifier, audience: str, key: str, params: dict, now: datetime) -> int:
    """A paguyuban's linked Telegram groups get one post each (its members get theirs one
    by one as well); other audiences have no group chat. Returns the posts queued."""
    kind, _, name = audience.partition(":")
    chats = group_chats_for(conn, name) if kind == "paguyuban" else []
    for chat in chats:
        notifier.post_to_chat(conn, "telegram", chat, None, key, params, now)
    return len(chats)


def reschedule_reminders(conn: Connection, event_id: int, starts_at: datetime, now: datetime, zone: str) -> list[datetime]:
    """Replace an event's pending reminders with those for `starts_at` (sent ones stay)."""
    conn.execute(delete(EventReminder).where(EventReminder.event_id == event_id, EventReminder.status == "pending"))
    reminders = reminder_times(starts_at, now, zone)
    if reminders:
        conn.execute(insert(EventReminder), [{"event_id": event_id, "due_at": t, "status": "pending"} for t in reminders])
    return reminders


def drop_reminders(conn: Connection, event_id: int, now: datetime) -> int:
    """Mark an event's pending reminders dropped (the event was cancelled)."""
    return conn.execute(update(EventReminder).where(EventReminder.event_id == event_id, EventReminder.status == "pending")
                        .values(status="dropped", handled_at=now, recipients=0)).rowcount


def parse_audience(conn: Connection, text: str) -> str:
    """"all", "rw", "rt:4" -> "rt:04", "paguyuban:umkm rw 05" -> "paguyuban:UMKM RW 05"."""
    scope, sep, value = (text or "").strip().partition(":")
    scope, value = scope.strip().lower(), value.strip()
    if not sep and scope in ("all", "rw"):
        return scope
    if sep and scope == "rt":
        rt = normalize_rt(value)
        if rt and conn.scalar(select(Rt.id).where(Rt.number == rt)) is not None:
            return f"rt:{rt}"
        raise ValueError(f"unknown RT {value!r}")
    if sep and scope == "paguyuban":
        names = conn.scalars(select(Paguyuban.name).order_by(Paguyuban.name)).all()
        for name in names:
            if name.casefold() == value.casefold():
                return f"paguyuban:{name}"
        raise ValueError(f"unknown paguyuban {value!r}; known: {', '.join(names) or '-'}")
    raise ValueError("audience must be all, rw, rt:NN or paguyuban:NAME")


def parse_local_time(text: str, zone: str) -> datetime:
    """"2026-11-28 19:30" on the kampung's wall clock -> aware UTC."""
    try:
        if ":" not in text:
            raise ValueError
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'cannot read the time {text!r}; write it like "2026-11-28 19:30"') from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(zone))
    return at.astimezone(timezone.utc)


def _required(text: str, what: str) -> str:
    cleaned = clean(text, limit=200)
    if not cleaned:
        raise ValueError(f"{what} is empty")
    return cleaned


def _cmd_add(args, make_app) -> int:
    app = make_app(args)
    lang, zone = app.settings.default_language, app.settings.timezone
    try:
        with app.engine.begin() as conn:
            new = NewEvent(
                kind=args.kind, title=_required(args.title, "--title"), starts_at=parse_local_time(args.at, zone),
                place=_required(args.place, "--place"), audience=parse_audience(conn, args.audience),
                agenda=clean(args.agenda or "", limit=1000), checklist=args.checklist,
            )
            added = add_event(conn, app.core.notifier, new, app.clock.now(), zone, invite=args.invite)
    except ValueError as exc:
        print(app.catalog.text(lang, "cli.error", reason=str(exc)))
        return 2
    reminders = "; ".join(format_when(app.catalog, lang, t, zone) for t in added.reminders)
    print(app.catalog.text(
        lang, "event_admin.cli.added_invited" if args.invite else "events.cli_added", id=added.event_id, title=new.title, when=format_when(app.catalog, lang, new.starts_at, zone),
        reminders=reminders or app.catalog.text(lang, "events.cli_no_reminders"), notified=added.notified,
    ))
    return 0


def register_cli(sub, make_app) -> None:
    events = sub.add_parser("events", help="kampung events").add_subparsers(dest="action", required=True)
    p = events.add_parser("add", help="announce an event; reminders go the evening before (19:00) and 2 hours before")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--title", required=True)
    p.add_argument("--at", required=True, help='kampung wall-clock time, e.g. "2026-11-28 19:30"')
    p.add_argument("--place", required=True)
    p.add_argument("--audience", required=True, help="all | rw (residents with a known RT) | rt:04 | paguyuban:NAME")
    p.add_argument("--agenda", default="")
    p.add_argument("--checklist", action="store_true", help="KUR readiness checklist (KTP, KK, NIB, 6 months in business)")
    p.add_argument("--invite", action="store_true",
                   help="invite every audience member (not STOP), not only those who follow this kind")
    p.set_defaults(func=lambda args: _cmd_add(args, make_app))
    from bot.event_admin import (
        register_admin_cli,  # list, cancel, report: the staff side
    )

    register_admin_cli(events, make_app)


FEATURE = Feature(
    name="events",
    reads=EventsView,
    effects={SetRsvp: _set_rsvp, FollowKind: _follow_kind},
    due_tasks=(send_due_reminders,),
    cli=register_cli,
)
