"""Kampung events: what is on, who said they come, who wants to hear of new ones,
and the reminders still to send.

Reminders are due-rows (one per event and reminder time) so that they survive a
restart and are marked sent in the same transaction as the outbox rows they cause.
Rows of a resident go with them on erasure (ON DELETE CASCADE).

Staff tools (bot.event_admin) add: who created an event, when it was cancelled (a
cancelled event stays stored for the participation report but is shown to no resident
and gets no reminders), and the attendance register staff mark after it starts.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime


class Event(Base):
    """One event. `audience`: "all", "rw", "rt:04" or "paguyuban:<name>"."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    place: Mapped[str] = mapped_column(String(200))
    agenda: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(140))
    # The KUR readiness checklist (KTP, KK, NIB, six months in business), repeated in reminders.
    checklist: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The staff member who created it in chat (NULL: from the desk, or erased since).
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventRsvp(Base):
    """A resident's answer: "yes", "no" or "maybe"; the latest one counts."""

    __tablename__ = "event_rsvps"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    answer: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventFollow(Base):
    """A resident who wants to hear when an event of this kind is announced for them."""

    __tablename__ = "event_follows"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventReminder(Base):
    """A reminder to send at `due_at`: status pending, then sent or dropped (too late)."""

    __tablename__ = "event_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(8), default="pending")
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipients: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_event_reminders_due", "status", "due_at"),)


class EventAttendance(Base):
    """A resident marked as present at an event by a staff member (`marked_by`)."""

    __tablename__ = "event_attendance"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
