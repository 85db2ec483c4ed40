"""The dispatcher: sends pending outbox rows through each channel's sender.

A row is claimed (pending -> sending) in its own transaction before the network call
and marked sent after it, so two dispatchers never send the same row. A row left in
`sending` past the lease by a crash is not resent (it may have gone out): it is marked
`uncertain` and logged for a person to check. Failed sends are retried with back-off,
and a recipient's later messages wait behind an earlier failed one so they arrive in
order. A row deferred on purpose (an invitation held until quiet hours end) holds nothing
back: the recipient's chat replies still go at once, and it goes when its time comes.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Awaitable, Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import OutgoingMessage
from db.models import Outbox

log = logging.getLogger(__name__)

Sender = Callable[[OutgoingMessage], Awaitable[str]]
MAX_ATTEMPTS = 5
SEND_LEASE = timedelta(minutes=5)


class Dispatcher:
    def __init__(self, sessions: sessionmaker[Session], senders: dict[str, Sender], clock):
        self.sessions = sessions
        self.senders = senders
        self.clock = clock

    def recover(self) -> int:
        """Rows a crashed dispatcher left mid-send (claimed longer ago than the lease)
        become `uncertain`."""
        with self.sessions.begin() as session:
            count = session.execute(
                update(Outbox)
                .where(Outbox.status == "sending", Outbox.not_before < self.clock.now() - SEND_LEASE)
                .values(status="uncertain")
            ).rowcount
        if count:
            log.warning("%d outbox rows were mid-send at a crash; marked uncertain, not resent", count)
        return count

    async def dispatch(self, limit: int = 200) -> int:
        """Send what is due, oldest first. Returns how many were sent."""
        now = self.clock.now()
        with self.sessions() as session:
            rows = session.execute(
                select(Outbox.id, Outbox.channel, Outbox.address, Outbox.payload, Outbox.not_before)
                .where(Outbox.status == "pending", Outbox.channel.in_(self.senders),
                       or_(Outbox.not_before <= now, Outbox.attempts > 0))
                .order_by(Outbox.id).limit(limit)
            ).all()
        sent = 0
        held: set[tuple[str, str]] = set()  # recipients whose earlier message is not out yet
        for row_id, channel, address, payload, not_before in rows:
            recipient = (channel, address)
            if recipient in held or not_before > now or not self._claim(row_id):
                held.add(recipient)
                continue
            try:
                provider_id = await self.senders[channel](OutgoingMessage.from_dict(payload))
            except Exception as exc:  # any channel failure: record and retry later
                self._failed(row_id, exc)
                held.add(recipient)
            else:
                self._sent(row_id, provider_id)
                sent += 1
        return sent

    def _claim(self, row_id: int) -> bool:
        with self.sessions.begin() as session:
            return bool(session.execute(
                update(Outbox).where(Outbox.id == row_id, Outbox.status == "pending")
                .values(status="sending", attempts=Outbox.attempts + 1, not_before=self.clock.now())
            ).rowcount)

    def _sent(self, row_id: int, provider_id: str | None) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(Outbox).where(Outbox.id == row_id)
                .values(status="sent", sent_at=self.clock.now(), provider_id=provider_id and str(provider_id)[:64])
            )

    def _failed(self, row_id: int, exc: Exception) -> None:
        with self.sessions.begin() as session:
            row = session.get(Outbox, row_id)
            row.error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                log.error("outbox %s failed for good after %d attempts: %s", row_id, row.attempts, row.error)
            else:
                row.status = "pending"
                row.not_before = self.clock.now() + timedelta(seconds=5 * 3 ** (row.attempts - 1))
                log.warning("outbox %s attempt %d failed: %s", row_id, row.attempts, row.error)
