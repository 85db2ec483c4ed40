"""What a business registration is made of, shared by the flow and the feature:
categories, which licences apply to which business, what is still missing, how a
contact is shown, and the effects the flow asks for. Pure data and functions.

A draft is a JSON-serialisable dict (it lives in the conversation state):
name, owner, category, products, order, photo ({url, content_type} or None), rt,
nib (none | old | unsure | rba), pirt, halal, haki (bools; pirt/halal only for food),
listed (directory consent).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers

from bot.phones import normalize_phone
from flows.base import Say
from flows.choices import letters

CATEGORIES = (
    "biz_cat_food", "biz_cat_grocery", "biz_cat_home_industry", "biz_cat_service",
    "biz_cat_craft", "biz_cat_fashion", "biz_cat_other",
)
# PIRT (home food production) and halal concern food made at home: asked for these only.
FOOD_CATEGORIES = frozenset({"biz_cat_food", "biz_cat_home_industry"})
# NIB as the resident describes it; only "rba" is the risk-based NIB from OSS.
NIB_STATES = ("none", "old", "unsure", "rba")
# Licence gaps, each with a guidance text `business.guide.<id>` in the catalogue.
GAPS = ("nib", "nib_rba", "pirt", "halal", "haki")
DRAFT_KEYS = ("name", "owner", "category", "products", "order", "photo", "rt", "nib", "pirt", "halal", "haki", "listed")

_DIGITS = re.compile(r"\d")
_PHONE_LIKE = re.compile(r"\+?\d[\d\s\-./()]{6,}\d")


def category_key(category: str) -> str:
    """The catalogue key of a category's label."""
    return "business.category." + category.removeprefix("biz_cat_")


def needs_food_licences(category: str | None) -> bool:
    return category in FOOD_CATEGORIES


def missing_licences(draft: dict[str, Any]) -> list[str]:
    """The licence gaps of a business, in the order they are best tackled (NIB first:
    the other licences are applied for through OSS with it)."""
    missing = []
    nib = draft.get("nib")
    if nib in ("old", "unsure"):
        missing.append("nib_rba")
    elif nib != "rba":
        missing.append("nib")
    if needs_food_licences(draft.get("category")):
        missing += [name for name in ("pirt", "halal") if not draft.get(name)]
    if not draft.get("haki"):
        missing.append("haki")
    return missing


def guidance(draft: dict[str, Any]) -> list[Say]:
    """A short next step for each missing licence, or a word of praise."""
    missing = missing_licences(draft)
    if not missing:
        return [Say("business.guide_complete")]
    return [Say("business.guide_intro", {"count": len(missing)})] + [Say(f"business.guide.{gap}") for gap in missing]


def valid_products(text: str) -> str | None:
    """What is sold: 2-300 characters with at least two letters."""
    products = " ".join(text.split())
    if 2 <= len(products) <= 300 and letters(products) >= 2:
        return products
    return None


def parse_contact(text: str) -> str | None:
    """How to order: a phone number (stored E.164) or a few words ("datang ke rumah,
    gang 3"). Digits that make no valid number are refused, so a typo is caught."""
    text = " ".join(text.split())
    if 3 <= len(text) <= 160 and letters(text) >= 3:
        return text
    number = _PHONE_LIKE.search(text)  # "WA 0812 3456 7001": the number is what counts
    try:
        return normalize_phone(number.group() if number else text)
    except ValueError:
        return None


def display_phone(e164: str) -> str:
    """"+6281234567001" as people write it: "0812-3456-7001"."""
    return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL)


def _is_phone(contact: str) -> bool:
    return contact.startswith("+") and len(_DIGITS.findall(contact)) == len(contact) - 1


def contact_text(contact: str | None) -> str:
    """A contact in running text: a phone number as people write it."""
    if not contact:
        return "-"
    return display_phone(contact) if _is_phone(contact) else contact


def contact_param(contact: str | None) -> Any:
    """A contact on its own line: a phone number also gets a WhatsApp link to tap."""
    if contact and _is_phone(contact):
        return Say("business.order_phone", {"phone": display_phone(contact), "wa": contact[1:]})
    return contact_text(contact)


@dataclass(frozen=True)
class SaveBusiness:
    """Insert a business (business_id None) or update one the resident owns."""

    business_id: int | None
    draft: dict[str, Any]


@dataclass(frozen=True)
class SetListing:
    business_id: int
    listed: bool


@dataclass(frozen=True)
class DeleteBusiness:
    business_id: int
