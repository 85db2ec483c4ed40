"""Repeating times as coordinators type them: "setiap Jumat jam 16.00", "tiap tanggal 1
jam 08.00", "tiap hari jam 7 pagi", "setiap Senin malam jam 8", "saben Jemuah jam 4
sore", "stiap jumaat jm 4 sore" -> a `Recurrence` (daily, weekly or monthly at a wall-clock
time in the kampung's zone), or a reason it could not be read.

Built on handlers/natural_time.py: its normaliser turns typos, Javanese and numbers in
words into canonical tokens; this module takes out the words that say "every" and the
day (a weekday, "hari", "tanggal N"), and the time of day that is left is read by
`parse_when(..., day=...)`, so "jam 4 sore", "setengah 8 malam", "habis isya" mean here
exactly what they mean for a single time. Pure: no database, no clock.

Rules:
- "setiap"/"tiap"/"saben" (and typos) must be there, or "harian"/"mingguan"/"bulanan";
  without them the text is no repetition (reason NOT_RECURRING: read it as one time).
- A weekday -> weekly; "setiap malam Jumat" is Thursday evening (as natural_time reads
  "malam jumat"); "Minggu" is Sunday. "hari"/"dino" or a part of the day alone
  ("tiap pagi jam 6") -> daily. "tanggal N" / "awal bulan" (= 1) -> monthly; a day
  29-31 falls on the month's last day in shorter months.
- A day but no time -> NEED_TIME; "setiap bulan" / "mingguan" without a day -> NEED_DAY.
- One-off words ("besok", "lusa", a month name) -> UNREADABLE.

The quiet-hours helpers (`in_quiet`, `quiet_end_after`, `quiet_until`) live here too: both a single
time and a repetition are checked against them.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from handlers.natural_time import IMPOSSIBLE, NEED_TIME, PAST, UNREADABLE, WEEKDAYS, _tokens, parse_when

NOT_RECURRING, NEED_DAY = "not_recurring", "need_day"
DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
__all__ = ["Recurrence", "RecurrenceResult", "parse_recurrence", "in_quiet", "quiet_end_after", "quiet_until",
           "NOT_RECURRING", "NEED_DAY", "NEED_TIME", "UNREADABLE", "IMPOSSIBLE", "PAST", "DAILY", "WEEKLY", "MONTHLY"]

MARKERS = {"setiap", "tiap", "stiap", "setiyap", "sttiap", "setiep", "tiep", "saben", "sben", "sabenn", "per"}
PERIOD_WORDS = {"harian": DAILY, "mingguan": WEEKLY, "bulanan": MONTHLY}
ONE_OFF = {"besok", "lusa", "hariini", "nanti", "kemarin", "tadi", "depan", "lagi", "seminggu", "sebulan",
           "januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september", "oktober",
           "november", "desember"}
PARTS = {"subuh", "pagi", "siang", "sore", "malam"}
# Words that only say how often ("sekali", "rutin") and carry nothing else.
NOISE = {"sekali", "rutin", "kali", "pas", "awal"}


@dataclass(frozen=True)
class Recurrence:
    """Every day, every `weekday` (0 = Monday) or every month on `monthday`, at `at`
    on the kampung's wall clock."""

    kind: str
    at: time
    weekday: int | None = None
    monthday: int | None = None

    def spec(self) -> str:
        """A short text for storage: "weekly:4@16:00", "monthly:1@08:00", "daily@07:00"."""
        which = {DAILY: "", WEEKLY: f":{self.weekday}", MONTHLY: f":{self.monthday}"}[self.kind]
        return f"{self.kind}{which}@{self.at.strftime('%H:%M')}"

    @classmethod
    def from_spec(cls, text: str) -> Recurrence:
        head, _, clock = text.partition("@")
        kind, _, number = head.partition(":")
        at = time.fromisoformat(clock)
        if kind == WEEKLY:
            return cls(kind, at, weekday=int(number))
        if kind == MONTHLY:
            return cls(kind, at, monthday=int(number))
        if kind == DAILY:
            return cls(kind, at)
        raise ValueError(f"not a recurrence: {text!r}")

    def at_time(self, at: time) -> Recurrence:
        return Recurrence(self.kind, at, self.weekday, self.monthday)

    def next_after(self, after: datetime, zone: str = "Asia/Jakarta") -> datetime:
        """The first run strictly after `after`, as aware UTC (computed on the wall clock)."""
        tz = ZoneInfo(zone)
        local = after.astimezone(tz)
        day = local.date()
        for _ in range(3):
            candidate = self._on_or_after(day)
            moment = datetime.combine(candidate, self.at, tzinfo=tz)
            if moment > local:
                return moment.astimezone(timezone.utc)
            day = candidate + timedelta(days=1)
        raise AssertionError("unreachable")

    def last_at_or_before(self, moment: datetime, zone: str = "Asia/Jakarta") -> datetime | None:
        """The latest run at or before `moment` within the last 32 days (for missed runs)."""
        start = moment - timedelta(days=32)
        found, at = None, self.next_after(start, zone)
        while at <= moment:
            found, at = at, self.next_after(at, zone)
        return found.astimezone(timezone.utc) if found else None

    def _on_or_after(self, day: date) -> date:
        if self.kind == DAILY:
            return day
        if self.kind == WEEKLY:
            return day + timedelta(days=(self.weekday - day.weekday()) % 7)
        this_month = _month_day(day.year, day.month, self.monthday)
        if this_month >= day:
            return this_month
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return _month_day(year, month, self.monthday)


