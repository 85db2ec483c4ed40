"""Message catalogues in `locales/<lang>.yaml`.

Each catalogue has `messages` (key -> text with `{placeholders}`), `synonyms`
(choice id -> words a person might type for it), `words` (global commands such as
menu/batal), `prefixes` (commands followed by an argument: "cari keripik") and
`intents` (flow id -> words that reveal it in free text); these are matched across
all catalogues, since people mix languages.
Indonesian is the reference and the fallback for any missing key. A feature keeps
its texts in `locales/<lang>.<feature>.yaml`, merged into `<lang>`.
"""
from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader when PyYAML has it: every App reads ~300 KB of catalogues at start.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
REFERENCE = "id"


class Catalog:
    def __init__(self, locales_dir: Path = LOCALES_DIR):
        self.languages: dict[str, dict[str, Any]] = {}
        for path in sorted(locales_dir.glob("*.yaml")):
            with path.open(encoding="utf-8") as fh:
                _merge(self.languages.setdefault(path.name.split(".")[0], {}), yaml.load(fh, Loader=_LOADER) or {})
        self._merged_cache: dict[tuple[str, str], dict[str, list[str]]] = {}
        if REFERENCE not in self.languages:
            raise RuntimeError(f"missing reference catalogue {REFERENCE}.yaml in {locales_dir}")

    def has(self, lang: str) -> bool:
        return lang in self.languages

    def _section(self, lang: str, section: str) -> dict[str, Any]:
        return self.languages.get(lang, {}).get(section) or {}

    def text(self, lang: str, key: str, **params: Any) -> str:
        template = self._section(lang, "messages").get(key)
        if template is None:
            template = self._section(REFERENCE, "messages")[key]
        return template.format(**params) if params else template

    def synonyms(self, lang: str, choice_id: str) -> list[str]:
        return self._merged(lang, "synonyms").get(choice_id, [])

    def words(self, lang: str) -> dict[str, list[str]]:
        return self._merged(lang, "words")

    def intents(self, lang: str) -> dict[str, list[str]]:
        return self._merged(lang, "intents")

    def section(self, lang: str, name: str) -> dict[str, list[str]]:
        """Any word-list section (e.g. `prefixes`), merged across catalogues."""
        return self._merged(lang, name)

    def _merged(self, lang: str, section: str) -> dict[str, list[str]]:
        """A section of the resident's language first, then every other catalogue's:
        people mix Indonesian, Javanese and English whatever language they picked."""
        cached = self._merged_cache.get((lang, section))
        if cached is not None:
            return cached
        merged: dict[str, list[str]] = {}
        for code in dict.fromkeys([lang, REFERENCE, *self.languages]):
            for key, words in self._section(code, section).items():
                merged.setdefault(key, []).extend(words or [])
        self._merged_cache[(lang, section)] = merged
        return merged

    def placeholders(self, lang: str) -> dict[str, set[str]]:
        """Placeholder names per message key, for the catalogue consistency test."""
        return {
            key: {name for _, name, _, _ in string.Formatter().parse(text) if name}
            for key, text in self._section(lang, "messages").items()
        }


def _merge(into: dict[str, Any], catalogue: dict[str, Any]) -> None:
    """Add one file's sections to a language: messages by key, word lists extended."""
    for section, entries in catalogue.items():
        target = into.setdefault(section, {})
        for key, value in (entries or {}).items():
            if section == "messages":
                if key in target:
                    raise RuntimeError(f"message key {key!r} defined twice")
                target[key] = value
            else:
                target.setdefault(key, []).extend(value or [])
