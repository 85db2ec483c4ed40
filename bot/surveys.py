"""The surveys feature: what the survey flow reads (open surveys for a resident, one
survey with their answers), saving answers as they come, and `kampung surveys add
FILE.yaml`, which reads and checks a survey file (see surveys/contoh-survei.yaml).

Publishing (`publish_survey`: the desk command, and the survey_admin flow in chat)
stores the survey and invites its audience: every onboarded resident in it gets a
message saying how to answer, except those who said STOP. `kampung surveys export`
(bot.survey_export) writes the responses as a spreadsheet.

A bad survey file is refused with the path of the field at fault
("questions[2].options", counted from 1) and a catalogue message saying what is wrong.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.events import in_audience
from bot.features import EffectContext, Feature
from bot.notify import Notifier
from bot.residents import load_kampung
from bot.rt_numbers import normalize_rt, normalize_rw
from bot.survey_export import add_admin_cli
from bot.timefmt import format_when
from db.models import Resident
from db.surveys import Survey as SurveyRow
from db.surveys import SurveyResponse
from flows.base import KampungInfo, ResidentInfo, Say, When
from flows.survey import QUESTION_TYPES, Question, SaveSurveyAnswer, Survey, SurveyHead

# A closed survey the resident answered is still mentioned ("closed, thank you") this long.
CLOSED_NOTICE = timedelta(days=30)

# -- reads -------------------------------------------------------------------------------
_MINE = and_(SurveyResponse.survey_id == SurveyRow.id, SurveyResponse.resident_id == bindparam("rid"))
_OPEN = (
    select(SurveyRow.id, SurveyRow.title, SurveyRow.closes_at, SurveyResponse.completed_at)
    .outerjoin(SurveyResponse, _MINE)
    .where(SurveyRow.audience.in_(bindparam("audiences", expanding=True)), SurveyRow.closes_at > bindparam("now"))
    .order_by(SurveyRow.closes_at, SurveyRow.id)
)
_LAST_CLOSED = (
    select(SurveyRow.id, SurveyRow.title, SurveyRow.closes_at, SurveyResponse.completed_at)
    .join(SurveyResponse, _MINE)
    .where(SurveyRow.closes_at <= bindparam("now"), SurveyRow.closes_at > bindparam("since"))
    .order_by(SurveyRow.closes_at.desc())
    .limit(1)
)
_SURVEY = (
    select(SurveyRow.id, SurveyRow.title, SurveyRow.description, SurveyRow.closes_at, SurveyRow.questions,
           SurveyResponse.answers, SurveyResponse.completed_at)
    .outerjoin(SurveyResponse, _MINE)
    .where(SurveyRow.id == bindparam("sid"))
)


def audiences(resident: ResidentInfo) -> list[str]:
    """The audience values that reach this resident."""
    return ["all", "rw", *([f"rt:{resident.rt}"] if resident.rt else []), *(f"paguyuban:{p}" for p in resident.paguyuban)]


class SurveyStore:
    """`ctx.store.surveys`: each read is one Core query, kept for the rest of the turn."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self._conn, self._resident, self._now = conn, resident, now
        self._heads: tuple[SurveyHead, ...] | None = None
        self._surveys: dict[int, Survey | None] = {}

    def open(self) -> tuple[SurveyHead, ...]:
        """Open surveys addressed to this resident, soonest closing first."""
        if self._heads is None:
            rows = self._conn.execute(_OPEN, {"rid": self._resident.id, "audiences": audiences(self._resident),
                                              "now": self._now})
            self._heads = tuple(SurveyHead(r.id, r.title, r.closes_at, r.completed_at is not None) for r in rows)
        return self._heads

    def last_closed(self) -> SurveyHead | None:
        """The survey this resident answered that closed most recently (within CLOSED_NOTICE)."""
        row = self._conn.execute(_LAST_CLOSED, {"rid": self._resident.id, "now": self._now,
                                                "since": self._now - CLOSED_NOTICE}).first()
        return SurveyHead(row.id, row.title, row.closes_at, row.completed_at is not None) if row else None

    def survey(self, survey_id: int) -> Survey | None:
        if survey_id not in self._surveys:
            row = self._conn.execute(_SURVEY, {"sid": survey_id, "rid": self._resident.id}).first()
            self._surveys[survey_id] = Survey(
                row.id, row.title, row.description, row.closes_at, tuple(map(Question.from_json, row.questions)),
                dict(row.answers or {}), row.completed_at is not None,
            ) if row else None
        return self._surveys[survey_id]


