"""WhatsApp message templates as Twilio knows them: one row per catalogue template
(kind × language) once `kampung templates sync` has created it in the Content API.

`status` is WhatsApp's approval status as Twilio reports it: unsubmitted, received,
pending, approved, rejected, paused or disabled. The dispatcher looks up approved rows
by (kind, language) on every send outside the 24-hour window, hence the unique index.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime


class WhatsAppTemplate(Base):
    __tablename__ = "whatsapp_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(8))
    # The WhatsApp template name as well (lowercase, digits, underscores).
    friendly_name: Mapped[str] = mapped_column(String(64))
    # Twilio's Content SID (HX + 32 hex).
    content_sid: Mapped[str | None] = mapped_column(String(34))
    # "utility" or "marketing"; WhatsApp may change it when it reviews the template.
    category: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="unsubmitted")
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("kind", "language", name="uq_whatsapp_templates_kind_language"),)
