"""Creating an event in chat (the `new_*` steps of flows.event_admin), and reading the
time, title, place and agenda a staff member types (shared with editing).

    new_kind --kind--> new_title --"Rembuk warga" / typed title--> new_time
    new_time --"Sabtu 19.30"--> new_place      new_time --"Sabtu"--> new_hour --"jam 8 malam"--> new_place
    new_place --> new_agenda --agenda / lewati--> new_audience --semua / RT / paguyuban-->
      (kind kur) new_checklist --ya / tidak--> new_preview
      (other kinds)                            new_preview
    new_preview --simpan--> (event stored, invitations sent) menu
                --ubah--> new_change --field--> that step --> new_preview
                --batal--> menu

The draft lives in `ctx.data["draft"]` (JSON values only: the time as an ISO string
in timezone.utc), so a pause or a restart carries on where the staff member was. A past,
impossible or unreadable time gets a friendly reply and the question again; a day
without a time asks for the hour and reads it on that day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from flows.base import Answer, FlowContext, Option, Outcome, Prompt, Say, When
from flows.choices import letters
from flows.events import KIND_OPTIONS, KINDS
from flows.scope import scope_of
from handlers.natural_time import IMPOSSIBLE, NEED_TIME, PAST, parse_when

TITLE_DEFAULT = "eva_title_default"
SKIP = Option("eva_skip", "event_admin.choice.skip")
YES = Option("eva_yes", "event_admin.choice.yes")
NO = Option("eva_no", "event_admin.choice.no")
SAVE = Option("eva_save", "event_admin.choice.save")
CHANGE = Option("eva_change", "event_admin.choice.change")
DISCARD = Option("eva_discard", "event_admin.choice.discard")
AUDIENCE_ALL = "eva_aud_all"
AUDIENCE_RT = "eva_aud_rt_"
AUDIENCE_GROUP = "eva_aud_pg_"
FIELD = "eva_f_"
CREATE_FIELDS = ("kind", "title", "time", "place", "agenda", "audience", "checklist")
FIELD_STEP = {"kind": "new_kind", "title": "new_title", "time": "new_time", "place": "new_place",
              "agenda": "new_agenda", "audience": "new_audience", "checklist": "new_checklist"}
TITLE_LIMIT, PLACE_LIMIT, AGENDA_LIMIT = 120, 120, 600


@dataclass(frozen=True)
class CreateEvent:
    """Effect: store the event (reminder rows as `kampung events add` makes them) and
    invite every audience member who has not said STOP. `title` "" means the kind's
    name in the staff member's language; `starts_at` is an ISO time in UTC."""

    kind: str
    title: str
    starts_at: str
    place: str
    agenda: str
    audience: str
    checklist: bool


def field_option(name: str) -> Option:
    return Option(f"{FIELD}{name}", f"event_admin.field.{name}")


def audience_say(audience: str) -> Say:
    """"all", "rw", "rt:04", "paguyuban:NAME" as words."""
    scope, _, value = audience.partition(":")
    if scope == "rt":
        return Say("event_admin.audience.rt", {"rt": value})
    if scope == "paguyuban":
        return Say("event_admin.audience.paguyuban", {"name": value})
    return Say(f"event_admin.audience.{scope}")


def audience_options(ctx: FlowContext) -> tuple[Option, ...]:
    """What this staff member may invite: an RT head only their own RT(s)."""
    scope = scope_of(ctx.resident)
    options: list[Option] = [Option(AUDIENCE_ALL, "event_admin.audience.all")] if scope.everything else []
    for rt in ctx.kampung.rts:
        if scope.covers(rt):
            aliases = tuple({f"rt {rt}", f"rt {rt.lstrip('0') or '0'}", f"rt{rt.lstrip('0') or '0'}"})
            options.append(Option(f"{AUDIENCE_RT}{rt}", "event_admin.audience.rt", params={"rt": rt}, aliases=aliases))
    if scope.everything:
        options += [Option(f"{AUDIENCE_GROUP}{i}", "event_admin.audience.paguyuban", params={"name": name})
                    for i, name in enumerate(ctx.kampung.paguyuban)]
    return tuple(options)


def audience_of(choice: str, ctx: FlowContext) -> str | None:
    if choice == AUDIENCE_ALL:
        return "all"
    if choice.startswith(AUDIENCE_RT):
        return f"rt:{choice.removeprefix(AUDIENCE_RT)}"
    if choice.startswith(AUDIENCE_GROUP):
        index = int(choice.removeprefix(AUDIENCE_GROUP))
        return f"paguyuban:{ctx.kampung.paguyuban[index]}" if index < len(ctx.kampung.paguyuban) else None
    return None


