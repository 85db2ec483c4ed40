"""STOP / berhenti stops announcements and reminders; MULAI resumes them.
The conversation itself keeps working either way.

    (STOP) --> stopped --mulai--> help.menu
"""
from __future__ import annotations

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say, SetOptOut


class OptoutFlow(Flow):
    id = "optout"
    first_step = "stopped"
    commands = frozenset({"stop", "start"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        if word == "stop":
            return Outcome(goto="stopped", effects=[SetOptOut(True)])
        return Outcome([Say("optout.resumed")], switch="help", effects=[SetOptOut(False)])

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        return Prompt("optout.stopped", options=(Option("resume", "choice.resume"), Option("menu", "choice.menu")))

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == "resume":
            return self.command("start", ctx)
        return Outcome(switch="help")
