"""Event administration (flow `event_admin`): the staff member's read view of events,
the effects that create, edit and cancel events and mark attendance, the participation
report per RT, and the desk commands `kampung events list|cancel|report`.

Scope is enforced here as well as by the router: a ketua RT reaches only events for
their own RT (audience "rt:NN"), whatever event id a message names, may only invite
their own RT, and sees only their own RT's rows in the participation report (figures
from every event that reached their RT). Kampung-wide staff reach everything.

Invitees are the consented residents in an event's audience, counted as they are now
(as the kampung overview does); invitations, notices of changes and cancellations go
only to those who have not said STOP. Which invitees hear of which change: see
flows/event_admin.py. Those messages, when written inside quiet hours (setting
QUIET_HOURS), wait in the outbox until the quiet hours end; the staff member is told.
"""
from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, false, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from bot.events import NewEvent, add_event, drop_reminders, in_audience, post_to_groups, reschedule_reminders
from bot.features import EffectContext, Feature
from bot.i18n import Catalog
from bot.notify import Notifier, Reach, reach
from bot.render import Renderer
from bot.settings import Settings
from db.events import Event, EventAttendance, EventRsvp
from db.models import Resident, Rt
from flows.base import ResidentInfo, Say, When
from flows.event_admin import CancelEvent, EditEvent, MarkAttendance, report_params
from flows.event_builder import CreateEvent, audience_say
from flows.unreached import unreached_say
from flows.events import event_card
from flows.scope import Scope, scope_of
from handlers.lexicon import Lexicons

log = logging.getLogger(__name__)

UPCOMING_LISTED = 8
PAST_LISTED = 4
# Past events stay in the staff list (for attendance) this long after they started.
PAST_WINDOW = timedelta(days=30)
RSVP_ORDER = {"yes": 0, "maybe": 1, None: 2, "no": 3}


@dataclass(frozen=True)
class AdminEvent:
    id: int
    kind: str
    title: str
    starts_at: datetime
    place: str
    agenda: str
    audience: str
    checklist: bool
    started: bool
    invited: int = 0
    yes: int = 0
    no: int = 0
    maybe: int = 0
    unanswered: int = 0
    attended: int = 0


@dataclass(frozen=True)
class Person:
    id: int
    name: str | None
    rt: str | None
    rsvp: str | None
    attended: bool

    @property
    def label(self) -> str:
        name = self.name or f"#{self.id}"
        return f"{name} (RT {self.rt})" if self.rt else name


@dataclass
class ParticipationRow:
    rt: str | None
    events: int = 0
    invited: int = 0
    rsvp_yes: int = 0
    attended: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.attended / self.invited) if self.invited else 0


@dataclass(frozen=True)
class Participation:
    since: datetime
    until: datetime
    events: int
    recorded: int  # events (of `events`) with an attendance register
    rows: tuple[ParticipationRow, ...] = field(default_factory=tuple)


# -- queries -------------------------------------------------------------------------------
_FIELDS = (Event.id, Event.kind, Event.title, Event.starts_at, Event.place, Event.agenda, Event.audience,
           Event.checklist)


def _in_scope(scope: Scope):
    if scope.everything:
        return Event.id.is_not(None)
    if not scope.rts:
        return false()
    return Event.audience.in_(sorted(f"rt:{rt}" for rt in scope.rts))


def _event_row(conn: Connection, scope: Scope, event_id: int):
    """The event (not cancelled) if within scope, else None."""
    return conn.execute(select(*_FIELDS).where(Event.id == event_id, Event.cancelled_at.is_(None),
                                               _in_scope(scope))).first()


def _people(conn: Connection, event_id: int, audience: str) -> list[Person]:
    """Consented audience members, plus anyone who answered or was marked present."""
    rsvp = (select(EventRsvp.resident_id, EventRsvp.answer).where(EventRsvp.event_id == event_id).subquery())
    present = select(EventAttendance.resident_id).where(EventAttendance.event_id == event_id).subquery()
    rows = conn.execute(
        select(Resident.id, Resident.name, Rt.number, rsvp.c.answer, present.c.resident_id.label("present"))
        .select_from(Resident).outerjoin(Rt, Rt.id == Resident.rt_id)
        .outerjoin(rsvp, rsvp.c.resident_id == Resident.id).outerjoin(present, present.c.resident_id == Resident.id)
        .where(Resident.consent_at.is_not(None),
               or_(in_audience(audience), rsvp.c.answer.is_not(None), present.c.resident_id.is_not(None)))
    ).all()
    return [Person(r.id, r.name, r.number, r.answer, r.present is not None) for r in rows]


