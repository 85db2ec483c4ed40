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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot.i18n import Catalog
from bot.messages import Choice, IncomingMessage, OutgoingMessage, join_sender
from bot.residents import ResidentPort, create_identity, erase_resident, load_info, load_kampung
from db.models import Conversation, Inbox, Outbox
from flows.base import KampungInfo, Say
from handlers.lexicon import Lexicons
from handlers.router import ConvState, Piece, Router

log = logging.getLogger(__name__)
_RETRIES = 3
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


class Core:
    def __init__(self, sessions: sessionmaker[Session], catalog: Catalog, router: Router, clock, default_language: str = "id"):
        self.sessions = sessions
        self.catalog = catalog
        self.router = router
        self.lexicons: Lexicons = router.lexicons
        self.clock = clock
        self.default_language = default_language
        self._kampung_cache: tuple[KampungInfo | None, float] = (None, 0.0)

    # -- entry points --------------------------------------------------------
    def receive(self, msg: IncomingMessage) -> list[OutgoingMessage]:
        """Process a message now (console, simulate). Returns the replies written to the outbox."""

        def work(session: Session) -> list[OutgoingMessage]:
            if msg.external_id and not self._claim_inbox(session, msg):
                return []
            return self._process(session, msg)

        return self._retrying(work)

    def enqueue(self, msg: IncomingMessage) -> bool:
        """Store a webhook's message for the inbox worker. False when already seen."""
        try:
            with self.sessions.begin() as session:
                session.add(Inbox(external_id=msg.external_id, sender=join_sender(msg.channel, msg.address),
                                  payload=msg.to_dict(), received_at=self.clock.now()))
            return True
        except IntegrityError:
            return False

    def process_inbox(self, limit: int = 100) -> int:
        """Process pending inbox rows in arrival order; each in its own transaction."""
        with self.sessions() as session:
            ids = session.scalars(select(Inbox.id).where(Inbox.processed_at.is_(None)).order_by(Inbox.id).limit(limit)).all()

        def work(session: Session, inbox_id: int) -> int:
            claimed = session.execute(
                update(Inbox).where(Inbox.id == inbox_id, Inbox.processed_at.is_(None)).values(processed_at=self.clock.now())
            ).rowcount
            if claimed:
                self._process(session, IncomingMessage.from_dict(session.get(Inbox, inbox_id).payload))
            return claimed

        return sum(self._retrying(lambda session: work(session, inbox_id)) for inbox_id in ids)

    def _retrying(self, work):
        """Run `work(session)` in a transaction, again if another worker changed the
        same conversation in the meantime (its optimistic version check failed)."""
        for attempt in range(1, _RETRIES + 1):
            try:
                with self.sessions.begin() as session:
                    return work(session)
            except StaleDataError:
                log.info("conversation changed under us; retrying (%s)", attempt)
        raise RuntimeError("conversation kept changing; giving up")

    # -- the work --------------------------------------------------------------
    def _claim_inbox(self, session: Session, msg: IncomingMessage) -> bool:
        try:
            with session.begin_nested():
                now = self.clock.now()
                session.add(Inbox(external_id=msg.external_id, sender=join_sender(msg.channel, msg.address),
                                  payload=msg.to_dict(), received_at=now, processed_at=now))
            return True
        except IntegrityError:
            return False

    def _process(self, session: Session, msg: IncomingMessage) -> list[OutgoingMessage]:
        now = self.clock.now()
        found = load_info(session, msg.channel, msg.address)
        if found is None:
            create_identity(session, msg.channel, msg.address, now, self.default_language)
            found = load_info(session, msg.channel, msg.address)
        info, conv = found
        state = ConvState(conv.flow, conv.step, dict(conv.data or {}), conv.updated_at)
        port = ResidentPort(session, info, self._kampung(session), now)
        pieces = self.router.handle(state, port, msg, now)
        resident_id = None if port.erased else info.id
        if port.erased:
            erase_resident(session, info.id)
        else:
            self._save_state(session, info.id, conv.version, state, now)
        replies = [self.render(msg.channel, msg.address, port.info.language, piece) for piece in pieces]
        if replies:
            session.connection().execute(_INSERT_OUTBOX, [
                {"resident_id": resident_id, "channel": msg.channel, "address": msg.address, "payload": out.to_dict(),
                 "status": "pending", "attempts": 0, "not_before": now, "created_at": now}
                for out in replies
            ])
        return replies

    @staticmethod
    def _save_state(session: Session, resident_id: int, version: int | None, state: ConvState, now: datetime) -> None:
        """Insert the conversation, or update it if nobody else did since we read `version`."""
        values = {"flow": state.flow, "step": state.step, "data": state.data, "updated_at": now, "rid": resident_id}
        if version is None:
            session.connection().execute(_INSERT_CONVERSATION, values)
            return
        changed = session.connection().execute(_UPDATE_CONVERSATION, {**values, "version": version}).rowcount
        if not changed:
            raise StaleDataError("conversation was changed by another worker")

    def _kampung(self, session: Session) -> KampungInfo:
        """The kampung's shape changes rarely (`kampung init`); re-read it every 30 s."""
        info, expires = self._kampung_cache
        if info is None or time.monotonic() > expires:
            info = load_kampung(session)
            self._kampung_cache = (info, time.monotonic() + KAMPUNG_TTL_SECONDS)
        return info

    def render(self, channel: str, address: str, lang: str, piece: Piece) -> OutgoingMessage:
        lexicon = self.lexicons.get(lang)
        params = {k: self._param(lang, v) for k, v in piece.params.items()}
        text = self.catalog.text(lang, piece.key, **params)
        choices = [Choice(o.id, lexicon.label(o)) for o in piece.options]
        return OutgoingMessage(channel, address, text, choices, flow=piece.flow, step=piece.step)

    def _param(self, lang: str, value):
        if isinstance(value, Say):
            return self.catalog.text(lang, value.key, **{k: self._param(lang, v) for k, v in value.params.items()})
        return value
