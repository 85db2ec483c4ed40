"""Messages the bot starts itself (status changes, reminders, announcements), written
to the outbox inside the caller's transaction like every reply.

A resident reachable on several channels gets each message once, on their preferred
channel. Announcements and reminders respect STOP and the kampung's quiet hours (written
during them, they wait in the outbox until the quiet hours end); answers to the
resident's own business (a report's status) do neither, since they asked for them.
"""
from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from bot.render import Renderer
from bot.templates import kind_for_key
from db.models import Conversation, Identity, Outbox, Resident
from flows.base import Option
from handlers.recurrence import quiet_until

CHANNEL_PREFERENCE = ("whatsapp", "telegram", "sms", "console")
# Outbox priorities: a chat reply (written by the core) goes before a notice about the
# resident's own business, which goes before bulk (announcements, reminders).
REPLY, NOTICE, BULK = 0, 1, 2

_RECIPIENT = (
    select(Resident.language, Resident.opted_out, Conversation.flow, Conversation.step)
    .outerjoin(Conversation, Conversation.resident_id == Resident.id)
    .where(Resident.id == bindparam("rid"))
)
_IDENTITIES = select(Identity.channel, Identity.address).where(Identity.resident_id == bindparam("rid"))


class Notifier:
    def __init__(self, renderer: Renderer, quiet_hours: tuple[time, time] | None = None, zone: str = "Asia/Jakarta",
                 group_language: str = "id"):
        self.renderer = renderer
        self.quiet_hours, self.zone = quiet_hours, zone
        # Group chats have many readers; posts to them are in the kampung's default language.
        self.group_language = group_language

    def quiet_until(self, now: datetime) -> datetime | None:
        """When announcements written at `now` go out, if it is quiet hours; else None."""
        return quiet_until(now, self.quiet_hours, self.zone)

    def notify(self, conn: Connection, resident_id: int, key: str, params: dict, now: datetime, *,
               announcement: bool, options: tuple[Option, ...] = (), even_in_quiet_hours: bool = False) -> bool:
        """Queue one message for a resident; False when they said STOP (announcements)
        or cannot be reached."""
        return self.queue(conn, resident_id, key, params, now, announcement=announcement, options=options,
                          even_in_quiet_hours=even_in_quiet_hours) is not None

    def queue(self, conn: Connection, resident_id: int, key: str, params: dict, now: datetime, *,
              announcement: bool, options: tuple[Option, ...] = (), media: dict[str, str] | None = None,
              document: str | None = None, even_in_quiet_hours: bool = False) -> int | None:
        """As `notify`, returning the outbox row's id (None: STOP or unreachable).
        `media` maps a channel to the image URL/reference to attach on that channel;
        `document`: a file under DATA_DIR to attach on any channel (an image shows as one);
        `even_in_quiet_hours`: an announcement that must not wait (the sender chose to send
        it during quiet hours; a reminder timed to its event)."""
        row = conn.execute(_RECIPIENT, {"rid": resident_id}).first()
        if row is None or (announcement and row.opted_out):
            return None
        identities = dict(conn.execute(_IDENTITIES, {"rid": resident_id}).all())
        channel = next((c for c in CHANNEL_PREFERENCE if c in identities), None)
        if channel is None:
            return None
        out = self.renderer.message(channel, identities[channel], row.language, key, params, options,
                                    flow=row.flow, step=row.step, media_url=(media or {}).get(channel),
                                    document=document)
        out.kind = kind_for_key(key)
        return conn.execute(insert(Outbox).values(
            resident_id=resident_id, channel=channel, address=out.address, payload=out.to_dict(),
            status="pending", attempts=0, created_at=now, priority=BULK if announcement else NOTICE,
            not_before=(announcement and not even_in_quiet_hours and self.quiet_until(now)) or now,
        )).inserted_primary_key[0]

    def post_to_chat(self, conn: Connection, channel: str, address: str, language: str | None, key: str,
                     params: dict, now: datetime, media_url: str | None = None, document: str | None = None,
                     even_in_quiet_hours: bool = False) -> int:
        """Queue one announcement to a group chat (a linked Telegram group: `address` is
        its chat id); no resident behind it. Returns the outbox row's id."""
        out = self.renderer.message(channel, address, language or self.group_language, key, params,
                                    media_url=media_url, document=document)
        out.kind = kind_for_key(key)
        return conn.execute(insert(Outbox).values(
            resident_id=None, channel=channel, address=out.address, payload=out.to_dict(),
            status="pending", attempts=0, created_at=now, priority=BULK,
            not_before=(not even_in_quiet_hours and self.quiet_until(now)) or now,
        )).inserted_primary_key[0]
