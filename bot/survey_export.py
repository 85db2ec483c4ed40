"""Survey responses as files: one row per response (resident name, RT, when they
finished in WIB, one column per question) as XLSX or CSV, limited to a staff member's
scope like everything in bot/survey_results.py; and the desk commands
`kampung surveys list` and `kampung surveys export ID --format xlsx|csv [--output FILE] [--rt NN]`.
"""
from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.rt_numbers import normalize_rt
from bot.survey_results import SurveyInfo, load_survey, rates, responses
from bot.timefmt import format_when
from db.models import Rt
from db.surveys import Survey
from flows.scope import Scope
from flows.survey import Question

FORMATS = ("xlsx", "csv")


def _cell(question: Question, value: Any, text: Callable[..., str]) -> Any:
    if value is None:
        return ""
    if question.type == "yesno":
        return text("survey.yes" if value else "survey.no")
    if question.type in ("single", "multi"):
        labels = dict(question.options)
        return "; ".join(labels.get(v, str(v)) for v in (value if isinstance(value, list) else [value]))
    if question.type in ("number", "scale"):
        return int(value) if isinstance(value, (int, float)) and float(value).is_integer() else value
    return str(value)


def table(conn: Connection, survey: SurveyInfo, scope: Scope, text: Callable[..., str], zone: str) -> list[list]:
    """The header row and one row per response: name, RT, completed (WIB), each question."""
    tz = ZoneInfo(zone)
    header = [text("survey_admin.export.name"), text("survey_admin.export.rt"),
              text("survey_admin.export.completed")] + [f"{n}. {q.text}" for n, q in enumerate(survey.questions, 1)]
    rows = [header]
    for r in responses(conn, survey.id, scope):
        answers = r.answers or {}
        done = r.completed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if r.completed_at else ""
        rows.append([r.name or "", r.rt or "", done] + [_cell(q, answers.get(q.id), text) for q in survey.questions])
    return rows


def write(rows: list[list], fmt: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        # utf-8-sig: Excel on the kelurahan's laptop reads the accents right.
        with path.open("w", newline="", encoding="utf-8-sig") as fh:
            csv.writer(fh).writerows(rows)
        return
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "survei"
    for row in rows:
        sheet.append([None if value == "" else value for value in row])
    sheet.freeze_panes = "A2"
    book.save(path)


def export(conn: Connection, survey: SurveyInfo, scope: Scope, fmt: str, path: Path, text: Callable[..., str],
           zone: str) -> int:
    """Write the responses within scope to `path`; returns how many."""
    rows = table(conn, survey, scope, text, zone)
    write(rows, fmt, path)
    return len(rows) - 1


def default_path(data_dir: Path, survey_id: int, fmt: str, now: datetime, area: str = "") -> Path:
    """DATA_DIR/exports/survey-<id>[-<area>]-<time>.<ext>."""
    name = f"survey-{survey_id}-{area}" if area else f"survey-{survey_id}"
    return Path(data_dir) / "exports" / f"{name}-{now:%Y%m%d-%H%M%S}.{fmt}"


# -- desk command ---------------------------------------------------------------------------
def add_admin_cli(surveys_subparsers, make_app) -> None:
    """`kampung surveys list` and `kampung surveys export`."""
    p = surveys_subparsers.add_parser("list", help="every survey with its number, audience and response rate")
    p.set_defaults(func=lambda args: _cmd_list(make_app(args)))
    p = surveys_subparsers.add_parser("export", help="write a survey's responses as XLSX or CSV")
    p.add_argument("id", type=int, help="the survey number")
    p.add_argument("--format", choices=FORMATS, default="xlsx")
    p.add_argument("--output", help="file to write (default: DATA_DIR/exports/survey-<id>-<time>.<ext>)")
    p.add_argument("--rt", help="only the responses of residents of this RT")
    p.set_defaults(func=lambda args: _cmd_export(make_app(args), args))


def _cmd_list(app) -> int:
    lang, catalog, zone, now = app.settings.default_language, app.catalog, app.settings.timezone, app.clock.now()
    everything = Scope(True, frozenset())
    with app.engine.connect() as conn:
        ids = conn.scalars(select(Survey.id).order_by(Survey.id)).all()
        if not ids:
            print(catalog.text(lang, "survey_admin.cli.none"))
        for survey_id in ids:
            survey = load_survey(conn, survey_id)
            per_rt = rates(conn, survey, everything)
            kind, _, value = survey.audience.partition(":")
            state = "survey_admin.cli.open" if survey.is_open(now) else "survey_admin.cli.closed"
            print(catalog.text(
                lang, "survey_admin.cli.line", id=survey.id, title=survey.title,
                audience=catalog.text(lang, f"survey.audience.{kind}", value=value),
                state=catalog.text(lang, state, closes=format_when(catalog, lang, survey.closes_at, zone)),
                done=sum(r.done for r in per_rt), invited=sum(r.invited for r in per_rt)))
    return 0


def _cmd_export(app, args) -> int:
    lang, catalog = app.settings.default_language, app.catalog
    scope = Scope(True, frozenset())
    with app.engine.connect() as conn:
        survey = load_survey(conn, args.id)
        if survey is None:
            print(catalog.text(lang, "survey_admin.cli.unknown_survey", id=args.id), file=sys.stderr)
            return 2
        if args.rt:
            rt = normalize_rt(args.rt)
            if rt is None or conn.scalar(select(Rt.id).where(Rt.number == rt)) is None:
                print(catalog.text(lang, "survey_admin.cli.unknown_rt", rt=args.rt), file=sys.stderr)
                return 2
            scope = Scope(False, frozenset({rt}))
        area = "" if scope.everything else f"rt{next(iter(scope.rts))}"
        path = Path(args.output) if args.output else default_path(app.settings.data_dir, survey.id, args.format,
                                                                   app.clock.now(), area)
        try:
            count = export(conn, survey, scope, args.format, path, lambda key, **p: catalog.text(lang, key, **p),
                           app.settings.timezone)
        except OSError as exc:
            print(catalog.text(lang, "cli.error", reason=str(exc)), file=sys.stderr)
            return 1
    print(catalog.text(lang, "survey_admin.cli.exported", count=count, title=survey.title, path=path))
    return 0
