"""Surveys for RT heads, ketua RW and the koordinator: pick a survey from the list to
see live results (counts and percentages per question, response rate per RT), get a
bar chart per question, download the responses (Excel or CSV), remind those who have
not finished ("ingatkan", once), close it early; or create a new one in chat
(flows/survey_builder.py and flows/survey_questions.py, the steps starting with "new_").

    list --pick a survey--> survey (status) --hasil--> (results) actions
      |                        |--grafik--> (a PNG per question) actions
      |                        |--excel / csv--> (file) actions
      |                        |--ingatkan--> remind_confirm --ya--> (reminder sent, once) actions
      |                        |--tutup--> close_confirm --ya--> (closed now) actions
      |                        +--daftar--> list
      |--buat survei baru--> new_title ... new_preview --terbitkan--> (invitations) list
      +--menu pengurus--> staff.menu
    actions: the same choices as `survey`, with a short question.

An RT head sees the surveys that reach their RT, and only the replies of residents of
their RT; a new survey of theirs is for their RT only. The read view
(ctx.store.survey_admin) and the effect handlers (bot.survey_admin) enforce this; the
flow only keeps the survey id.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows import survey_builder as builder
from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say, When
from flows.scope import STAFF_ROLES
from flows.survey_questions import lines, number_text, short

PICK_PREFIX = "sva_s"
NEW = Option("sva_new", "survey_admin.choice.new")
STAFF = Option("sva_staff", "survey_admin.choice.staff")
LIST = Option("sva_list", "survey_admin.choice.list")
RESULTS = Option("sva_results", "survey_admin.choice.results")
CHARTS = Option("sva_charts", "survey_admin.choice.charts")
XLSX = Option("sva_xlsx", "survey_admin.choice.xlsx")
CSV = Option("sva_csv", "survey_admin.choice.csv")
REMIND = Option("sva_remind", "survey_admin.choice.remind")
CLOSE = Option("sva_close", "survey_admin.choice.close")
YES = Option("sva_yes", "survey_admin.choice.yes")
NO = Option("sva_no", "survey_admin.choice.no")
# Results in chat are cut into messages of about this many characters (WhatsApp: 1600).
CHUNK = 1100
BAR_LABEL = 50


@dataclass(frozen=True)
class SendSurveyCharts:
    """Effect: draw a bar chart (PNG) per question of a survey, within scope, and send them."""

    survey_id: int


@dataclass(frozen=True)
class ExportSurvey:
    """Effect: write the responses within scope as `format` (xlsx or csv) and send the file."""

    survey_id: int
    format: str


@dataclass(frozen=True)
class RemindSurvey:
    """Effect: the one reminder to residents in scope who have not finished the survey."""

    survey_id: int


@dataclass(frozen=True)
class CloseSurvey:
    """Effect: close a survey now."""

    survey_id: int


def _pick_option(head) -> Option:
    key = "survey_admin.pick_open" if head.open else "survey_admin.pick_closed"
    return Option(f"{PICK_PREFIX}{head.id}", key, params={"title": short(head.title, 40)})


class SurveyAdminFlow(Flow):
    id = "survey_admin"
    first_step = "list"
    roles = STAFF_ROLES
    commands = frozenset({"survey_admin"})
    cancel_key = "survey_admin.cancelled"

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        return Outcome(goto="list")

    # -- prompts -------------------------------------------------------------------------
    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        if step in builder.STEPS:
            if "draft" not in ctx.data:  # published or dropped, then "kembali"
                return Prompt("survey_admin.draft_gone", options=(NEW, LIST))
            return builder.prompt(step, ctx)
        if step == "list":
            return self._list(ctx)
        status = ctx.store.survey_admin.get(ctx.data.get("survey", 0))
        if status is None:
            return Prompt("survey_admin.gone", options=(LIST, STAFF))
        info = status.survey
        if step == "survey":
            return Prompt("survey_admin.detail", _detail_params(status, ctx), options=_actions(status, ctx))
        if step == "actions":
            return Prompt("survey_admin.actions", {"title": info.title}, options=_actions(status, ctx))
        if step == "remind_confirm":
            return Prompt("survey_admin.confirm_remind", {
                "title": info.title, "count": ctx.store.survey_admin.pending(info.id),
                "quiet": builder.quiet_say(ctx, "survey_admin.quiet_remind")}, options=(YES, NO))
        if step == "close_confirm":
            return Prompt("survey_admin.confirm_close", {"title": info.title, "done": status.completed},
                          options=(YES, NO))
        raise KeyError(step)

    @staticmethod
    def _list(ctx: FlowContext) -> Prompt:
        heads = ctx.store.survey_admin.surveys()
        if not heads:
            return Prompt("survey_admin.list_empty", options=(NEW, STAFF))
        items = [Say("survey_admin.list_open" if h.open else "survey_admin.list_closed",
                     {"title": short(h.title, 60), "closes": When(h.closes_at), "done": h.completed}) for h in heads]
        return Prompt("survey_admin.list", {"surveys": lines(items)},
                      options=tuple(_pick_option(h) for h in heads) + (NEW, STAFF))

    # -- answers ---------------------------------------------------------------------------
    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if step in builder.STEPS and "draft" not in ctx.data:
            return builder.start(ctx) if choice == NEW.id else Outcome(goto="list")
        if step in builder.STEPS:
            return builder.answer(step, ctx, answer)
        if choice == STAFF.id:
            return Outcome(switch="staff")
        if choice == LIST.id:
            return Outcome(goto="list")
        if step == "list":
            return self._answer_list(ctx, choice)
        status = ctx.store.survey_admin.get(ctx.data.get("survey", 0))
        if status is None:
            return Outcome(goto="list")
        if step in ("survey", "actions"):
            return self._answer_action(ctx, status, choice)
        if step == "remind_confirm":
            return Outcome(goto="actions", effects=[RemindSurvey(status.survey.id)] if choice == YES.id else [])
        if step == "close_confirm":
            return Outcome(goto="actions", effects=[CloseSurvey(status.survey.id)] if choice == YES.id else [])
        raise KeyError(step)

    @staticmethod
    def _answer_list(ctx: FlowContext, choice: str) -> Outcome:
        if choice == NEW.id:
            return builder.start(ctx)
        if choice.startswith(PICK_PREFIX) and choice.removeprefix(PICK_PREFIX).isdigit():
            ctx.data["survey"] = int(choice.removeprefix(PICK_PREFIX))
            return Outcome(goto="survey")
        return Outcome()

    @staticmethod
    def _answer_action(ctx: FlowContext, status, choice: str) -> Outcome:
        survey_id, now = status.survey.id, ctx.now
        if choice == RESULTS.id:
            results = ctx.store.survey_admin.results(survey_id)
            return Outcome(results_says(results) if results else [Say("survey_admin.gone")], goto="actions")
        if choice == CHARTS.id:
            return Outcome(goto="actions", effects=[SendSurveyCharts(survey_id)])
        if choice in (XLSX.id, CSV.id):
            return Outcome(goto="actions", effects=[ExportSurvey(survey_id, choice.removeprefix("sva_"))])
        if choice == REMIND.id and status.survey.is_open(now):
            if status.reminder is not None:
                sent_at, count = status.reminder
                return Outcome([Say("survey_admin.remind_once", {"when": When(sent_at), "count": count})],
                               goto="actions")
            if not ctx.store.survey_admin.pending(survey_id):
                return Outcome([Say("survey_admin.remind_nobody")], goto="actions")
            return Outcome(goto="remind_confirm")
        if choice == CLOSE.id and status.may_close and status.survey.is_open(now):
            return Outcome(goto="close_confirm")
        return Outcome()


def _actions(status, ctx: FlowContext) -> tuple[Option, ...]:
    options = [RESULTS, CHARTS, XLSX, CSV]
    if status.survey.is_open(ctx.now):
        options.append(REMIND)
        if status.may_close:
            options.append(CLOSE)
    return tuple(options + [LIST])


def _where(everything: bool, rts: tuple[str, ...]) -> Say:
    return Say("survey_admin.where_all") if everything else Say("survey_admin.where_rts", {"rts": ", ".join(rts)})


def _detail_params(status, ctx: FlowContext) -> dict[str, Any]:
    info = status.survey
    state = Say("survey_admin.state_open" if info.is_open(ctx.now) else "survey_admin.state_closed",
                {"closes": When(info.closes_at)})
    reminder = Say("survey_admin.reminded", {"when": When(status.reminder[0]), "count": status.reminder[1]}) \
        if status.reminder else Say("survey_admin.not_reminded")
    return {"title": info.title, "id": info.id, "audience": builder.audience_say(info.audience), "state": state,
            "count": len(info.questions), "done": status.completed, "invited": status.invited,
            "partial": status.partial, "where": _where(status.everything, status.rts), "reminder": reminder}


# -- results as messages ---------------------------------------------------------------------
def results_says(results) -> list[Say]:
    """A head message (totals, rate per RT) and the questions' figures, packed into
    messages of about CHUNK characters."""
    rates = [Say("survey_admin.rate_line", {"rt": Say("survey_admin.rt", {"rt": r.rt}) if r.rt
                                            else Say("survey_admin.no_rt"),
                                            "done": r.done, "invited": r.invited, "percent": r.percent})
             for r in results.rates]
    head = Say("survey_admin.results_head", {
        "title": results.survey.title, "where": _where(results.everything, results.rts),
        "completed": results.completed, "partial": results.partial, "done": results.done_invited,
        "invited": results.invited, "percent": results.percent,
        "rates": lines(rates) if rates else Say("survey_admin.rates_none"),
    })
    says, chunk, size = [head], [], 0
    for qr in results.questions:
        block, length = _question_block(qr)
        if chunk and size + length > CHUNK:
            says.append(lines(chunk, "survey_admin.block"))
            chunk, size = [], 0
        chunk.append(block)
        size += length
    if chunk:
        says.append(lines(chunk, "survey_admin.block"))
    return says


def _question_block(qr) -> tuple[Say, int]:
    """One question's figures and an estimate of its length in characters."""
    q, body, length = qr.question, [], len(qr.question.text) + 60
    if qr.answered == 0:
        body.append(Say("survey_admin.no_answers"))
    elif q.type == "text":
        for text in qr.latest:
            body.append(Say("survey_admin.text_answer", {"text": text}))
            length += len(text) + 8
    elif q.type != "number":
        for bar in qr.bars:
            label = Say(bar.key) if bar.key else (bar.label if len(bar.label) <= BAR_LABEL
                                                  else bar.label[: BAR_LABEL - 1] + "…")
            body.append(Say("survey_admin.bar", {"label": label, "count": bar.count, "percent": qr.percent(bar.count)}))
            length += min(len(bar.label), BAR_LABEL) + 20
    if qr.answered and q.type in ("number", "scale"):
        body.append(Say("survey_admin.stats", {"average": number_text(round(qr.average, 1)),
                                               "min": number_text(qr.minimum), "max": number_text(qr.maximum)}))
        length += 60
    key = "survey_admin.result_text_q" if q.type == "text" else "survey_admin.result_q"
    return Say(key, {"n": qr.n, "question": q.text, "answered": qr.answered, "body": lines(body)}), length
