"""Answering a survey. "survei" lists the open surveys addressed to the resident (one
is started straight away); questions come one by one and every answer is saved at
once, so a resident can stop (menu, batal, a long pause) and come back to the first
unanswered question. One response per resident, changeable until the survey closes.

    start --one open survey--> that survey's current step (first unanswered q<n>, or review)
      |--several--> pick --> q<first unanswered> | review
      |--none--> (kind notice) --any--> help.menu | <flow named in free text>
    q<n> --valid answer--> q<next unanswered> ... --last--> (thanks, how many answered) help.menu
      |    (response already complete: "saved") --> review
      +--invalid--> (says why) q<n>
    review --ubah--> change --pick a question--> q<n> --> review
      +--menu--> help.menu
    any survey step after the survey closed --> (polite refusal) help.menu

Question types: single, multi, yesno, scale (1-5), number, text. Survey content is
data (`ctx.store.surveys`): question and option ids come from their position.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say, When
from handlers.understanding import normalize, parse_number

QUESTION_TYPES = ("single", "multi", "yesno", "scale", "number", "text")
SCALE = range(1, 6)
YES, NO, CHANGE = "sv_yes", "sv_no", "sv_change"
MENU = Option("menu", "choice.menu")
SURVEY_CHOICE = "survey_"  # + survey id: a survey offered in the list
SCALE_CHOICE = "scale"  # + 1..5
LABEL_LENGTH = 60


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    options: tuple[tuple[str, str], ...] = ()  # (id, label): single and multi
    low: str = ""  # scale: what 1 means
    high: str = ""  # scale: what 5 means
    min: float | None = None  # number
    max: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(**{**data, "options": tuple(tuple(o) for o in data.get("options", ()))})


@dataclass(frozen=True)
class SurveyHead:
    """A survey as listed for a resident."""

    id: int
    title: str
    closes_at: datetime
    completed: bool


@dataclass(frozen=True)
class Survey:
    """A survey and this resident's answers so far ({question id: value})."""

    id: int
    title: str
    description: str
    closes_at: datetime
    questions: tuple[Question, ...]
    answers: dict[str, Any]
    completed: bool

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)

    def first_unanswered(self, answers: dict[str, Any]) -> Question | None:
        return next((q for q in self.questions if q.id not in answers), None)


@dataclass(frozen=True)
class SaveSurveyAnswer:
    """Store one answer; `complete` marks the response finished (the last answer)."""

    survey_id: int
    question_id: str
    value: Any
    complete: bool = False


