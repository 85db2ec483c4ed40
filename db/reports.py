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
from db.photos import FetchedPhoto
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


class ReportPhoto(FetchedPhoto, Base):
    """A report's photos, numbered 1, 2, 3 within the report (see db.photos)."""

    __tablename__ = "report_photos"
    __table_args__ = (Index("ix_report_photos_due", "status", "not_before"),)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    n: Mapped[int] = mapped_column(Integer)
