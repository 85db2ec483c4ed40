"""Home businesses registered by residents, with the licences they hold.

One row per business; a resident may own several. `listed_at` records the owner's
consent to appear in the kampung directory (UU PDP: consent for a stated purpose,
with its time); NULL means the business is private to its owner and the desk.
Licence columns keep the licence gap countable (`kampung businesses gap`).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime


class Business(Base):
    __tablename__ = "businesses"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Erasing the resident (hapus data saya) erases their businesses with them.
    owner_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(32))
    products: Mapped[str] = mapped_column(String(500))
    order_contact: Mapped[str] = mapped_column(String(160))
    # A media reference as the channel gave it (Twilio URL or telegram-file:ID); not downloaded here.
    photo_url: Mapped[str | None] = mapped_column(String(1000))
    photo_content_type: Mapped[str | None] = mapped_column(String(100))
    rt_id: Mapped[int | None] = mapped_column(ForeignKey("rts.id", ondelete="SET NULL"))
    # none | old | unsure | rba (risk-based NIB from OSS)
    nib: Mapped[str] = mapped_column(String(8))
    # PIRT and halal are asked for food and home-industry businesses only; NULL elsewhere.
    pirt: Mapped[bool | None] = mapped_column(Boolean)
    halal: Mapped[bool | None] = mapped_column(Boolean)
    haki: Mapped[bool] = mapped_column(Boolean)
    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
