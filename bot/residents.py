"""Residents as the conversation sees them: identity lookup, the `ResidentPort`
that applies flow effects to the database, and the kampung's shape.

Everything here runs on every message, so it speaks SQLAlchemy Core on a plain
Connection with statements built once: the ORM's unit of work cost more than the
queries themselves.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, literal, select, union_all, update
from sqlalchemy.engine import Connection

from bot.messages import join_sender
from db.inbox import DeadLetter
from db.models import Conversation, Identity, Inbox, Kampung, Membership, Outbox, Paguyuban, Resident, RoleGrant, Rt
from bot.features import EffectContext, FeatureIndex, Store
from bot.notify import Notifier
from bot.settings import Settings
from flows.base import EraseMe, KampungInfo, RecordConsent, ResidentInfo, Say, SetOptOut, UpdateProfile

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


def load_kampung(conn: Connection) -> KampungInfo:
    kampung = conn.execute(select(Kampung.name, Kampung.kelurahan, Kampung.rw).limit(1)).first()
    rts = tuple(conn.scalars(select(Rt.number).order_by(Rt.number)))
    paguyuban = tuple(conn.scalars(select(Paguyuban.name).order_by(Paguyuban.name)))
    name, kelurahan, rw = kampung or ("Kampung", "", "")
    return KampungInfo(name, kelurahan, rw, rts, paguyuban)


def load_info(conn: Connection, channel: str, address: str):
    """The resident behind a channel address and the stored conversation row
    (`version` is None when there is none yet); None if the address is unknown."""
    row = conn.execute(_RESIDENT_BY_ADDRESS, {"channel": channel, "address": address}).first()
    if row is None:
        return None
    return _info(conn, row), row


def _info(conn: Connection, row) -> ResidentInfo:
    groups, roles, channels = [], [], set()
    for kind, value, rt in conn.execute(_DETAILS, {"rid": row.id}):
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


def create_identity(conn: Connection, channel: str, address: str, now: datetime, language: str) -> int:
    """Record a new channel address, reusing the resident with the same phone number:
    WhatsApp, SMS (and a console session started with a phone number) share it, so a
    resident imported from CSV is recognised on any of them. Returns the resident id."""
    phone = address if channel in PHONE_CHANNELS or (channel == "console" and address.startswith("+")) else None
    resident_id = conn.scalar(select(Resident.id).where(Resident.phone == phone)) if phone else None
    if resident_id is None:
        resident_id = conn.execute(
            insert(Resident).values(phone=phone, language=language, created_at=now, opted_out=False)
        ).inserted_primary_key[0]
    conn.execute(insert(Identity).values(resident_id=resident_id, channel=channel, address=address))
    return resident_id


class ResidentPort:
    """Applies flow effects to one resident inside the current transaction."""

    def __init__(self, conn: Connection, info: ResidentInfo, kampung: KampungInfo, now: datetime,
                 features: FeatureIndex | None = None, notifier: Notifier | None = None,
                 settings: Settings | None = None):
        self.conn = conn
        self.info = info
        self.kampung = kampung
        self.now = now
        self.erased = False
        # Set when an effect changed the kampung's shape (a paguyuban created, renamed).
        self.reshaped_kampung = False
        features = features or FeatureIndex(())
        self.store = Store(features.readers, conn, info, now, settings if settings is not None else Settings())
        self._feature_effects = features.effects
        self._reshaping = features.reshaping
        self._notifier = notifier
        self._settings = settings

    def apply(self, effect) -> list[Say]:
        """Apply a flow's effect; returns what the feature has to say about it."""
        handler = self._feature_effects.get(type(effect))
        if handler is not None:
            self.reshaped_kampung = self.reshaped_kampung or type(effect) in self._reshaping
            context = EffectContext(self.conn, self.info, self.now, self._notifier, self._settings)
            return handler(context, effect) or []
        self._apply_profile(effect)
        return []

    def _apply_profile(self, effect) -> None:
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
                values["rt_id"] = self.conn.execute(_RT_ID, {"number": effect.rt}).scalar_one()
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
            self.conn.execute(_UPDATE_RESIDENT, {"rid": info.id, **values})
        self.info = info

    def _set_memberships(self, names: tuple[str, ...]) -> tuple[str, ...]:
        known = tuple(sorted(set(names) & set(self.kampung.paguyuban)))
        conn = self.conn
        conn.execute(_DELETE_MEMBERSHIPS, {"rid": self.info.id})
        if known:
            conn.execute(_INSERT_MEMBERSHIPS, {"rid": self.info.id, "names": list(known)})
        return known


