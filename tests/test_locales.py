"""Consistency of the message catalogues in locales/*.yaml against the reference (id).

Every catalogue must have exactly the reference's message keys with the same
{placeholders}; every text must format; choice/command/intent sections may only use
ids the reference knows; and no phrase may name two global commands.
"""
from __future__ import annotations

import string
from collections import defaultdict

import pytest

from bot.i18n import REFERENCE, Catalog
from handlers.understanding import normalize

CATALOG = Catalog()
LANGS = sorted(CATALOG.languages)
OTHERS = [lang for lang in LANGS if lang != REFERENCE]
SECTIONS = ("messages", "synonyms", "words", "prefixes", "intents")
WORD_SECTIONS = ("synonyms", "words", "prefixes", "intents")


def _section(lang: str, section: str) -> dict:
    return CATALOG.languages[lang].get(section) or {}


def _messages(lang: str) -> dict:
    return _section(lang, "messages")


def _placeholders(lang: str) -> dict:
    """Catalog.placeholders, or per key when one text is malformed (that key gets
    None; test_formats names it) so the other keys are still compared."""
    try:
        return CATALOG.placeholders(lang)
    except (ValueError, TypeError):
        result = {}
        for key, text in _messages(lang).items():
            try:
                result[key] = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            except (ValueError, TypeError):
                result[key] = None
        return result


def _all_keys() -> list[tuple[str, str]]:
    return [(lang, key) for lang in LANGS for key in _messages(lang)]


def _other_keys() -> list[tuple[str, str]]:
    return [(lang, key) for lang in OTHERS for key in _messages(REFERENCE) if key in _messages(lang)]


def _ids(pairs):
    return [f"{lang}:{key}" for lang, key in pairs]


ALL_KEYS = _all_keys()
OTHER_KEYS = _other_keys()


def test_other_languages_exist():
    assert OTHERS, "only the reference catalogue was found in locales/"


@pytest.mark.parametrize("lang", LANGS)
def test_only_known_sections(lang):
    data = CATALOG.languages[lang]
    assert isinstance(data, dict), f"{lang}.yaml: top level must be a mapping"
    stray = set(data) - set(SECTIONS)
    assert not stray, f"{lang}.yaml: unknown top-level sections {sorted(map(str, stray))}"
    for section in SECTIONS:
        assert isinstance(data.get(section) or {}, dict), f"{lang}.yaml: {section} must be a mapping"


@pytest.mark.parametrize("lang", OTHERS)
def test_same_message_keys_as_reference(lang):
    reference, mine = set(_messages(REFERENCE)), set(_messages(lang))
    missing, stray = sorted(reference - mine), sorted(map(str, mine - reference))
    assert not missing and not stray, f"{lang}.yaml: missing keys {missing}; keys not in {REFERENCE}.yaml {stray}"


@pytest.mark.parametrize(("lang", "key"), OTHER_KEYS, ids=_ids(OTHER_KEYS))
def test_same_placeholders_as_reference(lang, key):
    expected = _placeholders(REFERENCE).get(key)
    actual = _placeholders(lang).get(key)
    if expected is None or actual is None:
        pytest.skip("malformed text; see test_formats")
    assert actual == expected, (
        f"{lang}.yaml {key}: placeholders {sorted(actual)} but {REFERENCE}.yaml has {sorted(expected)}"
        f" (missing {sorted(expected - actual)}, extra {sorted(actual - expected)})"
    )


@pytest.mark.parametrize(("lang", "key"), ALL_KEYS, ids=_ids(ALL_KEYS))
def test_formats(lang, key):
    text = _messages(lang)[key]
    assert isinstance(text, str), f"{lang}.yaml {key}: not a string but {type(text).__name__} {text!r} (quote it)"
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        text.format(**{name: "x" for name in names})
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        pytest.fail(f"{lang}.yaml {key}: cannot format ({exc!r}); write a literal brace as {{{{ or }}}}: {text!r}")


