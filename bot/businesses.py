"""The businesses feature: residents' home businesses, the kampung directory they
consent to appear in, and the licence gap the coordinator needs to see.

- `BusinessView` (`ctx.store.businesses`): the resident's own businesses, and a fuzzy
  search over listed ones (names and products first, categories when nothing else fits);
- effects: save, list/unlist and delete a business the resident owns;
- desk: `kampung businesses gap` (how many lack each licence) and
  `kampung businesses list [--missing LICENCE]` (whom to help with what).
Licence guidance texts live in the catalogue (`business.guide.*`); which licences
apply and which are missing is in `flows.business_draft`.
"""
from __future__ import annotations

import argparse
import re
from datetime import datetime
from functools import cache
from typing import Any, Callable

from rapidfuzz import fuzz
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.features import EffectContext, Feature
from bot.i18n import Catalog
from db.businesses import Business
from db.models import Rt
from flows.base import ResidentInfo
from flows.business_draft import (
    CATEGORIES,
    GAPS,
    DeleteBusiness,
    SaveBusiness,
    SetListing,
    category_key,
    missing_licences,
    needs_food_licences,
)
from handlers.understanding import normalize

# A search word must be this close to a word of a business (rapidfuzz ratio), or one
# must contain the other ("jahit" finds "penjahit"); shorter words must be exact ("es"
# for es teh) or, with 3 letters, start one ("kue" finds "kuenya").
MATCH_CUTOFF = 85
MIN_TERM = 2
SHORT_TERM = 3
MAX_TERMS = 8

_SELECT = (
    select(Business.id, Business.name, Business.owner_name, Business.category, Business.products,
           Business.order_contact, Business.photo_url, Business.photo_content_type, Rt.number.label("rt"),
           Business.nib, Business.pirt, Business.halal, Business.haki, Business.listed_at)
    .outerjoin(Rt, Rt.id == Business.rt_id)
)
_MINE = _SELECT.where(Business.owner_id == bindparam("rid")).order_by(Business.id)
_ONE = _SELECT.where(Business.id == bindparam("bid"), Business.owner_id == bindparam("rid"))
_LISTED = _SELECT.where(Business.listed_at.is_not(None)).order_by(Business.name)
_ALL = _SELECT.order_by(Rt.number, Business.name)
_RT_ID = select(Rt.id).where(Rt.number == bindparam("rt"))


def _record(row) -> dict[str, Any]:
    """A business as flows see it: the draft's keys plus id (JSON-serialisable)."""
    photo = {"url": row.photo_url, "content_type": row.photo_content_type or ""} if row.photo_url else None
    return {
        "id": row.id, "name": row.name, "owner": row.owner_name, "category": row.category,
        "products": row.products, "order": row.order_contact, "photo": photo, "rt": row.rt,
        "nib": row.nib, "pirt": row.pirt, "halal": row.halal, "haki": row.haki, "listed": row.listed_at is not None,
    }


