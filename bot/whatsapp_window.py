"""WhatsApp's 24-hour customer-service window: how a message the bot starts itself
reaches a resident on WhatsApp.

WhatsApp takes a free-form business-initiated message only within 24 hours of the
resident's last message (identities.last_inbound_at). Outside it the message goes as
an approved template of its kind (bot.templates); else by SMS when the installation
has it; else the short generic template ("ada pesan baru …, balas apa saja") goes and
the message itself is held until the resident replies, which opens the window
(bot.core releases held rows then, in order, before the reply).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot import templates as catalogue_templates
from bot.templates import GENERIC
from bot.delivery import Failure
from bot.messages import OutgoingMessage
from db.models import Identity, Kampung, Outbox, Resident

WINDOW = timedelta(hours=24)


class Route(str, Enum):
    FREE_FORM = "free_form"  # inside the window: as written
    TEMPLATE = "template"    # an approved template of its kind
    SMS = "sms"              # the full text by SMS
    HOLD = "hold"            # held until the resident writes (with the generic template, the first time)


@dataclass
class Queued:
    """An outbox row on channel whatsapp, as the dispatcher claimed it."""

    id: int
    address: str
    resident_id: int | None
    failure: str | None
    not_before: datetime  # before the claim: when it was due
    out: OutgoingMessage


@dataclass
class Plan:
    route: Route
    # What to send now: the message (free form, as a template, by SMS) or, for a held
    # one, the generic template; None when nothing goes now.
    out: OutgoingMessage | None


def needs_plan(row: Queued) -> bool:
    """A message the bot starts itself (a template kind), or one WhatsApp refused as
    outside the window. A chat reply answers a message just received: inside."""
    return row.out.kind is not None or row.failure == Failure.OUTSIDE_WINDOW


def window_open(last_inbound_at: datetime | None, row: Queued, now: datetime) -> bool:
    """Within 24 h of the resident's last message, unless WhatsApp already refused this
    row as outside the window and the resident has not written since."""
    if last_inbound_at is None or now - last_inbound_at >= WINDOW:
        return False
    return not (row.failure == Failure.OUTSIDE_WINDOW and last_inbound_at < row.not_before)


class WhatsAppWindow:
    """Plans business-initiated WhatsApp messages. `templates` provides
    `approved_content(conn, kind, language)` and `template_variables(kind, text,
    kampung_name)` (bot.templates by default)."""

    def __init__(self, templates=None, default_language: str = "id"):
        self.templates = templates or catalogue_templates
        self.default_language = default_language

    def plan(self, conn: Connection, rows: list[Queued], now: datetime, sms_available: bool) -> dict[int, Plan]:
        """A plan for each row (by id); the rows of one resident in id order."""
        rows = [row for row in rows if needs_plan(row)]
        if not rows:
            return {}
        addresses = {row.address for row in rows}
        last_inbound = dict(conn.execute(
            select(Identity.address, Identity.last_inbound_at)
            .where(Identity.channel == "whatsapp", Identity.address.in_(addresses))).all())
        languages = dict(conn.execute(
            select(Resident.id, Resident.language)
            .where(Resident.id.in_({row.resident_id for row in rows if row.resident_id is not None}))).all())
        noticed = set(conn.scalars(
            select(Outbox.address).where(Outbox.channel == "whatsapp", Outbox.status == "held",
                                         Outbox.address.in_(addresses))).all())
        lookup = _Templates(conn, self.templates)
        plans = {}
        for row in sorted(rows, key=lambda r: r.id):
            if window_open(last_inbound.get(row.address), row, now):
                plans[row.id] = Plan(Route.FREE_FORM, row.out)
                continue
            language = languages.get(row.resident_id, self.default_language)
            # The generic template says only that a message waits: it never stands for one.
            sid = lookup.approved(row.out.kind, language) if row.out.kind not in (None, GENERIC) else None
            if sid is not None:
                template = lookup.as_template(row.out, row.out.kind, sid)
                if lookup.carries_all(row.out, row.out.kind):
                    plans[row.id] = Plan(Route.TEMPLATE, template)
                else:  # cut, or with a photo or buttons: the template now, the whole message on reply
                    plans[row.id] = Plan(Route.HOLD, template)
                    noticed.add(row.address)
            elif sms_available:
                plans[row.id] = Plan(Route.SMS, replace(row.out, channel="sms"))
            else:
                generic = lookup.approved(GENERIC, language)
                notice = None
                if generic is not None and row.address not in noticed:
                    notice = replace(lookup.as_template(row.out, GENERIC, generic), kind=GENERIC)
                    noticed.add(row.address)
                plans[row.id] = Plan(Route.HOLD, notice)
        return plans


class _Templates:
    """Template look-ups for one plan, each (kind, language) asked once."""

    def __init__(self, conn: Connection, templates):
        self.conn = conn
        self.templates = templates
        self.approved_content = getattr(templates, "approved_content", None)
        self.template_variables = getattr(templates, "template_variables", None)
        self._sids: dict[tuple[str, str], str | None] = {}
        self._kampung_name: str | None = None

    def approved(self, kind: str, language: str) -> str | None:
        if self.approved_content is None:
            return None
        if (kind, language) not in self._sids:
            self._sids[kind, language] = self.approved_content(self.conn, kind, language)
        return self._sids[kind, language]

    def kampung_name(self) -> str:
        if self._kampung_name is None:
            self._kampung_name = self.conn.scalar(select(Kampung.name).limit(1)) or ""
        return self._kampung_name

    def carries_all(self, out: OutgoingMessage, kind: str) -> bool:
        """Whether the template says everything `out` does: its whole text, and no
        photo, file or buttons (a template carries none of them)."""
        fits = getattr(self.templates, "fits_template", None)
        whole_text = fits is None or fits(kind, out.text, self.kampung_name())
        return whole_text and not (out.choices or out.media_url or out.document_path)

    def as_template(self, out: OutgoingMessage, kind: str, sid: str) -> OutgoingMessage:
        """`out` as template `sid`; the channel sends the template, not the text."""
        variables = self.template_variables(kind, out.text, self.kampung_name())
        return replace(out, choices=[], media_url=None, document_path=None,
                       content_sid=sid, content_variables=variables)


class NoWindow(WhatsAppWindow):
    """For `kampung simulate` and the console: no platform, no window; every message
    goes as written."""

    def plan(self, conn: Connection, rows: list[Queued], now: datetime, sms_available: bool) -> dict[int, Plan]:
        return {}
