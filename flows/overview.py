"""The kampung overview for the koordinator (and admin): the figures as text, and on
request the same figures as a chart image.

    summary --grafik--> (chart sent) after_chart --ringkasan--> summary
       |--menu pengurus--> staff          |--menu pengurus--> staff

Nothing is kept in the conversation: every step re-reads the figures, so a pause of
hours or a restart shows them as they are then.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say
from flows.business_draft import category_key

CHART = Option("ovw_chart", "overview.choice.chart")
SUMMARY = Option("ovw_summary", "overview.choice.summary")
STAFF = Option("ovw_staff", "overview.choice.staff")
MENU = Option("menu", "choice.menu")


@dataclass(frozen=True)
class SendOverviewChart:
    """Effect: draw the overview chart and send it to the resident as an image file."""


def _lines(key: str, items: list[dict[str, Any]]) -> Say:
    """Items as a list of lines (each line's `{more}` holds the rest), or "none yet"."""
    said: Say | str = ""
    for item in reversed(items):
        said = Say(key, {**item, "more": said})
    return said or Say("overview.none")


def summary_say(figures) -> Say:
    """The figures (bot.overview.Figures) as one message, for chat and the desk."""
    week, month, older = figures.report_ages
    return Say("overview.summary", {
        "residents": figures.residents, "opted_out": figures.opted_out,
        "rts": _lines("overview.rt_line", [{"rt": Say("overview.rt", {"rt": rt}) if rt else Say("overview.no_rt"),
                                            "count": count} for rt, count in figures.residents_by_rt]),
        "businesses": figures.businesses,
        "categories": _lines("overview.count_line", [
            {"name": Say(category_key(category)), "count": count}
            for category, count in figures.businesses_by_category]),
        "without_rba": figures.without_rba, "food": figures.food,
        "without_pirt": figures.food_without_pirt, "without_halal": figures.food_without_halal,
        "reports": sum(count for _, count in figures.reports_by_category),
        "report_lines": _lines("overview.count_line", [{"name": Say(f"report.category.{category}"), "count": count}
                                                       for category, count in figures.reports_by_category]),
        "week": week, "month": month, "older": older,
        "surveys": _lines("overview.rate_line", [_rate(r) for r in figures.surveys]),
        "events": _lines("overview.rate_line", [_rate(r) for r in figures.events]),
    })


def _rate(rate) -> dict[str, Any]:
    return {"title": rate.title, "done": rate.done, "invited": rate.invited, "percent": rate.percent}


class OverviewFlow(Flow):
    id = "overview"
    first_step = "summary"
    roles = frozenset({"koordinator", "admin"})
    commands = frozenset({"overview"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        return Outcome(goto="summary")

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        if not ctx.store.overview.allowed:
            return Prompt("overview.not_allowed", options=(MENU,))
        if step == "after_chart":
            return Prompt("overview.after_chart", options=(SUMMARY, STAFF, MENU))
        say = summary_say(ctx.store.overview.figures())
        return Prompt(say.key, say.params, options=(CHART, STAFF, MENU))

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id
        if choice == CHART.id:
            return Outcome(effects=[SendOverviewChart()], goto="after_chart")
        if choice == SUMMARY.id:
            return Outcome(goto="summary")
        if choice == STAFF.id:
            return Outcome(switch="staff")
        return Outcome(switch="help")
