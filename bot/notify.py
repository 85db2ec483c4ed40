"""Messages the bot starts itself (status changes, reminders, announcements), written
to the outbox inside the caller's transaction like every reply.

A resident reachable on several channels gets each message once, on their preferred
channel. Announcements and reminders respect STOP; answers to the resident's own
business (a report's status) do not, since they asked for them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from bot.render import Renderer
from db.models import Conversation, Identity, Outbox, Resident
from flows.base import Option

CHANNEL_PREFERENCE = ("whatsapp", "telegram", "sms", "console")

_RECIPIENT = (
    select(Resident.language, Resident.opted_out, Conversation.flow, Conversation.step)
    .outerjoin(Conversation, Conversation.resident_id == Resident.id)
    .where(Resident.id == bindparam("rid"))
)
_IDENTITIES = select(Identity.channel, Identity.address).where(Identity.resident_id == bindparam("rid"))


class Notifier:
    def __init__(self, renderer: Renderer):
        self.renderer = renderer

    def notify(self, conn: Connection, resident_id: int, key: str, params: dict, now: datetime, *,
               announcement: bool, options: tuple[Option, ...] = ()) -> bool:
        """Queue one message for a resident; False when they said STOP (announcements)
        or cannot be reached."""
        row = conn.execute(_RECIPIENT, {"rid": resident_id}).first()
        if row is None or (announcement and row.opted_out):
            return False
        identities = dict(conn.execute(_IDENTITIES, {"rid": resident_id}).all())
        channel = next((c for c in CHANNEL_PREFERENCE if c in identities), None)
        if channel is None:
            return False
        out = self.renderer.message(channel, identities[channel], row.language, key, params, options,
                                    flow=row.flow, step=row.step)
        conn.execute(insert(Outbox).values(
            resident_id=resident_id, channel=channel, address=out.address, payload=out.to_dict(),
            status="pending", attempts=0, not_before=now, created_at=now,
        ))
        return True
