"""Survey administration for staff (flow `survey_admin`): the read view of surveys a
staff member may see, with their status and live results, and the effects behind the
flow's choices: publishing a survey made in chat (stored and its audience invited),
the one reminder, closing early, a chart per question and the responses as a file.

Scope is enforced here as well as in the flow (flows.scope): an RT head sees surveys
that reach their RT and only replies from residents of their RT, publishes only to
their RT, reminds only residents of their RT and closes only their RT's own surveys.

Reminders: one per survey and area, "all" (kampung-wide staff) or "rt:NN" (an RT
head). An RT head's reminder is refused once the whole audience was reminded; a
kampung-wide reminder leaves out the RTs whose head already reminded them, so nobody
is reminded twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.features import EffectContext, Feature
from bot.residents import load_kampung
from bot.survey_export import default_path, export
from bot.survey_results import SurveyInfo, charted, compute, draw_question_chart, load_survey, rates, visible
from bot.surveys import SurveyFileError, audience_members, parse_survey, publish_survey
from db.models import Resident, Rt
from db.surveys import Survey, SurveyReminder, SurveyResponse
from flows.base import ResidentInfo, Say, When
from flows.scope import Scope, scope_of
from flows.survey_admin import CloseSurvey, ExportSurvey, RemindSurvey, SendSurveyCharts
from flows.survey_builder import PublishSurvey

LIST_LIMIT = 9


@dataclass(frozen=True)
class SurveyHead:
    id: int
    title: str
    closes_at: datetime
    open: bool
    completed: int  # completed responses within scope


@dataclass(frozen=True)
class SurveyStatus:
    survey: SurveyInfo
    everything: bool
    rts: tuple[str, ...]
    completed: int  # completed responses within scope
    partial: int
    invited: int  # onboarded residents in the audience, within scope
    reminder: tuple[datetime, int] | None  # when the reminder covering this scope went, to how many
    may_close: bool


def _areas(scope: Scope) -> list[str]:
    return ["all"] if scope.everything else [f"rt:{rt}" for rt in sorted(scope.rts)]


def _rt_filter(stmt, scope: Scope):
    return stmt if scope.everything else stmt.where(Rt.number.in_(sorted(scope.rts)))


def _completed(conn: Connection, survey_id: int, scope: Scope) -> tuple[int, int]:
    """(completed, partial) responses from residents within scope."""
    stmt = _rt_filter(select(func.count(), func.count(SurveyResponse.completed_at)).select_from(SurveyResponse)
                      .join(Resident, Resident.id == SurveyResponse.resident_id).outerjoin(Rt, Rt.id == Resident.rt_id)
                      .where(SurveyResponse.survey_id == survey_id), scope)
    total, done = conn.execute(stmt).one()
    return done, total - done


def reminder_for(conn: Connection, survey_id: int, scope: Scope) -> tuple[datetime, int] | None:
    """The reminder that already covers this scope: the kampung-wide one, or for an RT
    head the one for their RT."""
    areas = ["all"] + ([] if scope.everything else _areas(scope))
    row = conn.execute(select(SurveyReminder.sent_at, SurveyReminder.recipients)
                       .where(SurveyReminder.survey_id == survey_id, SurveyReminder.area.in_(areas))
                       .order_by(SurveyReminder.sent_at)).first()
    return (row.sent_at, row.recipients) if row else None


def not_finished(conn: Connection, survey: SurveyInfo, scope: Scope):
    """Residents in scope the survey is for who have not completed it (and, for a
    kampung-wide reminder, are not in an RT whose head already reminded them)."""
    done = select(SurveyResponse.resident_id).where(SurveyResponse.survey_id == survey.id,
                                                    SurveyResponse.completed_at.is_not(None))
    stmt = audience_members(survey.audience).where(Resident.id.not_in(done))
    if scope.everything:
        reminded = [area.removeprefix("rt:") for area in conn.scalars(
            select(SurveyReminder.area).where(SurveyReminder.survey_id == survey.id, SurveyReminder.area != "all"))]
        if reminded:
            stmt = stmt.where(Resident.rt_id.is_(None) | Resident.rt_id.not_in(select(Rt.id).where(Rt.number.in_(reminded))))
        return stmt
    return stmt.where(Resident.rt_id.in_(select(Rt.id).where(Rt.number.in_(sorted(scope.rts)))))


def _may_close(scope: Scope, survey: SurveyInfo) -> bool:
    kind, _, value = survey.audience.partition(":")
    return scope.everything or (kind == "rt" and value in scope.rts)


class SurveyAdminView:
    """`ctx.store.survey_admin`: the surveys this staff member may see, and their figures."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self.conn, self.now, self.scope = conn, now, scope_of(resident)

    def _visible(self, survey_id: int) -> SurveyInfo | None:
        if not self.scope.everything and not self.scope.rts:
            return None
        info = load_survey(self.conn, survey_id)
        return info if info is not None and visible(self.scope, info.audience) else None

    def surveys(self) -> list[SurveyHead]:
        """Open surveys (closing soonest first), then the most recently closed."""
        if not self.scope.everything and not self.scope.rts:
            return []
        rows = self.conn.execute(select(Survey.id, Survey.title, Survey.audience, Survey.closes_at)).all()
        rows.sort(key=lambda r: (0, r.closes_at.timestamp(), r.id) if r.closes_at > self.now
                  else (1, -r.closes_at.timestamp(), -r.id))
        heads = [r for r in rows if visible(self.scope, r.audience)][:LIST_LIMIT]
        return [SurveyHead(r.id, r.title, r.closes_at, r.closes_at > self.now,
                           _completed(self.conn, r.id, self.scope)[0]) for r in heads]

    def get(self, survey_id: int) -> SurveyStatus | None:
        info = self._visible(survey_id)
        if info is None:
            return None
        completed, partial = _completed(self.conn, info.id, self.scope)
        invited = sum(r.invited for r in rates(self.conn, info, self.scope))
        return SurveyStatus(info, self.scope.everything, tuple(sorted(self.scope.rts)), completed, partial, invited,
                            reminder_for(self.conn, info.id, self.scope), _may_close(self.scope, info))

    def results(self, survey_id: int):
        info = self._visible(survey_id)
        return compute(self.conn, info, self.scope) if info else None

    def pending(self, survey_id: int) -> int:
        """How many would get the reminder now (not finished, not STOP)."""
        info = self._visible(survey_id)
        if info is None:
            return 0
        ids = not_finished(self.conn, info, self.scope).where(Resident.opted_out.is_not(True))
        return self.conn.scalar(select(func.count()).select_from(ids.subquery()))

    def open_with_title(self, title: str) -> int | None:
        """The open survey with this title, if any (a second one would be refused)."""
        return self.conn.scalar(select(Survey.id).where(Survey.title == title, Survey.closes_at > self.now))

    def recipients(self, audience: str) -> tuple[int, int]:
        """(residents the audience is for, of them those who did not say STOP)."""
        members = audience_members(audience).subquery()
        total = self.conn.scalar(select(func.count()).select_from(members))
        reachable = self.conn.scalar(select(func.count()).select_from(Resident)
                                     .where(Resident.id.in_(select(members.c.id)), Resident.opted_out.is_not(True)))
        return total, reachable