@pytest.mark.parametrize(("lang", "key"), ALL_KEYS, ids=_ids(ALL_KEYS))
def test_not_empty(lang, key):
    text = _messages(lang)[key]
    assert isinstance(text, str) and text.strip(), f"{lang}.yaml {key}: empty message"


@pytest.mark.parametrize("section", WORD_SECTIONS)
@pytest.mark.parametrize("lang", LANGS)
def test_word_sections_are_lists_of_strings(lang, section):
    """Catches YAML 1.1 surprises: unquoted yes/no/on/off load as booleans."""
    problems = []
    for key, words in _section(lang, section).items():
        if not isinstance(key, str):
            problems.append(f"key {key!r} is {type(key).__name__} (quote it)")
        if not isinstance(words, list):
            problems.append(f"{key!r}: not a list but {words!r}")
            continue
        for word in words:
            if not isinstance(word, str):
                problems.append(f"{key!r}: {word!r} is {type(word).__name__} (quote it)")
            elif not normalize(word):
                problems.append(f"{key!r}: {word!r} is empty once normalised")
    assert not problems, f"{lang}.yaml {section}: " + "; ".join(problems)


@pytest.mark.parametrize("section", WORD_SECTIONS)
@pytest.mark.parametrize("lang", OTHERS)
def test_word_sections_use_reference_ids(lang, section):
    known = set(_section(REFERENCE, section))
    unknown = sorted(map(str, set(_section(lang, section)) - known))
    assert not unknown, f"{lang}.yaml {section}: ids not in {REFERENCE}.yaml {section}: {unknown}"


@pytest.mark.parametrize("lang", LANGS)
def test_global_words_are_unambiguous(lang):
    """A phrase that names two global commands would run whichever comes first.
    Checked per file and on the merged table the bot uses (all catalogues)."""
    for label, table in ((f"{lang}.yaml words", _section(lang, "words")), (f"words for {lang} (merged)", CATALOG.words(lang))):
        owners: dict[str, set[str]] = defaultdict(set)
        for command, phrases in table.items():
            for phrase in phrases or []:
                if isinstance(phrase, str):
                    owners[normalize(phrase)].add(str(command))
        clashes = {phrase: sorted(cmds) for phrase, cmds in owners.items() if len(cmds) > 1}
        assert not clashes, f"{label}: phrases used by more than one command: {clashes}"


@pytest.mark.parametrize("lang", OTHERS)
def test_intents_do_not_repeat_other_languages(lang):
    """Intent lists of all catalogues are merged (Catalog._merged) and every listed
    keyword scores, so a keyword repeated in another catalogue would count twice."""
    repeated = {}
    for flow_id, words in _section(lang, "intents").items():
        for code in LANGS:
            if code == lang:
                continue
            theirs = {normalize(w) for w in _section(code, "intents").get(flow_id) or [] if isinstance(w, str)}
            dupes = sorted(w for w in words or [] if isinstance(w, str) and normalize(w) in theirs)
            if dupes:
                repeated[f"{flow_id} (in {code}.yaml)"] = dupes
    assert not repeated, f"{lang}.yaml intents: keywords already listed: {repeated}"


# Choices offered side by side with opposite meanings: a shared word would silently
# pick the first one (match_choice takes the first exact hit).
OPPOSITES = (("agree", "decline"), ("yes", "no"))


@pytest.mark.parametrize("pair", OPPOSITES, ids=["/".join(p) for p in OPPOSITES])
@pytest.mark.parametrize("lang", LANGS)
def test_opposite_choices_share_no_synonym(lang, pair):
    merged = {cid: {normalize(w) for w in CATALOG.synonyms(lang, cid) if isinstance(w, str)} for cid in pair}
    shared = sorted(set.intersection(*merged.values()))
    assert not shared, f"synonyms for {lang} (merged): {shared} name both {' and '.join(pair)}"
