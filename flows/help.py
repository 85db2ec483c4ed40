"""The main menu. Residents pick by number or words, or just say what they need:
free text is matched against each flow's intent words; when unsure, the menu asks
back with the likely choices instead of guessing.

    menu --choice / clear intent--> <flow>
      |--unclear intent--> clarify --choice / clear intent--> <flow>
"""
from __future__ import annotations

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say
from flows.scope import is_staff

MENU = ("business", "report", "survey", "events", "privacy")


class HelpFlow(Flow):
    id = "help"
    first_step = "menu"

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        if step == "menu":
            menu = MENU + ("staff",) if is_staff(ctx.resident) else MENU
            options = tuple(Option(flow_id, f"menu.{flow_id}") for flow_id in menu)
            return Prompt("help.menu", {"name": ctx.resident.name or ""}, options=options, free_text=True, intents=True)
        if step == "clarify":
            options = tuple(Option(flow_id, f"menu.{flow_id}") for flow_id in ctx.data.get("candidates", MENU))
            return Prompt("help.clarify", options=options, free_text=True, intents=True)
        raise KeyError(step)

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id:
            return Outcome(switch=answer.choice_id)
        if answer.intent:
            return Outcome(switch=answer.intent, switch_text=answer.text)
        if answer.candidates:
            ctx.data["candidates"] = list(answer.candidates)
            return Outcome(goto="clarify")
        return Outcome([Say("help.not_understood")])
