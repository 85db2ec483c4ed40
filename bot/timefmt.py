"""Times as a person reads them: "Sabtu, 28 November 2026 pukul 19.30 WIB".

Stored times are UTC; shown times are in the kampung's zone (Asia/Jakarta by default),
with Babel's day and month names for the resident's language and the catalogue's
sentence around them.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.i18n import Catalog

# Indonesia's three zones by the names people use; other zones show their UTC offset.
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def format_when(catalog: Catalog, lang: str, when: datetime, timezone: str = "Asia/Jakarta") -> str:
    local = when.astimezone(ZoneInfo(timezone))
    zone = ZONE_NAMES.get(timezone) or local.strftime("UTC%z")
    return catalog.text(
        lang, "time.when",
        date=format_date(local, "EEEE, d MMMM y", locale=lang if catalog.has(lang) else "id"),
        time=local.strftime(catalog.text(lang, "time.clock_format")),
        zone=zone,
    )
