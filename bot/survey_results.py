"""Survey results for staff: figures per question, response rate per RT and a bar
chart per question (PNG). The responses as a file, and the desk commands, are in
bot/survey_export.py.

Everything here takes a `Scope` (flows.scope): an RT head's figures, charts and files
hold only replies from residents of their own RT, even for a kampung-wide survey. A
survey is visible to an RT head when it reaches their RT: audience all, rw, their own
rt:NN, or a paguyuban (of whose members they then see those in their RT).

Who counts as invited: residents who finished onboarding (consent) and are in the
survey's audience now, the same rule the kampung overview uses. Answers of partial
responses count in the per-question figures ("live" results); the response rate counts
only completed responses.
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from bot.events import in_audience
from db.models import Resident, Rt
from db.surveys import Survey, SurveyResponse
from flows.scope import Scope
from flows.survey import SCALE, Question
from flows.survey_questions import number_text

# Text answers shown in chat: the latest few, each cut to this many characters.
LATEST_TEXTS = 5
TEXT_CUT = 120
# A number question with more distinct values than this is charted in ranges.
DISTINCT_BARS = 8
RANGE_BARS = 6


@dataclass(frozen=True)
class SurveyInfo:
    id: int
    title: str
    description: str
    audience: str
    closes_at: datetime
    created_at: datetime
    created_by: int | None
    questions: tuple[Question, ...]

    def is_open(self, now: datetime) -> bool:
        return self.closes_at > now


@dataclass(frozen=True)
class Bar:
    """One bar of a question's figures: a literal `label`, or a catalogue `key` for it."""

    label: str
    count: int
    key: str | None = None


@dataclass(frozen=True)
class QuestionResult:
    n: int
    question: Question
    answered: int
    bars: tuple[Bar, ...] = ()  # choice, yes/no and scale questions; number questions' distribution
    average: float | None = None  # number and scale
    minimum: float | None = None
    maximum: float | None = None
    latest: tuple[str, ...] = ()  # text: the newest answers first, no names

    def percent(self, count: int) -> int:
        return round(100 * count / self.answered) if self.answered else 0


@dataclass(frozen=True)
class RtRate:
    rt: str | None  # None: residents without an RT
    done: int
    invited: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.invited) if self.invited else 0


@dataclass(frozen=True)
class Results:
    survey: SurveyInfo
    everything: bool
    rts: tuple[str, ...]  # the RT head's RTs when not everything
    completed: int
    partial: int
    rates: tuple[RtRate, ...]
    questions: tuple[QuestionResult, ...]

    @property
    def invited(self) -> int:
        return sum(r.invited for r in self.rates)

    @property
    def done_invited(self) -> int:
        return sum(r.done for r in self.rates)

    @property
    def percent(self) -> int:
        return round(100 * self.done_invited / self.invited) if self.invited else 0


# -- reading ------------------------------------------------------------------------------
_SURVEY = select(Survey.id, Survey.title, Survey.description, Survey.audience, Survey.closes_at, Survey.created_at,
                 Survey.created_by, Survey.questions).where(Survey.id == bindparam("sid"))


def visible(scope: Scope, audience: str) -> bool:
    """Whether a survey with this audience is within a staff member's scope."""
    if scope.everything:
        return True
    if not scope.rts:
        return False
    kind, _, value = audience.partition(":")
    return kind in ("all", "rw", "paguyuban") or (kind == "rt" and value in scope.rts)


def load_survey(conn: Connection, survey_id: int) -> SurveyInfo | None:
    row = conn.execute(_SURVEY, {"sid": survey_id}).first()
    if row is None:
        return None
    return SurveyInfo(row.id, row.title, row.description or "", row.audience, row.closes_at, row.created_at,
                      row.created_by, tuple(map(Question.from_json, row.questions)))


def _in_scope(stmt, scope: Scope):
    return stmt if scope.everything else stmt.where(Rt.number.in_(sorted(scope.rts)))


def responses(conn: Connection, survey_id: int, scope: Scope) -> list[Any]:
    """Responses within scope: name, rt, answers, started/updated/completed, oldest completion first."""
    stmt = (select(Resident.name, Rt.number.label("rt"), SurveyResponse.answers, SurveyResponse.started_at,
                   SurveyResponse.updated_at, SurveyResponse.completed_at)
            .join(Resident, Resident.id == SurveyResponse.resident_id)
            .outerjoin(Rt, Rt.id == Resident.rt_id)
            .where(SurveyResponse.survey_id == survey_id)
            .order_by(SurveyResponse.completed_at.is_(None), SurveyResponse.completed_at, SurveyResponse.started_at,
                      SurveyResponse.resident_id))
    return conn.execute(_in_scope(stmt, scope)).all() if scope.everything or scope.rts else []