class SurveyFlow(Flow):
    id = "survey"
    first_step = "start"
    cancel_key = "survey.cancelled"

    def intro(self, ctx: FlowContext) -> list[Say]:
        heads = ctx.store.surveys.open()
        return _opening(ctx.store.surveys.survey(heads[0].id)) if len(heads) == 1 else []

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        survey, here = self._where(step, ctx)
        if survey is None:
            return self._start_prompt(ctx)
        if here == "review":
            params = {"title": survey.title, "closes": When(survey.closes_at)}
            return Prompt("survey.review", params, options=(Option(CHANGE, "survey.choice_change"), MENU))
        if here == "change":
            return Prompt("survey.change", options=tuple(Option(q.id, label=_short(q.text)) for q in survey.questions))
        return _question_prompt(survey, survey.question(here))

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        survey, here = self._where(step, ctx)
        if survey is None:
            return self._answer_start(ctx, answer)
        if step == "start":
            ctx.data.update(survey=survey.id, entry=here)
        if survey.closes_at <= ctx.now:
            return Outcome([Say("survey.closed", {"title": survey.title, "closes": When(survey.closes_at)})],
                           switch="help")
        if here == "review":
            return Outcome(goto="change") if answer.choice_id == CHANGE else Outcome(switch="help")
        if here == "change":
            return Outcome(goto=answer.choice_id)
        return _answer_question(survey, survey.question(here), answer)

    @staticmethod
    def _where(step: str, ctx: FlowContext) -> tuple[Survey | None, str]:
        """The survey a step is about, and the step it stands for. With one open survey
        `start` is that survey's current step, pinned in `entry` once answered so that
        "kembali" to it shows the same question again."""
        store = ctx.store.surveys
        if step != "start":
            return store.survey(ctx.data["survey"]), step
        if "entry" in ctx.data:
            return store.survey(ctx.data["survey"]), ctx.data["entry"]
        heads = store.open()
        if len(heads) != 1:
            return None, step
        survey = store.survey(heads[0].id)
        return survey, _current_step(survey)

    @staticmethod
    def _start_prompt(ctx: FlowContext) -> Prompt:
        heads = ctx.store.surveys.open()
        if heads:
            return Prompt("survey.choose", {"count": len(heads)}, options=tuple(map(_listed, heads)))
        closed = ctx.store.surveys.last_closed()
        if closed:
            params = {"title": closed.title, "closes": When(closed.closes_at)}
            return Prompt("survey.none_closed", params, options=(MENU,), free_text=True, intents=True)
        return Prompt("survey.none", options=(MENU,), free_text=True, intents=True)

    @staticmethod
    def _answer_start(ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id and answer.choice_id.startswith(SURVEY_CHOICE):
            survey = ctx.store.surveys.survey(int(answer.choice_id.removeprefix(SURVEY_CHOICE)))
            ctx.data["survey"] = survey.id
            return Outcome(_opening(survey), goto=_current_step(survey))
        return Outcome(switch=answer.intent or "help")


def _current_step(survey: Survey) -> str:
    question = survey.first_unanswered(survey.answers)
    return "review" if survey.completed or question is None else question.id


def _listed(head: SurveyHead) -> Option:
    if head.completed:
        return Option(f"{SURVEY_CHOICE}{head.id}", "survey.option_done", params={"title": head.title})
    return Option(f"{SURVEY_CHOICE}{head.id}", label=head.title)


def _opening(survey: Survey) -> list[Say]:
    """What is said on entering a survey: what it is, or how much is left."""
    if survey.completed:
        return []
    total = len(survey.questions)
    params = {"title": survey.title, "total": total, "closes": When(survey.closes_at)}
    answered = sum(q.id in survey.answers for q in survey.questions)
    if answered:
        return [Say("survey.resume", {**params, "left": total - answered})]
    if survey.description:
        return [Say("survey.intro_description", {**params, "description": survey.description})]
    return [Say("survey.intro", params)]


def _question_prompt(survey: Survey, question: Question) -> Prompt:
    params: dict[str, Any] = {
        "n": survey.questions.index(question) + 1,
        "total": len(survey.questions),
        "question": question.text,
        "how": Say(f"survey.how.{question.type}"),
    }
    key = "survey.question"
    if question.id in survey.answers:
        key, params["answer"] = "survey.question_answered", _shown(question, survey.answers[question.id])
    return Prompt(key, params, options=_options(question), multi=question.type == "multi",
                  free_text=question.type in ("number", "text"))


def _options(question: Question) -> tuple[Option, ...]:
    if question.type in ("single", "multi"):
        return tuple(Option(oid, label=label) for oid, label in question.options)
    if question.type == "yesno":
        return Option(YES, "survey.yes"), Option(NO, "survey.no")
    if question.type == "scale":
        ends = {SCALE[0]: question.low, SCALE[-1]: question.high}
        return tuple(Option(f"{SCALE_CHOICE}{n}", label=f"{n} ({ends[n]})" if ends.get(n) else str(n)) for n in SCALE)
    return ()


def _answer_question(survey: Survey, question: Question, answer: Answer) -> Outcome:
    value, problem = _read(question, answer)
    if problem:
        return Outcome([problem])
    following = survey.first_unanswered({**survey.answers, question.id: value})
    if following:
        return Outcome(goto=following.id, effects=[SaveSurveyAnswer(survey.id, question.id, value)])
    if survey.completed:
        return Outcome([Say("survey.saved")], goto="review", effects=[SaveSurveyAnswer(survey.id, question.id, value)])
    return Outcome(switch="help", effects=[SaveSurveyAnswer(survey.id, question.id, value, complete=True)])


def _read(question: Question, answer: Answer) -> tuple[Any, Say | None]:
    """The value to store for an answer, or why it cannot be used. Choice types get
    here only with a matched choice (the router asks again otherwise)."""
    kind = question.type
    if kind == "single":
        return answer.choice_id, None
    if kind == "multi":
        return list(answer.choice_ids), None
    if kind == "yesno":
        return answer.choice_id == YES, None
    if kind == "scale":
        return int(answer.choice_id.removeprefix(SCALE_CHOICE)), None
    if kind == "number":
        number = parse_amount(answer.text)
        if number is None:
            return None, Say("survey.invalid_number")
        if question.min is not None and number < question.min:
            return None, Say("survey.number_too_small", {"min": _number_text(question.min)})
        if question.max is not None and number > question.max:
            return None, Say("survey.number_too_big", {"max": _number_text(question.max)})
        return number, None
    text = answer.text.strip()
    return (text, None) if text else (None, Say("common.need_text"))


def _shown(question: Question, value: Any) -> str | Say:
    """A stored answer as the resident reads it."""
    if question.type == "yesno":
        return Say("survey.yes" if value else "survey.no")
    if question.type in ("single", "multi"):
        labels = dict(question.options)
        return ", ".join(labels.get(v, v) for v in (value if isinstance(value, list) else [value]))
    if question.type == "number":
        return _number_text(value)
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1].rstrip() + "…"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- numbers as people type them ------------------------------------------------------
# "12", "12 orang", "Rp 50.000", "50rb", "1,5 juta", "dua belas", "telu".
_AMOUNT = re.compile(r"(\d[\d.,]*)\s*(?:(rb|ribu|k|jt|juta)(?![a-z]))?")
_THOUSANDS = re.compile(r"\d{1,3}([.,])\d{3}(?:\1\d{3})*")
_DECIMAL = re.compile(r"\d+[.,]\d+")
_MULTIPLIERS = {"rb": 1000, "ribu": 1000, "k": 1000, "jt": 1_000_000, "juta": 1_000_000}
_DIGIT_WORDS = {
    "nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8,
    "sembilan": 9, "siji": 1, "loro": 2, "telu": 3, "papat": 4, "limo": 5, "enem": 6, "pitu": 7, "wolu": 8,
    "sanga": 9, "songo": 9,
}
_PLACES = {"belas": None, "puluh": 10, "ratus": 100, "atus": 100}  # belas: ten plus the digit
_SCALES = {"ribu": 1000, "ewu": 1000, "juta": 1_000_000, "yuta": 1_000_000}
# "seratus" is "satu ratus"; Javanese "satus", "sewu" likewise.
_SE = {"sepuluh": "puluh", "sebelas": "belas", "seratus": "ratus", "seribu": "ribu", "sejuta": "juta",
       "satus": "atus", "sewu": "ewu", "sayuta": "yuta"}