# -- effects -----------------------------------------------------------------------------------
def _own(ectx: EffectContext, survey_id: int) -> tuple[SurveyInfo, Scope] | tuple[None, Scope]:
    scope = scope_of(ectx.resident)
    info = load_survey(ectx.conn, survey_id) if (scope.everything or scope.rts) else None
    return (info if info is not None and visible(scope, info.audience) else None), scope


def publish(ectx: EffectContext, effect: PublishSurvey) -> list[Say]:
    scope, draft = scope_of(ectx.resident), effect.draft
    audience = draft.get("audience", "")
    kind, _, value = audience.partition(":")
    if not scope.everything and not (kind == "rt" and value in scope.rts):
        return [Say("survey_admin.audience_not_allowed")]
    data = {key: draft.get(key) for key in ("title", "description", "audience", "questions")}
    closes = draft.get("closes")
    data["closes"] = datetime.fromisoformat(closes).astimezone(timezone.utc) if closes else None
    try:
        spec = parse_survey(data, load_kampung(ectx.conn), ectx.now, ectx.settings.timezone)
        published = publish_survey(ectx.conn, ectx.notifier, spec, ectx.now, created_by=ectx.resident.id)
    except SurveyFileError as exc:
        return [Say("survey_admin.publish_refused", {"problem": Say(exc.key, {"path": exc.path, **exc.params})})]
    return [Say("survey_admin.published", {"id": published.survey_id, "title": spec.title, "count": published.invited,
                                           "skipped": published.audience - published.invited,
                                           "closes": When(spec.closes_at)})]


