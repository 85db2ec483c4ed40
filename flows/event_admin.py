"""Event administration for RT heads, ketua RW, the koordinator and admin: create an
event in chat (flows.event_builder), list the events, see who answered hadir / tidak /
mungkin and who has not, edit or cancel an event (invitees told), mark attendance by
tapping names once it has started, and the participation report per RT.

An RT head works only with events for their own RT (audience "rt:NN"); the others
with every event. The read view and the effect handlers (bot.event_admin) enforce
this again, whatever event id a message names.

    menu --buat acara--> new_kind ... new_preview (see flows.event_builder) --> menu
      |--daftar acara--> list --pick--> detail
      |--laporan--> report --3 / 12 bulan--> report
    detail --daftar nama--> people --catat kehadiran / kembali--> attend / detail
      |--catat kehadiran (started)--> attend --tap names ("1 3 5"), again to unmark,
      |                                       type part of a name to search, next/prev page--> attend
      |                                       --selesai--> detail
      |--ubah (not started)--> edit --field--> edit_value (--day only--> edit_hour) --> (invitees told) detail
      |--batalkan (not started)--> cancel_confirm --ya--> (invitees told, reminders dropped) list
      |                                            --tidak--> detail
      |--daftar acara--> list

Who is told what: an invitation goes to every audience member who has not said STOP;
a change of time goes to all of them again (the new time may suit those who declined),
a change of title, place or agenda to all but those who answered "tidak hadir", and a
cancellation to all of them, "tidak hadir" included. Written inside quiet hours, these
messages wait until the quiet hours end (bot.notify), and the staff member is told.

Only ids, the draft and the page are kept in the conversation: every step re-reads the
event, so an event cancelled by someone else meanwhile is said to be gone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows import event_builder as builder
from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say, When
from flows.event_builder import (
    NO,
    YES,
    audience_say,
    field_option,
    read_text,
    read_time,
)
from flows.scope import STAFF_ROLES

NEW = Option("eva_new", "event_admin.choice.new")
LIST = Option("eva_list", "event_admin.choice.list")
REPORT = Option("eva_report", "event_admin.choice.report")
STAFF = Option("eva_staff", "event_admin.choice.staff")
BACK_MENU = Option("eva_menu", "event_admin.choice.menu")
PEOPLE = Option("eva_people", "event_admin.choice.people")
ATTEND = Option("eva_attend", "event_admin.choice.attend")
EDIT = Option("eva_edit", "event_admin.choice.edit")
CANCEL = Option("eva_cancel", "event_admin.choice.cancel")
DETAIL = Option("eva_detail", "event_admin.choice.detail")
NEXT = Option("eva_next", "event_admin.choice.next")
PREV = Option("eva_prev", "event_admin.choice.prev")
ALL_NAMES = Option("eva_all_names", "event_admin.choice.all_names")
DONE = Option("eva_done", "event_admin.choice.done")
REPORT_PERIODS = (Option("eva_rep_90", "event_admin.choice.report_90"),
                  Option("eva_rep_365", "event_admin.choice.report_365"))
MENU = Option("menu", "choice.menu")
EVENT_PREFIX = "eva_event_"
PERSON_PREFIX = "eva_person_"
EDIT_FIELDS = ("title", "time", "place", "agenda")
PAGE_SIZE = 10
# Names listed per answer in the RSVP lists (one WhatsApp message stays readable).
NAMES_SHOWN = 40


@dataclass(frozen=True)
class EditEvent:
    """Effect: change one field ("title", "time" (ISO UTC), "place", "agenda") of an
    event that has not started, reschedule its reminders on a time change, tell invitees."""

    event_id: int
    field: str
    value: str


@dataclass(frozen=True)
class CancelEvent:
    """Effect: cancel an event that has not started; invitees told, reminders dropped."""

    event_id: int


@dataclass(frozen=True)
class MarkAttendance:
    """Effect: mark `add` present and `remove` not present at an event that has started."""

    event_id: int
    add: tuple[int, ...] = ()
    remove: tuple[int, ...] = ()


def _chain(key: str, items: list[dict[str, Any]]) -> Say | str:
    said: Say | str = ""
    for item in reversed(items):
        said = Say(key, {**item, "more": said})
    return said


def _names(people: list) -> Say | str:
    if not people:
        return Say("event_admin.nobody")
    shown = ", ".join(p.label for p in people[:NAMES_SHOWN])
    if len(people) > NAMES_SHOWN:
        return Say("event_admin.names_more", {"names": shown, "count": len(people) - NAMES_SHOWN})
    return shown


def _person_option(person) -> Option:
    label = f"✅ {person.label}" if person.attended else person.label
    return Option(f"{PERSON_PREFIX}{person.id}", label=label, aliases=(person.label,))


class EventAdminFlow(Flow):
    id = "event_admin"
    first_step = "menu"
    roles = STAFF_ROLES
    commands = frozenset({"event_admin", "event_admin_new"})
    cancel_key = "event_admin.batal"

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        if word == "event_admin_new":
            return self._start_new(ctx)
        return Outcome(goto="menu")

    @staticmethod
    def _start_new(ctx: FlowContext) -> Outcome:
        ctx.data["draft"], ctx.data["returning"] = {}, False
        return Outcome(goto="new_kind")

    # -- prompts -------------------------------------------------------------------------
    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        if step.startswith("new_"):
            return builder.prompt(step, ctx)
        if step == "menu":
            return Prompt("event_admin.menu", options=(NEW, LIST, REPORT, STAFF, MENU))
        if step == "list":
            return self._list(ctx)
        if step == "report":
            days = ctx.data.get("report_days", 90)
            report = ctx.store.event_admin.report(days)
            return Prompt("event_admin.report", report_params(report),
                          options=tuple(o for o in REPORT_PERIODS if o.id != f"eva_rep_{days}") + (BACK_MENU, MENU))
        event = ctx.store.event_admin.get(ctx.data.get("event", 0))
        if event is None:
            return Prompt("event_admin.gone", options=(LIST, BACK_MENU))
        if step == "detail":
            return self._detail(ctx, event)
        if step == "people":
            people = ctx.store.event_admin.people(event.id)
            groups = {answer: [p for p in people if p.rsvp == answer] for answer in ("yes", "maybe", "no", None)}
            params = {"title": event.title, "yes": _names(groups["yes"]), "maybe": _names(groups["maybe"]),
                      "no": _names(groups["no"]), "none": _names(groups[None]),
                      "yes_count": len(groups["yes"]), "maybe_count": len(groups["maybe"]),
                      "no_count": len(groups["no"]), "none_count": len(groups[None]),
                      "attended": Say("event_admin.people_attended", {"names": _names([p for p in people if p.attended])})
                      if event.started else ""}
            return Prompt("event_admin.people", params, options=((ATTEND,) if event.started else ()) + (DETAIL, LIST))
        if step == "attend":
            return self._attend(ctx, event)
        if step == "edit":
            if event.started:
                return Prompt("event_admin.already_started", {"title": event.title}, options=(DETAIL, LIST))
            return Prompt("event_admin.ask_edit", {"title": event.title},
                          options=tuple(field_option(f) for f in EDIT_FIELDS) + (DETAIL,))
        if step == "edit_value":
            field = ctx.data.get("edit_field", "title")
            key = "event_admin.ask_time" if field == "time" else f"event_admin.ask_new_{field}"
            options = (builder.SKIP,) if field == "agenda" else ()
            return Prompt(key, {"title": event.title}, options=options, free_text=True)
        if step == "edit_hour":
            return Prompt("when.need_time", free_text=True)
        if step == "cancel_confirm":
            if event.started:
                return Prompt("event_admin.already_started", {"title": event.title}, options=(DETAIL, LIST))
            return Prompt("event_admin.confirm_cancel", {"title": event.title, "when": When(event.starts_at),
                                                         "count": ctx.store.event_admin.audience_size(event.audience)},
                          options=(YES, NO))
        raise KeyError(step)

    @staticmethod
    def _list(ctx: FlowContext) -> Prompt:
        events = ctx.store.event_admin.events()
        if not events:
            return Prompt("event_admin.list_empty", options=(NEW, BACK_MENU))
        items = [{"title": e.title, "kind": Say(f"events.kind.{e.kind}"), "when": When(e.starts_at),
                  "audience": audience_say(e.audience),
                  "status": Say("event_admin.status_past") if e.started else ""} for e in events]
        options = tuple(Option(f"{EVENT_PREFIX}{e.id}", label=e.title, aliases=(f"#{e.id}",)) for e in events)
        return Prompt("event_admin.list", {"events": _chain("event_admin.list_item", items)},
                      options=options + (NEW, BACK_MENU))

    @staticmethod
    def _detail(ctx: FlowContext, event) -> Prompt:
        params = {"card": Say("events.card", {"title": event.title, "kind": Say(f"events.kind.{event.kind}"),
                                              "when": When(event.starts_at), "place": event.place,
                                              "agenda": event.agenda or Say("events.no_agenda")}),
                  "audience": audience_say(event.audience), "invited": event.invited, "yes": event.yes,
                  "no": event.no, "maybe": event.maybe, "none": event.unanswered,
                  "attended": Say("event_admin.detail_attended", {"count": event.attended, "invited": event.invited})
                  if event.started else ""}
        if event.started:
            options = (ATTEND, PEOPLE, LIST)
        else:
            options = (PEOPLE, EDIT, CANCEL, LIST)
        return Prompt("event_admin.detail", params, options=options)

    @staticmethod
    def _attend(ctx: FlowContext, event) -> Prompt:
        if not event.started:
            return Prompt("event_admin.not_started", {"title": event.title, "when": When(event.starts_at)},
                          options=(DETAIL, LIST))
        people = ctx.store.event_admin.people(event.id, attendance_order=True)
        marked = sum(p.attended for p in people)
        query = ctx.data.get("q")
        if query:
            people = [p for p in people if query.casefold() in p.label.casefold()]
        pages = max(1, -(-len(people) // PAGE_SIZE))
        page = min(ctx.data.get("page", 0), pages - 1)
        ctx.data["page"] = page
        shown = people[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
        controls = ((NEXT,) if page + 1 < pages else ()) + ((PREV,) if page > 0 else ()) + \
            ((ALL_NAMES,) if query else ()) + (DONE,)
        params = {"title": event.title, "marked": marked, "invited": event.invited, "page": page + 1, "pages": pages,
                  "search": Say("event_admin.attend_search", {"query": query}) if query else ""}
        return Prompt("event_admin.attend", params, options=tuple(_person_option(p) for p in shown) + controls,
                      multi=True, free_text=True)

    # -- answers ---------------------------------------------------------------------------
    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if step.startswith("new_"):
            return builder.answer(step, ctx, answer)
        choice = answer.choice_id or ""
        if choice == MENU.id:
            return Outcome(switch="help")
        if choice == STAFF.id:
            return Outcome(switch="staff")
        if choice == BACK_MENU.id:
            return Outcome(goto="menu")
        if choice == LIST.id:
            return Outcome(goto="list")
        if choice == NEW.id:
            return self._start_new(ctx)
        if choice == DETAIL.id:
            return Outcome(goto="detail")
        if step == "menu":
            if choice == REPORT.id:
                ctx.data["report_days"] = 90
                return Outcome(goto="report")
            return Outcome([Say("event_admin.pick_unclear")])
        if step == "report":
            if choice.startswith("eva_rep_"):
                ctx.data["report_days"] = int(choice.removeprefix("eva_rep_"))
                return Outcome()
            return Outcome([Say("event_admin.pick_unclear")])
        if step == "list":
            if choice.startswith(EVENT_PREFIX) and choice.removeprefix(EVENT_PREFIX).isdigit():
                ctx.data["event"] = int(choice.removeprefix(EVENT_PREFIX))
                ctx.data.pop("q", None)
                ctx.data["page"] = 0
                return Outcome(goto="detail")
            return Outcome([Say("event_admin.pick_unclear")])
        event_id = ctx.data.get("event", 0)
        if step == "attend":
            return self._answer_attend(ctx, answer, event_id)
        if step in ("edit_value", "edit_hour"):
            return self._answer_edit_value(ctx, answer, step, event_id)
        if choice == PEOPLE.id:
            return Outcome(goto="people")
        if choice == ATTEND.id:
            ctx.data.pop("q", None)
            ctx.data["page"] = 0
            return Outcome(goto="attend")
        if choice == EDIT.id:
            return Outcome(goto="edit")
        if choice == CANCEL.id:
            return Outcome(goto="cancel_confirm")
        if step == "edit" and choice.startswith(builder.FIELD):
            ctx.data["edit_field"] = choice.removeprefix(builder.FIELD)
            return Outcome(goto="edit_value")
        if step == "cancel_confirm" and choice in (YES.id, NO.id):
            if choice == NO.id:
                return Outcome([Say("event_admin.cancel_kept")], goto="detail")
            return Outcome(goto="list", effects=[CancelEvent(event_id)])
        return Outcome([Say("event_admin.pick_unclear")])

    @staticmethod
    def _answer_attend(ctx: FlowContext, answer: Answer, event_id: int) -> Outcome:
        ids = answer.choice_ids or ((answer.choice_id,) if answer.choice_id else ())
        if not ids:  # typed words matching no name on this page: look for them among all names
            query = " ".join(answer.text.split())[:40]
            if len(query) < 2:
                return Outcome([Say("event_admin.attend_unclear")])
            people = ctx.store.event_admin.people(event_id)
            if not any(query.casefold() in p.label.casefold() for p in people):
                return Outcome([Say("event_admin.attend_no_match", {"query": query})])
            ctx.data["q"], ctx.data["page"] = query, 0
            return Outcome()
        picked = [int(i.removeprefix(PERSON_PREFIX)) for i in ids
                  if i.startswith(PERSON_PREFIX) and i.removeprefix(PERSON_PREFIX).isdigit()]
        effects = []
        if picked:
            marked = {p.id for p in ctx.store.event_admin.people(event_id) if p.attended}
            effects.append(MarkAttendance(event_id, add=tuple(p for p in picked if p not in marked),
                                          remove=tuple(p for p in picked if p in marked)))
        if DONE.id in ids:
            ctx.data.pop("q", None)
            return Outcome(goto="detail", effects=effects)
        if NEXT.id in ids:
            ctx.data["page"] = ctx.data.get("page", 0) + 1
        elif PREV.id in ids:
            ctx.data["page"] = max(0, ctx.data.get("page", 0) - 1)
        elif ALL_NAMES.id in ids:
            ctx.data.pop("q", None)
            ctx.data["page"] = 0
        return Outcome(effects=effects)

    @staticmethod
    def _answer_edit_value(ctx: FlowContext, answer: Answer, step: str, event_id: int) -> Outcome:
        field = ctx.data.get("edit_field", "title")
        if field == "time":
            hour = step == "edit_hour"
            at, day, why = read_time(ctx, answer.text, ctx.data.get("edit_day") if hour else None,
                                     ctx.data.get("edit_day_text") if hour else None)
            if why is not None:
                return Outcome([why])
            if day is not None:
                ctx.data["edit_day"], ctx.data["edit_day_text"] = day, " ".join(answer.text.split())[:60]
                return Outcome(goto="edit_hour")
            ctx.data.pop("edit_day", None)
            ctx.data.pop("edit_day_text", None)
            return Outcome(goto="detail", effects=[EditEvent(event_id, "time", at)])
        if field == "agenda" and answer.choice_id == builder.SKIP.id and len(answer.text.split()) <= 2:
            return Outcome(goto="detail", effects=[EditEvent(event_id, "agenda", "")])
        limit = {"title": builder.TITLE_LIMIT, "place": builder.PLACE_LIMIT}.get(field, builder.AGENDA_LIMIT)
        value = read_text(answer, limit)
        if value is None:
            return Outcome([Say("event_admin.text_too_short")])
        return Outcome(goto="detail", effects=[EditEvent(event_id, field, value)])


def report_params(report) -> dict[str, Any]:
    """The participation report (bot.event_admin.Participation) as message placeholders."""
    rows = [{"rt": Say("event_admin.report_rt", {"rt": r.rt}) if r.rt else Say("event_admin.report_no_rt"),
             "events": r.events, "invited": r.invited, "yes": r.rsvp_yes, "attended": r.attended,
             "percent": r.percent} for r in report.rows]
    return {"since": When(report.since), "events": report.events, "recorded": report.recorded,
            "rows": _chain("event_admin.report_line", rows) or Say("event_admin.report_none")}