# -- effects -----------------------------------------------------------------------------
_RESPONSE = select(SurveyResponse.answers, SurveyResponse.completed_at).where(
    SurveyResponse.survey_id == bindparam("sid"), SurveyResponse.resident_id == bindparam("rid"))
_INSERT_RESPONSE = insert(SurveyResponse)
_UPDATE_RESPONSE = update(SurveyResponse).where(
    SurveyResponse.survey_id == bindparam("sid"), SurveyResponse.resident_id == bindparam("rid"))
_TALLY = select(
    SurveyRow.title, SurveyRow.closes_at,
    select(func.count()).where(SurveyResponse.survey_id == SurveyRow.id, SurveyResponse.completed_at.is_not(None))
    .scalar_subquery().label("answered"),
).where(SurveyRow.id == bindparam("sid"))


def save_answer(ec: EffectContext, effect: SaveSurveyAnswer) -> list[Say] | None:
    """Store one answer; on the answer that completes a response, thank the resident
    and say how many neighbours have answered so far."""
    key = {"sid": effect.survey_id, "rid": ec.resident.id}
    row = ec.conn.execute(_RESPONSE, key).first()
    completes = effect.complete and (row is None or row.completed_at is None)
    if row is None:
        ec.conn.execute(_INSERT_RESPONSE, {
            "survey_id": effect.survey_id, "resident_id": ec.resident.id, "answers": {effect.question_id: effect.value},
            "started_at": ec.now, "updated_at": ec.now, "completed_at": ec.now if completes else None,
        })
    else:
        changes = {"answers": {**row.answers, effect.question_id: effect.value}, "updated_at": ec.now}
        ec.conn.execute(_UPDATE_RESPONSE, {**key, **changes, **({"completed_at": ec.now} if completes else {})})
    if not completes:
        return None
    tally = ec.conn.execute(_TALLY, key).one()
    params = {"title": tally.title, "count": tally.answered, "closes": When(tally.closes_at)}
    return [Say("survey.thanks_first" if tally.answered == 1 else "survey.thanks", params)]


# -- survey files ------------------------------------------------------------------------
TOP_FIELDS = ("title", "description", "audience", "closes", "questions")
QUESTION_FIELDS = {
    "single": ("type", "text", "options"),
    "multi": ("type", "text", "options"),
    "yesno": ("type", "text"),
    "scale": ("type", "text", "low", "high"),
    "number": ("type", "text", "min", "max"),
    "text": ("type", "text"),
}
_WHEN = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]+(\d{1,2})[.:](\d{2})(.*)")


class SurveyFileError(ValueError):
    """What is wrong in a survey file: a catalogue key (survey.file.*) with its params,
    and the path of the field at fault."""

    def __init__(self, key: str, path: str = "", **params: Any):
        super().__init__(key, path, params)
        self.key, self.path, self.params = key, path, params


@dataclass(frozen=True)
class SurveySpec:
    title: str
    description: str
    audience: str
    closes_at: datetime
    questions: tuple[Question, ...]