def remind(ectx: EffectContext, effect: RemindSurvey) -> list[Say]:
    info, scope = _own(ectx, effect.survey_id)
    if info is None:
        return [Say("survey_admin.gone")]
    if not info.is_open(ectx.now):
        return [Say("survey_admin.closed_already", {"title": info.title, "closes": When(info.closes_at)})]
    earlier = reminder_for(ectx.conn, info.id, scope)
    if earlier is not None:
        return [Say("survey_admin.remind_once", {"when": When(earlier[0]), "count": earlier[1]})]
    residents = ectx.conn.scalars(not_finished(ectx.conn, info, scope)).all()
    if not residents:
        return [Say("survey_admin.remind_nobody")]
    try:  # the reminder rows first: of two staff pressing "ingatkan" at once, one sends
        with ectx.conn.begin_nested():
            ectx.conn.execute(insert(SurveyReminder), [
                {"survey_id": info.id, "area": area, "sent_by": ectx.resident.id, "sent_at": ectx.now, "recipients": 0}
                for area in _areas(scope)])
    except IntegrityError:
        earlier = reminder_for(ectx.conn, info.id, scope)
        return [Say("survey_admin.remind_once", {"when": When(earlier[0]), "count": earlier[1]})]
    params = {"title": info.title, "closes": When(info.closes_at)}
    sent = sum(ectx.notifier.notify(ectx.conn, rid, "survey_admin.reminder", params, ectx.now, announcement=True)
               for rid in residents)
    ectx.conn.execute(update(SurveyReminder).where(SurveyReminder.survey_id == info.id,
                                                   SurveyReminder.area.in_(_areas(scope))).values(recipients=sent))
    return [Say("survey_admin.reminded_now", {"count": sent, "skipped": len(residents) - sent})]


def close(ectx: EffectContext, effect: CloseSurvey) -> list[Say]:
    info, scope = _own(ectx, effect.survey_id)
    if info is None or not _may_close(scope, info):
        return [Say("survey_admin.gone")]
    if not info.is_open(ectx.now):
        return [Say("survey_admin.closed_already", {"title": info.title, "closes": When(info.closes_at)})]
    ectx.conn.execute(update(Survey).where(Survey.id == info.id).values(closes_at=ectx.now))
    return [Say("survey_admin.closed_now", {"title": info.title})]


def _text(ectx: EffectContext):
    lang, catalog = ectx.resident.language, ectx.notifier.renderer.catalog
    return lambda key, **params: catalog.text(lang, key, **params)


def _area(scope: Scope) -> str:
    return "all" if scope.everything else "-".join(f"rt{rt}" for rt in sorted(scope.rts))


def send_charts(ectx: EffectContext, effect: SendSurveyCharts) -> list[Say]:
    """A PNG per question with answers, under DATA_DIR/charts (the channels send it from there)."""
    info, scope = _own(ectx, effect.survey_id)
    if info is None:
        return [Say("survey_admin.gone")]
    results = compute(ectx.conn, info, scope)
    folder = Path(ectx.settings.data_dir) / "charts"
    stamp = f"{ectx.now:%Y%m%d-%H%M%S}-{ectx.resident.id}"
    says = []
    for qr in results.questions:
        if charted(qr):
            path = draw_question_chart(qr, _text(ectx), folder / f"survey-{info.id}-q{qr.n}-{stamp}.png")
            says.append(Say("survey_admin.chart_ready", {"n": qr.n, "question": qr.question.text}, document=str(path)))
    if not says:
        return [Say("survey_admin.charts_none")]
    if any(q.type == "text" for q in info.questions):
        says.append(Say("survey_admin.charts_no_text"))
    return says


def export_responses(ectx: EffectContext, effect: ExportSurvey) -> list[Say]:
    info, scope = _own(ectx, effect.survey_id)
    if info is None or effect.format not in ("xlsx", "csv"):
        return [Say("survey_admin.gone")]
    path = default_path(ectx.settings.data_dir, info.id, effect.format, ectx.now, f"{_area(scope)}-{ectx.resident.id}")
    count = export(ectx.conn, info, scope, effect.format, path, _text(ectx), ectx.settings.timezone)
    where = Say("survey_admin.where_all") if scope.everything else \
        Say("survey_admin.where_rts", {"rts": ", ".join(sorted(scope.rts))})
    return [Say("survey_admin.export_ready", {"count": count, "title": info.title, "where": where,
                                              "format": Say(f"survey_admin.format.{effect.format}")},
                document=str(path))]


FEATURE = Feature(
    name="survey_admin",
    reads=SurveyAdminView,
    effects={PublishSurvey: publish, RemindSurvey: remind, CloseSurvey: close, SendSurveyCharts: send_charts,
             ExportSurvey: export_responses},
)