class BusinessView:
    """Read-only, per turn. Nothing is cached: an effect earlier in the turn (list,
    unlist) must show in the prompt that follows it."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self.conn = conn
        self.resident = resident

    def mine(self) -> list[dict[str, Any]]:
        return [_record(row) for row in self.conn.execute(_MINE, {"rid": self.resident.id})]

    def get(self, business_id: int | None) -> dict[str, Any] | None:
        """One of the resident's own businesses (None for anyone else's)."""
        row = self.conn.execute(_ONE, {"bid": business_id, "rid": self.resident.id}).first() if business_id else None
        return _record(row) if row else None

    def search(self, query: str) -> tuple[list[dict[str, Any]], bool]:
        """Listed businesses matching the query, best first; True when they only
        share its category (so the reply can say they are related, not exact)."""
        return rank(query, [_record(row) for row in self.conn.execute(_LISTED)])


def rank(query: str, businesses: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """Businesses whose name or products match a word of the query, most matched
    words first; when none do, those of the category the query names best
    ("makanan", "baju"), flagged as related."""
    terms = [t for t in normalize(query).split() if len(t) >= MIN_TERM][:MAX_TERMS]
    if not terms:
        return [], False
    direct: list[tuple[tuple[int, int], dict]] = []
    for business in businesses:
        words = normalize(f"{business['name']} {business['products']}").split()
        scores = [s for s in (_best(term, words) for term in terms) if s]
        if scores:
            direct.append(((len(scores), sum(scores)), business))
    if direct:
        direct.sort(key=lambda item: (-item[0][0], -item[0][1], item[1]["name"].lower()))
        return [business for _, business in direct], False
    named = {category: max(_best(term, words) for term in terms) for category, words in _category_words().items()}
    top = max(named.values())
    related = [b for b in businesses if top and named.get(b["category"]) == top]
    return related, bool(related)


def _best(term: str, words) -> int:
    return max((_term_score(term, word) for word in words), default=0)


def _term_score(term: str, word: str) -> int:
    if term == word:
        return 100
    if len(term) <= SHORT_TERM:
        return 90 if len(term) == SHORT_TERM and word.startswith(term) else 0
    shorter, longer = sorted((term, word), key=len)
    if len(shorter) > SHORT_TERM and shorter in longer:  # "jahit" / "penjahit" / "jahitan"
        return 95
    score = fuzz.ratio(term, word)  # typos: "kripik" / "keripik"
    return int(score) if score >= MATCH_CUTOFF else 0


@cache
def _category_words() -> dict[str, frozenset[str]]:
    """The one-word names of each category: label parts ("Makanan / minuman") in
    every language and synonyms ("kue", "jahit")."""
    catalog = Catalog()
    words = {}
    for category in CATEGORIES:
        labels = [catalog.text(lang, category_key(category)) for lang in catalog.languages]
        phrases = [part for label in labels for part in re.split(r"[/(),]", label)] + catalog.synonyms("id", category)
        words[category] = frozenset(w for w in map(normalize, phrases) if w and " " not in w and len(w) >= MIN_TERM)
    return words


# -- effects --------------------------------------------------------------------
def save_business(ec: EffectContext, effect: SaveBusiness) -> None:
    draft = effect.draft
    photo = draft.get("photo") or {}
    values = {
        "name": draft["name"], "owner_name": draft["owner"], "category": draft["category"],
        "products": draft["products"], "order_contact": draft["order"],
        "photo_url": photo.get("url"), "photo_content_type": photo.get("content_type"),
        "rt_id": ec.conn.execute(_RT_ID, {"rt": draft["rt"]}).scalar() if draft.get("rt") else None,
        "nib": draft["nib"], "pirt": draft.get("pirt"), "halal": draft.get("halal"), "haki": draft["haki"],
        "updated_at": ec.now,
    }
    if effect.business_id is None:
        values.update(owner_id=ec.resident.id, created_at=ec.now, listed_at=ec.now if draft["listed"] else None)
        ec.conn.execute(insert(Business).values(**values))
        return
    # Consent keeps the time it was first given; withdrawing it clears it.
    values["listed_at"] = func.coalesce(Business.listed_at, ec.now) if draft["listed"] else None
    ec.conn.execute(_own(update(Business), effect.business_id, ec).values(**values))


def set_listing(ec: EffectContext, effect: SetListing) -> None:
    listed_at = func.coalesce(Business.listed_at, ec.now) if effect.listed else None
    ec.conn.execute(_own(update(Business), effect.business_id, ec).values(listed_at=listed_at, updated_at=ec.now))


def delete_business(ec: EffectContext, effect: DeleteBusiness) -> None:
    ec.conn.execute(_own(delete(Business), effect.business_id, ec))


def _own(statement, business_id: int, ec: EffectContext):
    """Only the owner changes a business, whatever id a conversation carries."""
    return statement.where(Business.id == business_id, Business.owner_id == ec.resident.id)


# -- desk ------------------------------------------------------------------------
def register_cli(sub: argparse._SubParsersAction, make_app: Callable) -> None:
    actions = sub.add_parser("businesses", help="home businesses: licence gap and list").add_subparsers(
        dest="action", required=True)
    p = actions.add_parser("gap", help="how many registered businesses still lack each licence")
    p.set_defaults(func=lambda args: cmd_gap(make_app(args)))
    p = actions.add_parser("list", help="every business with the licences it still lacks")
    p.add_argument("--missing", choices=GAPS, help="only businesses lacking this licence")
    p.set_defaults(func=lambda args: cmd_list(make_app(args), args.missing))


def cmd_gap(app) -> int:
    with app.engine.connect() as conn:
        records = [_record(row) for row in conn.execute(_ALL)]
    food = [r for r in records if needs_food_licences(r["category"])]
    counts = {
        "total": len(records), "listed": sum(r["listed"] for r in records),
        "rba": sum(r["nib"] == "rba" for r in records), "nib_none": sum(r["nib"] == "none" for r in records),
        "nib_old": sum(r["nib"] in ("old", "unsure") for r in records),
        "food": len(food), "pirt": sum(bool(r["pirt"]) for r in food), "halal": sum(bool(r["halal"]) for r in food),
        "haki": sum(bool(r["haki"]) for r in records),
    }
    print(app.catalog.text(app.settings.default_language, "business.cli.gap", **counts))
    return 0


def cmd_list(app, missing: str | None) -> int:
    lang, text = app.settings.default_language, app.catalog.text
    with app.engine.connect() as conn:
        records = [_record(row) for row in conn.execute(_ALL)]
    shown = 0
    for r in records:
        gaps = missing_licences(r)
        if missing and missing not in gaps:
            continue
        shown += 1
        gap_names = ", ".join(text(lang, f"business.gap.{g}") for g in gaps) or text(lang, "business.cli.complete")
        print(text(lang, "business.cli.line", id=r["id"], name=r["name"], owner=r["owner"], rt=r["rt"] or "-",
                   category=text(lang, category_key(r["category"])), order=r["order"], missing=gap_names))
    if not shown:
        print(text(lang, "business.cli.none"))
    return 0


FEATURE = Feature(
    name="businesses",
    reads=BusinessView,
    effects={SaveBusiness: save_business, SetListing: set_listing, DeleteBusiness: delete_business},
    cli=register_cli,
)
