"""The staff menu ("menu pengurus"): the tools of RT heads, ketua RW and the
koordinator. Residents never see it; the router refuses it to them (Flow.roles).

    menu --choice--> <staff flow>
"""
from __future__ import annotations

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt
from flows.scope import STAFF_ROLES

# Staff flows, in menu order; each declares its own roles, which the router enforces.
STAFF_MENU: tuple[str, ...] = (
    "broadcast",
    "unreached",
    "triage",
    "survey_admin",
    "event_admin",
    "groups",
    "overview",
)


class StaffFlow(Flow):
    id = "staff"
    first_step = "menu"
    roles = STAFF_ROLES
    commands = frozenset({"staff"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        return Outcome(goto="menu")

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        options = tuple(Option(flow_id, f"staff.menu.{flow_id}") for flow_id in STAFF_MENU if ctx.may_enter(flow_id))
        return Prompt("staff.menu", {"name": ctx.resident.name or ""}, options=options + (Option("menu", "choice.menu"),))

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        return Outcome(switch="help" if answer.choice_id == "menu" else answer.choice_id)
