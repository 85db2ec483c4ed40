"""The reports feature: what the report flow reads and writes, the status lifecycle
with its notifications, and the desk command `kampung reports set-status`.

    new (baru) --> verified (diverifikasi) --> in_progress (dikerjakan) --> done (selesai)
       +---------------+--------------------------+--> rejected (ditolak, with a reason)

Every change is told to the reporter and every supporter, in their own language, even
after STOP: it answers something they asked for. A new report is told to the head of
its RT (to the koordinator when the RT has no head on the bot), who handles it in the
staff menu's triage.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from bot.features import EffectContext, Feature
from bot.messages import Media
from bot.notify import Notifier
from db.models import RoleGrant, Rt
from db.reports import Report, ReportPhoto, ReportSupport
from flows.base import ResidentInfo, Say
from flows.report import FileReport, SupportReport, category_say

STATUSES = ("new", "verified", "in_progress", "done", "rejected")
OPEN = STATUSES[:3]
NEXT_STATUS = {"new": ("verified", "rejected"), "verified": ("in_progress", "rejected"),
               "in_progress": ("done", "rejected")}
# The lifecycle's names as the desk says them (`set-status LPR-0042 dikerjakan`).
STATUS_WORDS = dict(zip(("baru", "diverifikasi", "dikerjakan", "selesai", "ditolak"), STATUSES))
_WORD = {code: word for word, code in STATUS_WORDS.items()}
SIMILAR_DAYS = 14
SIMILAR_LIMIT = 3
MINE_LIMIT = 10
SNIPPET = 80
_TICKET = re.compile(r"(?:lpr)?[\s#-]*0*(\d{1,9})")


def ticket(report_id: int) -> str:
    return f"LPR-{report_id:04d}"


def parse_ticket(text: str) -> int | None:
    """'LPR-0042', 'lpr42', '42' -> 42."""
    m = _TICKET.fullmatch(text.strip().lower())
    return int(m.group(1)) if m else None


# -- what the flow reads -------------------------------------------------------------
@dataclass(frozen=True)
class Similar:
    id: int
    ticket: str
    text: str
    count: int  # residents behind it: the reporter and every supporter


@dataclass(frozen=True)
class MyReport:
    ticket: str
    category: str
    status: str
    note: str | None
    own: bool  # False: a report the resident supports


_SUPPORTERS = (select(func.count()).where(ReportSupport.report_id == Report.id).correlate(Report)
               .scalar_subquery())
_SIMILAR = (
    select(Report.id, Report.description, _SUPPORTERS.label("supporters"))
    .where(Report.category == bindparam("category"), Report.rt == bindparam("rt"), Report.status.in_(OPEN),
           Report.created_at >= bindparam("since"),
           or_(Report.resident_id.is_(None), Report.resident_id != bindparam("rid")))
    .order_by(Report.created_at.desc()).limit(SIMILAR_LIMIT)
)
_MINE = (
    select(Report.id, Report.category, Report.status, Report.status_note, Report.resident_id)
    .where(or_(Report.resident_id == bindparam("rid"),
               Report.id.in_(select(ReportSupport.report_id).where(ReportSupport.resident_id == bindparam("rid")))))
    .order_by(Report.id.desc()).limit(MINE_LIMIT)
)
_IS_OPEN = select(Report.id).where(Report.id == bindparam("id"), Report.status.in_(OPEN))


class ReportsView:
    """`ctx.store.reports`: read-only, one resident, one turn."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self.conn, self.resident, self.now = conn, resident, now

    def similar(self, category: str, rt: str) -> list[Similar]:
        """Open reports of this kind in this RT from the last 14 days, not the resident's own."""
        rows = self.conn.execute(_SIMILAR, {"category": category, "rt": rt, "rid": self.resident.id,
                                            "since": self.now - timedelta(days=SIMILAR_DAYS)})
        return [Similar(r.id, ticket(r.id), _snippet(r.description), 1 + r.supporters) for r in rows]

    def mine(self) -> list[MyReport]:
        """The resident's reports and those they support, newest first."""
        return [MyReport(ticket(r.id), r.category, r.status, r.status_note, r.resident_id == self.resident.id)
                for r in self.conn.execute(_MINE, {"rid": self.resident.id})]

    def is_open(self, report_id: int) -> bool:
        return self.conn.execute(_IS_OPEN, {"id": report_id}).first() is not None


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET else text[:SNIPPET - 1].rstrip() + "…"


