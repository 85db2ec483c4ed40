"""Bot API requests checked against Telegram's published method and type list.

The fake server asks `check_request` about every call, so a request the real Bot API
would refuse (an unknown method or field, a missing required field, a value of the
wrong type) fails the test instead of passing against a forgiving fake. The rules come
from ``telegram_bot_api.json`` in tests/specs (see its README), not from
what the bot happens to send.

Two encodings reach the fake: a JSON body, whose values are already typed, and form or
multipart fields (what python-telegram-bot sends), whose values are strings: numbers
and booleans as text, objects and arrays JSON-encoded, files as uploaded parts.
"""
from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

SPEC_FILE = "telegram_bot_api.json"
# The published specifications travel with the tests (tests/specs, see its README).
SPECS_DIR = Path(os.environ.get("KAMPUNG_SPECS_DIR") or Path(__file__).resolve().parents[1] / "specs")

_ARRAY = "Array of "
_INTEGER = re.compile(r"-?\d+")
_FORM_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_INVALID = object()  # a form field's text that does not stand for a value of the type


class Upload:
    """Marker base for an uploaded file part (the fake's ``UploadedFile`` subclasses it)."""


@cache
def spec() -> dict[str, Any]:
    path = SPECS_DIR / SPEC_FILE
    if not path.exists():
        raise FileNotFoundError(f"Telegram Bot API spec not found at {path}; set KAMPUNG_SPECS_DIR")
    return json.loads(path.read_text(encoding="utf-8"))


def check_request(method: str, params: dict[str, Any], *, form: bool) -> tuple[dict[str, Any], list[str]]:
    """(params decoded to Python values, contract violations) for one call to ``method``.

    ``form`` says the values came as form or multipart fields (strings and uploads).
    A field that breaks the contract keeps its raw value in the decoded params.
    """
    described = spec()["methods"].get(method)
    if described is None:
        return dict(params), [f"{method}: no such Bot API method"]
    fields = {f["name"]: f for f in described.get("fields", [])}
    decoded: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in params.items():
        field = fields.get(name)
        if field is None:
            problems.append(f"{method}: unknown field {name!r}")
            decoded[name] = value
            continue
        value_problems, decoded[name] = _check_top(field["types"], value, form, f"{method}.{name}")
        problems += value_problems
    for name, field in fields.items():
        if field["required"] and name not in params:
            problems.append(f"{method}: required field {name!r} is missing")
    return decoded, problems


def _check_top(types: list[str], value: Any, form: bool, where: str) -> tuple[list[str], Any]:
    """A top-level field: in a form, decode the text first, as Telegram does."""
    if not form:
        return _check_any(types, value, where), value
    if isinstance(value, Upload):
        ok = "InputFile" in types
        return ([] if ok else [f"{where}: a file was uploaded where {' or '.join(types)} is expected"]), value
    best: list[str] | None = None
    for type_name in types:
        parsed = _from_form(type_name, value)
        if parsed is _INVALID:
            problems = [f"{where}: {value!r:.80} is not {type_name}"]
        else:
            problems = _check(type_name, parsed, where)
            if not problems:
                return [], parsed
        if best is None or len(problems) < len(best):
            best = problems
    return best or [], value


def _from_form(type_name: str, text: str) -> Any:
    """A form field's text as the value it stands for, or _INVALID."""
    if type_name == "String":
        return text
    if type_name == "Integer":
        return int(text) if _INTEGER.fullmatch(text) else _INVALID
    if type_name == "Float":
        try:
            return float(text)
        except ValueError:
            return _INVALID
    if type_name == "Boolean":
        return _FORM_BOOLEANS.get(text.lower(), _INVALID)
    if type_name == "InputFile":
        # A file already on Telegram's servers or on the web is named by a String alternative.
        return _INVALID
    try:
        return json.loads(text)
    except ValueError:
        return _INVALID


def _check_any(types: list[str], value: Any, where: str) -> list[str]:
    """Problems of the alternative that fits best (none when one fits)."""
    best: list[str] | None = None
    for type_name in types:
        problems = _check(type_name, value, where)
        if not problems:
            return []
        if best is None or len(problems) < len(best):
            best = problems
    return best or []


def _check(type_name: str, value: Any, where: str) -> list[str]:
    if type_name.startswith(_ARRAY):
        if not isinstance(value, list):
            return [f"{where}: expected {type_name}, got {type(value).__name__}"]
        problems = []
        for index, item in enumerate(value):
            problems += _check(type_name[len(_ARRAY):], item, f"{where}[{index}]")
        return problems
    scalar = _SCALARS.get(type_name)
    if scalar is not None:
        return [] if scalar(value) else [f"{where}: expected {type_name}, got {type(value).__name__} {value!r:.80}"]
    if type_name == "InputFile":
        return [] if isinstance(value, Upload) else [f"{where}: expected an uploaded file"]
    described = spec()["types"].get(type_name)
    if described is None:
        return [f"{where}: unknown type {type_name}"]
    if not isinstance(value, dict):
        return [f"{where}: expected a {type_name} object, got {type(value).__name__}"]
    if described.get("subtypes"):
        return _check_any(described["subtypes"], value, where)
    fields = {f["name"]: f for f in described.get("fields", [])}
    if not fields:
        return []  # a placeholder type such as CallbackGame
    problems = [f"{where}: unknown field {name!r} in {type_name}" for name in value if name not in fields]
    for name, field in fields.items():
        if name in value:
            problems += _check_any(field["types"], value[name], f"{where}.{name}")
        elif field["required"]:
            problems.append(f"{where}: required field {name!r} of {type_name} is missing")
    return problems


_SCALARS = {
    "String": lambda v: isinstance(v, str),
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
}
