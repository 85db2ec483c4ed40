"""Per-language matching data, normalised once: global words, intent keywords, and
the phrases that name each option (label, synonyms, aliases)."""
from __future__ import annotations

from bot.i18n import Catalog
from flows.base import Option
from handlers.understanding import Candidate, normalize


class Lexicon:
    def __init__(self, catalog: Catalog, lang: str):
        self.catalog = catalog
        self.lang = lang
        self.words = {cmd: [normalize(w) for w in ws] for cmd, ws in catalog.words(lang).items()}
        self.intents = {
            flow_id: [tuple(normalize(w).split()) for w in ws] for flow_id, ws in catalog.intents(lang).items()
        }
        # Longest first, so "ada yang jual" wins over "ada".
        self.prefixes = sorted(
            ((normalize(w), cmd) for cmd, ws in catalog.section(lang, "prefixes").items() for w in ws),
            key=lambda item: len(item[0]), reverse=True,
        )
        self._candidates: dict[tuple, Candidate] = {}

    def prefixed(self, norm: str) -> tuple[str, str] | None:
        """("search", "keripik") for "cari keripik": a command that takes the rest as argument."""
        for prefix, command in self.prefixes:
            if norm == prefix or norm.startswith(prefix + " "):
                return command, norm[len(prefix):].strip()
        return None

    def label(self, option: Option) -> str:
        if option.key:
            return self.catalog.text(self.lang, option.key, **option.params)
        return option.label or option.id

    def candidates(self, options: list[Option]) -> list[Candidate]:
        return [self._candidate(o) for o in options]

    def _candidate(self, option: Option) -> Candidate:
        cache_key = (option.id, option.key, option.label, tuple(sorted(option.params.items())), option.aliases)
        cand = self._candidates.get(cache_key)
        if cand is None:
            phrases = [self.label(option), *self.catalog.synonyms(self.lang, option.id), *option.aliases]
            cand = Candidate(option.id, tuple(dict.fromkeys(p for p in map(normalize, phrases) if p)))
            self._candidates[cache_key] = cand
        return cand


class Lexicons:
    """Lexicon per language, built on first use."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._by_lang: dict[str, Lexicon] = {}

    def get(self, lang: str) -> Lexicon:
        lex = self._by_lang.get(lang)
        if lex is None:
            lex = self._by_lang[lang] = Lexicon(self.catalog, lang if self.catalog.has(lang) else "id")
        return lex
