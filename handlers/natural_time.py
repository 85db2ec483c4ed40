"""Times as coordinators type them in chat -> an aware datetime in the kampung's zone.

"besok jam 8 malam", "Sabtu 19.30", "tgl 7 des jm 10", "setengah delapan",
"malam minggu", "habis isya", "sesuk jam wolu bengi": a normaliser turns typos,
abbreviations, numbers in words and Javanese into canonical tokens, the day and
the time of day are read from those, and explicit calendar dates ("7 desember",
"24/12") go to dateparser. Pure: no database, no clock; `now` is passed in.

Rules people can rely on (and the tests pin down):
- Hours with a part of day: pagi as said (12 pagi = 12.00); siang 11-12 as said,
  1-6 -> 13-18; sore 1-7 -> 13-19; malam 6-11 -> 18-23, and 12 malam and 1-4 malam
  belong to the end of that night: 00.00-04.00 of the NEXT calendar day.
- A bare hour with no part of day: 1-6 is afternoon/evening (13-18), 7-12 as said
  (07-12); 0 and 13-23 are already 24-hour.
- "setengah H" is half BEFORE the hour (setengah 8 = 07.30), "H seperempat" = H.15,
  "H kurang seperempat" = (H-1).45, "H lewat M" = H.M; the part-of-day rule is applied
  to the hour that is named (setengah 7 malam = 18.30).
- A weekday means today if today is that day and the time is still ahead (or no time
  is given yet), else the next one. "malam <day>" is the evening before that day, the
  way it is said ("malam minggu" = Saturday evening, "malam jumat" = Thursday evening).
- A time with no day is the next time it happens (today if still ahead, else tomorrow).
- A calendar date without a year is the next such date (today included).
- A day with no time -> reason "need_time" and `date_only`; the caller asks for the
  time and parses the answer again with `day=` that date.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser
from rapidfuzz import fuzz, process

PAST, IMPOSSIBLE, UNREADABLE, NEED_TIME = "past", "impossible", "unreadable", "need_time"


@dataclass(frozen=True)
class WhenResult:
    at: datetime | None = None  # aware, in the kampung's zone
    reason: str | None = None  # PAST, IMPOSSIBLE, UNREADABLE or NEED_TIME
    date_only: date | None = None  # the day understood, with NEED_TIME and PAST


WEEKDAYS = {"senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "sabtu": 5, "minggu": 6}
MONTHS = ("januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus",
          "september", "oktober", "november", "desember")
PARTS = ("subuh", "pagi", "siang", "sore", "malam")
# After a prayer ("habis isya", "ba'da maghrib"): the usual start of a kampung meeting.
PRAYERS = {"subuh": time(5, 0), "dzuhur": time(12, 30), "ashar": time(15, 30), "maghrib": time(18, 15), "isya": time(19, 30)}
NUMBERS = {
    "nol": 0, "satu": 1, "siji": 1, "dua": 2, "loro": 2, "tiga": 3, "telu": 3, "empat": 4, "papat": 4,
    "lima": 5, "limo": 5, "enam": 6, "enem": 6, "tujuh": 7, "pitu": 7, "delapan": 8, "wolu": 8,
    "sembilan": 9, "songo": 9, "sanga": 9, "sepuluh": 10, "sewelas": 11, "sebelas": 11, "rolas": 12,
    "puluh": 10, "belas": 10,
}
# Spelling people use in chat (Indonesian, Javanese, abbreviations) -> canonical token.
ALIASES = {
    **{w: "besok" for w in ("besok", "bsk", "bsok", "bsuk", "besuk", "sesuk", "sesok", "mbesuk", "mbesok", "esok", "bso")},
    **{w: "lusa" for w in ("lsa", "lusa")},
    **{w: "kemarin" for w in ("kemarin", "kmrn", "kmarin", "kemaren", "kmren", "wingi", "wingenane")},
    **{w: "tadi" for w in ("tadi", "td")},
    **{w: "nanti" for w in ("nanti", "nnti", "ntar", "nti", "mengko", "engko", "ngko", "entar")},
    **{w: "hariini" for w in ("saiki", "skrg", "sekarang")},
    **{w: "jam" for w in ("jm", "pukul", "pkl", "pk", "jem")},
    **{w: "tgl" for w in ("tgl", "tg", "tanggal", "tangal", "tanggale", "tggl")},
    **{w: "malam" for w in ("mlm", "malem", "mlem", "bengi", "wengi", "bngi")},
    **{w: "pagi" for w in ("pgi", "pg", "isuk", "esuk")},
    **{w: "siang" for w in ("siang", "sing", "siank", "awan", "ciang")},
    **{w: "sore" for w in ("sore", "sor", "sre")},
    **{w: "subuh" for w in ("subuh", "shubuh", "subueh")},
    **{w: "menit" for w in ("menit", "mnt")},
    **{w: "isya" for w in ("isya", "isyak", "isak", "isa", "isyah")},
    **{w: "maghrib" for w in ("magrib", "maghrib", "mahrib", "mgrb", "maghrip")},
    **{w: "dzuhur" for w in ("dzuhur", "zuhur", "duhur", "luhur", "dhuhur")},
    **{w: "ashar" for w in ("ashar", "asar", "ngashar")},
    **{w: "habis" for w in ("habis", "abis", "hbs", "bada", "bakda", "bakdo", "sehabis", "setelah", "stlh", "sesudah", "sakbare", "bar")},
    **{w: "setengah" for w in ("setengah", "stengah", "stgh", "tengah")},
    **{w: "seperempat" for w in ("seperempat", "seprapat", "seprempat", "sprapat")},
    **{w: "kurang" for w in ("kurang", "krg", "kurng")},
    **{w: "lewat" for w in ("lewat", "lwt", "lebih", "lbh", "punjul")},
    **{w: "lagi" for w in ("lagi", "lg", "maneh", "engkas", "kemudian")},
    **{w: "depan" for w in ("depan", "dpn", "ngarep")},
    **{w: "hari" for w in ("hari", "hr", "dino", "dina", "ari")},
    **{w: "minggu" for w in ("minggu", "mggu", "mgg", "ahad", "akad")},
    **{w: "senin" for w in ("senin", "senen", "snin")},
    **{w: "selasa" for w in ("selasa", "seloso", "slasa")},
    **{w: "rabu" for w in ("rabu", "rebo")},
    **{w: "kamis" for w in ("kamis", "kemis")},
    **{w: "jumat" for w in ("jumat", "jumaat", "jemuah", "jumuah", "jum")},
    **{w: "sabtu" for w in ("sabtu", "setu", "sbtu", "saptu")},
    **{w: "bulan" for w in ("bulan", "bln", "sasi", "wulan")},
    **{w: "ini" for w in ("ini", "iki")},
    **{w: w for w in (*MONTHS, "seminggu", "sebulan")},
    **{w: m for m, words in {
        "januari": ("jan", "januari"), "februari": ("feb", "peb", "pebruari", "febuari"),
        "maret": ("mar", "mrt"), "april": ("apr",), "mei": ("mei",), "juni": ("jun",), "juli": ("jul",),
        "agustus": ("agt", "agu", "agus", "agst", "agustus"), "september": ("sep", "sept"),
        "oktober": ("okt", "oct"), "november": ("nov", "nop", "nopember", "novemver"),
        "desember": ("des", "dec", "desembr", "desember"),
    }.items() for w in words},
}
# Words that carry nothing here ("acaranya insyaallah hari sabtu ya").
FILLER = {"ya", "yo", "insyaallah", "insya", "allah", "sekitar", "kira", "sktr", "kurang_lewat",
          "pada", "pd", "di", "ing", "nggih", "nek", "kalau", "acara", "acaranya", "rapat", "mulai", "wib", "tepat",
          "yang", "sing", "tahun", "thn", "pas", "menit"}
VOCABULARY = sorted({*ALIASES, *NUMBERS, *PARTS, *FILLER})
TWO_WORD = {("hari", "ini"): "hariini", ("besok", "lusa"): "lusa", ("kurang", "lewat"): "kurang_lewat"}

_TOKEN = re.compile(r"\d{1,2}[./:]\d{1,2}(?:[./]\d{2,4})?|\d+|[a-z]+2?")  # "sore2": a doubled word
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?$")
# "24-12", "24-12-2026" and "24.12.2026" are dates like "24/12"; "19.30" is a clock.
_OTHER_DATE = re.compile(r"\b(\d{1,2})-(\d{1,2})(?:-(\d{2,4}))?\b|\b(\d{1,2})\.(\d{1,2})\.(\d{2,4})\b")
_CLOCK = re.compile(r"^(\d{1,2})[.:](\d{1,2})$")


def parse_when(text: str, now: datetime, zone: str = "Asia/Jakarta", day: date | None = None) -> WhenResult:
    """What `text` means as a moment after `now`; `day` is the date already agreed
    when the text only gives the time (the answer to a "what time?" question)."""
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    try:
        parsed = _Reader(_tokens(text), local_now.replace(tzinfo=None)).read()
    except _Impossible:
        return WhenResult(reason=IMPOSSIBLE)
    except _Unreadable:
        return WhenResult(reason=UNREADABLE)
    on, clock, next_day = parsed.day or day, parsed.clock, parsed.next_day
    if clock is None:
        return WhenResult(reason=NEED_TIME, date_only=on) if on else WhenResult(reason=UNREADABLE)
    if on is None:  # a time alone: the next time it happens
        on = local_now.date()
        if _moment(on, clock, next_day, tz) <= local_now:
            on += timedelta(days=1)
    elif parsed.weekday_today and _moment(on, clock, next_day, tz) <= local_now:
        on += timedelta(days=7)
    at = _moment(on, clock, next_day, tz)
    return WhenResult(reason=PAST, date_only=on) if at <= local_now else WhenResult(at=at)


def _moment(on: date, clock: timedelta, next_day: bool, tz: ZoneInfo) -> datetime:
    return datetime.combine(on, time(), tzinfo=tz) + clock + timedelta(days=1 if next_day else 0)


def _fits(pattern: str, word: str) -> bool:
    """'#' = a number, 'Y' = a year, 'a|b' = one of these words."""
    if pattern == "#":
        return word.isdigit()
    if pattern == "Y":
        return word.isdigit() and len(word) == 4
    return word in pattern.split("|")


class _Unreadable(Exception):
    pass


class _Impossible(Exception):
    pass


def _tokens(text: str) -> list[str]:
    """Lower-case canonical tokens: aliases resolved, typos fuzzily corrected,
    numbers in words turned to digits, doubled words ("sore2") collapsed."""
    text = text.lower().replace("'", "").replace("\u2019", "").replace("`", "")
    text = _OTHER_DATE.sub(lambda m: "/".join(g for g in m.groups() if g), text)
    words = [_canonical(w[:-1] if w[-1] == "2" and w[0].isalpha() else w) for w in _TOKEN.findall(text)]
    merged: list[str] = []
    for word in words:
        if merged and (merged[-1], word) in TWO_WORD:
            merged[-1] = TWO_WORD[(merged[-1], word)]
        elif not (merged and merged[-1] == word and not word.isdigit()):
            merged.append(word)
    return _numbers([w for w in merged if w not in FILLER])


def _canonical(word: str) -> str:
    if not word.isalpha() or word in PARTS or word in NUMBERS:
        return word
    if word in ALIASES:
        return ALIASES[word]
    if word in FILLER:
        return word
    if len(word) >= 4:
        hit = process.extractOne(word, VOCABULARY, scorer=fuzz.ratio, score_cutoff=80)
        if hit:
            return _canonical(hit[0])
    return word


def _numbers(words: list[str]) -> list[str]:
    """"dua belas" -> 12, "tiga puluh" -> 30, "empat lima" stays two numbers."""
    out: list[str] = []
    for word in words:
        value = NUMBERS.get(word)
        if value is None:
            out.append(word)
        elif word in ("belas", "puluh") and out and out[-1].isdigit() and int(out[-1]) < 10:
            out[-1] = str(int(out[-1]) + 10 if word == "belas" else int(out[-1]) * 10)
        elif word in ("belas", "puluh"):
            out.append(word)
        elif out and out[-1].isdigit() and int(out[-1]) % 10 == 0 and int(out[-1]) >= 20 and value < 10:
            out[-1] = str(int(out[-1]) + value)  # "tiga puluh lima"
        else:
            out.append(str(value))
    return out


@dataclass
class _Parsed:
    day: date | None = None
    clock: timedelta | None = None
    next_day: bool = False  # "jam 12 malam", "jam 1 malam": the end of that night
    weekday_today: bool = False  # a weekday name that fell on today


class _Reader:
    """Consumes the canonical tokens: first the day, then the time of day."""

    def __init__(self, words: list[str], now: datetime):
        self.words, self.now, self.today = words, now, now.date()
        self.part: str | None = None
        self.result = _Parsed()

    def read(self) -> _Parsed:
        if not self.words:
            raise _Unreadable
        self._read_prayer()
        self._read_day()
        self._read_part()
        self._read_clock()
        if self.words:
            raise _Unreadable
        if self.result.clock is None and self.part == "subuh":
            self.result.clock = timedelta(hours=5)
        return self.result

    # --- helpers over the token list
    def _take(self, pattern: list[str]) -> list[str] | None:
        """Remove the first run of tokens matching `pattern` (see _fits) and return it."""
        n = len(pattern)
        for i in range(len(self.words) - n + 1):
            window = self.words[i:i + n]
            if all(_fits(p, w) for p, w in zip(pattern, window)):
                del self.words[i:i + n]
                return window
        return None

    def _set_day(self, day: date) -> None:
        if self.result.day is not None and self.result.day != day:
            raise _Unreadable
        self.result.day = day

    # --- the day
    def _read_day(self) -> None:
        today = self.today
        if self._take(["hariini"]):
            self._set_day(today)
        if self._take(["nanti"]):
            self._set_day(today)
        if self._take(["tadi"]):  # "tadi pagi": earlier today, so never ahead
            self._set_day(today)
        if self._take(["kemarin"]):
            self._set_day(today - timedelta(days=1))
        if self._take(["lusa"]):
            self._set_day(today + timedelta(days=2))
        if found := self._take(["#", "hari", "lagi"]):
            self._set_day(today + timedelta(days=int(found[0])))
        if found := self._take(["#", "minggu", "lagi"]):
            self._set_day(today + timedelta(weeks=int(found[0])))
        if self._take(["seminggu", "lagi"]) or self._take(["seminggu"]):
            self._set_day(today + timedelta(weeks=1))
        self._read_evening_before()
        self._read_weekday()
        if self._take(["minggu", "depan"]):
            self._set_day(today + timedelta(weeks=1))
        self._read_calendar_date()
        if self._take(["besok"]):
            self._set_day(today + timedelta(days=1))

    def _read_evening_before(self) -> None:
        """"malam minggu" = Saturday evening: the night before the day named."""
        found = self._take(["malam", "|".join(WEEKDAYS)])
        if found:
            self._set_day(self._next_weekday((WEEKDAYS[found[1]] - 1) % 7))
            self.part = "malam"

    def _read_weekday(self) -> None:
        for name, number in WEEKDAYS.items():
            if name == "minggu" and self._next_is(["minggu", "depan|lagi"]):
                continue
            if self._take(["hari", name]) or self._take([name]):
                if self._take(["minggu", "depan"]):  # that day in next calendar week
                    monday = self.today - timedelta(days=self.today.weekday()) + timedelta(weeks=1)
                    self._set_day(monday + timedelta(days=number))
                elif self._take(["depan"]):  # the next one, never today
                    self._set_day(self._next_weekday(number) if self._next_weekday(number) != self.today
                                  else self.today + timedelta(weeks=1))
                else:
                    self._set_day(self._next_weekday(number))
                    self.result.weekday_today = self.result.day == self.today
                return

    def _next_is(self, pattern: list[str]) -> bool:
        saved = list(self.words)
        hit = self._take(pattern) is not None
        self.words = saved
        return hit

    def _next_weekday(self, number: int) -> date:
        return self.today + timedelta(days=(number - self.today.weekday()) % 7)

    def _read_calendar_date(self) -> None:
        months = "|".join(MONTHS)
        if found := self._take(["bulan", "depan"]):
            first = (self.today.replace(day=1) + timedelta(days=32)).replace(day=1)
            number = self._take(["tgl", "#"])
            day = int(number[1]) if number else self.today.day
            self._set_day(self._valid(first.year, first.month, day))
            return
        found = (self._take(["tgl", "#", months, "Y"]) or self._take(["#", months, "Y"])
                 or self._take(["tgl", "#", months]) or self._take(["#", months]))
        if found:
            parts = [w for w in found if w != "tgl"]
            self._set_day(self._dateparser(" ".join(parts)))
            return
        for i, word in enumerate(self.words):
            if _SLASH_DATE.match(word):
                del self.words[i]
                self._set_day(self._dateparser(word))
                return
        if found := self._take(["tgl", "#"]):
            day = int(found[1])
            this_month = self._valid_or_none(self.today.year, self.today.month, day)
            if this_month and this_month >= self.today:
                self._set_day(this_month)
            else:
                nxt = (self.today.replace(day=1) + timedelta(days=32)).replace(day=1)
                self._set_day(self._valid(nxt.year, nxt.month, day))

    def _dateparser(self, text: str) -> date:
        """Calendar dates go to dateparser; the base is the end of yesterday so that
        today still counts as "future" for a date written without a year."""
        numbers = [int(n) for n in re.findall(r"\d+", text)]
        if not numbers or numbers[0] < 1 or numbers[0] > 31 or (len(numbers) > 1 and "/" in text and not 1 <= numbers[1] <= 12):
            raise _Impossible
        base = datetime.combine(self.today, time()) - timedelta(seconds=1)
        found = dateparser.parse(text, languages=["id"], settings={
            "PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "DATE_ORDER": "DMY",
            "REQUIRE_PARTS": ["day", "month"],
        })
        if found is None:
            raise _Impossible  # the shape of a date but no such day ("31 februari")
        return found.date()

    def _valid(self, year: int, month: int, day: int) -> date:
        found = self._valid_or_none(year, month, day)
        if found is None:
            raise _Impossible
        return found

    @staticmethod
    def _valid_or_none(year: int, month: int, day: int) -> date | None:
        try:
            return date(year, month, day)
        except ValueError:
            return None

    # --- the time of day
    def _read_prayer(self) -> None:
        found = self._take(["habis", "|".join(PRAYERS)]) or self._take(["isya|maghrib|dzuhur|ashar"])
        if found:
            at = PRAYERS[found[-1]]
            self.result.clock = timedelta(hours=at.hour, minutes=at.minute)

    def _read_part(self) -> None:
        for part in PARTS:
            if self._take([part]):
                if self.part and self.part != part:
                    raise _Unreadable
                self.part = part

    def _read_clock(self) -> None:
        self._take(["jam"])
        hour, offset = self._spoken_clock()
        if hour is None:
            return
        if self.result.clock is not None:
            raise _Unreadable  # two times ("habis isya jam 8")
        if not 0 <= hour <= 24 or not -60 < offset < 60:
            raise _Impossible
        hour24, next_day = self._with_part(hour)
        self.result.clock = timedelta(hours=hour24, minutes=offset)
        self.result.next_day = next_day

    def _spoken_clock(self) -> tuple[int | None, int]:
        """(hour as named, minutes to add): setengah 8 -> (8, -30), 7 seperempat ->
        (7, 15), 8 kurang seperempat -> (8, -15), 19.30 -> (19, 30)."""
        if found := self._take(["setengah", "#"]):
            return int(found[1]), -30
        for i, word in enumerate(self.words):
            if m := _CLOCK.match(word):
                del self.words[i]
                hour, minute = int(m.group(1)), int(m.group(2))
                if minute > 59:
                    raise _Impossible
                return hour, minute
        if found := self._take(["#", "kurang", "seperempat"]):
            return int(found[0]), -15
        if found := self._take(["#", "kurang", "#"]):
            return int(found[0]), -int(found[2])
        if found := self._take(["#", "seperempat"]):
            return int(found[0]), 15
        if found := self._take(["#", "lewat", "seperempat"]):
            return int(found[0]), 15
        if found := self._take(["#", "lewat", "#"]) or self._take(["#", "#"]):
            if int(found[-1]) > 59:
                raise _Impossible
            return int(found[0]), int(found[-1])
        if found := self._take(["#"]):
            return int(found[0]), 0
        return None, 0

    def _with_part(self, hour: int) -> tuple[int, bool]:
        """The 24-hour hour and whether it falls after midnight (see module doc)."""
        part = self.part
        if hour == 24 or (hour == 0 and part == "malam"):
            return 0, True
        if hour > 12 or hour == 0:
            if part in ("pagi", "subuh") and hour > 12:
                raise _Impossible
            return hour, False
        if part in ("pagi", "subuh"):
            return hour, False
        if part == "siang":
            return (hour if hour >= 11 else hour + 12), False
        if part == "sore":
            if hour > 7:
                raise _Impossible
            return hour + 12, False
        if part == "malam":
            return (hour % 12, True) if hour == 12 or hour <= 4 else (hour + 12, False)
        return (hour + 12 if hour <= 6 else hour), False
