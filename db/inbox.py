"""Dead letters: inbox rows whose processing kept failing.

After a few failed attempts a message is set aside here with the error, so one bad
message never stops the worker; `kampung inbox failed` lists them and `kampung inbox
retry ID` puts one back (its inbox row becomes unprocessed again).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inbox.id", ondelete="CASCADE"), unique=True)
    # The inbox row's sender ("whatsapp:+62…"), so erasure finds it.
    sender: Mapped[str] = mapped_column(String(84), index=True)
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
