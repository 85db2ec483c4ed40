"""Stand-in for a resident flow that is announced in the menu but not built yet
(business, report, survey, events): it says so plainly and returns to the menu,
or straight to another flow when the resident's next words name one.

    notice --any--> help.menu | <flow named in free text>
"""
from __future__ import annotations

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say


class UpcomingFlow(Flow):
    first_step = "notice"

    def __init__(self, flow_id: str):
        self.id = flow_id

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        return Prompt("upcoming.notice", {"feature": Say(f"flow.{self.id}")}, options=(Option("menu", "choice.menu"),), free_text=True, intents=True)

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        return Outcome(switch=answer.intent or "help")
