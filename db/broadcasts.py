"""Broadcasts (announcements from staff): what to send, to whom, when; each run of it;
and one delivery row per recipient of a run, pointing at the outbox row that carries it.

A broadcast is `scheduled` (waiting for `next_run_at`; a recurring one stays scheduled
between runs), `sending` (a one-off whose messages are queued and whose delivery summary
has not gone yet), `done`, `cancelled`, or `missed` (a one-off the bot was down for,
beyond the grace period; the sender is told, nothing is sent). Runs and deliveries of a
cancelled broadcast stay for its history.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.photos import FetchedPhoto
from db.types import UTCDateTime


class Broadcast(Base):
    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Who sent it (NULL: from the desk, or the sender erased their data).
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    sender_name: Mapped[str] = mapped_column(String(120))
    sender_role: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # A photo reference as its channel gave it: an http(s) URL or "telegram-file:<id>".
    media_url: Mapped[str | None] = mapped_column(String(500))
    # "all", "rw", "rt:04" or "paguyuban:<name>".
    audience: Mapped[str] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(12))
    # A repetition (handlers.recurrence.Recurrence.spec()), NULL for a one-off.
    rule: Mapped[str | None] = mapped_column(String(32))
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_broadcasts_due", "status", "next_run_at"),)


class BroadcastRun(Base):
    """One sending of a broadcast. `skipped`: audience members who said STOP.
    `summary_at`: when the sender was given the delivery summary (NULL: not yet)."""

    __tablename__ = "broadcast_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    summary_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    sent: Mapped[int | None] = mapped_column(Integer)
    failed: Mapped[int | None] = mapped_column(Integer)


class BroadcastDelivery(Base):
    """One message of a run: to a resident (`resident_id`) or a group chat (`chat_id`).
    `outbox_id` NULL: the resident could not be reached on any channel (counted as failed)."""

    __tablename__ = "broadcast_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("broadcast_runs.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    outbox_id: Mapped[int | None] = mapped_column(Integer)


class BroadcastPhoto(FetchedPhoto, Base):
    """An announcement's photo, fetched into DATA_DIR/broadcasts so that every channel
    can carry it (see db.photos)."""

    __tablename__ = "broadcast_photos"
    __table_args__ = (Index("ix_broadcast_photos_due", "status", "not_before"),)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), unique=True)