def _month_day(year: int, month: int, wanted: int) -> date:
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class RecurrenceResult:
    rule: Recurrence | None = None
    reason: str | None = None  # NOT_RECURRING, NEED_DAY, NEED_TIME, UNREADABLE, IMPOSSIBLE


def _is_marker(word: str) -> bool:
    return word in MARKERS or (len(word) >= 5 and word.isalpha() and fuzz.ratio(word, "setiap") >= 80)


def parse_recurrence(text: str, now: datetime, zone: str = "Asia/Jakarta") -> RecurrenceResult:
    """What repetition `text` describes (see the module's rules)."""
    raw = (text or "").lower()
    period = next((kind for word, kind in PERIOD_WORDS.items() if word in raw), None)
    for word in PERIOD_WORDS:
        raw = raw.replace(word, " ")
    words = _tokens(raw)
    marked = [w for w in words if _is_marker(w)]
    if not marked and period is None:
        return RecurrenceResult(reason=NOT_RECURRING)
    words = [w for w in words if not _is_marker(w) and w not in NOISE]
    if any(w in ONE_OFF for w in words):
        return RecurrenceResult(reason=UNREADABLE)

    kind, weekday, monthday = period, None, None
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if word == "malam" and nxt in WEEKDAYS and weekday is None:  # "malam jumat": the evening before
            weekday, kind = (WEEKDAYS[nxt] - 1) % 7, WEEKLY
            rest.append("malam")
            i += 2
            continue
        if word in WEEKDAYS:
            if weekday is not None:
                return RecurrenceResult(reason=UNREADABLE)  # two days: not one repetition
            weekday, kind = WEEKDAYS[word], WEEKLY
        elif word == "tgl":
            if nxt is None or not nxt.isdigit():
                return RecurrenceResult(reason=NEED_DAY)
            monthday, kind = int(nxt), MONTHLY
            if not 1 <= monthday <= 31:
                return RecurrenceResult(reason=IMPOSSIBLE)
            i += 1
        elif word == "bulan":
            kind = kind or MONTHLY
            if "awal" in (text or "").lower() and monthday is None:
                monthday = 1
        elif word == "hari":
            kind = kind or DAILY
        else:
            rest.append(word)
        i += 1
    if kind is None:
        kind = DAILY if any(w in PARTS for w in rest) or rest else None
    if kind is None:
        return RecurrenceResult(reason=NEED_DAY)
    if (kind == WEEKLY and weekday is None) or (kind == MONTHLY and monthday is None):
        return RecurrenceResult(reason=NEED_DAY)

    if not [w for w in rest if w != "jam"]:
        return RecurrenceResult(reason=NEED_TIME)
    anchor = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=14)
    found = parse_when(" ".join(rest), now, zone, day=anchor)
    if found.at is None:
        return RecurrenceResult(reason=found.reason if found.reason in (NEED_TIME, IMPOSSIBLE) else UNREADABLE)
    shift = (found.at.date() - anchor).days  # "jam 1 malam": the early hours of the next day
    if shift not in (0, 1):
        return RecurrenceResult(reason=UNREADABLE)
    at = found.at.time().replace(second=0, microsecond=0)
    if kind == WEEKLY:
        return RecurrenceResult(Recurrence(WEEKLY, at, weekday=(weekday + shift) % 7))
    if kind == MONTHLY:
        if shift and monthday >= 28:
            return RecurrenceResult(reason=UNREADABLE)
        return RecurrenceResult(Recurrence(MONTHLY, at, monthday=monthday + shift))
    return RecurrenceResult(Recurrence(DAILY, at))


# -- quiet hours ------------------------------------------------------------------------
def in_quiet(at: time, window: tuple[time, time] | None) -> bool:
    """Whether a wall-clock time falls inside quiet hours (start inclusive, end exclusive)."""
    if window is None:
        return False
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def moment_in_quiet(at: datetime, window: tuple[time, time] | None, zone: str) -> bool:
    return in_quiet(at.astimezone(ZoneInfo(zone)).time(), window)


def quiet_end_after(at: datetime, window: tuple[time, time], zone: str) -> datetime:
    """When the quiet period that `at` falls in is over (aware UTC): the next `end`
    on the wall clock after `at` ("besok jam 06.00" for 22.00)."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    moment = datetime.combine(local.date(), window[1], tzinfo=tz)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), window[1], tzinfo=tz)
    return moment.astimezone(timezone.utc)


def quiet_until(now: datetime, window: tuple[time, time] | None, zone: str) -> datetime | None:
    """When the quiet period `now` falls in is over (aware UTC); None outside quiet hours."""
    return quiet_end_after(now, window, zone) if moment_in_quiet(now, window, zone) else None


def rule_out_of_quiet(rule: Recurrence, window: tuple[time, time]) -> Recurrence:
    """The suggestion for a repetition inside quiet hours: the end of that quiet period,
    on the next day when the quiet period runs past midnight and the time was before it."""
    start, end = window
    crosses = start > end and rule.at >= start
    if not crosses:
        return rule.at_time(end)
    if rule.kind == WEEKLY:
        return Recurrence(WEEKLY, end, weekday=(rule.weekday + 1) % 7)
    if rule.kind == MONTHLY:
        return Recurrence(MONTHLY, end, monthday=min(rule.monthday + 1, 31))
    return rule.at_time(end)
