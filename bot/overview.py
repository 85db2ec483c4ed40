"""The kampung overview for the koordinator: residents per RT, opt-outs, businesses and
their licence gaps, open reports by category and age, survey response rates and event
turnout, as text in chat (the flow `overview`), as a chart image and on the desk
(`kampung overview [--chart FILE]`).

The figures are kampung-wide, so the read view gives them only to kampung-wide staff
(flows.scope), whatever the router allowed. An event's turnout is the residents marked
present (bot.event_admin) over those it was meant for; for an event nobody recorded
attendance at, its "hadir" RSVPs stand in. Cancelled events are left out.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from bot.events import in_audience
from bot.features import EffectContext, Feature
from bot.i18n import Catalog
from bot.render import Renderer
from bot.reports import OPEN
from db.businesses import Business
from db.events import Event, EventAttendance, EventRsvp
from db.models import Resident, Rt
from db.reports import Report
from db.surveys import Survey, SurveyResponse
from flows.base import ResidentInfo, Say
from flows.business_draft import FOOD_CATEGORIES, category_key
from flows.overview import SendOverviewChart, summary_say
from flows.scope import scope_of
from handlers.lexicon import Lexicons

# How many of the latest surveys and past events the overview lists (kept small: the
# whole overview is one WhatsApp message, which Twilio caps at 1600 characters).
RECENT = 3
# Open-report age buckets, in days: under a week, under a month, older.
AGE_LIMITS = (7, 30)


@dataclass(frozen=True)
class Rate:
    """One survey or event: how many of the residents it was for took part."""

    title: str
    done: int
    invited: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.invited) if self.invited else 0


@dataclass(frozen=True)
class Figures:
    residents_by_rt: tuple[tuple[str | None, int], ...]
    opted_out: int
    businesses_by_category: tuple[tuple[str, int], ...]
    without_rba: int
    food: int
    food_without_pirt: int
    food_without_halal: int
    reports_by_category: tuple[tuple[str, int], ...]
    report_ages: tuple[int, int, int]
    surveys: tuple[Rate, ...]
    events: tuple[Rate, ...]

    @property
    def residents(self) -> int:
        return sum(count for _, count in self.residents_by_rt)

    @property
    def businesses(self) -> int:
        return sum(count for _, count in self.businesses_by_category)


_RESIDENTS = (select(Rt.number, func.count(Resident.id), func.sum(case((Resident.opted_out, 1), else_=0)))
              .select_from(Resident).outerjoin(Rt, Rt.id == Resident.rt_id).group_by(Rt.number).order_by(Rt.number))
_FOOD = Business.category.in_(sorted(FOOD_CATEGORIES))
_BUSINESSES = (select(Business.category, func.count(), func.sum(case((Business.nib != "rba", 1), else_=0)),
                      func.sum(case((_FOOD, 1), else_=0)),
                      func.sum(case((_FOOD & Business.pirt.is_not(True), 1), else_=0)),
                      func.sum(case((_FOOD & Business.halal.is_not(True), 1), else_=0)))
               .group_by(Business.category).order_by(Business.category))
_REPORTS = select(Report.category, Report.created_at).where(Report.status.in_(OPEN))
_SURVEYS = (select(Survey.id, Survey.title, Survey.audience,
                   select(func.count()).where(SurveyResponse.survey_id == Survey.id,
                                              SurveyResponse.completed_at.is_not(None))
                   .correlate(Survey).scalar_subquery())
            .order_by(Survey.created_at.desc(), Survey.id.desc()).limit(RECENT))
_EVENTS = (select(Event.id, Event.title, Event.audience,
                  select(func.count()).where(EventRsvp.event_id == Event.id, EventRsvp.answer == "yes")
                  .correlate(Event).scalar_subquery(),
                  select(func.count()).where(EventAttendance.event_id == Event.id).correlate(Event).scalar_subquery())
           .where(Event.cancelled_at.is_(None))
           .order_by(Event.starts_at.desc(), Event.id.desc()).limit(RECENT))


def _invited(conn: Connection, audience: str) -> int:
    return conn.scalar(select(func.count()).select_from(Resident)
                       .where(Resident.consent_at.is_not(None), in_audience(audience)))


def _age_buckets(created: list[datetime], now: datetime) -> tuple[int, int, int]:
    week, month = (now - timedelta(days=days) for days in AGE_LIMITS)
    return (sum(c > week for c in created), sum(month < c <= week for c in created), sum(c <= month for c in created))


def compute(conn: Connection, now: datetime) -> Figures:
    """The whole kampung's figures, from a handful of aggregate queries."""
    residents = conn.execute(_RESIDENTS).all()
    businesses = conn.execute(_BUSINESSES).all()
    reports = conn.execute(_REPORTS).all()
    by_category: dict[str, int] = {}
    for row in reports:
        by_category[row.category] = by_category.get(row.category, 0) + 1
    return Figures(
        residents_by_rt=tuple((rt, count) for rt, count, _ in residents),
        opted_out=sum(out or 0 for _, _, out in residents),
        businesses_by_category=tuple((row[0], row[1]) for row in businesses),
        without_rba=sum(row[2] for row in businesses), food=sum(row[3] for row in businesses),
        food_without_pirt=sum(row[4] for row in businesses), food_without_halal=sum(row[5] for row in businesses),
        reports_by_category=tuple(sorted(by_category.items(), key=lambda item: (-item[1], item[0]))),
        report_ages=_age_buckets([row.created_at for row in reports], now),
        surveys=tuple(Rate(r.title, r[3], _invited(conn, r.audience)) for r in conn.execute(_SURVEYS)),
        events=tuple(Rate(r.title, r[4] or r[3], _invited(conn, r.audience))
                     for r in conn.execute(_EVENTS.where(Event.starts_at <= now))),
    )


