"""Problem reports (jalan rusak, selokan mampet, lampu mati…), their supporters and photos.

A report outlives its reporter: erasing a resident (UU PDP) keeps the report with no
reporter, since the broken road is still the kampung's business; supports go with them.
The ticket number (LPR-0042) is the row id, so it is unique with any number of workers.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime


class Report(Base):
    __tablename__ = "reports"
    # AUTOINCREMENT: a ticket number is never handed out twice, even after a delete.
    __table_args__ = (Index("ix_reports_similar", "category", "rt", "created_at"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    rt: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text)
    landmark: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="new")
    # The reason for a rejection, or the desk's note on the latest change.
    status_note: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportSupport(Base):
    """A "+1": another resident with the same problem, told of every status change."""

    __tablename__ = "report_supports"
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportPhoto(Base):
    """A photo as the channel referenced it (`url`), and once fetched, where it is stored
    (`path`). `status`: pending -> saved, or failed after the last attempt."""

    __tablename__ = "report_photos"
    __table_args__ = (Index("ix_report_photos_due", "status", "not_before"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Earliest next attempt while pending; the claim time plus a lease while fetching.
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