# -- reading typed values (creation and editing) ----------------------------------------
def read_text(answer: Answer, limit: int) -> str | None:
    """A typed title/place/agenda: one line of at least two letters, or None."""
    text = " ".join(answer.text.split())[:limit]
    return text if letters(text) >= 2 else None


def read_time(ctx: FlowContext, text: str, day: str | None = None,
              day_text: str | None = None) -> tuple[str | None, str | None, Say | None]:
    """(UTC ISO time, None, None) when understood; (None, ISO date, None) when only a day
    was given (ask the hour); (None, None, Say why) otherwise.

    The answer to "what time?" is read together with the day as it was typed first
    ("malam minggu" + "jam 8" = Saturday 20.00, not 08.00; "Minggu" said on a Sunday +
    a time already past = next Sunday), and on its own on `day` when that fails."""
    if day and day_text:
        together = parse_when(f"{day_text} {text}", ctx.now, ctx.policy.zone)
        if together.at is not None:
            return together.at.astimezone(timezone.utc).isoformat(), None, None
        if together.reason in (PAST, IMPOSSIBLE):
            return None, None, Say(f"when.{together.reason}")
    result = parse_when(text, ctx.now, ctx.policy.zone, day=date.fromisoformat(day) if day else None)
    if result.at is not None:
        return result.at.astimezone(timezone.utc).isoformat(), None, None
    if result.reason == NEED_TIME and result.date_only is not None:
        return None, result.date_only.isoformat(), None
    return None, None, Say(f"when.{result.reason}")


def starts_at(draft: dict) -> datetime | None:
    return datetime.fromisoformat(draft["starts_at"]) if draft.get("starts_at") else None


def _pressed(answer: Answer) -> bool:
    """The option was pressed or its number typed, not matched from other words."""
    return not answer.text or answer.text.strip().isdigit()


# -- prompts ----------------------------------------------------------------------------------
def draft_card(draft: dict) -> dict:
    kind = draft.get("kind") or "lainnya"
    return {
        "title": draft.get("title") or Say(f"events.kind.{kind}"),
        "kind": Say(f"events.kind.{kind}"),
        "when": When(starts_at(draft)) if draft.get("starts_at") else Say("event_admin.unset"),
        "place": draft.get("place") or Say("event_admin.unset"),
        "agenda": draft.get("agenda") or Say("events.no_agenda"),
    }


def prompt(step: str, ctx: FlowContext) -> Prompt:
    draft = ctx.data.setdefault("draft", {})
    if step == "new_kind":
        return Prompt("event_admin.ask_kind", options=KIND_OPTIONS, free_text=True)
    if step == "new_title":
        kind = draft.get("kind") or "lainnya"
        return Prompt("event_admin.ask_title", {"kind": Say(f"events.kind.{kind}")},
                      options=(Option(TITLE_DEFAULT, f"events.kind.{kind}"),), free_text=True)
    if step == "new_time":
        return Prompt("event_admin.ask_time", free_text=True)
    if step == "new_hour":
        return Prompt("when.need_time", free_text=True)
    if step == "new_place":
        return Prompt("event_admin.ask_place", free_text=True)
    if step == "new_agenda":
        return Prompt("event_admin.ask_agenda", options=(SKIP,), free_text=True)
    if step == "new_audience":
        return Prompt("event_admin.ask_audience", options=audience_options(ctx))
    if step == "new_checklist":
        return Prompt("event_admin.ask_checklist", options=(YES, NO))
    if step == "new_preview":
        audience = draft.get("audience") or "all"
        params = {"card": Say("events.card", draft_card(draft)), "audience": audience_say(audience),
                  "invited": ctx.store.event_admin.audience_size(audience),
                  "checklist": Say("event_admin.preview_checklist") if draft.get("checklist") else ""}
        return Prompt("event_admin.preview", params, options=(SAVE, CHANGE, DISCARD))
    if step == "new_change":
        fields = CREATE_FIELDS if draft.get("kind") == "kur" else CREATE_FIELDS[:-1]
        return Prompt("event_admin.ask_change", options=tuple(field_option(f) for f in fields))
    raise KeyError(step)


# -- answers ------------------------------------------------------------------------------------
def _next(ctx: FlowContext, step: str) -> Outcome:
    """Where to go after `step` is answered: on through the questions, or back to the
    preview when the staff member came from "ubah"."""
    draft = ctx.data["draft"]
    if ctx.data.get("returning"):
        return Outcome(goto="new_preview")
    order = ["new_kind", "new_title", "new_time", "new_place", "new_agenda", "new_audience", "new_checklist",
             "new_preview"]
    following = order[order.index(step) + 1]
    if following == "new_checklist" and draft.get("kind") != "kur":
        following = "new_preview"
    return Outcome(goto=following)


