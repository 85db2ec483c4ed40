"""Events: the resident's upcoming events (kind, title, time, place, agenda), their
answer (hadir / tidak hadir / mungkin, changeable any time), and the kinds of event
they want to hear about when one is announced ("ingatkan kalau ada sosialisasi KUR",
"berhenti ingatkan KUR"). Reminders themselves are sent by bot.events.

    list --pick event--> detail --hadir / tidak / mungkin--> help.menu
      |                    |--lihat acara lain--> list
      |                    (event passed or gone meanwhile: says so, offers list)
      |--atur pengingat--> follows --pick kind (follow / unfollow)--> follows
      |--other intent in free text--> <flow>
    (at the menu) ingatkan <kind> / berhenti ingatkan <kind> --> help.menu
                  ingatkan (kind unclear) --> follows
"""
from __future__ import annotations

from dataclasses import dataclass

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say, When

KINDS = ("rembuk", "kur", "pelatihan", "kerja_bakti", "posyandu", "lainnya")
KIND_OPTIONS = tuple(Option(f"evkind_{kind}", f"events.kind.{kind}") for kind in KINDS)
RSVP_ANSWERS = ("yes", "no", "maybe")
RSVP_OPTIONS = tuple(Option(f"rsvp_{answer}", f"events.choice.rsvp_{answer}") for answer in RSVP_ANSWERS)
SHOW_LIST = Option("events_list", "events.choice.list")
FOLLOWS = Option("events_follows", "events.choice.follows")
MENU = Option("menu", "choice.menu")
EVENT_CHOICE = "event_"
# Events listed at once: a longer message is hard to read on a small phone.
LIST_LIMIT = 6


@dataclass(frozen=True)
class SetRsvp:
    event_id: int
    answer: str


@dataclass(frozen=True)
class FollowKind:
    kind: str
    follow: bool


class EventsFlow(Flow):
    id = "events"
    first_step = "list"
    commands = frozenset({"events_follow", "events_unfollow"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        choice = ctx.pick(argument, KIND_OPTIONS) if argument else None
        if choice is None:
            return Outcome([Say("events.follow_which")] if argument else [], goto="follows")
        follow = word == "events_follow"
        return _followed(choice.removeprefix("evkind_"), follow, switch="help")

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        events = ctx.store.events
        if step == "list":
            upcoming = events.upcoming(LIST_LIMIT)
            if not upcoming:
                return Prompt("events.none", options=(FOLLOWS, MENU), intents=True)
            options = tuple(Option(f"{EVENT_CHOICE}{e.id}", label=e.title) for e in upcoming) + (FOLLOWS, MENU)
            items = [Say("events.item", {**event_card(e), "answer": _answer(e.rsvp)}) for e in upcoming]
            return Prompt("events.list", {"events": joined(items)}, options=options, intents=True)
        if step == "detail":
            event = events.get(ctx.data.get("event_id"))
            if event is None:
                return Prompt("events.gone", options=(SHOW_LIST, MENU))
            parts = [Say("events.card", event_card(event))]
            if event.checklist:
                parts.append(Say("events.checklist"))
            parts.append(Say("events.question", {"answer": _answer(event.rsvp)}))
            return Prompt("events.join", joined(parts).params, options=RSVP_OPTIONS + (SHOW_LIST, MENU))
        if step == "follows":
            mine = events.follows()
            followed = [Say(f"events.kind.{kind}") for kind in KINDS if kind in mine]
            following = joined(followed, "events.join_comma") if followed else Say("events.follows_none")
            return Prompt("events.follows", {"following": following}, options=KIND_OPTIONS + (SHOW_LIST, MENU),
                          intents=True)
        raise KeyError(step)

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id
        if choice == MENU.id:
            return Outcome(switch="help")
        if choice == SHOW_LIST.id:
            return Outcome(goto="list")
        if choice == FOLLOWS.id:
            return Outcome(goto="follows")
        if choice is None:  # free text at list or follows (intents prompts)
            if answer.intent and answer.intent != self.id:
                return Outcome(switch=answer.intent)
            return Outcome([Say("events.not_understood")])
        if step == "list":
            ctx.data["event_id"] = int(choice.removeprefix(EVENT_CHOICE))
            return Outcome(goto="detail")
        if step == "detail":
            event = ctx.store.events.get(ctx.data.get("event_id"))
            if event is None:
                return Outcome(goto="list")
            reply = choice.removeprefix("rsvp_")
            key = "events.rsvp_saved_no" if reply == "no" else "events.rsvp_saved"
            return Outcome([Say(key, {"title": event.title, "answer": _answer(reply)})], switch="help",
                           effects=[SetRsvp(event.id, reply)])
        if step == "follows":
            kind = choice.removeprefix("evkind_")
            return _followed(kind, kind not in ctx.store.events.follows())
        raise KeyError(step)


def _followed(kind: str, follow: bool, switch: str | None = None) -> Outcome:
    key = "events.followed" if follow else "events.unfollowed"
    return Outcome([Say(key, {"kind": Say(f"events.kind.{kind}")})], switch=switch, effects=[FollowKind(kind, follow)])


def event_card(event) -> dict:
    """Placeholders that describe an event (events.card, events.item, reminders)."""
    return {
        "title": event.title,
        "kind": Say(f"events.kind.{event.kind}"),
        "when": When(event.starts_at),
        "place": event.place,
        "agenda": event.agenda or Say("events.no_agenda"),
    }


def _answer(rsvp: str | None) -> Say:
    return Say(f"events.rsvp.{rsvp or 'none'}")


def joined(parts: list[Say], key: str = "events.join") -> Say:
    """Several messages as one: a chain of `key` ("{first}\\n\\n{rest}")."""
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = Say(key, {"first": part, "rest": result})
    return result
