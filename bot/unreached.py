"""Who in an RT the bot cannot reach, so their RT head can tell them in person: residents
whose every address is refused (blocked the bot, not on WhatsApp, invalid number) or who
have no address the bot can use, and those whose last announcement or reminder failed.
Also how a recipient's address is shown to staff: a phone masked as in the logs
(+62812****7001), a chat account by its platform's name only."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.log_setup import mask_phone
from bot.notify import BULK, NO_CHANNEL, REFUSED, routes
from db.models import Identity, Outbox, Resident, Rt

# Reason for a resident with nothing to write to: no phone number at all.
NO_PHONE = "no_phone"
# A failure the outbox did not name: retried until the dispatcher gave up.
GAVE_UP = "gave_up"
FAILED_DELIVERY = ("failed", "undelivered")


def shown_address(channel: str, address: str) -> str:
    """A phone channel's address masked; a chat account is not a number to show."""
    return mask_phone(address) if address.startswith("+") else ""


@dataclass(frozen=True)
class Unreached:
    name: str
    phone: str  # masked, or "" when there is none
    reason: str  # a bot.delivery.Failure value, NO_CHANNEL or NO_PHONE


def unreached_in(conn: Connection, rt: str, phone_channels: tuple[str, ...]) -> list[Unreached]:
    """Consented residents of RT `rt` the bot cannot reach now (writing on `phone_channels`
    to those known only by their phone) or whose last bulk message failed, by name."""
    people = conn.execute(select(Resident.id, Resident.name, Resident.phone).join(Rt, Rt.id == Resident.rt_id)
                          .where(Rt.number == rt, Resident.consent_at.is_not(None))).all()
    ids = [p.id for p in people]
    found = routes(conn, ids, phone_channels, announcement=False)
    refused = dict(conn.execute(select(Identity.resident_id, Identity.unreachable)
                                .where(Identity.resident_id.in_(ids), Identity.unreachable.is_not(None))
                                .order_by(Identity.unreachable_at)).all()) if ids else {}
    last = (select(func.max(Outbox.id)).where(Outbox.resident_id.in_(ids), Outbox.priority == BULK)
            .group_by(Outbox.resident_id))
    failed = {row.resident_id: row.failure or GAVE_UP for row in conn.execute(
        select(Outbox.resident_id, Outbox.failure, Outbox.status, Outbox.delivery).where(Outbox.id.in_(last)))
        if row.status == "failed" or row.delivery in FAILED_DELIVERY} if ids else {}
    listed = []
    for person in people:
        route = found.get(person.id)
        if route is not None and route.reason == REFUSED:
            reason = refused.get(person.id, REFUSED)
        elif route is not None and route.reason == NO_CHANNEL:
            reason = NO_CHANNEL if person.phone else NO_PHONE
        elif person.id in failed:
            reason = failed[person.id]
        else:
            continue
        listed.append(Unreached(person.name or "-", mask_phone(person.phone) if person.phone else "", reason))
    return sorted(listed, key=lambda u: u.name.casefold())