class OverviewView:
    """`ctx.store.overview`: the figures, for kampung-wide staff only (None for others)."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self._conn, self._now, self.allowed = conn, now, scope_of(resident).everything

    def figures(self) -> Figures | None:
        return compute(self._conn, self._now) if self.allowed else None


# -- chart --------------------------------------------------------------------------
def draw_chart(figures: Figures, text: Callable[..., str], path: Path) -> Path:
    """Four panels as a PNG; `text(key, **params)` gives the labels in the reader's language."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    fig, axes = pyplot.subplots(2, 2, figsize=(11, 8))
    panels = (
        ("overview.chart.residents",
         [text("overview.chart.rt", rt=rt) if rt else text("overview.chart.no_rt") for rt, _ in figures.residents_by_rt],
         [count for _, count in figures.residents_by_rt]),
        ("overview.chart.businesses", [text(category_key(c)) for c, _ in figures.businesses_by_category],
         [count for _, count in figures.businesses_by_category]),
        ("overview.chart.reports", [text(f"report.category.{c}") for c, _ in figures.reports_by_category],
         [count for _, count in figures.reports_by_category]),
        ("overview.chart.rates", [rate.title[:28] for rate in figures.surveys + figures.events],
         [rate.percent for rate in figures.surveys + figures.events]),
    )
    for ax, (title, labels, values) in zip(axes.flat, panels):
        ax.set_title(text(title))
        if values:
            ax.barh(range(len(values)), values, color="#2a7ab0")
            ax.set_yticks(range(len(values)), labels)
            ax.invert_yaxis()
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.text(0.5, 0.5, text("overview.chart.empty"), ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
    axes[1][1].set_xlim(0, 100)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=90)
    pyplot.close(fig)
    return path


def send_chart(ectx: EffectContext, effect: SendOverviewChart) -> list[Say]:
    """Draw the chart under DATA_DIR/charts (the channels send it from there)."""
    if not scope_of(ectx.resident).everything:
        return [Say("overview.not_allowed")]
    lang, catalog = ectx.resident.language, ectx.notifier.renderer.catalog
    path = Path(ectx.settings.data_dir) / "charts" / f"overview-{ectx.now:%Y%m%d-%H%M%S}-{ectx.resident.id}.png"
    draw_chart(compute(ectx.conn, ectx.now), lambda key, **params: catalog.text(lang, key, **params), path)
    return [Say("overview.chart_ready", document=str(path))]


# -- desk -----------------------------------------------------------------------------
def cmd_overview(app, chart: str | None) -> int:
    lang, catalog = app.settings.default_language, app.catalog
    with app.engine.connect() as conn:
        figures = compute(conn, app.clock.now())
    say = summary_say(figures)
    print(_render(catalog, app.settings.timezone, lang, say))
    if chart:
        draw_chart(figures, lambda key, **params: catalog.text(lang, key, **params), Path(chart))
        print(catalog.text(lang, "overview.cli.chart", path=chart))
    return 0


def _render(catalog: Catalog, zone: str, lang: str, say: Say) -> str:
    return Renderer(catalog, Lexicons(catalog), zone).message("cli", "", lang, say.key, say.params).text


def register_cli(sub: argparse._SubParsersAction, make_app: Callable) -> None:
    p = sub.add_parser("overview", help="the kampung in figures: residents, businesses, reports, participation")
    p.add_argument("--chart", help="also draw the figures as a PNG chart to this file")
    p.set_defaults(func=lambda args: cmd_overview(make_app(args), args.chart))


FEATURE = Feature(name="overview", reads=OverviewView, effects={SendOverviewChart: send_chart}, cli=register_cli)