def _invitee_ids(conn: Connection, audience: str) -> list[int]:
    return list(conn.scalars(select(Resident.id).where(Resident.consent_at.is_not(None), in_audience(audience))
                             .order_by(Resident.id)))


def _sort_key(person: Person):
    return ((person.name or "").casefold(), person.id)


class EventAdminView:
    """`ctx.store.event_admin`: the events this staff member may manage."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, settings: Settings):
        self.conn, self.now, self.scope = conn, now, scope_of(resident)
        self.phone_channels = settings.phone_channels

    def _event(self, row, counts: bool) -> AdminEvent:
        base = dict(row._mapping, started=row.starts_at <= self.now)
        if not counts:
            return AdminEvent(**base)
        people = _people(self.conn, row.id, row.audience)
        invitees = set(_invitee_ids(self.conn, row.audience))
        answers = [p.rsvp for p in people]
        return AdminEvent(**base, invited=len(invitees), yes=answers.count("yes"), no=answers.count("no"),
                          maybe=answers.count("maybe"),
                          unanswered=sum(1 for p in people if p.rsvp is None and p.id in invitees),
                          attended=sum(p.attended for p in people))

    def events(self) -> list[AdminEvent]:
        """Upcoming events (soonest first), then those of the last 30 days (latest first)."""
        base = select(*_FIELDS).where(Event.cancelled_at.is_(None), _in_scope(self.scope))
        upcoming = self.conn.execute(base.where(Event.starts_at > self.now)
                                     .order_by(Event.starts_at, Event.id).limit(UPCOMING_LISTED)).all()
        past = self.conn.execute(base.where(Event.starts_at <= self.now, Event.starts_at > self.now - PAST_WINDOW)
                                 .order_by(Event.starts_at.desc(), Event.id.desc()).limit(PAST_LISTED)).all()
        return [self._event(row, counts=False) for row in upcoming + past]

    def get(self, event_id: int | None) -> AdminEvent | None:
        row = _event_row(self.conn, self.scope, event_id) if event_id else None
        return self._event(row, counts=True) if row else None

    def people(self, event_id: int, attendance_order: bool = False) -> list[Person]:
        """Invitees and their answers, by name; for marking attendance, those who said
        hadir first, then mungkin, no answer, tidak hadir."""
        row = _event_row(self.conn, self.scope, event_id)
        if row is None:
            return []
        people = sorted(_people(self.conn, row.id, row.audience), key=_sort_key)
        if attendance_order:
            people.sort(key=lambda p: RSVP_ORDER[p.rsvp])
        return people

    def reach(self, audience: str) -> Reach:
        """Who an invitation to `audience` would reach, on which channel, and why not
        (counted as the notifier will send)."""
        return reach(self.conn, _invitee_ids(self.conn, audience), self.phone_channels)

    def audience_size(self, audience: str) -> int:
        """How many would receive the invitation: consented, not STOP, reachable."""
        return self.reach(audience).reached

    def report(self, days: int) -> Participation:
        return participation(self.conn, self.scope, self.now - timedelta(days=days), self.now)


# -- participation report ---------------------------------------------------------------------
def participation(conn: Connection, scope: Scope, since: datetime, until: datetime) -> Participation:
    """Per RT, over the events (not cancelled) that started between `since` and `until`:
    the events that reached the RT, residents invited, RSVP hadir, marked present."""
    events = conn.execute(select(Event.id, Event.audience).where(
        Event.cancelled_at.is_(None), Event.starts_at >= since, Event.starts_at <= until)
        .order_by(Event.starts_at, Event.id)).all()
    rows: dict[str | None, ParticipationRow] = {}
    counted = recorded = 0
    for event in events:
        everyone = _people(conn, event.id, event.audience)
        people = [p for p in everyone if scope.covers(p.rt)]
        invitees = set(_invitee_ids(conn, event.audience))
        reached: set[str | None] = set()
        for person in people:
            row = rows.setdefault(person.rt, ParticipationRow(person.rt))
            if person.id in invitees:
                row.invited += 1
                reached.add(person.rt)
            row.rsvp_yes += person.rsvp == "yes"
            row.attended += person.attended
            if person.attended:
                reached.add(person.rt)
        for rt in reached:
            rows[rt].events += 1
        if reached:
            counted += 1
            recorded += any(p.attended for p in everyone)
    ordered = sorted((r for r in rows.values() if r.events), key=lambda r: (r.rt is None, r.rt or ""))
    return Participation(since, until, counted, recorded, tuple(ordered))


# -- changes (shared by the chat and the desk) -------------------------------------------------
def _card(row) -> Say:
    return Say("events.card", event_card(row))


def _tell(conn: Connection, notifier: Notifier, ids, key: str, params: dict, now: datetime) -> int:
    return sum(notifier.notify(conn, rid, key, params, now, announcement=True) for rid in ids)


def _held(notifier: Notifier, now: datetime) -> Say | str:
    """What to tell the staff member when it is quiet hours: the messages wait until
    then (bot.notify holds announcements written during them)."""
    until = notifier.quiet_until(now)
    return Say("event_admin.held", {"at": When(until)}) if until else ""


def _gone(event_id: int) -> list[Say]:
    return [Say("event_admin.gone_id", {"id": event_id})]


def edit_event(conn: Connection, notifier: Notifier, row, field_name: str, value: str, now: datetime,
               zone: str) -> int:
    """Change one field of an event that has not started; returns invitees told."""
    column = {"title": "title", "place": "place", "agenda": "agenda", "time": "starts_at"}[field_name]
    old = getattr(row, column)
    new = datetime.fromisoformat(value).astimezone(timezone.utc) if field_name == "time" else value
    conn.execute(update(Event).where(Event.id == row.id).values({column: new}))
    if field_name == "time":
        reschedule_reminders(conn, row.id, new, now, zone)
    changed = conn.execute(select(*_FIELDS).where(Event.id == row.id)).one()
    recipients = _invitee_ids(conn, row.audience)
    if field_name != "time":  # a new time may suit those who declined; other changes do not concern them
        declined = set(conn.scalars(select(EventRsvp.resident_id).where(EventRsvp.event_id == row.id,
                                                                        EventRsvp.answer == "no")))
        recipients = [rid for rid in recipients if rid not in declined]
    before = When(old) if field_name == "time" else (old or Say("events.no_agenda"))
    params = {"change": Say(f"event_admin.change.{field_name}", {"old": before}), "card": _card(changed)}
    told = _tell(conn, notifier, recipients, "event_admin.changed", params, now)
    post_to_groups(conn, notifier, row.audience, "event_admin.group_changed", params, now)
    log.info("event %s: %s changed; %s invitees told", row.id, field_name, told)
    return told


def cancel_event(conn: Connection, notifier: Notifier, row, now: datetime) -> int:
    """Cancel an event that has not started: its pending reminders are dropped and every
    invitee is told, those who said they would not come too. Returns invitees told."""
    conn.execute(update(Event).where(Event.id == row.id).values(cancelled_at=now))
    drop_reminders(conn, row.id, now)
    told = _tell(conn, notifier, _invitee_ids(conn, row.audience), "event_admin.cancelled_notice",
                 {"card": _card(row)}, now)
    post_to_groups(conn, notifier, row.audience, "event_admin.cancelled_notice", {"card": _card(row)}, now)
    log.info("event %s cancelled; %s invitees told", row.id, told)
    return told


def create_event(ectx: EffectContext, effect: CreateEvent) -> list[Say]:
    scope = scope_of(ectx.resident)
    rt = effect.audience.removeprefix("rt:") if effect.audience.startswith("rt:") else None
    if not scope.everything and not (rt and scope.covers(rt)):
        return [Say("event_admin.audience_not_allowed")]
    starts = datetime.fromisoformat(effect.starts_at).astimezone(timezone.utc)
    if starts <= ectx.now:
        return [Say("event_admin.too_late")]
    title = effect.title or ectx.notifier.renderer.catalog.text(ectx.resident.language, f"events.kind.{effect.kind}")
    new = NewEvent(kind=effect.kind, title=title, starts_at=starts, place=effect.place, audience=effect.audience,
                   agenda=effect.agenda, checklist=effect.checklist and effect.kind == "kur")
    invited = ectx.notifier.reach(ectx.conn, _invitee_ids(ectx.conn, effect.audience))
    try:
        added = add_event(ectx.conn, ectx.notifier, new, ectx.now, ectx.settings.timezone, invite=True,
                          created_by=ectx.resident.id)
    except ValueError:
        log.exception("event could not be created")
        return [Say("event_admin.too_late")]
    held = _held(ectx.notifier, ectx.now)
    return [Say("event_admin.saved", {"title": title, "when": When(starts), "invited": added.notified,
                                      "audience": audience_say(effect.audience), "held": held,
                                      "unreached": unreached_say("event_admin.saved_unreached", invited)})]


def _editable(ectx: EffectContext, event_id: int):
    row = _event_row(ectx.conn, scope_of(ectx.resident), event_id)
    if row is None:
        return None, _gone(event_id)
    if row.starts_at <= ectx.now:
        return None, [Say("event_admin.already_started_said", {"title": row.title})]
    return row, None


def edit_event_effect(ectx: EffectContext, effect: EditEvent) -> list[Say]:
    row, refusal = _editable(ectx, effect.event_id)
    if refusal:
        return refusal
    if effect.field == "time" and datetime.fromisoformat(effect.value) <= ectx.now:
        return [Say("when.past")]
    told = edit_event(ectx.conn, ectx.notifier, row, effect.field, effect.value, ectx.now, ectx.settings.timezone)
    held = _held(ectx.notifier, ectx.now)
    return [Say("event_admin.edited", {"title": effect.value if effect.field == "title" else row.title,
                                       "field": Say(f"event_admin.field.{effect.field}"), "count": told,
                                       "held": held})]


def cancel_event_effect(ectx: EffectContext, effect: CancelEvent) -> list[Say]:
    row, refusal = _editable(ectx, effect.event_id)
    if refusal:
        return refusal
    told = cancel_event(ectx.conn, ectx.notifier, row, ectx.now)
    held = _held(ectx.notifier, ectx.now)
    return [Say("event_admin.cancelled", {"title": row.title, "count": told, "held": held})]


def mark_attendance(ectx: EffectContext, effect: MarkAttendance) -> list[Say]:
    conn = ectx.conn
    row = _event_row(conn, scope_of(ectx.resident), effect.event_id)
    if row is None:
        return _gone(effect.event_id)
    if row.starts_at > ectx.now:
        return [Say("event_admin.not_started", {"title": row.title, "when": When(row.starts_at)})]
    people = {p.id: p for p in _people(conn, row.id, row.audience)}
    add = [p for p in dict.fromkeys(effect.add) if p in people and not people[p].attended]
    remove = [p for p in dict.fromkeys(effect.remove) if p in people and people[p].attended]
    if add:
        conn.execute(insert(EventAttendance), [{"event_id": row.id, "resident_id": p, "marked_at": ectx.now,
                                                "marked_by": ectx.resident.id} for p in add])
    if remove:
        conn.execute(delete(EventAttendance).where(and_(EventAttendance.event_id == row.id,
                                                        EventAttendance.resident_id.in_(remove))))
    said = []
    if add:
        said.append(Say("event_admin.marked", {"names": ", ".join(people[p].label for p in add)}))
    if remove:
        said.append(Say("event_admin.unmarked", {"names": ", ".join(people[p].label for p in remove)}))
    return said


# -- desk ---------------------------------------------------------------------------------------------
def _render(catalog: Catalog, zone: str, lang: str, key: str, params: dict) -> str:
    return Renderer(catalog, Lexicons(catalog), zone).message("cli", "", lang, key, params).text


def _error(app, reason: str) -> int:
    print(app.catalog.text(app.settings.default_language, "cli.error", reason=reason))
    return 2


def cmd_list(app, include_all: bool) -> int:
    lang, zone, now = app.settings.default_language, app.settings.timezone, app.clock.now()
    stmt = select(*_FIELDS, Event.cancelled_at).order_by(Event.starts_at, Event.id)
    if not include_all:
        stmt = stmt.where(Event.cancelled_at.is_(None), Event.starts_at > now)
    with app.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        if not rows:
            print(app.catalog.text(lang, "event_admin.cli.none"))
            return 0
        for row in rows:
            answers = dict(conn.execute(select(EventRsvp.answer, func.count()).where(EventRsvp.event_id == row.id)
                                        .group_by(EventRsvp.answer)).all())
            attended = conn.scalar(select(func.count()).where(EventAttendance.event_id == row.id))
            status = ("event_admin.cli.status_cancelled" if row.cancelled_at else
                      "event_admin.cli.status_past" if row.starts_at <= now else "event_admin.cli.status_upcoming")
            print(_render(app.catalog, zone, lang, "event_admin.cli.line", {
                "id": row.id, "when": When(row.starts_at), "title": row.title, "kind": Say(f"events.kind.{row.kind}"),
                "audience": audience_say(row.audience), "place": row.place, "status": Say(status),
                "invited": len(_invitee_ids(conn, row.audience)), "yes": answers.get("yes", 0),
                "no": answers.get("no", 0), "maybe": answers.get("maybe", 0), "attended": attended}))
    return 0


def cmd_cancel(app, event_id: int) -> int:
    lang, now = app.settings.default_language, app.clock.now()
    with app.engine.begin() as conn:
        row = conn.execute(select(*_FIELDS, Event.cancelled_at).where(Event.id == event_id)).first()
        if row is None:
            return _error(app, app.catalog.text(lang, "event_admin.cli.not_found", id=event_id))
        if row.cancelled_at is not None:
            return _error(app, app.catalog.text(lang, "event_admin.cli.already_cancelled", id=event_id))
        if row.starts_at <= now:
            return _error(app, app.catalog.text(lang, "event_admin.cli.started", id=event_id))
        told = cancel_event(conn, app.core.notifier, row, now)
        held = _held(app.core.notifier, now)
    print(_render(app.catalog, app.settings.timezone, lang, "event_admin.cli.cancelled",
                  {"id": event_id, "title": row.title, "count": told, "held": held}))
    return 0


CSV_HEADER = ("rt", "events", "invited", "rsvp_yes", "attended", "attended_percent")


def cmd_report(app, since_text: str | None, fmt: str, out=None) -> int:
    out = out or sys.stdout
    lang, zone, now = app.settings.default_language, app.settings.timezone, app.clock.now()
    if since_text:
        try:
            since_day = date.fromisoformat(since_text)
        except ValueError:
            return _error(app, app.catalog.text(lang, "event_admin.cli.bad_since", since=since_text))
        since = datetime.combine(since_day, time(), tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)
    else:
        since = now - timedelta(days=90)
    with app.engine.connect() as conn:
        report = participation(conn, Scope(True, frozenset()), since, now)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for r in report.rows:
            writer.writerow((r.rt or "", r.events, r.invited, r.rsvp_yes, r.attended, r.percent))
        out.write(buffer.getvalue())
        return 0
    out.write(_render(app.catalog, zone, lang, "event_admin.report", report_params(report)) + "\n")
    return 0


def register_admin_cli(events: argparse._SubParsersAction, make_app: Callable) -> None:
    """`kampung events list|cancel|report`, next to `kampung events add` (bot.events)."""
    p = events.add_parser("list", help="upcoming events with their answers (--all: past and cancelled too)")
    p.add_argument("--all", action="store_true", dest="include_all")
    p.set_defaults(func=lambda args: cmd_list(make_app(args), args.include_all))
    p = events.add_parser("cancel", help="cancel an event that has not started; invitees are told")
    p.add_argument("id", type=int)
    p.set_defaults(func=lambda args: cmd_cancel(make_app(args), args.id))
    p = events.add_parser("report", help="participation per RT: invited, RSVP hadir, attended")
    p.add_argument("--since", help="first day, YYYY-MM-DD (default: 90 days ago)")
    p.add_argument("--format", choices=("text", "csv"), default="text")
    p.set_defaults(func=lambda args: cmd_report(make_app(args), args.since, args.format))


FEATURE = Feature(
    name="event_admin",
    reads=EventAdminView,
    effects={CreateEvent: create_event, EditEvent: edit_event_effect, CancelEvent: cancel_event_effect,
             MarkAttendance: mark_attendance},
)
