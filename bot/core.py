"""The channel-agnostic core: an incoming message becomes outbox rows.

Everything for one message happens in one transaction: the inbox row (idempotency),
the resident, the conversation state and the outgoing messages. Either all of it is
stored or none of it, so a crash never loses an answer nor sends one twice.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.features import Feature, FeatureIndex
from bot.messages import CHANNELS, IncomingMessage, OutgoingMessage, join_sender
from bot.notify import Notifier
from bot.render import Renderer
from bot.settings import Settings
from bot.residents import ResidentPort, create_identity, erase_resident, link_phone, load_info, load_kampung
from db.inbox import DeadLetter
from db.models import Conversation, Identity, Inbox, Outbox, Resident
from flows.base import KampungInfo, Say
from handlers.router import ConvState, Router

log = logging.getLogger(__name__)
_RETRIES = 3
# Failed processing attempts before a message becomes a dead letter.
MAX_INBOX_ATTEMPTS = 3
KAMPUNG_TTL_SECONDS = 30.0


# Statements for the per-message path, built once.
_INSERT_CONVERSATION = insert(Conversation).values(
    resident_id=bindparam("rid"), version=1, flow=bindparam("flow"), step=bindparam("step"),
    data=bindparam("data"), updated_at=bindparam("updated_at"),
)
_UPDATE_CONVERSATION = (
    update(Conversation)
    .where(Conversation.resident_id == bindparam("rid"), Conversation.version == bindparam("version"))
    .values(version=Conversation.version + 1, flow=bindparam("flow"), step=bindparam("step"),
            data=bindparam("data"), updated_at=bindparam("updated_at"))
)
_INSERT_OUTBOX = insert(Outbox)
_OPEN_WINDOW = (
    update(Identity)
    .where(Identity.channel == bindparam("b_channel"), Identity.address == bindparam("b_address"))
    .values(last_inbound_at=bindparam("now"), unreachable=None, unreachable_at=None)
)
_RELEASE_HELD = (
    update(Outbox)
    .where(Outbox.channel == bindparam("b_channel"), Outbox.address == bindparam("b_address"),
           Outbox.status == "held")
    .values(status="pending", not_before=bindparam("now"), priority=0)
)
_INSERT_INBOX = insert(Inbox)


class Core:
    def __init__(self, engine: Engine, renderer: Renderer, router: Router, clock, features: tuple[Feature, ...] = (),
                 settings: Settings | None = None):
        self.engine = engine
        self.renderer = renderer
        self.settings = settings or Settings()
        self.notifier = Notifier(renderer, self.settings.quiet_window(), self.settings.timezone,
                                 self.settings.default_language, self.settings.phone_channels)
        self.router = router
        self.features = FeatureIndex(features)
        self.clock = clock
        self.default_language = self.settings.default_language
        self._kampung_cache: tuple[KampungInfo | None, float] = (None, 0.0)

    # -- entry points --------------------------------------------------------
    def receive(self, msg: IncomingMessage) -> list[OutgoingMessage]:
        """Process a message now (console, simulate). Returns the replies written to the outbox."""

        def work(conn: Connection) -> list[OutgoingMessage]:
            if msg.external_id and not self._claim_inbox(conn, msg):
                return []
            return self._process(conn, msg)

        return self._retrying(work)

    def enqueue(self, msg: IncomingMessage) -> bool:
        """Store a webhook's message for the inbox worker. False when already seen."""
        try:
            with self.engine.begin() as conn:
                conn.execute(_INSERT_INBOX, self._inbox_values(msg, processed=False))
            return True
        except IntegrityError:
            return False

    def process_inbox(self, limit: int = 100) -> int:
        """Process pending inbox rows in arrival order, each in its own transaction.
        A row whose processing raises is rolled back and counted; the rest of the pass
        goes on, so one bad message never stops the others. Returns how many were processed."""
        with self.engine.connect() as conn:
            ids = conn.scalars(select(Inbox.id).where(Inbox.processed_at.is_(None)).order_by(Inbox.id).limit(limit)).all()

        def work(conn: Connection, inbox_id: int) -> int:
            claimed = conn.execute(
                update(Inbox).where(Inbox.id == inbox_id, Inbox.processed_at.is_(None)).values(processed_at=self.clock.now())
            ).rowcount
            if claimed:
                self._process(conn, IncomingMessage.from_dict(conn.scalar(select(Inbox.payload).where(Inbox.id == inbox_id))))
            return claimed

        processed = 0
        for inbox_id in ids:
            try:
                processed += self._retrying(lambda conn: work(conn, inbox_id))
            except Exception as exc:  # a flow, an effect, a malformed payload: anything
                log.exception("inbox %s could not be processed", inbox_id)
                try:
                    self._failed(inbox_id, exc)
                except Exception:
                    log.exception("inbox %s: recording the failure failed too", inbox_id)
        return processed

    def _failed(self, inbox_id: int, exc: Exception) -> None:
        """Count a failed attempt; after MAX_INBOX_ATTEMPTS set the row aside as a dead
        letter (marked processed) and tell the sender, in their language, to try again."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(update(Inbox).where(Inbox.id == inbox_id, Inbox.processed_at.is_(None))
                         .values(attempts=Inbox.attempts + 1))
            row = conn.execute(select(Inbox.sender, Inbox.attempts, Inbox.processed_at, Inbox.received_at)
                               .where(Inbox.id == inbox_id)).first()
            if row is None or row.processed_at is not None or row.attempts < MAX_INBOX_ATTEMPTS:
                return
            conn.execute(update(Inbox).where(Inbox.id == inbox_id).values(processed_at=now))
            conn.execute(insert(DeadLetter).values(inbox_id=inbox_id, sender=row.sender, failed_at=now,
                                                   error=f"{type(exc).__name__}: {exc}"[:2000]))
            log.error("inbox %s failed %d times; moved to dead letters", inbox_id, row.attempts)
            try:
                with conn.begin_nested():  # an apology that cannot be written loses nothing else
                    self._apologise(conn, row.sender, row.received_at, now)
            except Exception:
                log.exception("inbox %s: the apology could not be written", inbox_id)

    def _apologise(self, conn: Connection, sender: str, received_at: datetime, now: datetime) -> None:
        """A short "we could not process your message" to the sender of a dead letter.
        Their message still opened WhatsApp's window (its processing was rolled back),
        so that is recorded here, and the apology goes as a plain reply."""
        channel, _, address = sender.partition(":")
        if channel not in CHANNELS or not address:
            return
        self._opened_window(conn, IncomingMessage(channel, address), received_at)
        found = conn.execute(select(Resident.id, Resident.language).join(Identity, Identity.resident_id == Resident.id)
                             .where(Identity.channel == channel, Identity.address == address)).first()
        resident_id, language = found or (None, self.default_language)
        out = self.renderer.message(channel, address, language, "inbox.failed_apology", {})
        conn.execute(_INSERT_OUTBOX, [{"resident_id": resident_id, "channel": channel, "address": address,
                                       "payload": out.to_dict(), "status": "pending", "attempts": 0,
                                       "not_before": now, "created_at": now, "priority": 0}])

    def _retrying(self, work):
        """Run `work(conn)` in a transaction, again if another worker changed the
        same conversation in the meantime (its optimistic version check failed)."""
        for attempt in range(1, _RETRIES + 1):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except StaleDataError:
                log.info("conversation changed under us; retrying (%s)", attempt)
        raise RuntimeError("conversation kept changing; giving up")

    # -- the work --------------------------------------------------------------
    def _claim_inbox(self, conn: Connection, msg: IncomingMessage) -> bool:
        """Record a delivery being processed now; False if it was seen before."""
        try:
            with conn.begin_nested():
                conn.execute(_INSERT_INBOX, self._inbox_values(msg, processed=True))
            return True
        except IntegrityError:
            return False

    def _inbox_values(self, msg: IncomingMessage, processed: bool) -> dict:
        now = self.clock.now()
        return {"external_id": msg.external_id, "sender": join_sender(msg.channel, msg.address),
                "payload": msg.to_dict(), "received_at": now, "processed_at": now if processed else None}

    def _process(self, conn: Connection, msg: IncomingMessage) -> list[OutgoingMessage]:
        now = self.clock.now()
        if msg.sender_id:
            return self._process_group(conn, msg, now)
        notice = None
        if msg.contact_phone:
            linked = link_phone(conn, msg.channel, msg.address, msg.contact_phone, now, self.default_language)
            notice = Say(f"phone_link.{linked}", {"phone": msg.contact_phone})
        found = load_info(conn, msg.channel, msg.address)
        if found is None:
            create_identity(conn, msg.channel, msg.address, now, self.default_language)
            found = load_info(conn, msg.channel, msg.address)
        self._opened_window(conn, msg, now)
        return self._turn(conn, msg, found, now, notice)

    @staticmethod
    def _opened_window(conn: Connection, msg: IncomingMessage, now: datetime) -> None:
        """A message from a person opens WhatsApp's 24-hour window on their channel:
        record when, and release what was held for them until they wrote (it goes
        before the reply, in the order it was written)."""
        where = {"b_channel": msg.channel, "b_address": msg.address, "now": now}
        conn.execute(_OPEN_WINDOW, where)
        if msg.channel == "whatsapp":  # only WhatsApp holds messages back
            conn.execute(_RELEASE_HELD, where)

    def _process_group(self, conn: Connection, msg: IncomingMessage, now: datetime) -> list[OutgoingMessage]:
        """A group chat: the bot answers only commands and buttons, acting for the person
        who sent them (a resident it knows), and replies in the group."""
        if not (msg.text.startswith("/") or msg.choice_id):
            return []
        found = load_info(conn, msg.channel, msg.sender_id)
        if found is None:
            out = self.renderer.message(msg.channel, msg.address, self.default_language, "group.unknown_sender", {})
            self._write_outbox(conn, None, msg, [out], now)
            return [out]
        return self._turn(conn, msg, found, now)

    def _turn(self, conn: Connection, msg: IncomingMessage, found, now: datetime,
              notice: Say | None = None) -> list[OutgoingMessage]:
        info, conv = found
        state = ConvState(conv.flow, conv.step, dict(conv.data or {}), conv.updated_at)
        port = ResidentPort(conn, info, self._kampung(conn), now, self.features, self.notifier, self.settings)
        pieces = self.router.handle(state, port, msg, now, notice)
        resident_id = None if port.erased else info.id
        if port.erased:
            for erase in self.features.erasers:
                erase(conn, info.id)
            erase_resident(conn, info.id)
        else:
            self._save_state(conn, info.id, conv.version, state, now)
        replies = [
            self.renderer.message(msg.channel, msg.address, port.info.language, p.key, p.params, p.options, p.flow, p.step,
                                  p.document, p.media_url)
            for p in pieces
        ]
        self._write_outbox(conn, resident_id, msg, replies, now)
        if port.reshaped_kampung:
            self._kampung_cache = (None, 0.0)
        return replies

    @staticmethod
    def _write_outbox(conn: Connection, resident_id: int | None, msg: IncomingMessage,
                      replies: list[OutgoingMessage], now: datetime) -> None:
        if replies:
            conn.execute(_INSERT_OUTBOX, [
                {"resident_id": resident_id, "channel": msg.channel, "address": msg.address, "payload": out.to_dict(),
                 "status": "pending", "attempts": 0, "not_before": now, "created_at": now}
                for out in replies
            ])

    @staticmethod
    def _save_state(conn: Connection, resident_id: int, version: int | None, state: ConvState, now: datetime) -> None:
        """Insert the conversation, or update it if nobody else did since we read `version`."""
        values = {"flow": state.flow, "step": state.step, "data": state.data, "updated_at": now, "rid": resident_id}
        if version is None:
            conn.execute(_INSERT_CONVERSATION, values)
            return
        changed = conn.execute(_UPDATE_CONVERSATION, {**values, "version": version}).rowcount
        if not changed:
            raise StaleDataError("conversation was changed by another worker")

    def _kampung(self, conn: Connection) -> KampungInfo:
        """The kampung's shape changes rarely (`kampung init`, a paguyuban created or
        renamed); re-read it every 30 s, and at once after this process changed it."""
        info, expires = self._kampung_cache
        if info is None or time.monotonic() > expires:
            info = load_kampung(conn)
            self._kampung_cache = (info, time.monotonic() + KAMPUNG_TTL_SECONDS)
        return info

