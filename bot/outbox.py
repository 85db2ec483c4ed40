"""The dispatcher: sends due outbox rows through each channel's sender, concurrently
across recipients and strictly in id order for each recipient.

A row goes pending -> claimed -> sending -> sent. A pass claims a batch of recipients
in one transaction (chat replies first: a recipient with a reply waiting is served
before bulk), and records `sending` for the rows whose requests start at about the
same moment in one transaction too, each before its request. A crash so leaves two
kinds of rows: `claimed` ones, provably never sent, go back to pending; `sending` ones
may have reached the platform, so after the lease they become `uncertain`, logged by
id for an operator, and are never resent.

Sends wait for the channel's rate-limit buckets (bot.rate_limit) and at most
SEND_CONCURRENCY are in flight. What a failed send means is decided once, in
`record_failure`, for failures at send time and for those a delivery receipt reports
later. A row waiting for a retry holds back only its own recipient's later rows; a row
deferred on purpose (an invitation waiting for quiet hours to end) holds back nothing.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from sqlalchemy import and_, bindparam, exists, func, or_, select, text, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.delivery import Bucket, Failure, Outcome, SendError
from bot.group_commit import GroupCommit
from bot.message_split import split_message
from bot.messages import OutgoingMessage
from bot.rate_limit import RateLimiter, Slots
from bot.settings import Settings
from bot.whatsapp_window import Plan, Queued, Route, WhatsAppWindow
from db.models import Identity, Outbox, Resident

log = logging.getLogger(__name__)

Sender = Callable[[OutgoingMessage], Awaitable[str]]


class ChannelPolicy(Protocol):
    """What a channel asks of the dispatcher for one message."""

    def buckets(self, out: OutgoingMessage) -> list[Bucket]: ...

    def max_length(self, out: OutgoingMessage) -> int: ...


MAX_ATTEMPTS = 5
# A claimed row not started after this goes back to pending (a pass that died, or one
# waiting that long for its rate limit: its start then finds the row taken back).
CLAIM_LEASE = timedelta(minutes=1)
# A row mid-send for longer than this was cut off by a crash: it becomes uncertain.
SEND_LEASE = timedelta(minutes=5)
# How long a channel pauses after a 429 that did not say (Retry-After missing).
DEFAULT_RETRY_AFTER = 1.0
ROWS_PER_RECIPIENT = 20
REFILL_SECONDS = 0.2
IN_FLIGHT = ("claimed", "sending")
# What a successful send means for delivery: Telegram has delivered the message when it
# answers; Twilio has queued it, and says more by status callback.
DELIVERY_ON_SEND = {"telegram": "delivered", "console": "delivered", "whatsapp": "queued", "sms": "queued"}
_CLAIM_LOCK = 0x6B616D70  # a PostgreSQL advisory lock: one claim at a time across processes
# Database work runs beside the event loop, never behind a channel's own threads.
_DB_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbox-db")


def _backoff(attempts: int) -> timedelta:
    """5 s, 15 s, 45 s, … after the 1st, 2nd, 3rd attempt, with jitter so that rows
    failing together do not retry together."""
    return timedelta(seconds=5 * 3 ** (max(attempts, 1) - 1) * random.uniform(0.5, 1.0))


def record_failure(conn: Connection, outbox_id: int, error: SendError, now: datetime, sms_available: bool) -> str | None:
    """Act on a classified failure of outbox row `outbox_id`, at send time or reported
    later by a delivery receipt for a row already sent. Returns the row's new status
    (None if the row is gone): pending when it goes again (retry, rate limit, re-planned
    as a WhatsApp template, moved to SMS), else failed."""
    row = conn.execute(select(Outbox.channel, Outbox.address, Outbox.resident_id, Outbox.attempts)
                       .where(Outbox.id == outbox_id)).first()
    if row is None:
        return None
    failure = error.failure
    values: dict = {"status": "failed"}
    outcome = error.outcome
    if outcome is Outcome.TRANSIENT or (outcome is Outcome.OUTSIDE_WINDOW and row.attempts >= MAX_ATTEMPTS):
        if row.attempts >= MAX_ATTEMPTS:
            failure = Failure.GAVE_UP
        else:
            values = {"status": "pending", "not_before": now + _backoff(row.attempts)}
    elif outcome is Outcome.RATE_LIMITED:
        # Not the message's fault: the attempt does not count.
        values = {"status": "pending", "attempts": max(row.attempts - 1, 0),
                  "not_before": now + timedelta(seconds=error.retry_after or DEFAULT_RETRY_AFTER)}
    elif outcome is Outcome.OUTSIDE_WINDOW:
        # Planned again (bot.whatsapp_window) as a template, by SMS, or held.
        failure = failure or Failure.OUTSIDE_WINDOW
        values = {"status": "pending", "not_before": now}
    elif outcome is Outcome.NOT_ON_CHANNEL:
        failure = failure or Failure.NOT_ON_WHATSAPP
        _mark_unreachable(conn, row.channel, row.address, failure, now)
        if sms_available and row.channel != "sms":
            values = {"status": "pending", "channel": "sms", "not_before": now}
    elif outcome is Outcome.UNREACHABLE:
        failure = failure or Failure.REFUSED
        _mark_unreachable(conn, row.channel, row.address, failure, now)
    elif outcome is Outcome.OPTED_OUT:
        failure = failure or Failure.UNSUBSCRIBED
        _mark_unreachable(conn, row.channel, row.address, failure, now)
        resident_id = row.resident_id or conn.scalar(select(Identity.resident_id).where(
            Identity.channel == row.channel, Identity.address == row.address))
        if resident_id is not None:
            conn.execute(update(Resident).where(Resident.id == resident_id).values(opted_out=True))
    else:
        failure = failure or Failure.REFUSED
    if values["status"] == "pending":  # it goes again: receipts of the last try no longer apply
        values.update(delivery=None, delivery_at=None)
    conn.execute(update(Outbox).where(Outbox.id == outbox_id).values(
        error=str(error)[:2000], error_code=error.code and error.code[:16],
        failure=failure and Failure(failure).value, **values))
    return values["status"]


def _mark_unreachable(conn: Connection, channel: str, address: str, failure: Failure, now: datetime) -> None:
    """The platform will not deliver to this identity (notify skips it until the resident writes again)."""
    conn.execute(update(Identity).where(Identity.channel == channel, Identity.address == address)
                 .values(unreachable=Failure(failure).value, unreachable_at=now))


@dataclass
class _Item:
    """One claimed row of a recipient, as it goes out; or, `held`, the generic template
    that tells a resident a message is waiting for them."""

    id: int
    out: OutgoingMessage
    claimed_at: datetime
    held: bool = False


@dataclass
class _Chain:
    priority: int  # the recipient's most urgent row: 0 a chat reply
    items: list[_Item]
    channel: str  # the channel it was claimed on (planning may move a row to SMS)


async def _in_db_thread(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(_DB_THREADS, fn, *args)


class _Pass:
    """What one `dispatch` call shares among its sends (bound to its event loop)."""

    def __init__(self, dispatcher: Dispatcher):
        # Sends in flight, per channel: a channel waiting for its rate limit holds no other's.
        self.slots: dict[str, Slots] = defaultdict(lambda: Slots(dispatcher.concurrency))
        self.starts = GroupCommit(dispatcher._mark_started, _DB_THREADS)
        self.results = GroupCommit(dispatcher._record_sent, _DB_THREADS)
        self.sent = 0


class Dispatcher:
    """`senders`: channel name -> async send(OutgoingMessage) -> the platform's id for
    it, raising bot.delivery.SendError (any other exception counts as transient).
    `policies`: channel name -> ChannelPolicy (rate-limit buckets, text limit); a
    channel without one is neither limited nor split. `window` plans WhatsApp messages
    outside the 24-hour window (a WhatsAppWindow on bot.templates by default)."""

    def __init__(self, sessions: sessionmaker[Session], senders: dict[str, Sender], clock,
                 policies: dict[str, ChannelPolicy] | None = None, settings: Settings | None = None,
                 window: WhatsAppWindow | None = None):
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.policies = policies if policies is not None else {}
        settings = settings or Settings()
        self.concurrency = settings.send_concurrency
        self.window = window or WhatsAppWindow(default_language=settings.default_language)
        self.limiter = RateLimiter()
        self._paused_until: dict[str, datetime] = {}  # channel -> when its 429 pause ends
        self._claims_reset = False

    # -- recovery ----------------------------------------------------------------
    def recover(self) -> int:
        """Called every minute: rows claimed longer than CLAIM_LEASE ago go back to
        pending; rows mid-send longer than SEND_LEASE ago become `uncertain` (logged by
        id, not resent). Returns how many became uncertain."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            conn = session.connection()
            self._unclaim(conn, now, claimed_before=now - CLAIM_LEASE)
            ids = conn.scalars(select(Outbox.id).where(Outbox.status == "sending",
                                                       Outbox.not_before < now - SEND_LEASE)).all()
            if ids:
                conn.execute(update(Outbox).where(Outbox.id.in_(ids), Outbox.status == "sending")
                             .values(status="uncertain"))
        if ids:
            log.warning("%d outbox rows were mid-send at a crash and may have gone out; marked uncertain, not "
                        "resent: ids %s", len(ids), ", ".join(map(str, ids)))
        return len(ids)

    def _unclaim(self, conn: Connection, now: datetime, claimed_before: datetime | None) -> None:
        query = update(Outbox).where(Outbox.status == "claimed")
        if claimed_before is not None:
            query = query.where(Outbox.not_before < claimed_before)
        count = conn.execute(query.values(status="pending", not_before=now)).rowcount
        if count:
            log.info("%d claimed outbox rows were never started; pending again", count)

    def _reset_claims(self) -> None:
        """At start every claim is taken back: a dead process's rows were never sent, and
        a live one's pass finds its rows taken when it records their start (no double send)."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            self._unclaim(session.connection(), now, claimed_before=None)

    # -- the pass ----------------------------------------------------------------
    async def dispatch(self, limit: int = 1000) -> int:
        """Send what is due, up to `limit` rows; returns how many were sent."""
        if not self._claims_reset:
            await _in_db_thread(self._reset_claims)
            self._claims_reset = True
        run = _Pass(self)
        tasks: dict[asyncio.Task, str] = {}  # each recipient's chain, by the channel it went out on
        claimed, last_claim, found = 0, float("-inf"), True
        finished = False  # a chain ended since the last claim: it may have left rows due (moved to SMS)
        try:
            while True:
                rooms = self._rooms(tasks)
                due_refill = time.monotonic() - last_claim >= REFILL_SECONDS
                roomy = any(room * 4 >= self.concurrency for room, _ in rooms.values())
                if claimed < limit and rooms and (due_refill or (found and roomy) or (finished and not tasks)):
                    chains = await _in_db_thread(self._claim, rooms, limit - claimed)
                    last_claim, found, finished = time.monotonic(), bool(chains), False
                    for chain in chains:
                        claimed += sum(not item.held for item in chain.items)
                        tasks[asyncio.create_task(self._run_chain(run, chain))] = chain.channel
                if not tasks:
                    break
                wait = max(0.0, REFILL_SECONDS - (time.monotonic() - last_claim))
                done, _ = await asyncio.wait(tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    del tasks[task]
                finished = finished or bool(done)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return run.sent

    def _rooms(self, tasks: dict[asyncio.Task, str]) -> dict[str, tuple[int, bool]]:
        """How many more recipients each channel may take now, and whether only chat
        replies: each channel has SEND_CONCURRENCY of its own, so one waiting for its
        rate limit (Telegram's 30/s) never holds back another (WhatsApp's 80/s); a channel
        full of bulk still takes chat replies, up to as many again."""
        busy = defaultdict(int)
        for channel in tasks.values():
            busy[channel] += 1
        rooms = {}
        for channel in self.senders:
            room, replies_only = self.concurrency - busy[channel], False
            if room <= 0:
                room, replies_only = 2 * self.concurrency - busy[channel], True
            if room > 0:
                rooms[channel] = (room, replies_only)
        return rooms

    def _paused_for(self, channel: str) -> float:
        """Seconds left of the channel's 429 pause."""
        until = self._paused_until.get(channel)
        return max(0.0, (until - self.clock.now()).total_seconds()) if until else 0.0

    # -- claiming --------------------------------------------------------------
    def _claim(self, rooms: dict[str, tuple[int, bool]], rows: int) -> list[_Chain]:
        """Claim the due rows of up to `rooms[channel]` recipients per channel (most
        urgent first), at most `rows` in all, and plan them; one transaction."""
        now = self.clock.now()
        channels = [c for c in rooms if not self._paused_for(c)]
        if not channels:
            return []
        o, earlier = Outbox, aliased(Outbox)
        blocked = exists().where(
            earlier.channel == o.channel, earlier.address == o.address,
            or_(earlier.status.in_(IN_FLIGHT),
                # an earlier row waiting for a retry (a row deferred on purpose has no error)
                and_(earlier.status == "pending", earlier.id < o.id, earlier.not_before > now,
                     earlier.error.is_not(None))))
        due = and_(o.status == "pending", o.channel.in_(channels), o.not_before <= now, ~blocked)
        with self.sessions.begin() as session:
            conn = session.connection()
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
            picked = []
            for channel in channels:
                recipients, replies_only = rooms[channel]
                ranked = (select(o.channel, o.address, func.min(o.priority).label("rank"),
                                 func.min(o.id).label("first"))
                          .where(due, o.channel == channel).group_by(o.channel, o.address))
                if replies_only:
                    ranked = ranked.having(func.min(o.priority) == 0)
                picked += conn.execute(ranked.order_by("rank", "first").limit(recipients)).all()
            if not picked:
                return []
            picked.sort(key=lambda p: (p.rank, p.first))
            found = conn.execute(
                select(o.id, o.channel, o.address, o.resident_id, o.payload, o.failure, o.not_before)
                .where(due, tuple_(o.channel, o.address).in_([(p.channel, p.address) for p in picked]))
                .order_by(o.id)).all()
            by_recipient = defaultdict(list)
            for row in found:
                by_recipient[row.channel, row.address].append(row)
            chosen: list[tuple[int, list, str]] = []
            for pick in picked:
                take = by_recipient[pick.channel, pick.address][:min(ROWS_PER_RECIPIENT, rows)]
                if take:
                    chosen.append((pick.rank, take, pick.channel))
                    rows -= len(take)
                if rows <= 0:
                    break
            conn.execute(update(Outbox).where(Outbox.id.in_([r.id for _, take, _ in chosen for r in take]),
                                              Outbox.status == "pending")
                         .values(status="claimed", not_before=now))
            plans = self._plan(conn, [r for _, take, _ in chosen for r in take], now)
        return [chain for chain in (_Chain(rank, [plans[r.id] for r in take if plans.get(r.id)], channel)
                                    for rank, take, channel in chosen) if chain.items]

    def _plan(self, conn: Connection, rows: list, now: datetime) -> dict[int, _Item | None]:
        """What goes out for each claimed row: the message as stored, or, on WhatsApp
        outside the 24-hour window, a template, an SMS, or (held) a notice. A row that
        cannot be planned fails alone."""
        items: dict[int, _Item | None] = {}
        whatsapp = []
        for row in rows:
            try:
                out = OutgoingMessage.from_dict(row.payload)
            except Exception as exc:
                log.error("outbox %s has an unreadable payload (%s); failed", row.id, type(exc).__name__)
                record_failure(conn, row.id, SendError(Outcome.PERMANENT, f"unreadable payload: {exc}"), now,
                               self._sms_available)
                items[row.id] = None
                continue
            out.channel, out.address, out.outbox_id = row.channel, row.address, row.id
            items[row.id] = _Item(row.id, out, now)
            if row.channel == "whatsapp":
                whatsapp.append(Queued(row.id, row.address, row.resident_id, row.failure, row.not_before, out))
        for row_id, plan in self._window_plans(conn, whatsapp, now).items():
            if plan is None:
                items[row_id] = None
            elif plan.route is Route.HOLD:
                conn.execute(update(Outbox).where(Outbox.id == row_id)
                             .values(status="held", failure=Failure.OUTSIDE_WINDOW.value))
                log.info("outbox %s held until the resident writes (outside WhatsApp's window)", row_id)
                items[row_id] = plan.out and _Item(row_id, plan.out, now, held=True)
            else:
                if plan.route is Route.SMS:
                    conn.execute(update(Outbox).where(Outbox.id == row_id).values(channel="sms"))
                items[row_id].out = plan.out
        return items

    def _window_plans(self, conn: Connection, rows: list[Queued], now: datetime) -> dict[int, Plan | None]:
        """Plans for the WhatsApp rows, all at once; if that raises, row by row, and a
        row whose plan raises counts a failed attempt (None)."""
        try:
            with conn.begin_nested():
                return self.window.plan(conn, rows, now, self._sms_available)
        except Exception:
            log.exception("planning %d WhatsApp rows failed; planning them one by one", len(rows))
        plans: dict[int, Plan | None] = {}
        for row in rows:
            try:
                with conn.begin_nested():
                    plans.update(self.window.plan(conn, [row], now, self._sms_available))
            except Exception as exc:
                log.exception("outbox %s could not be planned", row.id)
                conn.execute(update(Outbox).where(Outbox.id == row.id).values(attempts=Outbox.attempts + 1))
                record_failure(conn, row.id, SendError(Outcome.TRANSIENT, f"planning: {type(exc).__name__}: {exc}"),
                               now, self._sms_available)
                plans[row.id] = None
        return plans

    @property
    def _sms_available(self) -> bool:
        return "sms" in self.senders

    # -- sending ---------------------------------------------------------------
    async def _run_chain(self, run: _Pass, chain: _Chain) -> None:
        """One recipient's rows, in order. When one must go again later, the rest wait
        (pending again, held back behind it)."""
        for index, item in enumerate(chain.items):
            try:
                go_on = await (self._notify_held(run, item, chain.priority) if item.held
                               else self._deliver(run, item, chain.priority))
            except Exception:
                log.exception("outbox %s: dispatching failed; left for recovery", item.id)
                go_on = False
            if not go_on:
                rest = [later for later in chain.items[index + 1:] if not later.held]
                if rest:
                    try:
                        await _in_db_thread(self._release, rest, None)
                    except Exception:
                        log.exception("releasing outbox rows %s failed; recovery takes them back",
                                      [later.id for later in rest])
                return

    async def _deliver(self, run: _Pass, item: _Item, priority: int) -> bool:
        """Send one claimed row, split as its channel needs. False when it goes again
        later (its recipient's later rows wait)."""
        out = item.out
        try:
            policy = self.policies.get(out.channel)
            parts = split_message(out, policy.max_length) if policy and out.content_sid is None else [out]
            buckets = [policy.buckets(part) if policy else [] for part in parts]
            send = self.senders[out.channel]
        except Exception as exc:
            log.exception("outbox %s could not be prepared", item.id)
            return await _in_db_thread(self._fail_unstarted, item, exc)
        provider_id, error = None, None
        async with run.slots[out.channel].hold(priority):
            for number, (part, part_buckets) in enumerate(zip(parts, buckets)):
                if self._paused_for(out.channel):
                    if number == 0:
                        return await self._wait_out_pause(item)
                    await asyncio.sleep(self._paused_for(out.channel))  # a later part: finish the message
                await self.limiter.acquire(part_buckets, priority)
                if number == 0:
                    if self._paused_for(out.channel):
                        return await self._wait_out_pause(item)
                    if not await run.starts.submit(item):
                        log.warning("outbox %s was taken back before its send (claim lease); not sent", item.id)
                        return True
                try:
                    part_id = await send(part)
                except Exception as exc:
                    error = exc if isinstance(exc, SendError) else SendError(
                        Outcome.TRANSIENT, f"{type(exc).__name__}: {exc}")
                    break
                provider_id = provider_id or part_id
        if error is not None:
            return await self._failed(item, out.channel, error)
        await run.results.submit((item.id, provider_id, out.channel, False))
        run.sent += 1
        return True

    async def _notify_held(self, run: _Pass, item: _Item, priority: int) -> bool:
        """The template that stands for a held row (the generic one, or its own kind's
        when that could not carry all of it); if it fails, the row stays held, unless
        the failure says the resident cannot get WhatsApp messages at all."""
        policy = self.policies.get("whatsapp")
        async with run.slots["whatsapp"].hold(priority):
            await self.limiter.acquire(policy.buckets(item.out) if policy else [], priority)
            try:
                provider_id = await self.senders["whatsapp"](item.out)
            except Exception as exc:
                error = exc if isinstance(exc, SendError) else SendError(Outcome.TRANSIENT, type(exc).__name__)
                if error.outcome in (Outcome.UNREACHABLE, Outcome.NOT_ON_CHANNEL, Outcome.OPTED_OUT):
                    return await self._failed(item, "whatsapp", error)
                if error.outcome is Outcome.RATE_LIMITED:
                    self._pause("whatsapp", error.retry_after)
                log.warning("outbox %s: the notice of a held message failed (%s); the message stays held",
                            item.id, error.outcome.value)
                return True
        await run.results.submit((item.id, provider_id, "whatsapp", True))
        return True

    async def _failed(self, item: _Item, channel: str, error: SendError) -> bool:
        if error.outcome is Outcome.RATE_LIMITED:
            self._pause(channel, error.retry_after)
        status = await _in_db_thread(self._record_failure, item.id, error)
        level = logging.WARNING if status == "pending" else logging.ERROR
        log.log(level, "outbox %s: %s (%s, code %s); now %s", item.id, error.outcome.value,
                error.failure and Failure(error.failure).value, error.code, status)
        return status != "pending"

    def _pause(self, channel: str, retry_after: float | None) -> None:
        """A 429: nothing more goes on the channel until its Retry-After has passed."""
        pause = retry_after or DEFAULT_RETRY_AFTER
        until = self.clock.now() + timedelta(seconds=pause)
        self._paused_until[channel] = max(self._paused_until.get(channel, until), until)
        log.warning("%s asks to wait %.1f s (rate limited); pausing the channel", channel, pause)

    async def _wait_out_pause(self, item: _Item) -> bool:
        """The channel is paused by a 429: the row goes back until the pause ends."""
        await _in_db_thread(self._release, [item], timedelta(seconds=self._paused_for(item.out.channel)))
        return False

    # -- recording ---------------------------------------------------------------
    def _mark_started(self, items: list[_Item]) -> list[bool]:
        """claimed -> sending, before the requests: True for each row still ours."""
        now = self.clock.now()
        started: set[int] = set()
        with self.sessions.begin() as session:
            conn = session.connection()
            for claimed_at, ids in _by_claim(items).items():
                started.update(conn.scalars(
                    update(Outbox).where(Outbox.id.in_(ids), Outbox.status == "claimed", Outbox.not_before == claimed_at)
                    .values(status="sending", attempts=Outbox.attempts + 1, not_before=now)
                    .returning(Outbox.id)))
        return [item.id in started for item in items]

    def _record_sent(self, results: list[tuple[int, str | None, str, bool]]) -> list[None]:
        now = self.clock.now()
        sent = [{"oid": oid, "pid": pid and str(pid)[:64], "delivery": DELIVERY_ON_SEND.get(channel), "now": now}
                for oid, pid, channel, notice in results if not notice]
        notices = [{"oid": oid, "pid": pid and str(pid)[:64], "delivery": DELIVERY_ON_SEND.get(channel), "now": now}
                   for oid, pid, channel, notice in results if notice]
        with self.sessions.begin() as session:
            conn = session.connection()
            if sent:
                conn.execute(_SENT, sent)
            if notices:
                conn.execute(_NOTICE_SENT, notices)
        return [None] * len(results)

    def _record_failure(self, outbox_id: int, error: SendError) -> str | None:
        with self.sessions.begin() as session:
            return record_failure(session.connection(), outbox_id, error, self.clock.now(), self._sms_available)

    def _fail_unstarted(self, item: _Item, exc: Exception) -> bool:
        """A row that failed before its request: a failed attempt, never a resend risk."""
        with self.sessions.begin() as session:
            conn = session.connection()
            conn.execute(update(Outbox).where(Outbox.id == item.id).values(attempts=Outbox.attempts + 1))
            status = record_failure(conn, item.id, SendError(Outcome.TRANSIENT, f"{type(exc).__name__}: {exc}"),
                                    self.clock.now(), self._sms_available)
        return status != "pending"

    def _release(self, items: list[_Item], wait: timedelta | None) -> None:
        """Claimed rows back to pending, untouched if the claim was lost meanwhile. With
        `wait` (a 429 pause) they are due after it and hold their recipient's later rows."""
        now = self.clock.now()
        values: dict = {"status": "pending", "not_before": now}
        if wait is not None:
            values.update(not_before=now + wait, error="rate limited: waiting for the channel's pause to end")
        with self.sessions.begin() as session:
            conn = session.connection()
            for claimed_at, ids in _by_claim(items).items():
                conn.execute(update(Outbox).where(Outbox.id.in_(ids), Outbox.status == "claimed",
                                                  Outbox.not_before == claimed_at).values(**values))


def _by_claim(items: list[_Item]) -> dict[datetime, list[int]]:
    """Row ids by the claim they belong to: an update keyed on the claim time touches a
    row only while that claim holds."""
    groups: dict[datetime, list[int]] = defaultdict(list)
    for item in items:
        groups[item.claimed_at].append(item.id)
    return groups


# Only a row still mid-send is ours to mark: a receipt may have come first (Twilio can be
# quicker than this write) and moved it on, or set a delivery status that must stay.
_SENT = (update(Outbox).where(Outbox.id == bindparam("oid"), Outbox.status == "sending")
         .values(status="sent", sent_at=bindparam("now"), provider_id=bindparam("pid"),
                 delivery=func.coalesce(Outbox.delivery, bindparam("delivery")),
                 delivery_at=func.coalesce(Outbox.delivery_at, bindparam("now")), error_code=None, failure=None))
# A held row's notice went out: the row itself stays held (or was released meanwhile).
_NOTICE_SENT = (update(Outbox).where(Outbox.id == bindparam("oid"))
                .values(provider_id=bindparam("pid"), delivery=bindparam("delivery"), delivery_at=bindparam("now")))
