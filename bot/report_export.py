"""Problem reports as files for the kelurahan and other systems: CSV and XLSX for
spreadsheets, and Open311 GeoReport v2 JSON (the `requests` format) for city
complaint systems. Every status is exported; an RT head's export is limited to their
RT through the same `Scope` the chat uses.

Desk command: `kampung reports export --format csv|xlsx|open311 [--output FILE] [--rt RT]`.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from bot.reports import OPEN, STATUS_WORDS, ticket
from bot.rt_numbers import normalize_rt
from db.reports import Report, ReportPhoto, ReportSupport
from flows.scope import Scope

FORMATS = {"csv": "csv", "xlsx": "xlsx", "open311": "json"}
COLUMNS = ("ticket", "category", "rt", "status", "description", "landmark", "lat", "lon", "people", "photos",
           "photo_urls", "status_note", "created_at", "status_changed_at")
_STATUS_WORD = {code: word for word, code in STATUS_WORDS.items()}


@dataclass(frozen=True)
class ExportRow:
    id: int
    category: str
    rt: str | None
    status: str
    description: str
    landmark: str | None
    lat: float | None
    lon: float | None
    people: int  # the reporter and every supporter
    photo_urls: tuple[str, ...]
    photos: int
    status_note: str | None
    created_at: datetime
    status_changed_at: datetime


_SUPPORTERS = (select(func.count()).where(ReportSupport.report_id == Report.id).correlate(Report)
               .scalar_subquery())
_REPORTS = select(Report, _SUPPORTERS.label("supporters")).order_by(Report.created_at, Report.id)
_PHOTOS = select(ReportPhoto.report_id, ReportPhoto.url).order_by(ReportPhoto.report_id, ReportPhoto.n)


def load_rows(conn: Connection, scope: Scope) -> list[ExportRow]:
    """Every report within `scope`, oldest first."""
    if scope.everything:
        stmt, params = _REPORTS, {}
    elif scope.rts:
        stmt, params = _REPORTS.where(Report.rt.in_(bindparam("rts", expanding=True))), {"rts": sorted(scope.rts)}
    else:
        return []
    rows = conn.execute(stmt, params).all()
    photos: dict[int, list[str]] = {}
    for report_id, url in conn.execute(_PHOTOS):
        photos.setdefault(report_id, []).append(url)
    return [ExportRow(r.id, r.category, r.rt, r.status, r.description, r.landmark, r.lat, r.lon, 1 + r.supporters,
                      tuple(u for u in photos.get(r.id, ()) if u.startswith(("http://", "https://"))),
                      len(photos.get(r.id, ())), r.status_note, r.created_at, r.status_changed_at) for r in rows]


def _table(rows: list[ExportRow], category_name: Callable[[str], str], zone: ZoneInfo) -> list[list]:
    return [[ticket(r.id), category_name(r.category), r.rt or "", _STATUS_WORD[r.status], r.description,
             r.landmark or "", r.lat, r.lon, r.people, r.photos, " ".join(r.photo_urls), r.status_note or "",
             _local(r.created_at, zone), _local(r.status_changed_at, zone)] for r in rows]


def _local(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).isoformat(timespec="seconds")


def write_csv(path: Path, rows: list[ExportRow], category_name: Callable[[str], str], zone: ZoneInfo) -> None:
    # utf-8-sig: Excel on the kelurahan's laptop reads the accents right.
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows([["" if v is None else v for v in row] for row in _table(rows, category_name, zone)])


def write_xlsx(path: Path, rows: list[ExportRow], category_name: Callable[[str], str], zone: ZoneInfo) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "reports"
    sheet.append(COLUMNS)
    for row in _table(rows, category_name, zone):
        sheet.append(row)
    sheet.freeze_panes = "A2"
    book.save(path)


def open311_requests(rows: list[ExportRow], category_name: Callable[[str], str], zone: ZoneInfo) -> list[dict]:
    """GeoReport v2 service requests (GET requests.json), one per report."""
    return [{
        "service_request_id": ticket(r.id),
        "status": "open" if r.status in OPEN else "closed",
        "status_notes": r.status_note,
        "service_name": category_name(r.category),
        "service_code": r.category,
        "description": r.description,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": _local(r.created_at, zone),
        "updated_datetime": _local(r.status_changed_at, zone),
        "expected_datetime": None,
        "address": ", ".join(part for part in (r.landmark, f"RT {r.rt}" if r.rt else None) if part) or None,
        "address_id": None,
        "zipcode": None,
        "lat": r.lat,
        "long": r.lon,
        "media_url": r.photo_urls[0] if r.photo_urls else None,
    } for r in rows]


def write_open311(path: Path, rows: list[ExportRow], category_name: Callable[[str], str], zone: ZoneInfo) -> None:
    path.write_text(json.dumps(open311_requests(rows, category_name, zone), ensure_ascii=False, indent=2),
                    encoding="utf-8")


WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "open311": write_open311}


def export(conn: Connection, scope: Scope, fmt: str, path: Path, category_name: Callable[[str], str],
           timezone: str) -> int:
    """Write the reports within `scope` to `path`; returns how many."""
    rows = load_rows(conn, scope)
    path.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[fmt](path, rows, category_name, ZoneInfo(timezone))
    return len(rows)


def default_path(data_dir: Path, fmt: str, now: datetime, area: str = "") -> Path:
    """DATA_DIR/exports/reports[-<area>]-<time>.<ext>; `area` ("rt04", "all") keeps two
    staff members' files of the same second apart."""
    name = f"reports-{area}" if area else "reports"
    return data_dir / "exports" / f"{name}-{now:%Y%m%d-%H%M%S}.{FORMATS[fmt]}"


# -- desk command ---------------------------------------------------------------------------
def add_cli(reports_subparsers, make_app) -> None:
    p = reports_subparsers.add_parser("export", help="write the reports as CSV, XLSX or Open311 GeoReport v2 JSON")
    p.add_argument("--format", choices=tuple(FORMATS), default="csv")
    p.add_argument("--output", help="file to write (default: DATA_DIR/exports/reports-<time>.<ext>)")
    p.add_argument("--rt", help="only the reports of this RT")
    p.set_defaults(func=lambda args: _export(make_app(args), args))


def _export(app, args) -> int:
    lang = app.settings.default_language
    scope = Scope(True, frozenset())
    if args.rt:
        scope = Scope(False, frozenset({normalize_rt(args.rt) or args.rt.strip()}))
    path = Path(args.output) if args.output else default_path(app.settings.data_dir, args.format, app.clock.now())
    with app.engine.connect() as conn:
        count = export(conn, scope, args.format, path, lambda code: app.catalog.text(lang, f"report.category.{code}"),
                       app.settings.timezone)
    print(app.catalog.text(lang, "triage.export.written", count=count, path=path))
    return 0
