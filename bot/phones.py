"""Phone numbers in one form: E.164 ("+6281234567001").

WhatsApp and SMS senders arrive from Twilio in E.164, and `find_or_create` links a
resident to a channel by exact phone match. People write Indonesian numbers as
0812…, 62812…, +62 812-…, (0812) 3456.7001; anything stored must therefore be
normalised the same way, or an imported resident would never be recognised.
"""
from __future__ import annotations

import re

import phonenumbers

REGION = "ID"
# Digits and the separators people use; letters (vanity numbers, "ext") are refused.
_ALLOWED = re.compile(r"\+?[\d\s\-./()]+")


def normalize_phone(text: str) -> str:
    """Any Indonesian form of a number -> E.164 "+62…". Raises ValueError when the text
    is not a valid number (possible-looking but unassigned numbers included)."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("phone number is empty")
    if not _ALLOWED.fullmatch(raw) or not any(ch.isdigit() for ch in raw):
        raise ValueError(f"{raw!r} is not a phone number")
    try:
        number = phonenumbers.parse(raw, REGION)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