def read_survey_file(path: str, kampung: KampungInfo, now: datetime, zone: str) -> SurveySpec:
    """Read and check a survey file (YAML); `zone` is the kampung's time zone."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise SurveyFileError("survey.file.unreadable", file=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SurveyFileError("survey.file.not_yaml", line=mark.line + 1 if mark else 1) from None
    return parse_survey(data, kampung, now, zone)


def parse_survey(data: Any, kampung: KampungInfo, now: datetime, zone: str) -> SurveySpec:
    """Check a loaded survey file against the kampung and the time now."""
    if not isinstance(data, dict):
        raise SurveyFileError("survey.file.not_survey")
    _known_fields(data, TOP_FIELDS, "")
    return SurveySpec(
        title=_text(data.get("title"), "title", 200),
        description=_text(data.get("description"), "description", 1000, required=False),
        audience=_audience(data.get("audience"), kampung),
        closes_at=_closing(data.get("closes"), now, zone),
        questions=_questions(data.get("questions")),
    )


def _known_fields(mapping: dict, allowed: tuple[str, ...], base: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise SurveyFileError("survey.file.unknown_field", _join(base, str(key)), known=", ".join(allowed))


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _text(value: Any, path: str, limit: int, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise SurveyFileError("survey.file.missing", path)
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SurveyFileError("survey.file.not_text", path)
    text = str(value).strip()
    if len(text) > limit:
        raise SurveyFileError("survey.file.too_long", path, max=limit)
    return text


def _number(value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SurveyFileError("survey.file.not_number", path)
    return value


def _audience(value: Any, kampung: KampungInfo) -> str:
    """"all" (or "semua"), "rw", "rt:04", "paguyuban:<name>", checked against the kampung."""
    text = _text(value, "audience", 140)
    kind, _, arg = (part.strip() for part in text.partition(":"))
    kind = kind.lower()
    if kind in ("all", "semua") and not arg:
        return "all"
    if kind == "rw":
        if arg and normalize_rw(arg) != kampung.rw:
            raise SurveyFileError("survey.file.wrong_rw", "audience", rw=kampung.rw)
        return "rw"
    if kind == "rt":
        rt = normalize_rt(arg)
        if rt not in kampung.rts:
            raise SurveyFileError("survey.file.unknown_rt", "audience", rt=arg, known=", ".join(kampung.rts) or "-")
        return f"rt:{rt}"
    if kind == "paguyuban":
        name = {p.lower(): p for p in kampung.paguyuban}.get(arg.lower())
        if name is None:
            raise SurveyFileError("survey.file.unknown_paguyuban", "audience", name=arg,
                                  known=", ".join(kampung.paguyuban) or "-")
        return f"paguyuban:{name}"
    raise SurveyFileError("survey.file.bad_audience", "audience", value=text)


def _closing(value: Any, now: datetime, zone: str) -> datetime:
    """"2026-12-05 20:00" (or 20.00) in the kampung's zone, or ISO 8601 with an offset."""
    if value is None:
        raise SurveyFileError("survey.file.missing", "closes")
    if isinstance(value, datetime):
        when = value
    else:
        match = _WHEN.fullmatch(str(value).strip())
        if match is None:
            raise SurveyFileError("survey.file.bad_time", "closes", value=value)
        date, hour, minute, rest = match.groups()
        try:
            when = datetime.fromisoformat(f"{date}T{int(hour):02d}:{minute}{rest}")
        except ValueError:
            raise SurveyFileError("survey.file.bad_time", "closes", value=value) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    when = when.astimezone(timezone.utc)
    if when <= now:
        raise SurveyFileError("survey.file.past_time", "closes", value=value)
    return when


def _questions(value: Any) -> tuple[Question, ...]:
    if value is None:
        raise SurveyFileError("survey.file.missing", "questions")
    if not isinstance(value, list):
        raise SurveyFileError("survey.file.not_list", "questions")
    if not value:
        raise SurveyFileError("survey.file.no_questions", "questions")
    return tuple(_question(item, f"questions[{n}]", f"q{n}") for n, item in enumerate(value, 1))


def _question(item: Any, path: str, question_id: str) -> Question:
    if not isinstance(item, dict):
        raise SurveyFileError("survey.file.not_mapping", path)
    kind = _text(item.get("type"), f"{path}.type", 16).lower()
    if kind not in QUESTION_TYPES:
        raise SurveyFileError("survey.file.bad_type", f"{path}.type", value=kind, types=", ".join(QUESTION_TYPES))
    _known_fields(item, QUESTION_FIELDS[kind], path)
    text = _text(item.get("text"), f"{path}.text", 300)
    if kind in ("single", "multi"):
        return Question(question_id, kind, text, options=_choices(item.get("options"), f"{path}.options"))
    if kind == "scale":
        low, high = _text(item.get("low"), f"{path}.low", 40, False), _text(item.get("high"), f"{path}.high", 40, False)
        return Question(question_id, kind, text, low=low, high=high)
    if kind == "number":
        low, high = _number(item.get("min"), f"{path}.min"), _number(item.get("max"), f"{path}.max")
        if low is not None and high is not None and low > high:
            raise SurveyFileError("survey.file.min_above_max", f"{path}.min")
        return Question(question_id, kind, text, min=low, max=high)
    return Question(question_id, kind, text)


