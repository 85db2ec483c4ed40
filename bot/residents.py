"""Residents as the conversation sees them: identity lookup, the `ResidentPort`
that applies flow effects to the database, and the kampung's shape.

Reading a resident happens on every message, so it uses two lean Core queries;
the ORM is used only when something changes (a new resident, an effect).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, literal, select, union_all, update
from sqlalchemy.orm import Session

from bot.messages import join_sender
from db.models import Conversation, Identity, Inbox, Kampung, Membership, Outbox, Paguyuban, Resident, RoleGrant, Rt
from flows.base import EraseMe, KampungInfo, RecordConsent, ResidentInfo, SetOptOut, UpdateProfile

PHONE_CHANNELS = ("whatsapp", "sms")

# Statements built once: constructing them per message cost more than running them.
# The resident behind an address and their conversation, in one round trip.
_RESIDENT_BY_ADDRESS = (
    select(Resident.id, Resident.name, Resident.phone, Resident.language, Resident.consent_at, Resident.opted_out,
           Rt.number.label("rt"), Conversation.flow, Conversation.step, Conversation.data,
           Conversation.updated_at, Conversation.version)
    .select_from(Identity)
    .join(Resident, Resident.id == Identity.resident_id)
    .outerjoin(Rt, Rt.id == Resident.rt_id)
    .outerjoin(Conversation, Conversation.resident_id == Resident.id)
    .where(Identity.channel == bindparam("channel"), Identity.address == bindparam("address"))
)
# Paguyuban, roles and channels of a resident in one round trip.
_DETAILS = union_all(
    select(literal("p"), Paguyuban.name, literal(None))
    .join(Membership, Membership.paguyuban_id == Paguyuban.id).where(Membership.resident_id == bindparam("rid")),
    select(literal("r"), RoleGrant.role, Rt.number)
    .outerjoin(Rt, Rt.id == RoleGrant.rt_id).where(RoleGrant.resident_id == bindparam("rid")),
    select(literal("c"), Identity.channel, literal(None)).where(Identity.resident_id == bindparam("rid")),
)

# Statements for effects; SET columns come from the execute parameters.
_UPDATE_RESIDENT = update(Resident).where(Resident.id == bindparam("rid"))
_RT_ID = select(Rt.id).where(Rt.number == bindparam("number"))
_DELETE_MEMBERSHIPS = delete(Membership).where(Membership.resident_id == bindparam("rid"))
_INSERT_MEMBERSHIPS = insert(Membership).from_select(
    ["resident_id", "paguyuban_id"],
    select(bindparam("rid"), Paguyuban.id).where(Paguyuban.name.in_(bindparam("names", expanding=True))),
)


def load_kampung(session: Session) -> KampungInfo:
    kampung = session.scalars(select(Kampung).limit(1)).first()
    rts = tuple(session.scalars(select(Rt.number).order_by(Rt.number)))
    paguyuban = tuple(session.scalars(select(Paguyuban.name).order_by(Paguyuban.name)))
    if kampung is None:
        return KampungInfo("Kampung", "", "", rts, paguyuban)
    return KampungInfo(kampung.name, kampung.kelurahan, kampung.rw, rts, paguyuban)


def load_info(session: Session, channel: str, address: str):
    """The resident behind a channel address and the stored conversation row
    (`version` is None when there is none yet); None if the address is unknown."""
    row = session.connection().execute(_RESIDENT_BY_ADDRESS, {"channel": channel, "address": address}).first()
    if row is None:
        return None
    return _info(session, row), row


def _info(session: Session, row) -> ResidentInfo:
    groups, roles, channels = [], [], set()
    for kind, value, rt in session.connection().execute(_DETAILS, {"rid": row.id}):
        if kind == "p":
            groups.append(value)
        elif kind == "r":
            roles.append((value, rt))
        else:
            channels.add(value)
    return ResidentInfo(
        id=row.id, name=row.name, rt=row.rt, language=row.language, paguyuban=tuple(sorted(groups)),
        roles=tuple(roles), consented=row.consent_at is not None, opted_out=row.opted_out,
        phone=row.phone, channels=tuple(sorted(channels)),
    )


def create_identity(session: Session, channel: str, address: str, now: datetime, language: str) -> int:
    """Record a new channel address, reusing the resident with the same phone number:
    WhatsApp, SMS (and a console session started with a phone number) share it, so a
    resident imported from CSV is recognised on any of them. Returns the resident id."""
    phone = address if channel in PHONE_CHANNELS or (channel == "console" and address.startswith("+")) else None
    resident = session.scalars(select(Resident).where(Resident.phone == phone)).first() if phone else None
    if resident is None:
        resident = Resident(phone=phone, language=language, created_at=now, opted_out=False)
        session.add(resident)
        session.flush()
    session.add(Identity(resident_id=resident.id, channel=channel, address=address))
    session.flush()
    return resident.id


class ResidentPort:
    """Applies flow effects to one resident inside the current transaction."""

    def __init__(self, session: Session, info: ResidentInfo, kampung: KampungInfo, now: datetime):
        self.session = session
        self.info = info
        self.kampung = kampung
        self.now = now
        self.erased = False

    def apply(self, effect) -> None:
        """Write the change with Core statements and update `info` to match, so the
        rest of the turn sees it without re-reading."""
        if isinstance(effect, EraseMe):
            self.erased = True
            return
        info, values = self.info, {}
        if isinstance(effect, UpdateProfile):
            if effect.name is not None:
                values["name"] = effect.name
                info = replace(info, name=effect.name)
            if effect.rt is not None:
                values["rt_id"] = self.session.connection().execute(_RT_ID, {"number": effect.rt}).scalar_one()
                info = replace(info, rt=effect.rt)
            if effect.language is not None:
                values["language"] = effect.language
                info = replace(info, language=effect.language)
            if effect.paguyuban is not None:
                info = replace(info, paguyuban=self._set_memberships(effect.paguyuban))
        elif isinstance(effect, RecordConsent):
            values.update(consent_at=self.now, consent_source="chat")
            info = replace(info, consented=True)
        elif isinstance(effect, SetOptOut):
            values["opted_out"] = effect.opted_out
            info = replace(info, opted_out=effect.opted_out)
        else:
            raise TypeError(f"unknown effect {effect!r}")
        if values:
            self.session.connection().execute(_UPDATE_RESIDENT, {"rid": info.id, **values})
        self.info = info

    def _set_memberships(self, names: tuple[str, ...]) -> tuple[str, ...]:
        known = tuple(sorted(set(names) & set(self.kampung.paguyuban)))
        conn = self.session.connection()
        conn.execute(_DELETE_MEMBERSHIPS, {"rid": self.info.id})
        if known:
            conn.execute(_INSERT_MEMBERSHIPS, {"rid": self.info.id, "names": list(known)})
        return known


def erase_resident(session: Session, resident_id: int) -> None:
    """UU PDP erasure: the resident, their identities, memberships, roles and
    conversation, every message to them still stored, and the text of what they sent
    (inbox rows keep only their delivery id, so a late redelivery is still ignored)."""
    senders = [join_sender(c, a) for c, a in session.execute(
        select(Identity.channel, Identity.address).where(Identity.resident_id == resident_id))]
    session.execute(update(Inbox).where(Inbox.sender.in_(senders)).values(payload={}, sender="erased"))
    session.execute(delete(Outbox).where(Outbox.resident_id == resident_id))
    for model in (Conversation, Membership, RoleGrant, Identity):
        session.execute(delete(model).where(model.resident_id == resident_id))
    session.execute(delete(Resident).where(Resident.id == resident_id))
