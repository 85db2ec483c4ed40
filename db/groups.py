"""Telegram group chats linked to a paguyuban: announcements to the paguyuban are
posted in the group as well (the paguyuban itself and its members live in db.models).

A chat is linked to at most one paguyuban; linking it again moves it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime


class PaguyubanChat(Base):
    __tablename__ = "paguyuban_chats"
    id: Mapped[int] = mapped_column(primary_key=True)
    paguyuban_id: Mapped[int] = mapped_column(ForeignKey("paguyuban.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    # The group's chat id as the channel gives it (Telegram: a negative number).
    chat_id: Mapped[str] = mapped_column(String(64), unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
