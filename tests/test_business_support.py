"""Helpers shared by the business tests (no tests here): register a business the
short way, and read what was stored."""
from __future__ import annotations

from sqlalchemy import select

from db.businesses import Business

# NIB, PIRT, halal, HAKI: none yet (a food business is asked all four).
NO_LICENCES = ("belum", "belum", "belum", "belum")


def register(resident, name="Keripik Bu Sri", category="makanan", products="keripik tempe, peyek kacang",
             order="pakai", licences=NO_LICENCES, listing="boleh"):
    """Register a business from wherever the resident is; returns the replies to "simpan"."""
    resident.says("usaha saya")
    resident.says("daftar")
    for text in (name, "saya", category, products, order, "lewati", "sama", *licences, listing):
        resident.says(text)
    return resident.says("simpan")


def stored(app) -> list[Business]:
    with app.sessions() as session:
        return list(session.scalars(select(Business).order_by(Business.id)))
