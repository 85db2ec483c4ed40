"""handlers/natural_time.py: times as coordinators type them, and `kampung when`."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.cli import main
from bot.i18n import Catalog
from handlers.natural_time import IMPOSSIBLE, NEED_TIME, PAST, UNREADABLE, parse_when

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc)  # Saturday 28 Nov 2026, 14.00 WIB
NOW_ISO = "2026-11-28T14:00:00+07:00"

TIMES = [
    # the examples
    ("besok jam 8 malam", "2026-11-29T20:00:00+07:00"),
    ("Sabtu 19.30", "2026-11-28T19:30:00+07:00"),
    ("tgl 7 des jam 10.00", "2026-12-07T10:00:00+07:00"),
    ("lusa jam 9 pagi", "2026-11-30T09:00:00+07:00"),
    ("4 hari lagi jam 10", "2026-12-02T10:00:00+07:00"),
    ("nanti malam jam 9", "2026-11-28T21:00:00+07:00"),
    ("24/12 jam 16", "2026-12-24T16:00:00+07:00"),
    # numbers in words, half and quarter hours the Indonesian way
    ("jam delapan malam", "2026-11-28T20:00:00+07:00"),
    ("besok setengah delapan", "2026-11-29T07:30:00+07:00"),
    ("besok setengah 8 malam", "2026-11-29T19:30:00+07:00"),
    ("besok jam 7 seperempat", "2026-11-29T07:15:00+07:00"),
    ("besok jam 8 kurang seperempat", "2026-11-29T07:45:00+07:00"),
    ("besok jam tujuh tiga puluh", "2026-11-29T07:30:00+07:00"),
    ("besok jam dua belas siang", "2026-11-29T12:00:00+07:00"),
    ("besok jam 9 lewat 10", "2026-11-29T09:10:00+07:00"),
    # parts of the day and the hour rules
    ("besok jam 1 siang", "2026-11-29T13:00:00+07:00"),
    ("besok jam 4 sore", "2026-11-29T16:00:00+07:00"),
    ("besok jam 10 pagi", "2026-11-29T10:00:00+07:00"),
    ("jam 12 malam", "2026-11-29T00:00:00+07:00"),
    ("sabtu jam 1 malam", "2026-11-29T01:00:00+07:00"),
    ("setengah 12 malam", "2026-11-28T23:30:00+07:00"),
    ("jam 3", "2026-11-28T15:00:00+07:00"),
    ("jam 7", "2026-11-29T07:00:00+07:00"),
    ("jam 20.15", "2026-11-28T20:15:00+07:00"),
    # idioms for days
    ("malam minggu jam 8", "2026-11-28T20:00:00+07:00"),
    ("malam jumat jam 8", "2026-12-03T20:00:00+07:00"),
    ("minggu depan jam 9 pagi", "2026-12-05T09:00:00+07:00"),
    ("senin minggu depan jam 19.00", "2026-11-30T19:00:00+07:00"),
    ("sabtu depan jam 8", "2026-12-05T08:00:00+07:00"),
    ("bulan depan tgl 1 jam 9", "2026-12-01T09:00:00+07:00"),
    ("2 minggu lagi jam 9", "2026-12-12T09:00:00+07:00"),
    ("ba'da isya", "2026-11-28T19:30:00+07:00"),
    ("besok habis maghrib", "2026-11-29T18:15:00+07:00"),
    ("besok subuh", "2026-11-29T05:00:00+07:00"),
    ("Rabu, 2 Desember 2026 pukul 19.30 WIB", "2026-12-02T19:30:00+07:00"),
    ("24-12-2026 jam 9", "2026-12-24T09:00:00+07:00"),
    # chat spelling, typos
    ("bsk jm 8 mlm", "2026-11-29T20:00:00+07:00"),
    ("bsok jam 4 sore2", "2026-11-29T16:00:00+07:00"),
    ("1 agt jam 9", "2027-08-01T09:00:00+07:00"),
    ("tgl 7 nopember jm 10", "2027-11-07T10:00:00+07:00"),
    ("tgl 3 desmber jam 10", "2026-12-03T10:00:00+07:00"),
    ("kurang lebih jam 8 malem", "2026-11-28T20:00:00+07:00"),
    ("besk jam 8 kurang 10 menit", "2026-11-29T07:50:00+07:00"),
    ("jum'at jam 13.00", "2026-12-04T13:00:00+07:00"),
    ("hari minggu jam 7 pagi", "2026-11-29T07:00:00+07:00"),
    # Javanese
    ("sesuk jam wolu bengi", "2026-11-29T20:00:00+07:00"),
    ("mengko bengi jam songo", "2026-11-28T21:00:00+07:00"),
    ("sesuk setengah songo", "2026-11-29T08:30:00+07:00"),
    ("sesuk awan jam 1", "2026-11-29T13:00:00+07:00"),
    ("sesuk isuk jam 7", "2026-11-29T07:00:00+07:00"),
    ("Setu sore jam 4", "2026-11-28T16:00:00+07:00"),
    ("Rebo bakda isya", "2026-12-02T19:30:00+07:00"),
]

REASONS = [
    ("kemarin jam 8 malam", PAST, date(2026, 11, 27)),
    ("tadi pagi jam 7", PAST, date(2026, 11, 28)),
    ("wingi sore jam 4", PAST, date(2026, 11, 27)),
    ("besok", NEED_TIME, date(2026, 11, 29)),
    ("Sabtu", NEED_TIME, date(2026, 11, 28)),
    ("besok pagi", NEED_TIME, date(2026, 11, 29)),
    ("nanti sore", NEED_TIME, date(2026, 11, 28)),
    ("malam minggu", NEED_TIME, date(2026, 11, 28)),
    ("bulan depan tgl 1", NEED_TIME, date(2026, 12, 1)),
    ("tgl 7", NEED_TIME, date(2026, 12, 7)),
    ("hari ini jam 10", PAST, date(2026, 11, 28)),
    ("7 des 2025 jam 10", PAST, date(2025, 12, 7)),
    ("jam 25", IMPOSSIBLE, None),
    ("31 februari jam 10", IMPOSSIBLE, None),
    ("30/2 jam 10", IMPOSSIBLE, None),
    ("besok jam 8.75", IMPOSSIBLE, None),
    ("besok jam 9 sore", IMPOSSIBLE, None),
    ("xyz", UNREADABLE, None),
    ("", UNREADABLE, None),
    ("rumah pak rt", UNREADABLE, None),
    ("besok lusa sabtu", UNREADABLE, None),
    ("habis isya jam 8", UNREADABLE, None),
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_reads_the_time(text, expected):
    result = parse_when(text, NOW)
    assert result.reason is None, f"{text!r}: {result}"
    assert result.at.isoformat() == expected


@pytest.mark.parametrize(("text", "reason", "day"), REASONS)
def test_says_why_not(text, reason, day):
    result = parse_when(text, NOW)
    assert (result.at, result.reason, result.date_only) == (None, reason, day)


def test_weekday_today_moves_a_week_once_its_time_has_passed():
    assert parse_when("sabtu jam 10", NOW).at.isoformat() == "2026-12-05T10:00:00+07:00"


def test_malam_minggu_on_a_sunday_is_next_saturday():
    sunday = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
    assert parse_when("malam minggu jam 8", sunday).at.isoformat() == "2026-12-05T20:00:00+07:00"


def test_the_answer_to_what_time_uses_the_day_already_given():
    first = parse_when("malam minggu", NOW)
    assert first.reason == NEED_TIME
    assert parse_when("jam 8 malam", NOW, day=first.date_only).at.isoformat() == "2026-11-28T20:00:00+07:00"
    assert parse_when("jam 10 pagi", NOW, day=first.date_only).reason == PAST


def test_result_is_aware_and_converts_to_utc():
    at = parse_when("besok jam 8 malam", NOW).at
    assert at.astimezone(timezone.utc) == datetime(2026, 11, 29, 13, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("reason", [PAST, IMPOSSIBLE, UNREADABLE, NEED_TIME])
def test_every_reason_has_a_text_in_each_language(reason):
    catalog = Catalog()
    texts = {lang: catalog.text(lang, f"when.{reason}") for lang in ("id", "en", "jv")}
    assert texts["en"] != texts["id"] and texts["jv"] != texts["id"]


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")


def test_cli_prints_iso_time(cli_env, capsys):
    assert main(["--env-file", "/nonexistent", "when", "besok jam 8 malam", "--now", NOW_ISO]) == 0
    assert capsys.readouterr().out.strip() == "2026-11-29T20:00:00+07:00"


def test_cli_prints_the_reason_and_exits_2(cli_env, capsys):
    assert main(["--env-file", "/nonexistent", "when", "hari ini jam 10", "--now", NOW_ISO]) == 2
    assert capsys.readouterr().out.strip() == Catalog().text("id", "when.past")


def test_cli_refuses_a_now_without_offset(cli_env, capsys):
    assert main(["--env-file", "/nonexistent", "when", "besok jam 8", "--now", "2026-11-28T14:00"]) == 2
    assert capsys.readouterr().out.strip() == Catalog().text("id", "when.cli_bad_now")
