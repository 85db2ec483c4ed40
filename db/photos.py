"""The columns of a photo the worker fetches (bot.media): the reference its channel gave
(`url`), and once fetched, where it is stored (`path`). Report and announcement photos
share them, so one fetcher serves both. `status`: pending -> saved, or failed after
the last attempt."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.types import UTCDateTime


class FetchedPhoto:
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Earliest next attempt while pending; the claim time plus a lease while fetching.
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
