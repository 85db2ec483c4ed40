"""Residents as the conversation sees them: identity lookup, the `ResidentPort`
that applies flow effects to the database, and the kampung's shape."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from bot.messages import join_sender
from db.models import Conversation, Identity, Inbox, Kampung, Membership, Outbox, Paguyuban, Resident, Rt
from flows.base import EraseMe, KampungInfo, RecordConsent, ResidentInfo, SetOptOut, UpdateProfile

PHONE_CHANNELS = ("whatsapp", "sms")


def load_kampung(session: Session) -> KampungInfo:
    kampung = session.scalars(select(Kampung).limit(1)).first()
    rts = tuple(session.scalars(select(Rt.number).order_by(Rt.number)))
    paguyuban = tuple(session.scalars(select(Paguyuban.name).order_by(Paguyuban.name)))
    if kampung is None:
        return KampungInfo("Kampung", "", "", rts, paguyuban)
    return KampungInfo(kampung.name, kampung.kelurahan, kampung.rw, rts, paguyuban)


def find_or_create(session: Session, channel: str, address: str, now: datetime, language: str) -> tuple[Resident, Identity]:
    """The resident behind a channel address. WhatsApp, SMS (and a console session
    started with a phone number) share the phone number, so a resident imported from
    CSV is recognised on any of them."""
    identity = session.scalars(
        select(Identity).where(Identity.channel == channel, Identity.address == address)
        .options(selectinload(Identity.resident).selectinload(Resident.memberships),
                 selectinload(Identity.resident).selectinload(Resident.roles),
                 selectinload(Identity.resident).selectinload(Resident.identities))
    ).first()
    if identity is not None:
        return identity.resident, identity
    phone = address if channel in PHONE_CHANNELS or (channel == "console" and address.startswith("+")) else None
    resident = session.scalars(select(Resident).where(Resident.phone == phone)).first() if phone else None
    if resident is None:
        resident = Resident(phone=phone, language=language, created_at=now, opted_out=False)
        session.add(resident)
    identity = Identity(channel=channel, address=address)
    resident.identities.append(identity)
    session.flush()
    return resident, identity


class ResidentPort:
    """Applies flow effects to one resident inside the current transaction."""

    def __init__(self, session: Session, resident: Resident, kampung: KampungInfo, now: datetime):
        self.session = session
        self.resident = resident
        self.kampung = kampung
        self.now = now
        self.erased = False
        self.info = self._info()

    def _info(self) -> ResidentInfo:
        r = self.resident
        rt_numbers = {}
        if any(g.rt_id for g in r.roles):
            rt_numbers = dict(self.session.execute(select(Rt.id, Rt.number)).all())
        return ResidentInfo(
            id=r.id,
            name=r.name,
            rt=r.rt.number if r.rt else None,
            language=r.language,
            paguyuban=tuple(sorted(m.paguyuban.name for m in r.memberships)),
            roles=tuple((g.role, rt_numbers.get(g.rt_id)) for g in r.roles),
            consented=r.consent_at is not None,
            opted_out=r.opted_out,
            phone=r.phone,
            channels=tuple(sorted({i.channel for i in r.identities})),
        )

    def apply(self, effect) -> None:
        r = self.resident
        if isinstance(effect, UpdateProfile):
            if effect.name is not None:
                r.name = effect.name
            if effect.rt is not None:
                r.rt = self.session.scalars(select(Rt).where(Rt.number == effect.rt)).one()
            if effect.language is not None:
                r.language = effect.language
            if effect.paguyuban is not None:
                self._set_memberships(effect.paguyuban)
        elif isinstance(effect, RecordConsent):
            r.consent_at, r.consent_source = self.now, "chat"
        elif isinstance(effect, SetOptOut):
            r.opted_out = effect.opted_out
        elif isinstance(effect, EraseMe):
            self.erased = True
        else:
            raise TypeError(f"unknown effect {effect!r}")
        self.info = self._info()

    def _set_memberships(self, names: tuple[str, ...]) -> None:
        r = self.resident
        self.session.execute(delete(Membership).where(Membership.resident_id == r.id))
        self.session.expire(r, ["memberships"])
        groups = self.session.scalars(select(Paguyuban).where(Paguyuban.name.in_(names))).all()
        for group in groups:
            self.session.add(Membership(resident_id=r.id, paguyuban_id=group.id))
        self.session.flush()
        self.session.refresh(r, ["memberships"])



def erase_resident(session: Session, resident: Resident, conv: Conversation) -> None:
    """UU PDP erasure: the resident, their identities, memberships, roles and
    conversation, every message to them still stored, and the text of what they sent
    (inbox rows keep only their delivery id, so a late redelivery is still ignored)."""
    senders = [join_sender(i.channel, i.address) for i in resident.identities]
    session.execute(update(Inbox).where(Inbox.sender.in_(senders)).values(payload={}, sender="erased"))
    session.execute(delete(Outbox).where(Outbox.resident_id == resident.id))
    session.delete(conv)
    session.delete(resident)