def parse_amount(text: str) -> int | float | None:
    """One non-negative number in an answer; None when there is none or more than one."""
    found = _AMOUNT.findall(text.lower())
    if len(found) > 1:
        return None
    if found:
        digits, unit = found[0]
        number = _digits(digits.rstrip(".,"))
        return None if number is None else _tidy(number * _MULTIPLIERS.get(unit, 1))
    norm = normalize(text)
    single = parse_number(norm)
    return single if single is not None else _number_words(norm.split())


def _digits(text: str) -> int | float | None:
    """Indonesian writing: "50.000" is fifty thousand, "1,5" one and a half."""
    if _THOUSANDS.fullmatch(text):
        return int(re.sub(r"[.,]", "", text))
    if _DECIMAL.fullmatch(text):
        return float(text.replace(",", "."))
    return int(text) if text.isdigit() else None


def _number_words(tokens: list[str]) -> int | None:
    """"dua belas" -> 12, "seratus lima puluh ribu" -> 150000; other words are skipped."""
    total, group, unit, seen = 0, 0, None, False
    for token in (t for word in tokens for t in (("satu", _SE[word]) if word in _SE else (word,))):
        if token in _DIGIT_WORDS:
            if unit is not None:
                return None
            unit = _DIGIT_WORDS[token]
        elif token in _PLACES:
            if not unit:
                return None
            group += unit + 10 if token == "belas" else unit * _PLACES[token]
            unit = None
        elif token in _SCALES:
            amount = group + (unit or 0)
            if not amount:
                return None
            total, group, unit = total + amount * _SCALES[token], 0, None
        else:
            continue
        seen = True
    return total + group + (unit or 0) if seen else None


def _tidy(number: int | float) -> int | float:
    return int(number) if float(number).is_integer() else number
