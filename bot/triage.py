"""Report triage for staff: the open reports a staff member may act on, status changes
(through bot.reports.change_status, which tells reporter and supporters) and merging a
duplicate into the report that is kept, and the reports as a file sent in chat.

Scope is enforced here as well as in the flow: a ketua RT's queries only ever reach
reports of their own RT, whatever report id a message names.

A merge closes the duplicate the way the lifecycle closes any report it will not act on
(status rejected) with the note "digabung ke LPR-…"; its reporter and supporters become
supporters of the kept report and are told so in their language.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from bot.features import EffectContext, Feature
from bot.report_export import default_path, export
from bot.reports import OPEN, StatusError, change_status, ticket
from db.reports import Report, ReportPhoto, ReportSupport
from flows.base import ResidentInfo, Say
from flows.report import category_say
from flows.scope import Scope, scope_of
from flows.triage import ChangeReportStatus, ExportReports, MergeReports

LIST_LIMIT = 9
# Notes stored on a report are in the kampung's reference language, as staff type them.
NOTE_LANGUAGE = "id"


@dataclass(frozen=True)
class OpenReport:
    id: int
    ticket: str
    category: str
    rt: str | None
    description: str
    landmark: str | None
    lat: float | None
    lon: float | None
    status: str
    created_at: datetime
    photos: int
    supporters: int
    # The first photo as the channel linked it, when that link is http(s) (WhatsApp
    # media can be sent on; a Telegram file id cannot).
    photo_url: str | None


_PHOTOS = (select(func.count()).where(ReportPhoto.report_id == Report.id).correlate(Report).scalar_subquery())
_SUPPORTERS = (select(func.count()).where(ReportSupport.report_id == Report.id).correlate(Report)
               .scalar_subquery())
_PHOTO_URL = (select(ReportPhoto.url).where(ReportPhoto.report_id == Report.id,
                                             or_(ReportPhoto.url.startswith("https://"),
                                                 ReportPhoto.url.startswith("http://")))
              .order_by(ReportPhoto.n).limit(1).correlate(Report).scalar_subquery())
_OPEN = (select(Report.id, Report.category, Report.rt, Report.description, Report.landmark, Report.lat, Report.lon,
                Report.status, Report.created_at, _PHOTOS.label("photos"), _SUPPORTERS.label("supporters"),
                _PHOTO_URL.label("photo_url"))
         .where(Report.status.in_(OPEN)).order_by(Report.created_at, Report.id))
_IN_RTS = Report.rt.in_(bindparam("rts", expanding=True))
_LIST_ALL = _OPEN.limit(LIST_LIMIT)
_LIST_RTS = _OPEN.where(_IN_RTS).limit(LIST_LIMIT)
_ONE_ALL = _OPEN.where(Report.id == bindparam("id"))
_ONE_RTS = _OPEN.where(Report.id == bindparam("id"), _IN_RTS)


def _open_reports(conn: Connection, scope: Scope, report_id: int | None = None) -> list[OpenReport]:
    """Open reports within `scope`, oldest first (one, when `report_id` is given)."""
    if not scope.everything and not scope.rts:
        return []
    params: dict = {} if scope.everything else {"rts": sorted(scope.rts)}
    if report_id is None:
        stmt = _LIST_ALL if scope.everything else _LIST_RTS
    else:
        stmt, params["id"] = (_ONE_ALL if scope.everything else _ONE_RTS), report_id
    return [OpenReport(r.id, ticket(r.id), r.category, r.rt, r.description, r.landmark, r.lat, r.lon, r.status,
                       r.created_at, r.photos, r.supporters, r.photo_url) for r in conn.execute(stmt, params)]


class TriageView:
    """`ctx.store.triage`: the open reports this staff member may act on."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self.conn, self.scope = conn, scope_of(resident)

    def open_reports(self) -> list[OpenReport]:
        return _open_reports(self.conn, self.scope)

    def get(self, report_id: int) -> OpenReport | None:
        found = _open_reports(self.conn, self.scope, report_id)
        return found[0] if found else None


