"""normalize_phone: every way people write an Indonesian number -> E.164."""
from __future__ import annotations

import pytest

from bot.phones import normalize_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("081234567001", "+6281234567001"),
        ("6281234567001", "+6281234567001"),
        ("+6281234567001", "+6281234567001"),
        ("+62 812-3456-7001", "+6281234567001"),
        ("0812 3456 7001", "+6281234567001"),
        ("0812-3456-7001", "+6281234567001"),
        ("0812.3456.7001", "+6281234567001"),
        ("(0812) 3456 7001", "+6281234567001"),
        ("62 812 3456 7001", "+6281234567001"),
        ("+62 (0)812 3456 7001", "+6281234567001"),
        ("  081234567001  ", "+6281234567001"),
        ("0857 1234 5678", "+6285712345678"),
        ("021-555-1234", "+62215551234"),  # Jakarta landline (SMS-capable lines exist)
    ],
)
def test_forms_become_e164(text, expected):
    assert normalize_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "0812",  # too short
        "08123",  # possible-looking but not a valid number
        "+6281234",
        "0812345670011234",  # too long
        "0000000000",
        "0812-CALL-ME",  # letters are refused
        "081234567001 ext 5",
        "+",
    ],
)
def test_invalid_numbers_raise(text):
    with pytest.raises(ValueError) as exc:
        normalize_phone(text)
    assert str(exc.value)