def rates(conn: Connection, survey: SurveyInfo, scope: Scope) -> tuple[RtRate, ...]:
    """Completed responses over invited residents, per RT (RTs with nobody invited are left out)."""
    if not scope.everything and not scope.rts:
        return ()
    member = (Resident.consent_at.is_not(None), in_audience(survey.audience))
    invited = _in_scope(select(Rt.number, func.count(Resident.id)).select_from(Resident)
                        .outerjoin(Rt, Rt.id == Resident.rt_id).where(*member).group_by(Rt.number), scope)
    done = _in_scope(select(Rt.number, func.count(Resident.id)).select_from(SurveyResponse)
                     .join(Resident, Resident.id == SurveyResponse.resident_id)
                     .outerjoin(Rt, Rt.id == Resident.rt_id)
                     .where(SurveyResponse.survey_id == survey.id, SurveyResponse.completed_at.is_not(None), *member)
                     .group_by(Rt.number), scope)
    counts = dict(conn.execute(invited).all())
    finished = dict(conn.execute(done).all())
    return tuple(RtRate(rt, finished.get(rt, 0), counts[rt])
                 for rt in sorted(counts, key=lambda rt: (rt is None, rt or "")))


def compute(conn: Connection, survey: SurveyInfo, scope: Scope) -> Results:
    rows = responses(conn, survey.id, scope)
    ordered = sorted(rows, key=lambda r: r.updated_at, reverse=True)  # newest first, for text answers
    questions = tuple(_question_result(n, q, [r.answers for r in ordered if q.id in (r.answers or {})])
                      for n, q in enumerate(survey.questions, 1))
    completed = sum(r.completed_at is not None for r in rows)
    return Results(survey, scope.everything, tuple(sorted(scope.rts)), completed, len(rows) - completed,
                   rates(conn, survey, scope), questions)


def _question_result(n: int, q: Question, answers: list[dict]) -> QuestionResult:
    values = [a[q.id] for a in answers]
    if q.type in ("single", "multi"):
        picked = [v for value in values for v in (value if isinstance(value, list) else [value])]
        bars = tuple(Bar(label, picked.count(oid)) for oid, label in q.options)
        return QuestionResult(n, q, len(values), bars)
    if q.type == "yesno":
        yes = sum(bool(v) for v in values)
        return QuestionResult(n, q, len(values), (Bar("", yes, "survey.yes"), Bar("", len(values) - yes, "survey.no")))
    if q.type in ("scale", "number"):
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        figures = dict(average=sum(numbers) / len(numbers), minimum=min(numbers), maximum=max(numbers)) if numbers else {}
        bars = tuple(Bar(str(s), numbers.count(s)) for s in SCALE) if q.type == "scale" else _number_bars(numbers)
        return QuestionResult(n, q, len(numbers), bars, **figures)
    texts = [str(v).strip() for v in values if str(v).strip()]
    latest = tuple(t if len(t) <= TEXT_CUT else t[: TEXT_CUT - 1].rstrip() + "…" for t in texts[:LATEST_TEXTS])
    return QuestionResult(n, q, len(texts), latest=latest)


def _number_bars(numbers: list[float]) -> tuple[Bar, ...]:
    distinct = sorted(set(numbers))
    if len(distinct) <= DISTINCT_BARS:
        return tuple(Bar(number_text(v), numbers.count(v)) for v in distinct)
    low, high = distinct[0], distinct[-1]
    width = (high - low) / RANGE_BARS
    edges = [low + width * i for i in range(RANGE_BARS + 1)]
    bars = []
    for i in range(RANGE_BARS):
        last = i == RANGE_BARS - 1
        count = sum(edges[i] <= v < edges[i + 1] or (last and v == high) for v in numbers)
        bars.append(Bar(f"{number_text(round(edges[i], 1))}–{number_text(round(edges[i + 1], 1))}", count))
    return tuple(bars)


# -- charts --------------------------------------------------------------------------------
def charted(result: QuestionResult) -> bool:
    """Text questions have no chart; the others do once somebody answered."""
    return bool(result.bars) and result.answered > 0


def draw_question_chart(result: QuestionResult, text: Callable[..., str], path: Path) -> Path:
    """One horizontal bar chart (counts, with percentages) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    labels = [textwrap.shorten(text(b.key) if b.key else b.label, 32, placeholder="…") for b in result.bars]
    counts = [b.count for b in result.bars]
    fig, ax = pyplot.subplots(figsize=(8, 1.6 + 0.5 * len(counts)))
    ax.barh(range(len(counts)), counts, color="#2a7ab0")
    ax.set_yticks(range(len(counts)), labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(counts + [1]) * 1.25)
    for i, count in enumerate(counts):
        ax.text(count, i, f" {count} ({result.percent(count)}%)", va="center")
    title = textwrap.fill(f"{result.n}. {result.question.text}", 60)
    ax.set_title(title + "\n" + text("survey_admin.chart.answered", count=result.answered), fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=90)
    pyplot.close(fig)
    return path
