"""Turning what people type into choice ids, global commands and intents.

People answer with the number of a choice, its words, a synonym, a typo, slang or
Javanese. Matching uses rapidfuzz `token_set_ratio` with a cutoff of 70: measured
to separate real answers from noise far better than `WRatio`. When two choices
score alike we report a tie instead of guessing, so the caller can ask.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

CUTOFF = 70
TIE_MARGIN = 4
_WORD_CUTOFF = 84

_NUMBER_WORDS = {
    "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
    "delapan": 8, "sembilan": 9, "sepuluh": 10,
    "siji": 1, "loro": 2, "telu": 3, "papat": 4, "limo": 5, "enem": 6, "pitu": 7,
    "wolu": 8, "songo": 9, "sanga": 9,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}
# Negations flip meaning ("tdk setuju"); a phrase only matches text with the same polarity.
_NEGATIONS = frozenset(
    "tidak tdk gak ga nggak ngga enggak engga ndak nda tak jangan belum bukan ora ra mboten dudu ojo aja durung"
    " no not dont never".split()
)
_NEGATION_PENALTY = 30
_DIGITS = re.compile(r"\d+")
_NUMBER_PREFIX = re.compile(r"^(?:no|nomor|nomer|nmr|pilih|pilihan|angka|number)\s+")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean(text: str, limit: int = 4000, keep_lines: bool = False) -> str:
    """Text fit to store and echo: NFKC, no control or zero-width characters, trimmed.
    With `keep_lines` the line breaks stay (an announcement's paragraphs, options typed
    one per line), at most one blank line in a row."""
    text = unicodedata.normalize("NFKC", (text or "")[: limit * 2])
    if not text.isprintable():
        text = _ANSI.sub("", text)
        text = "".join(_printable(ch) for ch in text)
    if keep_lines:
        lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
        return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()[:limit]
    return _SPACES.sub(" ", text).strip()[:limit]


def _printable(ch: str) -> str:
    """Control characters become spaces; zero-width and other invisible ones vanish."""
    category = unicodedata.category(ch)
    if ch == "\n":
        return ch
    if category == "Cc":
        return " "
    return "" if category[0] == "C" else ch


def normalize(text: str) -> str:
    """Lower-case words only: what matching compares."""
    text = _NON_WORD.sub(" ", clean(text, limit=500).lower()).replace("_", " ")
    return _SPACES.sub(" ", text).strip()


def parse_number(norm: str) -> int | None:
    """'2', 'no 2', '2.', 'dua', 'loro' -> 2."""
    norm = _NUMBER_PREFIX.sub("", norm)
    if norm.isdigit() and len(norm) <= 3:
        return int(norm)
    return _NUMBER_WORDS.get(norm)


@dataclass(frozen=True)
class Candidate:
    """A choice and the phrases that name it (its label and synonyms), normalised."""

    id: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    ids: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()

    @property
    def id(self) -> str | None:
        return self.ids[0] if len(self.ids) == 1 else None


def match_choice(text: str, candidates: list[Candidate], multi: bool = False) -> Match:
    """Map an answer to one choice id (or several when `multi`)."""
    norm = normalize(text)
    if not norm or not candidates:
        return Match()
    exact = [c.id for c in candidates if norm in c.phrases]
    if exact:
        return Match(ids=(exact[0],))
    number = parse_number(norm)
    if number is not None:
        return Match(ids=(candidates[number - 1].id,)) if 1 <= number <= len(candidates) else Match()
    if multi:
        parts = [p for p in re.split(r"\s*(?:,|;|\bdan\b|\blan\b|\band\b|&|\+)\s*|\s+(?=\d)", norm) if p]
        if len(parts) > 1:
            picked = [match_choice(p, candidates).id for p in parts]
            if all(picked):
                return Match(ids=tuple(dict.fromkeys(picked)))
    return _fuzzy(norm, candidates)


def _fuzzy(norm: str, candidates: list[Candidate]) -> Match:
    choices = [(c.id, phrase) for c in candidates for phrase in c.phrases]
    hits = process.extract(norm, [p for _, p in choices], scorer=fuzz.token_set_ratio, score_cutoff=CUTOFF, limit=None)
    negated = _negated(norm)
    numbers = _DIGITS.findall(norm)
    best: dict[str, tuple[float, float]] = {}
    for phrase, score, index in hits:
        phrase_numbers = _DIGITS.findall(phrase)
        if numbers and phrase_numbers and numbers != phrase_numbers:
            continue  # "rt 99" is not "rt 09", however alike they look
        if _negated(phrase) != negated:
            score -= _NEGATION_PENALTY
            if score < CUTOFF:
                continue
        key = (score, fuzz.ratio(norm, phrase))
        cid = choices[index][0]
        if key > best.get(cid, (0, 0)):
            best[cid] = key
    if not best:
        return Match()
    ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
    top_id, (top_score, top_ratio) = ranked[0]
    close = [cid for cid, (s, r) in ranked if top_score - s < TIE_MARGIN and top_ratio - r < 15]
    if len(close) > 1:
        return Match(tied=tuple(close))
    return Match(ids=(top_id,))


def _negated(norm: str) -> bool:
    return not _NEGATIONS.isdisjoint(norm.split())


def match_word(norm: str, words: dict[str, list[str]]) -> str | None:
    """A global command (menu, batal, STOP…) said on its own, allowing a typo."""
    if not norm or len(norm) > 40:
        return None
    for command, phrases in words.items():
        if norm in phrases:
            return command
    flat = [(command, phrase) for command, phrases in words.items() for phrase in phrases if len(phrase) >= 5]
    hit = process.extractOne(norm, [p for _, p in flat], scorer=fuzz.ratio, score_cutoff=88)
    return flat[hit[2]][0] if hit else None


def score_intents(norm: str, intents: dict[str, list[tuple[str, ...]]]) -> list[tuple[str, int]]:
    """Rank flows by how many of their keywords appear (typos allowed) in free text."""
    tokens = norm.split()
    if not tokens:
        return []
    scores = []
    for flow_id, keywords in intents.items():
        score = 0
        for keyword in keywords:
            parts = [_token_score(tokens, part) for part in keyword]
            if all(parts):
                score += sum(parts)
        if score:
            scores.append((flow_id, score))
    return sorted(scores, key=lambda kv: kv[1], reverse=True)


def _token_score(tokens: list[str], word: str) -> int:
    """2 for the word itself, 1 for a typo of it (so "jalan" beats a fuzzy "jualan")."""
    if word in tokens:
        return 2
    if len(word) < 4:
        return 0
    return 1 if process.extractOne(word, tokens, scorer=fuzz.ratio, score_cutoff=_WORD_CUTOFF) else 0
