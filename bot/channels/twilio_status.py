"""Twilio's delivery receipts: the status callback each send asks for.

Twilio answers a send with 201 "queued" and reports what became of the message only
through this callback — sent, delivered, read, or failed / undelivered with an error
code. WhatsApp's closed 24-hour window (63016) and "not a WhatsApp user" (63003) are
reported this way alone, so a failure here is classified like one at send time and
handed to the dispatcher's `record_failure`, which tries the template or SMS.

The callback URL names the outbox row (`?o=<id>`); the MessageSid must also match the
row's provider_id when both are known, so a signed callback for one message cannot
move another row. Receipts only move a row forward.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import outbox
from bot.channels.twilio_channel import MESSAGE_SID, classify_twilio_error
from bot.delivery import Failure, Outcome, SendError
from bot.group_commit import GroupCommit
from bot.settings import Settings
from db.models import Outbox

log = logging.getLogger(__name__)

STATUS_PATH = "/webhooks/twilio/status"
# Twilio's message statuses as outbox.delivery, in the order a message goes through them.
_DELIVERY = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "read",
    "failed": "failed", "undelivered": "undelivered",
}
_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
_FAILED = ("failed", "undelivered")

SignedForm = Callable[[Request], Awaitable[ImmutableMultiDict | Response]]


class StatusReceipts:
    """Records Twilio status callbacks on outbox rows."""

    def __init__(self, sessions: sessionmaker[Session], clock, settings: Settings):
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self._batch: GroupCommit | None = None

    def callback_url(self, outbox_id: int) -> str:
        return f"{self.settings.public_base_url.rstrip('/')}{STATUS_PATH}?o={outbox_id}"

    def route(self, signed_form: SignedForm) -> Route:
        """The callback endpoint; `signed_form` is the channel's signature check, the same
        one the inbound webhook uses."""

        async def status_callback(request: Request) -> Response:
            params = await signed_form(request)
            if isinstance(params, Response):
                return params
            outbox_id = request.query_params.get("o")
            sid = params.get("MessageSid") or params.get("SmsSid") or ""
            status = _DELIVERY.get(params.get("MessageStatus") or params.get("SmsStatus") or "")
            code = params.get("ErrorCode") or ""
            if ((outbox_id is not None and not _number(outbox_id, 18)) or not MESSAGE_SID.fullmatch(sid)
                    or (code and not _number(code, 9))):
                log.warning("twilio status callback rejected: malformed o, MessageSid or ErrorCode")
                return Response(status_code=400)
            if status is not None:
                if self._batch is None:  # made in the loop that serves the route
                    self._batch = GroupCommit(self.record_many)
                await self._batch.submit((int(outbox_id) if outbox_id else None, sid, status,
                                          int(code) if code else None))
            return Response(status_code=204)

        return Route(STATUS_PATH, status_callback, methods=["POST"], name="twilio_status")

    def record(self, outbox_id: int | None, sid: str, delivery: str, error_code: int | None) -> bool:
        """Move the row's delivery forward to `delivery`; a failure goes to the dispatcher.
        Returns whether anything changed."""
        return self.record_many([(outbox_id, sid, delivery, error_code)])[0]

    def record_many(self, receipts: list[tuple[int | None, str, str, int | None]]) -> list[bool]:
        """`record` for receipts that arrived together, in one transaction (group commit)."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            return [self._record_one(session, now, receipt) for receipt in receipts]

    def _record_one(self, session: Session, now: datetime, receipt: tuple) -> bool:
        """One receipt in its own savepoint: a bad one is logged and loses the others nothing."""
        try:
            with session.begin_nested():
                return self._record(session, now, *receipt)
        except Exception:
            log.exception("twilio status callback for outbox %s could not be recorded", receipt[0])
            return False

    def _record(self, session: Session, now: datetime, outbox_id: int | None, sid: str, delivery: str, error_code: int | None) -> bool:
        if outbox_id is not None:
            row = session.get(Outbox, outbox_id, with_for_update=True)
        else:
            row = session.scalars(select(Outbox).where(Outbox.provider_id == sid).limit(1)
                                  .with_for_update()).first()
        if row is None or (row.provider_id and row.provider_id != sid) or not _forward(row.delivery, delivery):
            return False
        row.provider_id = row.provider_id or sid
        row.delivery, row.delivery_at = delivery, now
        if delivery in _FAILED:
            row.error_code = None if error_code is None else str(error_code)
            error = (classify_twilio_error(error_code, None) if error_code is not None
                     else SendError(Outcome.PERMANENT, f"twilio: {delivery} without an error code",
                                    failure=Failure.REFUSED))
            session.flush()  # record_failure works on the connection, after this row's receipt
            outbox.record_failure(session.connection(), row.id, error, now, "sms" in self.settings.phone_channels)
            log.info("outbox %s %s on twilio (%s): %s", row.id, delivery, error_code, error.outcome.value)
        return True


def _number(text: str, digits: int) -> bool:
    """A plain decimal number of at most `digits` digits (fits the database's integer)."""
    return text.isascii() and text.isdigit() and len(text) <= digits


def _forward(current: str | None, new: str) -> bool:
    """Receipts arrive out of order; a row never moves back, and a failure is final."""
    if current is None:
        return True
    if current in _FAILED:
        return False
    if new in _FAILED:
        return current in ("queued", "sent")
    return _RANK[new] > _RANK[current]
