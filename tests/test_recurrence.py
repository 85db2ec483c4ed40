"""Repeating times as coordinators type them (handlers/recurrence.py), the next runs on
the wall clock, and the quiet-hours helpers."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from handlers.recurrence import (IMPOSSIBLE, NEED_DAY, NEED_TIME, NOT_RECURRING, UNREADABLE, Recurrence, in_quiet,
                                 parse_recurrence, quiet_end_after, rule_out_of_quiet)

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)  # Sunday 22 Nov 2026, 10.00 WIB
WIB = timezone(timedelta(hours=7))
QUIET = (time(21, 0), time(6, 0))

READ = [
    ("setiap Jumat jam 16.00", "weekly:4@16:00"),
    ("tiap tanggal 1 jam 08.00", "monthly:1@08:00"),
    ("tiap hari jam 7 pagi", "daily@07:00"),
    ("setiap Senin malam jam 8", "weekly:0@20:00"),
    ("saben Jemuah jam 4 sore", "weekly:4@16:00"),  # Javanese
    ("saben dino jam pitu esuk", "daily@07:00"),
    ("tiap tgl siji jam wolu", "monthly:1@08:00"),
    ("stiap jumaat jm 4 sore", "weekly:4@16:00"),  # typos
    ("setiyap rabu jm 3 sore", "weekly:2@15:00"),
    ("setiap malam jumat jam 8", "weekly:3@20:00"),  # malam Jumat = Thursday evening
    ("setiap minggu pagi jam 7", "weekly:6@07:00"),
    ("tiap awal bulan jam 9", "monthly:1@09:00"),
    ("saben tanggal 15 jam 10", "monthly:15@10:00"),
    ("tiap pagi jam 6", "daily@06:00"),
    ("setiap hari habis isya", "daily@19:30"),
    ("tiap2 sabtu setengah 8 malam", "weekly:5@19:30"),
    ("setiap kamis jm 7 mlm", "weekly:3@19:00"),
    ("mingguan tiap rabu jam 9", "weekly:2@09:00"),
    ("tiap tanggal 31 jam 9", "monthly:31@09:00"),
    ("setiap jumat jam 1 malam", "weekly:5@01:00"),  # the early hours after Friday
    ("setiap Selasa pukul 13.30", "weekly:1@13:30"),
]

REFUSED = [
    ("besok jam 8", NOT_RECURRING),
    ("Sabtu 19.30", NOT_RECURRING),
    ("setiap jumat", NEED_TIME),
    ("tiap hari", NEED_TIME),
    ("mingguan", NEED_DAY),
    ("setiap bulan jam 8", NEED_DAY),
    ("tiap tanggal 32 jam 8", IMPOSSIBLE),
    ("tiap jumat jam 25", IMPOSSIBLE),
    ("setiap besok jam 8", UNREADABLE),
    ("setiap selasa jam ngawur", UNREADABLE),
    ("setiap senin dan selasa jam 8", UNREADABLE),
]


@pytest.mark.parametrize("text,spec", READ)
def test_reads(text, spec):
    found = parse_recurrence(text, NOW)
    assert found.reason is None and found.rule.spec() == spec


@pytest.mark.parametrize("text,reason", REFUSED)
def test_refuses_with_a_reason(text, reason):
    found = parse_recurrence(text, NOW)
    assert (found.rule, found.reason) == (None, reason)


def test_the_table_is_big_enough():
    assert len(READ) + len(REFUSED) >= 15


def test_spec_round_trip():
    for _, spec in READ:
        assert Recurrence.from_spec(spec).spec() == spec


def local(dt: datetime) -> str:
    return dt.astimezone(WIB).strftime("%a %Y-%m-%d %H:%M")


def test_next_runs_on_the_wall_clock():
    weekly = Recurrence.from_spec("weekly:4@16:00")
    first = weekly.next_after(NOW)
    assert local(first) == "Fri 2026-11-27 16:00"
    assert local(weekly.next_after(first)) == "Fri 2026-12-04 16:00"
    monthly = Recurrence.from_spec("monthly:1@08:00")
    assert local(monthly.next_after(NOW)) == "Tue 2026-12-01 08:00"
    assert local(monthly.next_after(monthly.next_after(NOW))) == "Fri 2027-01-01 08:00"
    daily = Recurrence.from_spec("daily@07:00")
    assert local(daily.next_after(NOW)) == "Mon 2026-11-23 07:00"
    assert local(Recurrence.from_spec("daily@10:00").next_after(NOW)) == "Mon 2026-11-23 10:00"  # strictly after


def test_day_31_falls_on_the_last_day_of_shorter_months():
    rule = Recurrence.from_spec("monthly:31@09:00")
    runs, at = [], NOW
    for _ in range(4):
        at = rule.next_after(at)
        runs.append(local(at)[4:14])
    assert runs == ["2026-11-30", "2026-12-31", "2027-01-31", "2027-02-28"]


def test_latest_missed_run():
    rule = Recurrence.from_spec("daily@07:00")
    assert local(rule.last_at_or_before(datetime(2026, 11, 26, 0, 30, tzinfo=timezone.utc))) == "Thu 2026-11-26 07:00"


def test_quiet_hours():
    assert in_quiet(time(21, 0), QUIET) and in_quiet(time(23, 59), QUIET) and in_quiet(time(5, 59), QUIET)
    assert not in_quiet(time(6, 0), QUIET) and not in_quiet(time(20, 59), QUIET)
    assert not in_quiet(time(23, 0), None)
    assert in_quiet(time(13, 0), (time(12, 0), time(14, 0)))
    late = datetime(2026, 11, 22, 22, 0, tzinfo=WIB)
    assert local(quiet_end_after(late, QUIET, "Asia/Jakarta")) == "Mon 2026-11-23 06:00"
    early = datetime(2026, 11, 23, 3, 0, tzinfo=WIB)
    assert local(quiet_end_after(early, QUIET, "Asia/Jakarta")) == "Mon 2026-11-23 06:00"


def test_a_repetition_in_quiet_hours_moves_to_the_end_of_the_quiet_period():
    assert rule_out_of_quiet(Recurrence.from_spec("weekly:4@22:00"), QUIET).spec() == "weekly:5@06:00"
    assert rule_out_of_quiet(Recurrence.from_spec("weekly:4@03:00"), QUIET).spec() == "weekly:4@06:00"
    assert rule_out_of_quiet(Recurrence.from_spec("daily@23:00"), QUIET).spec() == "daily@06:00"
    assert rule_out_of_quiet(Recurrence.from_spec("monthly:1@21:30"), QUIET).spec() == "monthly:2@06:00"
