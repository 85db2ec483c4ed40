"""The kampung's shape: name, kelurahan, RW, RTs and paguyuban (`kampung init`),
and the demo kampung that makes the embedded default believable out of the box."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.rt_numbers import normalize_rw
from db.models import Kampung, Paguyuban, Resident, Rt


@dataclass
class KampungSpec:
    name: str
    rw: str
    rts: list[str]
    paguyuban: list[str] = field(default_factory=list)
    kelurahan: str = ""
    kecamatan: str = ""
    city: str = ""


DEMO = KampungSpec(
    name="Kampung Home Industri",
    rw="05",
    rts=[f"{n:02d}" for n in range(1, 11)],
    paguyuban=["UMKM RW 05", "PKK RW 05", "Karang Taruna", "Pengajian Al-Ikhlas"],
    kelurahan="Purwoyoso",
    kecamatan="Ngaliyan",
    city="Semarang",
)


def parse_rts(text: str) -> list[str]:
    """'01-10' or '1,2,5' or '01-03,07' -> ['01', '02', ...] (two digits)."""
    numbers: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"(\d{1,3})\s*-\s*(\d{1,3})", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise ValueError(f"RT range {part!r} goes backwards")
            numbers.extend(range(lo, hi + 1))
        elif part.isdigit():
            numbers.append(int(part))
        else:
            raise ValueError(f"cannot read RT {part!r}; use numbers like 01-10 or 1,2,5")
    if not numbers:
        raise ValueError("give at least one RT")
    return [f"{n:02d}" for n in sorted(set(numbers))]


def require_rw(text: str) -> str:
    """The RW number for `kampung init`; unlike the CSV import, a bad one stops it."""
    rw = normalize_rw(text)
    if rw is None:
        raise ValueError(f"RW must be a number, not {text!r}")
    return rw


def apply_spec(session: Session, spec: KampungSpec) -> None:
    """Create or update the kampung. RTs that residents still live in are kept."""
    kampung = session.scalars(select(Kampung).limit(1)).first() or Kampung()
    kampung.name, kampung.rw = spec.name, spec.rw
    kampung.kelurahan, kampung.kecamatan, kampung.city = spec.kelurahan, spec.kecamatan, spec.city
    session.add(kampung)
    existing = {rt.number: rt for rt in session.scalars(select(Rt))}
    for number in spec.rts:
        if number not in existing:
            session.add(Rt(number=number))
    for number, rt in existing.items():
        in_use = session.scalar(select(func.count()).select_from(Resident).where(Resident.rt_id == rt.id))
        if number not in spec.rts and not in_use:
            session.delete(rt)
    known = set(session.scalars(select(Paguyuban.name)))
    for name in spec.paguyuban:
        if name not in known:
            session.add(Paguyuban(name=name))


def ensure_kampung(session: Session) -> None:
    """Seed the demo kampung on an empty database."""
    if session.scalars(select(Kampung).limit(1)).first() is None:
        apply_spec(session, DEMO)
