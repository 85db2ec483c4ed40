"""Numbers as residents type them in survey answers."""
from __future__ import annotations

import pytest

from flows.survey import parse_amount


@pytest.mark.parametrize("text, expected", [
    ("12", 12), ("12 orang", 12), ("ada 3", 3), ("0", 0), ("Rp 50.000", 50000), ("rp50.000,-", 50000),
    ("1.500.000", 1500000), ("50rb", 50000), ("50 ribu", 50000), ("5k", 5000), ("2 jt", 2000000),
    ("1,5 juta", 1500000), ("2,5", 2.5), ("5 kali", 5),
    ("tiga", 3), ("dua belas", 12), ("sebelas", 11), ("dua puluh lima", 25), ("seratus lima puluh ribu", 150000),
    ("dua ribu dua puluh enam", 2026), ("telu", 3), ("sepuluh ewu", 10000), ("rong", None), ("five", 5),
    ("banyak", None), ("", None), ("2 atau 3", None), ("tiga empat", None), ("ribu", None),
])
def test_parse_amount(text, expected):
    assert parse_amount(text) == expected