def erase_resident(conn: Connection, resident_id: int) -> None:
    """UU PDP erasure: the resident, their identities, memberships, roles and
    conversation, every message to them still stored, and the text of what they sent
    (processed inbox rows keep only their delivery id, so a late redelivery is still
    ignored; rows not processed yet stay whole and are then handled as from a new
    contact, since a blank row cannot be processed). Dead letters of theirs go too."""
    senders = [join_sender(c, a) for c, a in conn.execute(
        select(Identity.channel, Identity.address).where(Identity.resident_id == resident_id))]
    conn.execute(delete(DeadLetter).where(DeadLetter.sender.in_(senders)))
    conn.execute(update(Inbox).where(Inbox.sender.in_(senders), Inbox.processed_at.is_not(None))
                 .values(payload={}, sender="erased"))
    conn.execute(delete(Outbox).where(Outbox.resident_id == resident_id))
    for model in (Conversation, Membership, RoleGrant, Identity):
        conn.execute(delete(model).where(model.resident_id == resident_id))
    conn.execute(delete(Resident).where(Resident.id == resident_id))


# -- a chat account joined to a phone number -------------------------------------------
LINKED, SAVED, SAME, TAKEN = "linked", "saved", "same", "taken"
_PERSON = select(Resident.id, Resident.name, Resident.rt_id, Resident.consent_at)


def link_phone(conn: Connection, channel: str, address: str, phone: str, now: datetime, language: str) -> str:
    """Join a chat account (Telegram has no phone number) to the resident with the number
    its owner shared, so someone registered on WhatsApp or imported by their RT head is
    recognised on Telegram too. Returns:
    LINKED: the two are now one resident (the one who consented, else the one with the number);
    SAVED: nobody had the number, it is kept with this account;
    SAME: it already was;
    TAKEN: both accounts consented separately; joining them is for a person to decide."""
    current = conn.scalar(select(Identity.resident_id).where(Identity.channel == channel, Identity.address == address))
    if current is None:
        current = create_identity(conn, channel, address, now, language)
    owner = conn.scalar(select(Resident.id).where(Resident.phone == phone))
    if owner is None:
        conn.execute(update(Resident).where(Resident.id == current).values(phone=phone))
        return SAVED
    if owner == current:
        return SAME
    people = {row.id: row for row in conn.execute(_PERSON.where(Resident.id.in_((current, owner))))}
    if people[current].consent_at and people[owner].consent_at:
        return TAKEN
    keep, gone = (current, owner) if people[current].consent_at else (owner, current)
    _absorb(conn, people[keep], people[gone], phone)
    return LINKED


def _absorb(conn: Connection, keep, gone, phone: str) -> None:
    """Move what the resident `gone` has (chat accounts, roles, paguyuban, messages still
    queued) to `keep`, fill `keep`'s empty name and RT from it, then remove `gone`."""
    conn.execute(update(Identity).where(Identity.resident_id == gone.id).values(resident_id=keep.id))
    held = set(conn.execute(select(RoleGrant.role, RoleGrant.rt_id).where(RoleGrant.resident_id == keep.id)).all())
    for grant_id, role, rt_id in conn.execute(
            select(RoleGrant.id, RoleGrant.role, RoleGrant.rt_id).where(RoleGrant.resident_id == gone.id)).all():
        if (role, rt_id) not in held:
            conn.execute(update(RoleGrant).where(RoleGrant.id == grant_id).values(resident_id=keep.id))
    conn.execute(update(Outbox).where(Outbox.resident_id == gone.id).values(resident_id=keep.id))
    conn.execute(insert(Membership).from_select(
        ["resident_id", "paguyuban_id"],
        select(literal(keep.id), Membership.paguyuban_id).where(
            Membership.resident_id == gone.id,
            Membership.paguyuban_id.not_in(select(Membership.paguyuban_id).where(Membership.resident_id == keep.id)))))
    for model in (Conversation, Membership, RoleGrant):
        conn.execute(delete(model).where(model.resident_id == gone.id))
    conn.execute(delete(Resident).where(Resident.id == gone.id))
    conn.execute(update(Resident).where(Resident.id == keep.id).values(
        phone=phone, name=keep.name or gone.name, rt_id=keep.rt_id or gone.rt_id))
