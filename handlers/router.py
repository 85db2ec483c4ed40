"""Routing one incoming message through the conversation: media checks, idle expiry,
global words, role checks, then the current flow's step.

The router is pure apart from the `ResidentPort` it is handed: it reads the stored
`ConvState`, mutates it, and returns `Piece`s (catalogue keys plus options) that the
core renders in the resident's language and writes to the outbox.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.messages import IncomingMessage
from flows.base import (Answer, Effect, Flow, FlowContext, KampungInfo, Option, Outcome, Policy, Prompt,
                        ResidentInfo, Say)
from handlers.lexicon import Lexicons
from handlers.roles import may_enter
from handlers.understanding import clean, match_choice, match_word, normalize, score_intents

# The command a flow declares to receive the free text that opened it from the menu.
OPENED_WITH = "opened_with"
# Telegram-style commands, matched before any fuzzy matching.
SLASH_COMMANDS = {"/start": "menu", "/menu": "menu", "/bantuan": "help", "/help": "help", "/batal": "cancel",
                  "/hubungkan": "link_group"}
# Words a resident who has not consented yet may still use.
BEFORE_CONSENT = {"stop", "start", "help", "menu", "cancel", "back"}


def _slash_argument(text: str) -> str:
    """What follows a slash command: "/hubungkan UMKM RW 05" -> "UMKM RW 05"."""
    return text.split(maxsplit=1)[1] if text.startswith("/") and " " in text else ""


@dataclass
class ConvState:
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Piece:
    """One outgoing message before rendering; flow/step: where the conversation stands after it."""

    key: str
    params: dict[str, Any]
    options: tuple[Option, ...]
    flow: str | None
    step: str | None
    document: str | None = None
    media_url: str | None = None


class ResidentPort(Protocol):
    @property
    def info(self) -> ResidentInfo: ...

    @property
    def kampung(self) -> KampungInfo: ...

    @property
    def store(self) -> Any: ...

    def apply(self, effect: Effect) -> list[Say]: ...


class Router:
    def __init__(self, flows: dict[str, Flow], lexicons: Lexicons, idle_timeout: timedelta,
                 policy: Policy | None = None):
        self.flows = flows
        self.policy = policy or Policy()
        self.lexicons = lexicons
        self.idle_timeout = idle_timeout
        # Global words owned by a flow (Flow.commands) rather than by the engine.
        self.command_flows = {word: flow.id for flow in flows.values() for word in flow.commands}

    def handle(self, state: ConvState, resident: ResidentPort, msg: IncomingMessage, now: datetime,
               notice: Say | None = None) -> list[Piece]:
        """`notice`: what the core has to say before the turn (a shared phone number
        joined this chat account to a resident); the current question is then asked again."""
        turn = _Turn(self, state, resident, now)
        if notice is not None:
            turn.pending.append(notice)
            return turn._reprompt_or_start(msg)
        return turn.run(msg)


class _Turn:
    """One message's worth of conversation for one resident."""

    def __init__(self, router: Router, state: ConvState, resident: ResidentPort, now: datetime):
        self.router = router
        self.state = state
        self.resident = resident
        self.now = now
        self.pieces: list[Piece] = []
        self.pending: list[Say] = []
        self.chat: str | None = None

    # -- context helpers -------------------------------------------------
    @property
    def lexicon(self):
        return self.router.lexicons.get(self.resident.info.language)

    def ctx(self) -> FlowContext:
        return FlowContext(self.resident.info, self.resident.kampung, self.state.data.setdefault("vars", {}), self.now,
                           self.resident.store, self._pick, self.chat, self._may_enter, self.router.policy)

    def _may_enter(self, flow_id: str) -> bool:
        flow = self.router.flows.get(flow_id)
        return flow is not None and may_enter(flow, self.resident.info.roles)

    def _pick(self, text: str, options: tuple[Option, ...]) -> str | None:
        return match_choice(text, self.lexicon.candidates(list(options))).id

    def flow(self) -> Flow:
        return self.router.flows[self.state.flow]

    # -- the turn ----------------------------------------------------------
    def run(self, msg: IncomingMessage) -> list[Piece]:
        info = self.resident.info
        text = clean(msg.text, keep_lines=True)
        norm = normalize(text)
        images = tuple(m for m in msg.media if m.kind == "image")
        unreadable = [m for m in msg.media if m.kind != "image"]

        if unreadable and not norm and not msg.location and not msg.choice_id:
            self.pending.append(Say("media.unsupported", {"kind": Say(f"media.kind.{unreadable[0].kind}")}))
            return self._reprompt_or_start(msg)

        self.chat = msg.address if msg.sender_id else None
        word = None if msg.choice_id else self._word(text, norm)
        if word and (info.consented or word in BEFORE_CONSENT):
            return self._global(word, msg, _slash_argument(text))

        if not info.consented:
            if self.state.flow != "onboarding":
                self._switch("onboarding", profile_name=msg.profile_name)
                return self.pieces
        elif self.state.flow is None:
            self.state.flow, self.state.step, self.state.data = "help", "menu", {}
        elif self._expired():
            self.pending.append(Say("common.expired", {"where": Say(f"flow.{self.state.flow}")}))
            self._switch("help")
            return self.pieces

        prompt = self.flow().prompt(self.state.step, self.ctx())
        if prompt.intents and (found := self.lexicon.prefixed(norm)):
            return self._command(*found)
        if images and not prompt.accepts_media and not norm:
            self.pending.append(Say("media.photo_not_needed"))
            self._show(prompt)
            return self.pieces
        answer = self._understand(prompt, msg, text, norm, images)
        if answer is None:
            return self.pieces
        self._apply(self.flow().answer(self.state.step, self.ctx(), answer))
        return self.pieces

    def _word(self, text: str, norm: str) -> str | None:
        if text.startswith("/"):
            return SLASH_COMMANDS.get(text.split()[0].lower())
        return match_word(norm, self.lexicon.words)

    def _expired(self) -> bool:
        return (
            self.state.flow not in ("help", "onboarding")
            and self.state.updated_at is not None
            and self.now - self.state.updated_at > self.router.idle_timeout
        )

    def _reprompt_or_start(self, msg: IncomingMessage) -> list[Piece]:
        """Ask the current question again; a resident without one starts onboarding
        (no consent yet) or sees the main menu."""
        if not self.resident.info.consented and self.state.flow != "onboarding":
            self._switch("onboarding", profile_name=msg.profile_name)
        elif self.state.flow is None:
            self._switch("help")
        else:
            self._ask()
        return self.pieces

    # -- global words ------------------------------------------------------
    def _global(self, word: str, msg: IncomingMessage, argument: str = "") -> list[Piece]:
        consented = self.resident.info.consented
        if word in self.router.command_flows:
            self._command(word, argument)
        elif self.state.flow == "onboarding" and word in ("menu", "cancel"):
            self.pending.append(Say("onboarding.finish_first"))
            self._reprompt_or_start(msg)
        elif not consented:
            if word == "help":
                self.pending.append(Say("onboarding.help"))
            self._reprompt_or_start(msg)
        elif word == "help":
            self.pending.append(Say("common.help"))
            self._reprompt_or_start(msg)
        elif word == "back" and self.state.data.get("back"):
            self.state.step = self.state.data["back"].pop()
            self._ask()
        elif word == "back":
            self.pending.append(Say("common.no_back"))
            self._reprompt_or_start(msg)
        else:  # menu, cancel
            if word == "cancel" and self.state.flow not in (None, "help"):
                self.pending.append(Say(self.flow().cancel_key))
            self._switch("help")
        return self.pieces

    def _command(self, word: str, argument: str = "") -> list[Piece]:
        """A global word owned by a flow: enter that flow and let it react."""
        if self._enter(self.router.command_flows[word]):
            self._apply(self.flow().command(word, self.ctx(), argument))
        else:
            self._switch("help")
        return self.pieces

    # -- understanding an answer --------------------------------------------
    def _understand(self, prompt: Prompt, msg, text: str, norm: str, images) -> Answer | None:
        answer = Answer(text=text, media=images, location=msg.location)
        # Numbers refer to the options as last shown (a "did you mean" may have shown fewer).
        by_id = {o.id: o for o in prompt.options}
        options = [by_id[i] for i in self.state.data.get("options", ()) if i in by_id] or list(prompt.options)
        if msg.choice_id:
            if msg.choice_id not in {o.id for o in options}:
                self.pending.append(Say("common.stale_choice"))
                self._show(prompt)
                return None
            answer.choice_id, answer.choice_ids = msg.choice_id, (msg.choice_id,)
            return answer
        if options and norm:
            match = match_choice(text, self.lexicon.candidates(options), multi=prompt.multi)
            if match.ids:
                answer.choice_ids = match.ids
                answer.choice_id = match.id
                return answer
            if match.tied and not prompt.free_text:
                self.pending.append(Say("common.did_you_mean"))
                self._show(prompt, only=match.tied)
                return None
        if prompt.intents and norm:
            ranked = [(f, s) for f, s in score_intents(norm, self.lexicon.intents) if f in self.router.flows]
            if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
                answer.intent = ranked[0][0]
            elif ranked:
                answer.candidates = tuple(f for f, _ in ranked[:4])
            return answer
        if prompt.free_text and (text or images or msg.location):
            return answer
        if prompt.accepts_media and (images or msg.location):
            return answer
        self.pending.append(Say("common.need_text" if prompt.free_text else "common.not_understood"))
        self._show(prompt)
        return None

    # -- applying outcomes ---------------------------------------------------
    def _apply(self, outcome: Outcome) -> None:
        for effect in outcome.effects:
            self.pending.extend(self.resident.apply(effect))
        self.pending.extend(outcome.say)
        if outcome.end:
            self.state.flow, self.state.step, self.state.data = None, None, {}
            self._flush()
        elif outcome.switch and outcome.switch_text and OPENED_WITH in self.router.flows[outcome.switch].commands:
            self._flush()
            if self._enter(outcome.switch):
                self._apply(self.flow().command(OPENED_WITH, self.ctx(), outcome.switch_text))
            else:
                self._ask()
        elif outcome.switch:
            self._switch(outcome.switch, outcome.switch_step)
        else:
            if outcome.goto and outcome.goto != self.state.step:
                self.state.data.setdefault("back", []).append(self.state.step)
                self.state.step = outcome.goto
            self._ask()

    def _enter(self, flow_id: str, step: str | None = None) -> bool:
        """Move to a flow (no prompt yet); refused, to the main menu, when roles forbid it."""
        allowed = may_enter(self.router.flows[flow_id], self.resident.info.roles)
        if not allowed:
            self.pending.append(Say("common.not_allowed"))
            flow_id, step = "help", None
        self.state.flow, self.state.step, self.state.data = flow_id, step or self.router.flows[flow_id].first_step, {}
        return allowed

    def _switch(self, flow_id: str, step: str | None = None, profile_name: str | None = None) -> None:
        """Start a flow (at its first step with its intro, or at `step`) and ask."""
        self._enter(flow_id, step)
        if profile_name:
            self.ctx().data["profile_name"] = clean(profile_name, limit=60)
        if step is None:
            self.pending.extend(self.flow().intro(self.ctx()))
        self._ask()

    def _ask(self) -> None:
        self._show(self.flow().prompt(self.state.step, self.ctx()))

    def _show(self, prompt: Prompt, only: tuple[str, ...] = ()) -> None:
        options = tuple(o for o in prompt.options if not only or o.id in only)
        self.state.data["options"] = [o.id for o in options]
        self._flush()
        self.pieces.append(Piece(prompt.key, prompt.params, options, self.state.flow, self.state.step))

    def _flush(self) -> None:
        for say in self.pending:
            self.pieces.append(
                Piece(say.key, say.params, (), self.state.flow, self.state.step, say.document, say.media_url))
        self.pending = []
