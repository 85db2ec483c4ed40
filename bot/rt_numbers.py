"""RT and RW numbers as the kampung stores them: two digits ("04").

People write "4", "04", "RT 4", "rt04", "RT. 004"; the CSV import and the role
commands both read them through here so they agree on what names an RT.
"""
from __future__ import annotations

import re

_NUMBERED = {
    "rt": re.compile(r"(?:rt)?\s*[.:\-]?\s*(\d{1,3})", re.IGNORECASE),
    "rw": re.compile(r"(?:rw)?\s*[.:\-]?\s*(\d{1,3})", re.IGNORECASE),
}


def _numbered(text: str, label: str) -> str | None:
    m = _NUMBERED[label].fullmatch((text or "").strip())
    return f"{int(m.group(1)):02d}" if m else None


def normalize_rt(text: str) -> str | None:
    """'4', '04', 'RT 4', 'rt04' -> '04'; None when the text is not an RT number."""
    return _numbered(text, "rt")


def normalize_rw(text: str) -> str | None:
    """'5', '05', 'RW 5' -> '05'; None when the text is not an RW number."""
    return _numbered(text, "rw")