def _choices(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        raise SurveyFileError("survey.file.missing", path)
    if not isinstance(value, list):
        raise SurveyFileError("survey.file.not_list", path)
    labels = [_text(v, f"{path}[{n}]", 100) for n, v in enumerate(value, 1)]
    if len(labels) < 2:
        raise SurveyFileError("survey.file.few_options", path)
    seen: set[str] = set()
    for n, label in enumerate(labels, 1):
        if label.lower() in seen:
            raise SurveyFileError("survey.file.duplicate_option", f"{path}[{n}]", label=label)
        seen.add(label.lower())
    return tuple((f"opt{n}", label) for n, label in enumerate(labels, 1))


_OPEN_WITH_TITLE = select(SurveyRow.id).where(SurveyRow.title == bindparam("title"), SurveyRow.closes_at > bindparam("now"))


def add_survey(conn: Connection, spec: SurveySpec, now: datetime, created_by: int | None = None) -> int:
    """Store a checked survey; refused while an open survey has the same title (a file
    added twice by mistake)."""
    same = conn.scalar(_OPEN_WITH_TITLE, {"title": spec.title, "now": now})
    if same is not None:
        raise SurveyFileError("survey.file.duplicate_title", "title", title=spec.title, id=same)
    questions = [{k: v for k, v in asdict(q).items() if v not in (None, "", ())} for q in spec.questions]
    return conn.execute(insert(SurveyRow).values(
        title=spec.title, description=spec.description, audience=spec.audience, closes_at=spec.closes_at,
        questions=questions, created_at=now, created_by=created_by,
    )).inserted_primary_key[0]


@dataclass(frozen=True)
class Published:
    survey_id: int
    audience: int  # onboarded residents the survey is for
    invited: int  # of them, those an invitation was written for (not STOP, reachable)


def audience_members(audience: str):
    """Residents a survey with this audience is for: onboarded and in the audience."""
    return select(Resident.id).where(Resident.consent_at.is_not(None), in_audience(audience)).order_by(Resident.id)


def invite(conn: Connection, notifier: Notifier, survey_id: int, now: datetime) -> tuple[int, int]:
    """Invite a stored survey's audience (STOP respected); (audience size, invitations written)."""
    row = conn.execute(select(SurveyRow.title, SurveyRow.audience, SurveyRow.closes_at, SurveyRow.questions)
                       .where(SurveyRow.id == survey_id)).one()
    members = conn.scalars(audience_members(row.audience)).all()
    params = {"title": row.title, "count": len(row.questions), "closes": When(row.closes_at)}
    sent = sum(notifier.notify(conn, rid, "survey_admin.invite", params, now, announcement=True) for rid in members)
    return len(members), sent


def publish_survey(conn: Connection, notifier: Notifier, spec: SurveySpec, now: datetime,
                   created_by: int | None = None) -> Published:
    """Store a checked survey and invite its audience, in the caller's transaction."""
    survey_id = add_survey(conn, spec, now, created_by)
    members, sent = invite(conn, notifier, survey_id, now)
    return Published(survey_id, members, sent)


# -- desk command ------------------------------------------------------------------------
def _cmd_add(args, make_app) -> int:
    app = make_app(args)
    catalog, lang, now = app.catalog, app.settings.default_language, app.clock.now()
    try:
        with app.engine.begin() as conn:
            spec = read_survey_file(args.file, load_kampung(conn), now, app.settings.timezone)
            published = publish_survey(conn, app.core.notifier, spec, now)
            survey_id = published.survey_id
    except SurveyFileError as exc:
        problem = catalog.text(lang, exc.key, path=exc.path, **exc.params)
        print(catalog.text(lang, "survey.cli.refused", file=args.file, problem=problem), file=sys.stderr)
        return 2
    kind, _, arg = spec.audience.partition(":")
    print(catalog.text(
        lang, "survey.cli.added", id=survey_id, title=spec.title, count=len(spec.questions),
        audience=catalog.text(lang, f"survey.audience.{kind}", value=arg),
        closes=format_when(catalog, lang, spec.closes_at, app.settings.timezone),
    ))
    print(catalog.text(lang, "survey_admin.cli.invited", count=published.invited,
                       skipped=published.audience - published.invited))
    return 0


def register_cli(sub: argparse._SubParsersAction, make_app) -> None:
    surveys = sub.add_parser("surveys", help="manage surveys").add_subparsers(dest="action", required=True)
    p = surveys.add_parser("add", help="add a survey from a YAML file (example: surveys/contoh-survei.yaml)")
    p.add_argument("file")
    p.set_defaults(func=lambda args: _cmd_add(args, make_app))
    add_admin_cli(surveys, make_app)


FEATURE = Feature(name="surveys", reads=SurveyStore, effects={SaveSurveyAnswer: save_answer}, cli=register_cli)