# -- effects ------------------------------------------------------------------------------
def change_report_status(ectx: EffectContext, effect: ChangeReportStatus) -> list[Say]:
    if not _open_reports(ectx.conn, scope_of(ectx.resident), effect.report_id):
        return [Say("triage.gone", {"ticket": ticket(effect.report_id)})]
    try:
        told = change_status(ectx.conn, ectx.notifier, effect.report_id, effect.status, effect.note, ectx.now)
    except StatusError:
        return [Say("triage.gone", {"ticket": ticket(effect.report_id)})]
    return [Say("triage.status_changed", {"ticket": ticket(effect.report_id),
                                          "status": Say(f"report.status.{effect.status}"), "count": told})]


_PEOPLE = select(Report.resident_id).where(Report.id == bindparam("id"))
_SUPPORTER_IDS = select(ReportSupport.resident_id).where(ReportSupport.report_id == bindparam("id"))
_INSERT_SUPPORT = insert(ReportSupport)


def merge_reports(ectx: EffectContext, effect: MergeReports) -> list[Say]:
    conn, scope = ectx.conn, scope_of(ectx.resident)
    dup_id, keep_id = effect.duplicate_id, effect.keep_id
    for report_id in (dup_id, keep_id):
        if not _open_reports(conn, scope, report_id):
            return [Say("triage.gone", {"ticket": ticket(report_id)})]
    if dup_id == keep_id:
        return [Say("triage.gone", {"ticket": ticket(dup_id)})]
    dup_people = [p for p in dict.fromkeys([conn.scalar(_PEOPLE, {"id": dup_id}),
                                            *conn.scalars(_SUPPORTER_IDS, {"id": dup_id})]) if p is not None]
    already = {conn.scalar(_PEOPLE, {"id": keep_id}), *conn.scalars(_SUPPORTER_IDS, {"id": keep_id})}
    moved = [p for p in dup_people if p not in already]
    if moved:
        conn.execute(_INSERT_SUPPORT, [{"report_id": keep_id, "resident_id": p, "created_at": ectx.now} for p in moved])
    note = ectx.notifier.renderer.catalog.text(NOTE_LANGUAGE, "triage.merged_note", ticket=ticket(keep_id))
    conn.execute(update(Report).where(Report.id == dup_id)
                 .values(status="rejected", status_note=note, status_changed_at=ectx.now))
    category = conn.scalar(select(Report.category).where(Report.id == keep_id))
    params = {"duplicate": ticket(dup_id), "kept": ticket(keep_id), "category": category_say(category)}
    told = sum(ectx.notifier.notify(conn, p, "triage.merged_notice", params, ectx.now, announcement=False)
               for p in dup_people)
    return [Say("triage.merged", {**params, "count": told})]


def export_reports(ectx: EffectContext, effect: ExportReports) -> list[Say]:
    """Write the file under DATA_DIR/exports (the channels send it from there) with the
    category names in the staff member's language."""
    scope, lang, catalog = scope_of(ectx.resident), ectx.resident.language, ectx.notifier.renderer.catalog
    area = "all" if scope.everything else "-".join(f"rt{rt}" for rt in sorted(scope.rts)) or "none"
    path = default_path(ectx.settings.data_dir, effect.format, ectx.now, area)
    count = export(ectx.conn, scope, effect.format, path, lambda code: catalog.text(lang, f"report.category.{code}"),
                   ectx.settings.timezone)
    where = Say("triage.export_all") if scope.everything else Say("triage.export_rts", {"rts": ", ".join(sorted(scope.rts))})
    return [Say("triage.export_ready", {"count": count, "where": where, "format": Say(f"triage.choice.fmt_{effect.format}")},
                document=str(path))]


FEATURE = Feature(
    name="triage",
    reads=TriageView,
    effects={ChangeReportStatus: change_report_status, MergeReports: merge_reports, ExportReports: export_reports},
)
