"""Surveys and residents' responses to them.

A survey's questions never change once it is added (answers refer to question and
option ids by position), so they are kept as JSON with the survey. A response is one
row per resident and survey, saved after every answer so a resident can stop and
resume; `completed_at` is set when the last question is answered. Rows of a resident
go with them on erasure (ON DELETE CASCADE).

Staff tools (bot.survey_admin) add who created a survey (kept as NULL when that staff
member erases their data) and the reminders sent: one per survey and area ("all" for
the whole audience, "rt:04" for an RT head's part of it), so nobody is reminded twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime


class Survey(Base):
    """One survey. `audience`: "all", "rw", "rt:04" or "paguyuban:<name>";
    `questions`: [{"id": "q1", "type": "yesno", "text": …, …}] (see flows.survey.Question)."""

    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(140))
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    questions: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The staff member who published it in chat; NULL for `kampung surveys add`.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_surveys_audience_closes", "audience", "closes_at"),)


class SurveyResponse(Base):
    """A resident's answers to one survey: {question id: value}."""

    __tablename__ = "survey_responses"
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    answers: Mapped[dict] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SurveyReminder(Base):
    """The one reminder sent for a survey in an area: "all" (kampung-wide staff) or
    "rt:04" (an RT head, for the residents of their RT)."""

    __tablename__ = "survey_reminders"
    __table_args__ = (UniqueConstraint("survey_id", "area"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    area: Mapped[str] = mapped_column(String(16))
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)
