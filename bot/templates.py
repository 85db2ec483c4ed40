"""WhatsApp message templates: which kind of business-initiated message a catalogue
key is, the templates themselves (catalogue entries, one per kind and language), and
what the dispatcher needs to send one outside WhatsApp's 24-hour window: the approved
ContentSid (`approved_content`) and the ContentVariables (`template_variables`)."""
from __future__ import annotations

import re
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.i18n import Catalog
from db.templates import WhatsAppTemplate

# Catalogue key (or key prefix ending in ".") -> template kind. A key not listed is a
# message with no template of its own: outside the window it goes as the generic one.
KIND_BY_KEY = {
    "broadcast.message": "announcement",
    "event_admin.invitation": "event_invitation",
    "events.announce": "event_invitation",
    "events.reminder": "event_reminder",
    "event_admin.changed": "event_change",
    "event_admin.cancelled_notice": "event_change",
    "survey_admin.invite": "survey_invitation",
    "survey_admin.reminder": "survey_reminder",
    "report.update.": "report_status",
    "triage.merged_notice": "report_status",
}
GENERIC = "generic"

# WhatsApp's category of each kind. Meta's rule: utility is non-promotional and about
# something the resident already takes part in (an event they were invited to, their
# own report); news sent to everyone and invitations to take part are marketing, and
# Meta re-categorises a "utility" template that reads like marketing.
CATEGORIES = {
    "announcement": "marketing",
    "event_invitation": "marketing",
    "event_reminder": "utility",
    "event_change": "utility",
    "survey_invitation": "marketing",
    "survey_reminder": "marketing",
    "report_status": "utility",
    GENERIC: "utility",
}
KINDS = tuple(CATEGORIES)
# The catalogue languages a template is made in; Indonesian is the fallback when the
# resident's language has no approved template.
LANGUAGES = ("id", "en", "jv")
FALLBACK_LANGUAGE = "id"
# WhatsApp's approval statuses, as Twilio reports them.
STATUSES = ("unsubmitted", "received", "pending", "approved", "rejected", "paused", "disabled")
# WhatsApp refuses a body (with its variables filled in) longer than this.
MAX_BODY = 1024
CUT_MARK = "…"
_VARIABLE = re.compile(r"\{\{(\d+)\}\}")
# A line ending like this reads on without a separator when lines are joined.
_RUNS_ON = ":.!?;,"
_SEPARATOR = " · "


def kind_for_key(key: str) -> str:
    """The template kind that carries a message written from catalogue `key`."""
    if key in KIND_BY_KEY:
        return KIND_BY_KEY[key]
    for prefix, kind in KIND_BY_KEY.items():
        if prefix.endswith(".") and key.startswith(prefix):
            return kind
    return GENERIC


def friendly_name(kind: str, language: str) -> str:
    """The Content API's friendly name, also the WhatsApp template name (lowercase,
    digits and underscores only)."""
    return f"kampung_{kind}_{language}"


def template_body(catalog: Catalog, kind: str, language: str) -> str:
    """The body as WhatsApp approves it: {{1}} the kampung's name, {{2}} the message."""
    return catalog.text(language, f"template.body.{kind}", kampung="{{1}}", text="{{2}}")


def body_variables(body: str) -> list[str]:
    """The variable names a body uses ("1", "2"), in order of appearance."""
    return _VARIABLE.findall(body)


def sample_variables(catalog: Catalog, kind: str, language: str) -> dict[str, str]:
    """Sample values for each variable of the template: Meta's reviewers need them."""
    samples = {"1": catalog.text(language, "template.sample.kampung")}
    if kind != GENERIC:
        samples["2"] = catalog.text(language, f"template.sample.{kind}")
    return samples


def template_variables(kind: str, text: str, kampung_name: str) -> dict[str, str]:
    """ContentVariables for the template of `kind`: WhatsApp refuses a value with line
    breaks, tabs or more than four spaces in a row, and a body over 1024 characters,
    so the text goes on one line and is cut (ending in "…") to fit every language."""
    return _fill(kind, text, kampung_name)[0]


def fits_template(kind: str, text: str, kampung_name: str) -> bool:
    """Whether the whole text goes into the template uncut (the generic template
    carries no text, so it always fits)."""
    return _fill(kind, text, kampung_name)[1]


def approved_content(conn: Connection, kind: str, language: str) -> str | None:
    """The ContentSid of the approved template for `kind` in `language`, else in
    Indonesian, else None. One query on the (kind, language) unique index: it runs
    for every send outside the window."""
    table = WhatsAppTemplate.__table__
    found = dict(conn.execute(
        select(table.c.language, table.c.content_sid).where(
            table.c.kind == kind, table.c.language.in_({language, FALLBACK_LANGUAGE}),
            table.c.status == "approved", table.c.content_sid.is_not(None))).all())
    return found.get(language) or found.get(FALLBACK_LANGUAGE)


def flatten(text: str) -> str:
    """Text on one line: blank lines dropped, whitespace runs made one space, lines
    joined by " · " (or a space after punctuation). *Bold* markers stay."""
    joined = ""
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if joined:
            joined += " " if joined[-1] in _RUNS_ON else _SEPARATOR
        joined += line
    return joined


def _fill(kind: str, text: str, kampung_name: str) -> tuple[dict[str, str], bool]:
    kampung = flatten(kampung_name)
    values = {"1": kampung}
    if kind == GENERIC:
        return values, True
    message = flatten(text)
    room = MAX_BODY - _fixed_length(kind) - _units(kampung)
    if _units(message) <= room:
        values["2"] = message
        return values, bool(message)
    values["2"] = _cut(message, room - _units(CUT_MARK)) + CUT_MARK
    return values, False


def _units(text: str) -> int:
    """Length as WhatsApp counts it (UTF-16 code units: an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, room: int) -> str:
    """The longest start of `text` within `room` units, at a word boundary when one
    is near the end."""
    used, end = 0, 0
    for end, char in enumerate(text):
        used += _units(char)
        if used > room:
            break
    else:
        return text
    head = text[:end]
    space = head.rfind(" ")
    if space > len(head) * 0.8:
        head = head[:space]
    return head.rstrip(" ·")


@lru_cache(maxsize=None)
def _fixed_length(kind: str) -> int:
    """The longest body of `kind` over the languages, without its variables."""
    catalog = _catalog()
    return max(_units(catalog.text(lang, f"template.body.{kind}", kampung="", text="")) for lang in LANGUAGES)


@lru_cache(maxsize=1)
def _catalog() -> Catalog:
    return Catalog()