# -- what the flow writes ------------------------------------------------------------
_INSERT_REPORT = insert(Report)
_INSERT_PHOTO = insert(ReportPhoto)
_INSERT_SUPPORT = insert(ReportSupport)
_LAST_PHOTO = select(func.coalesce(func.max(ReportPhoto.n), 0)).where(ReportPhoto.report_id == bindparam("id"))
_SUPPORTED = select(ReportSupport.report_id).where(ReportSupport.report_id == bindparam("id"),
                                                    ReportSupport.resident_id == bindparam("rid"))
_REPORTER = select(Report.resident_id).where(Report.id == bindparam("id"))
_COUNT_SUPPORTERS = select(func.count()).where(ReportSupport.report_id == bindparam("id"))


def file_report(ectx: EffectContext, effect: FileReport) -> list[Say]:
    report_id = ectx.conn.execute(_INSERT_REPORT, {
        "resident_id": ectx.resident.id, "category": effect.category, "rt": effect.rt,
        "description": effect.description, "landmark": effect.landmark, "lat": effect.lat, "lon": effect.lon,
        "status": "new", "status_changed_at": ectx.now, "created_at": ectx.now,
    }).inserted_primary_key[0]
    _add_photos(ectx, report_id, effect.photos)
    _tell_staff(ectx, report_id, effect)
    return [Say("report.saved", {"ticket": ticket(report_id), "category": category_say(effect.category)})]


_RT_HEADS = (select(RoleGrant.resident_id).join(Rt, Rt.id == RoleGrant.rt_id)
             .where(RoleGrant.role == "ketua_rt", Rt.number == bindparam("rt")))
_KOORDINATORS = select(RoleGrant.resident_id).where(RoleGrant.role == "koordinator")


def _tell_staff(ectx: EffectContext, report_id: int, effect: FileReport) -> None:
    """The RT head learns of a new report in their RT at once, not at their next look
    at the triage list. Not an announcement: it is their job, so STOP does not hold it."""
    staff = list(ectx.conn.scalars(_RT_HEADS, {"rt": effect.rt})) if effect.rt else []
    staff = staff or list(ectx.conn.scalars(_KOORDINATORS))
    params = {"ticket": ticket(report_id), "category": category_say(effect.category),
              "where": Say("report.staff_rt", {"rt": effect.rt}) if effect.rt else Say("report.staff_no_rt"),
              "text": _snippet(effect.description)}
    for resident_id in dict.fromkeys(staff):
        if resident_id != ectx.resident.id:
            ectx.notifier.notify(ectx.conn, resident_id, "report.staff_new", params, ectx.now, announcement=False)


def support_report(ectx: EffectContext, effect: SupportReport) -> list[Say]:
    conn, params = ectx.conn, {"id": effect.report_id, "rid": ectx.resident.id}
    if conn.scalar(_REPORTER, params) != ectx.resident.id and conn.execute(_SUPPORTED, params).first() is None:
        conn.execute(_INSERT_SUPPORT, {"report_id": effect.report_id, "resident_id": ectx.resident.id,
                                       "created_at": ectx.now})
    _add_photos(ectx, effect.report_id, effect.photos)
    count = 1 + conn.scalar(_COUNT_SUPPORTERS, params)
    return [Say("report.supported", {"ticket": ticket(effect.report_id), "count": count})]


