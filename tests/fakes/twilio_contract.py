"""Requests checked against Twilio's published OpenAPI specification.

The fakes answer what the real API would answer only if the requests they accept are
the ones the real API accepts. A hand-written fake drifts; this checker reads the
operation from the spec (tests/specs, see its README) and reports every field the
spec does not know, every required field missing, and every value of the wrong type
or shape. Form bodies arrive as strings, so each value is read as the schema's type
first (``ValidityPeriod=soon`` is not an integer).

A phone-number format is not checked here: the real API answers a bad number with its
own error (21211), which the fake gives. Unknown fields are refused on purpose: the real API ignores them silently, which is
exactly how a misspelt ``StatusCallBack`` would go unnoticed.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SPECS = Path(__file__).resolve().parents[1] / "specs"
TWILIO_API = SPECS / "twilio_api_v2010.json"
TWILIO_CONTENT = SPECS / "twilio_content_v1.json"

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


class Contract:
    """One OpenAPI document; `check` lists what is wrong with a request (empty: fine)."""

    def __init__(self, spec_path: Path = TWILIO_API):
        self.spec = _load(str(spec_path))
        self._routes = [(_path_regex(path), path) for path in self.spec["paths"]]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]] | None:
        """The spec's path template, operation and path parameters for a concrete request path."""
        for regex, template in self._routes:
            if (match := regex.fullmatch(path)) is not None:
                operation = self.spec["paths"][template].get(method.lower())
                if operation is not None:
                    return template, operation, match.groupdict()
        return None

    def check(self, method: str, path: str, content_type: str = "", body: Any = None) -> list[str]:
        """Violations of one request. ``body`` is a list of (name, value) pairs for a form,
        the decoded JSON value for JSON, or None for no body."""
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in {self.spec['info']['title']}"]
        template, operation, path_params = found
        where = f"{method.upper()} {template}"
        problems = []
        for param in operation.get("parameters", []):
            if param.get("in") == "path" and param["name"] in path_params:
                problems += self._value(param["schema"], path_params[param["name"]], f"{where} path {param['name']}",
                                        from_form=True)
        request_body = operation.get("requestBody")
        if request_body is None:
            if body:
                problems.append(f"{where}: takes no body")
            return problems
        media = content_type.split(";")[0].strip().lower()
        content = request_body.get("content", {})
        if media not in content:
            return problems + [f"{where}: body must be one of {sorted(content)}, got {media or 'none'!r}"]
        schema = self._resolve(content[media]["schema"])
        if media == "application/x-www-form-urlencoded":
            return problems + self._form(schema, body or [], where)
        return problems + self._value(schema, body, f"{where} body", from_form=False)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def _form(self, schema: dict[str, Any], pairs: list[tuple[str, str]], where: str) -> list[str]:
        properties = schema.get("properties", {})
        values: dict[str, list[str]] = {}
        for name, value in pairs:
            values.setdefault(name, []).append(value)
        problems = [f"{where}: unknown field {name!r}" for name in values if name not in properties]
        problems += [f"{where}: missing required field {name!r}" for name in schema.get("required", [])
                     if name not in values]
        for name, given in values.items():
            if name not in properties:
                continue
            prop = self._resolve(properties[name])
            if prop.get("type") == "array":
                for value in given:
                    problems += self._value(prop.get("items", {}), value, f"{where} {name}", from_form=True)
            elif len(given) > 1:
                problems.append(f"{where}: field {name!r} given {len(given)} times")
            else:
                problems += self._value(prop, given[0], f"{where} {name}", from_form=True)
        return problems

    def _value(self, schema: dict[str, Any], value: Any, where: str, *, from_form: bool) -> list[str]:
        """Type and shape of one value; form values are strings and are read as the type first."""
        schema = self._resolve(schema)
        kind = schema.get("type")
        if from_form:
            try:
                value = _from_form(kind, value)
            except ValueError:
                return [f"{where}: {value!r} is not a {kind}"]
        if not _is_type(kind, value):
            return [f"{where}: {value!r} is not a {kind}"]
        problems = []
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if kind == "string":
            problems += _string(schema, value, where)
        elif kind == "object" and not from_form:
            properties = schema.get("properties", {})
            problems += [f"{where}: unknown field {name!r}" for name in value
                         if name not in properties and schema.get("additionalProperties") in (None, False)
                         and properties]
            problems += [f"{where}: missing required field {name!r}" for name in schema.get("required", [])
                         if name not in value]
            for name, item in value.items():
                if name in properties:
                    problems += self._value(properties[name], item, f"{where}.{name}", from_form=False)
                elif isinstance(schema.get("additionalProperties"), dict):
                    problems += self._value(schema["additionalProperties"], item, f"{where}.{name}", from_form=False)
        elif kind == "array" and not from_form:
            for i, item in enumerate(value):
                problems += self._value(schema.get("items", {}), item, f"{where}[{i}]", from_form=False)
        return problems


def _from_form(kind: str | None, text: str) -> Any:
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError(text)
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    return text


def _is_type(kind: str | None, value: Any) -> bool:
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    return kind is None or checks.get(kind, lambda v: True)(value)


def _string(schema: dict[str, Any], value: str, where: str) -> list[str]:
    problems = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{where}: shorter than {schema['minLength']}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{where}: longer than {schema['maxLength']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    fmt = schema.get("format")
    ignore_format = schema.get("x-twilio", {}).get("ignoreFormat")
    if fmt == "uri" and not ignore_format:
        parts = urlsplit(value)
        # Twilio: "URL must contain a valid hostname and underscores are not allowed".
        if parts.scheme not in ("http", "https") or not parts.hostname or "_" in parts.hostname:
            problems.append(f"{where}: {value!r} is not a URL with a valid hostname")
    elif fmt == "date-time" and not _DATE_TIME.fullmatch(value):
        problems.append(f"{where}: {value!r} is not an ISO 8601 date-time")
    return problems


def _path_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(pattern)


@lru_cache(maxsize=None)
def _load(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """A urlencoded body as (name, value) pairs, repeated names kept."""
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
