"""SQLAlchemy 2.0 models: the kampung, its residents, and the conversation machinery.

All datetimes are stored as naive UTC (SQLite has no time zones); `db.types.UTCDateTime`
adds and strips the UTC zone at the boundary so the rest of the code sees aware values.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime


class Base(DeclarativeBase):
    pass


class Kampung(Base):
    """The one kampung this installation serves (a single row)."""

    __tablename__ = "kampung"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kelurahan: Mapped[str] = mapped_column(String(120), default="")
    kecamatan: Mapped[str] = mapped_column(String(120), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    rw: Mapped[str] = mapped_column(String(8))


class Rt(Base):
    __tablename__ = "rts"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)


class Paguyuban(Base):
    __tablename__ = "paguyuban"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class Resident(Base):
    """A person. Reachable over one or more channel identities."""

    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    rt_id: Mapped[int | None] = mapped_column(ForeignKey("rts.id"))
    language: Mapped[str] = mapped_column(String(5), default="id")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_source: Mapped[str | None] = mapped_column(String(16))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    rt: Mapped[Rt | None] = relationship(lazy="joined")
    identities: Mapped[list[Identity]] = relationship(back_populates="resident", cascade="all, delete-orphan")
    memberships: Mapped[list[Membership]] = relationship(cascade="all, delete-orphan")
    roles: Mapped[list[RoleGrant]] = relationship(cascade="all, delete-orphan")


class Identity(Base):
    """One address on one channel (whatsapp:+62…, telegram:12345)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    # The resident's last message on this channel: WhatsApp's 24-hour window starts here.
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the platform refuses to deliver here (bot.delivery.Failure value), None if it does.
    unreachable: Mapped[str | None] = mapped_column(String(24))
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    resident: Mapped[Resident] = relationship(back_populates="identities")


class Membership(Base):
    __tablename__ = "memberships"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    paguyuban_id: Mapped[int] = mapped_column(ForeignKey("paguyuban.id", ondelete="CASCADE"), primary_key=True)

    paguyuban: Mapped[Paguyuban] = relationship(lazy="joined")


class RoleGrant(Base):
    """A role beyond warga. `rt_id` scopes ketua_rt to one RT."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("resident_id", "role", "rt_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    rt_id: Mapped[int | None] = mapped_column(ForeignKey("rts.id"))


class Conversation(Base):
    """Where a resident's conversation stands. `version` guards concurrent workers."""

    __tablename__ = "conversations"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)


class Inbox(Base):
    """Incoming messages as received; `external_id` makes redelivery a no-op."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(96), unique=True)
    sender: Mapped[str] = mapped_column(String(84), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Failed processing attempts; after a few the row becomes a dead letter.
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_inbox_pending", "processed_at", "id"),)


class Outbox(Base):
    """Messages to send, written in the same transaction as the state change behind them.

    `status` is the dispatcher's: pending, claimed (by a pass, not started yet), sending,
    sent, held (a WhatsApp message waiting for the resident to open the 24-hour window),
    failed, uncertain.
    `delivery` is the platform's: queued, sent, delivered, read, failed, undelivered.
    `priority`: 0 a chat reply, 1 a notice about the resident's own business, 2 bulk."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Earliest send time while pending; the claim time while sending (the lease).
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    delivery: Mapped[str | None] = mapped_column(String(12))
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The platform's error code (Twilio 63016, Telegram 403) and what it means (bot.delivery.Failure).
    error_code: Mapped[str | None] = mapped_column(String(16))
    failure: Mapped[str | None] = mapped_column(String(24))

    __table_args__ = (
        Index("ix_outbox_status", "status", "not_before", "id"),
        Index("ix_outbox_provider", "provider_id"),
        Index("ix_outbox_recipient", "channel", "address", "status"),
    )


class KeyValue(Base):
    """Small persistent values, e.g. the simulated clock of `kampung simulate`."""

    __tablename__ = "key_values"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