def _add_photos(ectx: EffectContext, report_id: int, photos: tuple[Media, ...]) -> None:
    """Record the references; bot.media fetches them after the transaction."""
    if not photos:
        return
    last = ectx.conn.scalar(_LAST_PHOTO, {"id": report_id})
    ectx.conn.execute(_INSERT_PHOTO, [
        {"report_id": report_id, "n": last + i, "url": m.url, "content_type": m.content_type[:64],
         "status": "pending", "attempts": 0, "not_before": ectx.now}
        for i, m in enumerate(photos, 1)
    ])


# -- status lifecycle ------------------------------------------------------------------
class StatusError(ValueError):
    """A refused change, as a catalogue key and its placeholders (status codes, which
    the caller names in its own words)."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params


def change_status(conn: Connection, notifier: Notifier, report_id: int, status: str, note: str | None,
                  now: datetime) -> int:
    """Move a report to `status` and tell everyone behind it; returns how many were told."""
    note = " ".join((note or "").split()) or None
    report = conn.execute(select(Report.status, Report.category, Report.resident_id)
                          .where(Report.id == report_id).with_for_update()).first()
    if report is None:
        raise StatusError("report.change.not_found", ticket=ticket(report_id))
    if report.status not in NEXT_STATUS:
        raise StatusError("report.change.closed", ticket=ticket(report_id), current=report.status)
    if status not in NEXT_STATUS[report.status]:
        raise StatusError("report.change.bad_transition", ticket=ticket(report_id), current=report.status,
                          status=status, allowed=NEXT_STATUS[report.status])
    if status == "rejected" and not note:
        raise StatusError("report.change.note_required", ticket=ticket(report_id))
    conn.execute(update(Report).where(Report.id == report_id)
                 .values(status=status, status_note=note, status_changed_at=now))
    supporters = conn.scalars(select(ReportSupport.resident_id).where(ReportSupport.report_id == report_id))
    params = {"ticket": ticket(report_id), "category": category_say(report.category),
              "note": Say("report.update_note", {"note": note}) if note else ""}
    told = 0
    for resident_id in dict.fromkeys([report.resident_id, *supporters]):
        if resident_id is not None:
            told += notifier.notify(conn, resident_id, f"report.update.{status}", params, now, announcement=False)
    return told


# -- desk commands ------------------------------------------------------------------------
def _cli(subparsers, make_app) -> None:
    reports = subparsers.add_parser("reports", help="problem reports").add_subparsers(dest="action", required=True)
    p = reports.add_parser("set-status", help="change a report's status and notify its reporter and supporters")
    p.add_argument("ticket", help="e.g. LPR-0042")
    p.add_argument("status", help="baru, diverifikasi, dikerjakan, selesai, ditolak")
    p.add_argument("--note", help="a note for the residents; the reason, required with ditolak")
    p.set_defaults(func=lambda args: _set_status(make_app(args), args))
    from bot.report_export import add_cli  # here: bot.report_export imports this module

    add_cli(reports, make_app)


def _set_status(app, args) -> int:
    lang = app.settings.default_language
    report_id, status = parse_ticket(args.ticket), STATUS_WORDS.get(args.status.strip().lower())
    try:
        if report_id is None:
            raise StatusError("report.cli.bad_ticket", ticket=args.ticket)
        if status is None:
            raise StatusError("report.cli.bad_status", status=args.status, allowed=", ".join(STATUS_WORDS))
        with app.engine.begin() as conn:
            told = change_status(conn, app.core.notifier, report_id, status, args.note, app.clock.now())
    except StatusError as exc:
        params = {k: ", ".join(_WORD[s] for s in v) if isinstance(v, tuple) else _WORD.get(v, v)
                  for k, v in exc.params.items()}
        print(app.catalog.text(lang, exc.key, **params))
        return 2
    print(app.catalog.text(lang, "report.cli.status_set", ticket=ticket(report_id), status=_WORD[status], count=told))
    return 0


FEATURE = Feature(
    name="reports",
    reads=ReportsView,
    effects={FileReport: file_report, SupportReport: support_report},
    cli=_cli,
)