# Steps that take a line of text: the draft field, its length limit, the option that
# leaves it empty (None: it cannot be), and whether a short typed word may mean that
# option ("lewati" for the agenda; a typed title is a title, only the button leaves it).
TEXT_STEPS = {
    "new_title": ("title", TITLE_LIMIT, TITLE_DEFAULT, False),
    "new_place": ("place", PLACE_LIMIT, None, False),
    "new_agenda": ("agenda", AGENDA_LIMIT, SKIP.id, True),
}


def answer(step: str, ctx: FlowContext, answer: Answer) -> Outcome:
    draft = ctx.data.setdefault("draft", {})
    choice = answer.choice_id or ""
    if step == "new_kind":
        kind = choice.removeprefix("evkind_")
        title = read_text(answer, TITLE_LIMIT)
        if kind not in KINDS and not ctx.data.get("returning") and title and letters(title) >= 4:
            # "arisan PKK": not a kind on the list, so an event of another kind with that title
            draft["kind"], draft["title"], draft["checklist"] = "lainnya", title, False
            return Outcome([Say("event_admin.kind_as_title", {"title": title})], goto="new_time")
        if kind not in KINDS:
            return Outcome([Say("event_admin.pick_unclear")])
        draft["kind"] = kind
        if kind != "kur":
            draft["checklist"] = False
        if ctx.data.get("returning") and kind == "kur" and "checklist_asked" not in draft:
            return Outcome(goto="new_checklist")
        return _next(ctx, step)
    if step in TEXT_STEPS:
        field_name, limit, empty, typed_ok = TEXT_STEPS[step]
        if choice == empty and (_pressed(answer) or (typed_ok and len(answer.text.split()) <= 2)):
            draft[field_name] = ""  # the kind's name as title; the agenda later
            return _next(ctx, step)
        text = read_text(answer, limit)
        if text is None:
            return Outcome([Say("event_admin.text_too_short")])
        draft[field_name] = text
        return _next(ctx, step)
    if step in ("new_time", "new_hour"):
        hour = step == "new_hour"
        at, day, why = read_time(ctx, answer.text, draft.get("day") if hour else None,
                                 draft.get("day_text") if hour else None)
        if why is not None:
            return Outcome([why])
        if day is not None:
            draft["day"], draft["day_text"] = day, " ".join(answer.text.split())[:60]
            return Outcome(goto="new_hour")
        draft["starts_at"] = at
        draft.pop("day", None)
        draft.pop("day_text", None)
        return _next(ctx, "new_time")
    if step == "new_audience":
        audience = audience_of(choice, ctx)
        if audience is None:
            return Outcome([Say("event_admin.pick_unclear")])
        draft["audience"] = audience
        return _next(ctx, step)
    if step == "new_checklist":
        if choice not in (YES.id, NO.id):
            return Outcome([Say("event_admin.pick_unclear")])
        draft["checklist"], draft["checklist_asked"] = choice == YES.id, True
        return _next(ctx, step)
    if step == "new_preview":
        return _answer_preview(ctx, draft, choice)
    if step == "new_change":
        name = choice.removeprefix(FIELD)
        if name not in FIELD_STEP:
            return Outcome([Say("event_admin.pick_unclear")])
        ctx.data["returning"] = True
        return Outcome(goto=FIELD_STEP[name])
    raise KeyError(step)


def _answer_preview(ctx: FlowContext, draft: dict, choice: str) -> Outcome:
    if choice == CHANGE.id:
        return Outcome(goto="new_change")
    if choice == DISCARD.id:
        ctx.data.pop("draft", None)
        ctx.data.pop("returning", None)
        return Outcome([Say("event_admin.discarded")], goto="menu")
    if choice != SAVE.id:
        return Outcome([Say("event_admin.pick_unclear")])
    missing = [f for f in ("kind", "starts_at", "place", "audience") if not draft.get(f)]
    if missing:  # cannot happen through the questions; a damaged draft starts again
        ctx.data["draft"], ctx.data["returning"] = {}, False
        return Outcome([Say("event_admin.draft_incomplete")], goto="new_kind")
    effect = CreateEvent(kind=draft["kind"], title=draft.get("title") or "", starts_at=draft["starts_at"],
                         place=draft["place"], agenda=draft.get("agenda") or "", audience=draft["audience"],
                         checklist=bool(draft.get("checklist")))
    ctx.data.pop("draft", None)
    ctx.data.pop("returning", None)
    return Outcome(goto="menu", effects=[effect])
