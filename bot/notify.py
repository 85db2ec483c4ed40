"""Messages the bot starts itself (status changes, reminders, announcements), written
to the outbox inside the caller's transaction like every reply.

A resident reachable on several channels gets each message once, on their preferred
channel. Announcements and reminders respect STOP and the kampung's quiet hours (written
during them, they wait in the outbox until the quiet hours end); answers to the
resident's own business (a report's status) do neither, since they asked for them.

Which address: the resident's chat identities in CHANNEL_PREFERENCE order, skipping
those a platform marked unreachable (blocked the bot, not on WhatsApp, …). A resident
with no usable identity but a phone number (imported from the RT's list, consent on
paper) is written to on the installation's phone channels (Settings.phone_channels) at
that number, the identity row created in the same transaction so receipts and
WhatsApp's window have a row to mark. `reach` counts with the same rule, so a preview's
numbers are what is then sent.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Iterable

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
# Why a resident cannot be reached (Reach.unreached keys, catalogue delivery.reason.*).
STOPPED = "stopped"        # said STOP (announcements only)
NO_CHANNEL = "no_channel"  # no chat account, and no phone number or no phone channel configured
REFUSED = "refused"        # every address refused by its platform (blocked, invalid number, …)
_CHUNK = 500

_RECIPIENT = (
    select(Resident.language, Resident.opted_out, Resident.phone, Conversation.flow, Conversation.step)
    .outerjoin(Conversation, Conversation.resident_id == Resident.id)
    .where(Resident.id == bindparam("rid"))
)
_IDENTITIES = (select(Identity.channel, Identity.address, Identity.unreachable)
               .where(Identity.resident_id == bindparam("rid")))
_TAKEN = select(Identity.resident_id).where(Identity.channel == bindparam("channel"),
                                            Identity.address == bindparam("address"))


@dataclass(frozen=True)
class Route:
    """Where a message goes: a channel and address, or why it cannot (`reason`).
    `new`: the address is the resident's phone on a phone channel with no identity yet."""

    channel: str | None = None
    address: str | None = None
    new: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Reach:
    """Who a message to some residents reaches: per channel, and per reason not."""

    channels: dict[str, int] = field(default_factory=dict)
    unreached: dict[str, int] = field(default_factory=dict)

    @property
    def reached(self) -> int:
        return sum(self.channels.values())

    @property
    def stopped(self) -> int:
        return self.unreached.get(STOPPED, 0)


def route(identities: Iterable[tuple[str, str, str | None]], phone: str | None, opted_out: bool, *,
          announcement: bool, phone_channels: tuple[str, ...], taken: Iterable[tuple[str, str]] = ()) -> Route:
    """The channel and address for one resident (see the module docstring).
    `identities`: (channel, address, unreachable) rows; `taken`: (channel, address)
    pairs another resident's identity already holds."""
    if announcement and opted_out:
        return Route(reason=STOPPED)
    by_channel: dict[str, list[tuple[str, str | None]]] = {}
    for channel, address, unreachable in identities:
        by_channel.setdefault(channel, []).append((address, unreachable))
    for channel in CHANNEL_PREFERENCE:
        for address, unreachable in by_channel.get(channel, ()):
            if not unreachable:
                return Route(channel, address)
    taken = set(taken)
    for channel in phone_channels if phone else ():
        if channel not in by_channel and (channel, phone) not in taken:
            return Route(channel, phone, new=True)
    return Route(reason=REFUSED if by_channel else NO_CHANNEL)


class Notifier:
    def __init__(self, renderer: Renderer, quiet_hours: tuple[time, time] | None = None, zone: str = "Asia/Jakarta",
                 group_language: str = "id", phone_channels: tuple[str, ...] = ()):
        self.renderer = renderer
        self.quiet_hours, self.zone = quiet_hours, zone
        # Group chats have many readers; posts to them are in the kampung's default language.
        self.group_language = group_language
        # Where a resident known only by their phone number is written to.
        self.phone_channels = phone_channels

    def quiet_until(self, now: datetime) -> datetime | None:
        """When announcements written at `now` go out, if it is quiet hours; else None."""
        return quiet_until(now, self.quiet_hours, self.zone)

    def _route(self, conn: Connection, resident_id: int, *, announcement: bool):
        """The resident's row (None if gone) and where a message to them goes."""
        row = conn.execute(_RECIPIENT, {"rid": resident_id}).first()
        if row is None:
            return None, Route(reason=NO_CHANNEL)
        identities = conn.execute(_IDENTITIES, {"rid": resident_id}).all()
        taken: list[tuple[str, str]] = []
        while True:
            found = route(identities, row.phone, row.opted_out, announcement=announcement,
                          phone_channels=self.phone_channels, taken=taken)
            if not found.new or conn.scalar(_TAKEN, {"channel": found.channel, "address": found.address}) is None:
                return row, found
            taken.append((found.channel, found.address))  # another resident's account holds that number

    def reach(self, conn: Connection, resident_ids: Iterable[int], *, announcement: bool = True) -> Reach:
        """How many of these residents a message would reach, on which channel, and why
        the others would not: the same rule as `queue`."""
        return reach(conn, resident_ids, self.phone_channels, announcement=announcement)

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
        row, found = self._route(conn, resident_id, announcement=announcement)
        if found.channel is None:
            return None
        if found.new:
            conn.execute(insert(Identity).values(resident_id=resident_id, channel=found.channel,
                                                 address=found.address))
        out = self.renderer.message(found.channel, found.address, row.language, key, params, options,
                                    flow=row.flow, step=row.step, media_url=(media or {}).get(found.channel),
                                    document=document)
        out.kind = kind_for_key(key)
        return conn.execute(insert(Outbox).values(
            resident_id=resident_id, channel=found.channel, address=out.address, payload=out.to_dict(),
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


def routes(conn: Connection, resident_ids: Iterable[int], phone_channels: tuple[str, ...], *,
           announcement: bool = True) -> dict[int, Route]:
    """Where a message to each of these residents would go now, or why it would not
    (`route`), in a few queries."""
    ids = list(resident_ids)
    found: dict[int, Route] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        people = conn.execute(select(Resident.id, Resident.phone, Resident.opted_out)
                              .where(Resident.id.in_(chunk))).all()
        identities: dict[int, list] = {}
        for rid, channel, address, unreachable in conn.execute(
                select(Identity.resident_id, Identity.channel, Identity.address, Identity.unreachable)
                .where(Identity.resident_id.in_(chunk))):
            identities.setdefault(rid, []).append((channel, address, unreachable))
        phones = [p.phone for p in people if p.phone]
        held = conn.execute(select(Identity.channel, Identity.address, Identity.resident_id).where(
            Identity.channel.in_(phone_channels), Identity.address.in_(phones))).all() if phones else []
        for person in people:
            taken = [(c, a) for c, a, rid in held if rid != person.id]
            found[person.id] = route(identities.get(person.id, ()), person.phone, person.opted_out,
                                     announcement=announcement, phone_channels=phone_channels, taken=taken)
    return found


def reach(conn: Connection, resident_ids: Iterable[int], phone_channels: tuple[str, ...], *,
          announcement: bool = True) -> Reach:
    """Counts of `routes`: per channel, and per reason not reached."""
    channels: Counter[str] = Counter()
    unreached: Counter[str] = Counter()
    for found in routes(conn, resident_ids, phone_channels, announcement=announcement).values():
        if found.channel:
            channels[found.channel] += 1
        else:
            unreached[found.reason] += 1
    return Reach(dict(channels), dict(unreached))
