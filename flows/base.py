"""The vocabulary every flow speaks: prompts with choices, answers, outcomes, effects.

A flow is a small state machine with named steps. It never does I/O: it reads a
`FlowContext`, returns an `Outcome` (what to say, where to go, what to change) and
the engine in `handlers/` applies it inside the database transaction. Texts are
catalogue keys, never sentences.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Callable

from bot.messages import Location, Media


@dataclass(frozen=True)
class Option:
    """A choice offered at a step. `key` is a catalogue key for its label; `label`
    is literal data (an RT number, a paguyuban name) when there is no key."""

    id: str
    key: str | None = None
    label: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Say:
    """A message to the resident: a catalogue key and its placeholders. An image URL
    (`media_url`) or a file (`document`, a path set by effect handlers, never by flows)
    may travel with it."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    document: str | None = None
    media_url: str | None = None


@dataclass(frozen=True)
class When:
    """A time as a message placeholder: rendered in the reader's language and the
    kampung's time zone ("Sabtu, 28 November 2026 pukul 19.30 WIB")."""

    at: datetime


@dataclass(frozen=True)
class Prompt:
    """What a step asks. `multi` lets the resident pick several options at once;
    `free_text` lets an answer that matches no option through to the flow;
    `intents` (main menu) has the engine fill `Answer.intent` / `Answer.candidates`
    from the locale's intent words."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    multi: bool = False
    free_text: bool = False
    accepts_media: bool = False
    intents: bool = False


@dataclass
class Answer:
    text: str = ""
    choice_id: str | None = None
    choice_ids: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    location: Location | None = None
    intent: str | None = None
    candidates: tuple[str, ...] = ()


# Effects: changes a flow asks the engine to make to stored data.
@dataclass(frozen=True)
class UpdateProfile:
    name: str | None = None
    rt: str | None = None
    language: str | None = None
    paguyuban: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RecordConsent:
    pass


@dataclass(frozen=True)
class EraseMe:
    pass


@dataclass(frozen=True)
class SetOptOut:
    opted_out: bool


# Features add their own effect types (see bot.features).
Effect = Any


@dataclass
class Outcome:
    """Result of answering a step.

    `goto` names the next step in this flow (None: ask the same step again);
    `switch` ends this flow and starts another at its first step (or `switch_step`);
    `end` closes the conversation without a further prompt.
    """

    say: list[Say] = field(default_factory=list)
    goto: str | None = None
    switch: str | None = None
    switch_step: str | None = None
    effects: list[Effect] = field(default_factory=list)
    end: bool = False
    # With `switch`: the resident's words that chose the new flow ("lampu jalan mati di
    # gang 3"); a flow with the command "opened_with" gets them through `command`.
    switch_text: str = ""


@dataclass(frozen=True)
class ResidentInfo:
    id: int
    name: str | None
    rt: str | None
    language: str
    paguyuban: tuple[str, ...]
    roles: tuple[tuple[str, str | None], ...]
    consented: bool
    opted_out: bool
    phone: str | None
    channels: tuple[str, ...]


@dataclass(frozen=True)
class KampungInfo:
    name: str
    kelurahan: str
    rw: str
    rts: tuple[str, ...]
    paguyuban: tuple[str, ...]


@dataclass
class FlowContext:
    """What a step sees. `store` holds each feature's read-only view of its data
    (`ctx.store.reports.mine()`); changes go back as effects."""

    resident: ResidentInfo
    kampung: KampungInfo
    data: dict[str, Any]
    now: datetime
    store: Any = None
    # pick(text, options) -> option id or None: match words as an answer is matched,
    # in the resident's language (for a command's argument: "ingatkan ... KUR").
    pick: Callable[[str, tuple[Option, ...]], str | None] | None = None
    # The group chat the resident is writing in (Telegram group), else None.
    chat: str | None = None
    # may_enter(flow_id) -> bool: whether the router would let this resident in (menus
    # show only what can be entered; the router still enforces it).
    may_enter: Callable[[str], bool] | None = None
    # The kampung's time zone (for reading "besok jam 8 malam") and quiet hours.
    policy: Policy = field(default_factory=lambda: Policy())


@dataclass(frozen=True)
class Policy:
    """Kampung-wide settings a flow may need: the time zone people's times are in,
    and the quiet hours (start, end wall-clock times, or None) when announcements wait."""

    zone: str = "Asia/Jakarta"
    quiet_hours: tuple[time, time] | None = None


class Flow:
    """Base class: subclasses set `id`, `first_step` and implement prompt/answer."""

    id: str = ""
    first_step: str = ""
    # Roles allowed in (handlers check them); empty: every resident.
    roles: frozenset[str] = frozenset()
    # Global words (catalogue `words`/`prefixes` keys) this flow reacts to, via `command`.
    commands: frozenset[str] = frozenset()
    # What "batal" says; flows that save as they go must not claim nothing was kept.
    cancel_key: str = "common.cancelled"

    def intro(self, ctx: FlowContext) -> list[Say]:
        """Messages said once when the flow starts, before its first prompt."""
        return []

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        """React to one of `commands`. `argument` is what followed a prefix command
        ("cari keripik" -> "keripik"), empty for a word said on its own."""
        raise KeyError(word)

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        raise NotImplementedError

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        raise NotImplementedError
