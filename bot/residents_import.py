"""`kampung residents import`: residents from a CSV the RT/RW already keeps.

    phone,name,rt,rw,paguyuban
    0812 3456 7001,Siti Rahayu,4,05,PKK RW 05;UMKM RW 05

Columns may come in any order and any case; `rw` and `paguyuban` are optional.
Every row is checked on its own: a bad row is reported with its line number (the
header is line 1) and skipped, good rows are stored in the caller's transaction.
Residents are matched by phone (E.164), so importing the same file twice updates
rather than duplicates, and an imported resident is recognised the first time they
write on WhatsApp or SMS (`bot.residents.create_identity` links by phone). With consent
collected on paper (the opt-in WhatsApp requires before business-initiated messages;
the RT head must have collected it), they are reachable from the moment of import:
announcements and invitations go to their phone on the installation's phone channels
(bot.notify).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.phones import normalize_phone
from bot.rt_numbers import normalize_rt, normalize_rw
from db.models import Kampung, Membership, Paguyuban, Resident, Rt
from flows.choices import valid_name

REQUIRED_COLUMNS = ("phone", "name", "rt")
OPTIONAL_COLUMNS = ("rw", "paguyuban")
_GROUP_SEPARATORS = re.compile(r"[;|]")
_LOOKUP_CHUNK = 500


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    phone: str
    name: str
    rt: Rt
    groups: list[Paguyuban]


def import_residents(session: Session, fh: TextIO, consent_collected: bool, now: datetime) -> ImportReport:
    """Create or update one resident per good row. With `consent_collected` (consent
    given on paper) residents get consent_at=now, consent_source="paper" and skip
    onboarding; otherwise their consent is left as it is."""
    report = ImportReport()
    reader = csv.reader(fh)
    header = next(reader, None)
    columns, problem = _read_header(header)
    if problem:
        report.errors.append((1, problem))
        return report

    checker = _Checker(session)
    rows: list[_Row] = []
    first_line_of: dict[str, int] = {}
    line_end = reader.line_num
    for cells in reader:
        line, line_end = line_end + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) > len(columns):
            report.errors.append((line, f"{len(cells)} fields but the header has {len(columns)}; quote values that contain commas"))
            continue
        values = {col: (cells[i].strip() if i < len(cells) else "") for i, col in enumerate(columns)}
        row, problems = checker.check(line, values)
        if row is not None and row.phone in first_line_of:
            problems.append(f"phone {row.phone} already on line {first_line_of[row.phone]}")
        elif row is not None:
            first_line_of[row.phone] = line
        if problems:
            report.errors.append((line, "; ".join(problems)))
        else:
            rows.append(row)

    existing = _residents_by_phone(session, [r.phone for r in rows])
    for row in rows:
        resident = existing.get(row.phone)
        if resident is None:
            resident = Resident(phone=row.phone, language="id", opted_out=False, created_at=now)
            session.add(resident)
            report.created += 1
        else:
            report.updated += 1
        resident.name, resident.rt = row.name, row.rt
        _set_memberships(resident, row.groups)
        if consent_collected and resident.consent_at is None:
            # Consent already given (on paper or in chat) keeps its original record.
            resident.consent_at, resident.consent_source = now, "paper"
    session.flush()
    return report


def _read_header(header: list[str] | None) -> tuple[list[str], str | None]:
    if not header or not any(c.strip() for c in header):
        return [], "the file is empty; the first line must be the header " + ",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    columns = [c.replace("\ufeff", "").strip().lower() for c in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        return columns, f"header lacks column(s) {', '.join(missing)}; expected " + ",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        return columns, f"header repeats column(s) {', '.join(repeated)}"
    return columns, None


class _Checker:
    """Validates rows against the kampung as it is in the database."""

    def __init__(self, session: Session):
        kampung = session.scalars(select(Kampung).limit(1)).first()
        self.rw = normalize_rw(kampung.rw) if kampung else None
        self.rts = {rt.number: rt for rt in session.scalars(select(Rt))}
        self.groups = {g.name.strip().casefold(): g for g in session.scalars(select(Paguyuban))}

    def check(self, line: int, values: dict[str, str]) -> tuple[_Row | None, list[str]]:
        problems: list[str] = []
        phone = None
        if not values["phone"]:
            problems.append("phone is missing")
        else:
            try:
                phone = normalize_phone(values["phone"])
            except ValueError as exc:
                problems.append(str(exc))

        name = valid_name(values["name"]) if values["name"] else None
        if not values["name"]:
            problems.append("name is missing")
        elif name is None:
            problems.append(f"name {values['name']!r} must be 2-60 characters with letters")

        rt = None
        if not values["rt"]:
            problems.append("RT is missing")
        else:
            rt = self.rts.get(normalize_rt(values["rt"]) or values["rt"])
            if rt is None:
                problems.append(f"RT {values['rt']!r} is not one of this kampung's RTs ({', '.join(sorted(self.rts))})")

        rw = values.get("rw", "")
        if rw and self.rw is not None and normalize_rw(rw) != self.rw:
            problems.append(f"RW {rw!r} is not this kampung's RW ({self.rw})")

        groups: list[Paguyuban] = []
        for wanted in filter(None, (g.strip() for g in _GROUP_SEPARATORS.split(values.get("paguyuban", "")))):
            group = self.groups.get(wanted.casefold())
            if group is None:
                problems.append(f"paguyuban {wanted!r} does not exist")
            elif group not in groups:
                groups.append(group)

        if phone is None:
            return None, problems
        return _Row(line, phone, name or "", rt, groups), problems


def _residents_by_phone(session: Session, phones: list[str]) -> dict[str, Resident]:
    found: dict[str, Resident] = {}
    for i in range(0, len(phones), _LOOKUP_CHUNK):
        chunk = phones[i : i + _LOOKUP_CHUNK]
        query = select(Resident).where(Resident.phone.in_(chunk)).options(selectinload(Resident.memberships))
        found.update({r.phone: r for r in session.scalars(query)})
    return found


def _set_memberships(resident: Resident, groups: list[Paguyuban]) -> None:
    """Replace the resident's memberships with `groups`, keeping the rows that stay."""
    wanted = {g.id for g in groups}
    resident.memberships[:] = [m for m in resident.memberships if m.paguyuban_id in wanted]
    kept = {m.paguyuban_id for m in resident.memberships}
    for group in groups:
        if group.id not in kept:
            resident.memberships.append(Membership(paguyuban=group))
