"""The dispatcher sends concurrently across recipients, in order for each, chat replies
before bulk, within every rate limit and SEND_CONCURRENCY, and one bad row stops nothing."""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import insert, select

from bot.delivery import Bucket, Outcome, Rate, SendError
from bot.messages import OutgoingMessage
from bot.outbox import Dispatcher
from bot.rate_limit import RateLimiter
from db.models import Outbox


def queue(app, clock, messages: list[tuple[str, str]], *, channel: str = "whatsapp", priority: int = 2,
          kind: str | None = None, **values) -> list[int]:
    """Outbox rows (address, text), in this order; returns their ids."""
    values = {"resident_id": None, "status": "pending", "attempts": 0, "not_before": clock.now(), **values}
    with app.engine.begin() as conn:
        return [conn.execute(insert(Outbox).values(
            channel=channel, address=address, priority=priority, created_at=clock.now(),
            payload=OutgoingMessage(channel, address, text, kind=kind).to_dict(), **values)).inserted_primary_key[0]
            for address, text in messages]


def rows(app) -> list[Outbox]:
    with app.sessions() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


class Recorder:
    """A fake platform: records when each request starts, answers after `delay` seconds,
    and raises what `fail(out)` returns (None: success)."""

    def __init__(self, delay: float = 0.0, fail=lambda out: None):
        self.delay, self.fail = delay, fail
        self.sent: list[tuple[float, OutgoingMessage]] = []
        self.in_flight = self.peak = 0

    async def __call__(self, out: OutgoingMessage) -> str:
        started = time.monotonic()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay() if callable(self.delay) else self.delay)
            error = self.fail(out)
            if error is not None:
                raise error
        finally:
            self.in_flight -= 1
        self.sent.append((started, out))
        return f"SM{len(self.sent)}"

    @property
    def texts(self) -> list[str]:
        return [out.text for _, out in self.sent]


class Policy:
    """A channel's limits: every send draws from the channel's bucket and its recipient's."""

    def __init__(self, overall: Rate, per_recipient: Rate | None = None, max_length: int = 10_000):
        self.overall, self.per_recipient, self.limit = overall, per_recipient, max_length

    def buckets(self, out: OutgoingMessage) -> list[Bucket]:
        found = [Bucket("test", self.overall)]
        if self.per_recipient:
            found.append(Bucket(f"test:{out.address}", self.per_recipient))
        return found

    def max_length(self, out: OutgoingMessage) -> int:
        return self.limit


# Between a token's grant and the request lies the database write recording the start;
# the limiter keeps a guard for it, and a busy test machine may stretch it this much.
JITTER = 0.03


def most_in_any_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + seconds) for i, start in enumerate(times)), default=0)


async def test_each_recipient_gets_their_messages_in_order_while_recipients_go_concurrently(app, clock):
    addresses = [f"+62812000{n:04d}" for n in range(30)]
    queue(app, clock, [(address, f"{address} #{k}") for k in range(5) for address in addresses])
    whatsapp = Recorder(delay=lambda: random.uniform(0, 0.01))

    assert await Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock).dispatch() == 150

    for address in addresses:
        assert [t for t in whatsapp.texts if t.startswith(address)] == [f"{address} #{k}" for k in range(5)]
    assert whatsapp.peak > 1
    assert {r.status for r in rows(app)} == {"sent"}


async def test_no_more_requests_in_flight_than_send_concurrency(app, clock, settings):
    queue(app, clock, [(f"+62812000{n:04d}", "halo") for n in range(20)])
    whatsapp = Recorder(delay=0.02)

    dispatcher = Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock, settings=replace(settings, send_concurrency=3))
    assert await dispatcher.dispatch() == 20
    assert whatsapp.peak == 3


async def test_a_chat_reply_written_after_an_announcement_goes_out_in_the_first_batch(kampung, app, clock, settings):
    queue(app, clock, [(f"+62812000{n:04d}", "Pengumuman kerja bakti") for n in range(300)])
    kampung.resident("whatsapp:+6281234567001").says("halo")  # welcome + consent question: chat replies
    whatsapp = Recorder()
    dispatcher = Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock, settings=replace(settings, send_concurrency=4))

    assert await dispatcher.dispatch(limit=4) == 4

    replies = [out.text for _, out in whatsapp.sent if out.address == "+6281234567001"]
    assert whatsapp.sent[0][1].address == "+6281234567001"
    assert len(replies) == 2 and "Halo!" in replies[0] and "setuju?" in replies[1]


async def test_rows_waiting_for_a_retry_do_not_hold_up_a_reply(kampung, app, clock):
    """250 invalid numbers of an announcement wait for their retry: a chat reply is not behind them."""
    queue(app, clock, [(f"+62812000{n:04d}", "Pengumuman") for n in range(250)], attempts=1,
          error="SendError: 500", not_before=clock.now() + timedelta(minutes=2))
    kampung.resident("whatsapp:+6281234567001").says("halo")
    whatsapp = Recorder()

    assert await Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock).dispatch(limit=2) == 2
    assert [out.address for _, out in whatsapp.sent] == ["+6281234567001"] * 2


async def test_a_recipients_bulk_rows_written_before_their_reply_still_go_first(app, clock):
    [first] = queue(app, clock, [("+6281234567001", "Pengumuman")], priority=2)
    queue(app, clock, [(f"+62812000{n:04d}", "Pengumuman lain") for n in range(50)], priority=2)
    queue(app, clock, [("+6281234567001", "Balasan")], priority=0, kind=None)
    whatsapp = Recorder()

    await Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock).dispatch(limit=2)

    assert whatsapp.texts == ["Pengumuman", "Balasan"]
    assert rows(app)[0].id == first and rows(app)[0].status == "sent"


async def test_sends_stay_within_every_rate_limit(app, clock):
    overall, per_recipient = Rate(8, 0.5), Rate(1, 0.5)
    addresses = [f"+62812000{n:04d}" for n in range(12)]
    queue(app, clock, [(address, f"{address} #{k}") for k in range(2) for address in addresses])
    whatsapp = Recorder(delay=0.005)
    dispatcher = Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock,
                            policies={"whatsapp": Policy(overall, per_recipient)})

    assert await dispatcher.dispatch() == 24

    assert most_in_any_window([t for t, _ in whatsapp.sent], overall.seconds - JITTER) <= overall.count
    for address in addresses:
        first, second = [t for t, out in whatsapp.sent if out.address == address]
        assert second - first >= per_recipient.seconds - JITTER


async def test_a_429_pauses_the_channel_and_the_row_goes_again_without_counting_an_attempt(app, clock):
    ids = queue(app, clock, [(f"+62812000{n:04d}", "Pengumuman") for n in range(10)])
    limited = {ids[0]}

    def fail(out):
        if out.outbox_id in limited:
            limited.clear()
            return SendError(Outcome.RATE_LIMITED, "Too Many Requests", code=429, retry_after=30)
        return None

    whatsapp = Recorder(fail=fail)
    dispatcher = Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock)
    await dispatcher.dispatch()
    pending = [r for r in rows(app) if r.status == "pending"]
    assert ids[0] in [r.id for r in pending]
    assert all(r.attempts == 0 and r.not_before >= clock.now() + timedelta(seconds=30) for r in pending)
    assert await dispatcher.dispatch() == 0  # the channel is paused

    clock.set(clock.now() + timedelta(seconds=31))
    await dispatcher.dispatch()
    assert [(r.status, r.attempts) for r in rows(app)] == [("sent", 1)] * 10
    assert sorted(whatsapp.texts) == ["Pengumuman"] * 10


async def test_a_long_retry_after_gives_nothing_up(app, clock):
    """Telegram's flood control answered retry_after=220: every message still goes, later."""
    queue(app, clock, [(str(5000 + n), "Pengumuman") for n in range(40)], channel="telegram")
    telegram = Recorder(fail=lambda out: SendError(Outcome.RATE_LIMITED, "Flood control", code=429, retry_after=220))
    await Dispatcher(app.sessions, {"telegram": telegram}, clock).dispatch()
    assert {(r.status, r.attempts) for r in rows(app)} == {("pending", 0)}

    clock.set(clock.now() + timedelta(seconds=221))
    telegram = Recorder()
    assert await Dispatcher(app.sessions, {"telegram": telegram}, clock).dispatch() == 40
    assert {(r.status, r.delivery) for r in rows(app)} == {("sent", "delivered")}


async def test_a_raising_sender_or_a_broken_row_affects_only_that_row(app, clock):
    ids = queue(app, clock, [(f"+62812000{n:04d}", "Pengumuman") for n in range(20)])
    with app.engine.begin() as conn:
        conn.execute(Outbox.__table__.update().where(Outbox.id == ids[5]).values(payload={"nonsense": True}))

    def fail(out):
        return ZeroDivisionError("bug in the channel") if out.outbox_id == ids[3] else None

    whatsapp = Recorder(fail=fail)
    assert await Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock).dispatch() == 18

    by_id = {r.id: r for r in rows(app)}
    assert (by_id[ids[3]].status, by_id[ids[3]].attempts) == ("pending", 1)
    assert by_id[ids[3]].error == "ZeroDivisionError: bug in the channel"
    assert by_id[ids[5]].status == "failed" and by_id[ids[5]].error.startswith("unreadable payload")
    assert sum(r.status == "sent" for r in by_id.values()) == 18


async def test_a_policy_that_raises_for_one_message_affects_only_that_row(app, clock):
    ids = queue(app, clock, [(f"+62812000{n:04d}", "Pengumuman") for n in range(5)])

    class Broken(Policy):
        def buckets(self, out):
            if out.outbox_id == ids[2]:
                raise KeyError("no bucket")
            return super().buckets(out)

    whatsapp = Recorder()
    dispatcher = Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock, policies={"whatsapp": Broken(Rate(100))})
    assert await dispatcher.dispatch() == 4
    assert [(r.status, r.attempts) for r in rows(app)][2] == ("pending", 1)


async def test_a_successful_send_records_delivery_by_channel(app, clock):
    queue(app, clock, [("+6281234567001", "wa")], channel="whatsapp")
    queue(app, clock, [("+6281234567001", "sms")], channel="sms")
    queue(app, clock, [("5150", "tg")], channel="telegram")
    senders = {"whatsapp": Recorder(), "sms": Recorder(), "telegram": Recorder()}
    assert await Dispatcher(app.sessions, senders, clock).dispatch() == 3
    assert [(r.channel, r.status, r.delivery, r.provider_id) for r in rows(app)] == [
        ("whatsapp", "sent", "queued", "SM1"), ("sms", "sent", "queued", "SM1"), ("telegram", "sent", "delivered", "SM1")]


async def test_a_reply_waiting_for_a_token_takes_it_before_bulk_waiting_longer():
    limiter = RateLimiter()
    channel = [Bucket("test", Rate(1, 0.1))]
    await limiter.acquire(channel)  # the bucket is now empty for 0.1 s
    order = []

    async def send(name: str, priority: int) -> None:
        await limiter.acquire(channel, priority)
        order.append(name)

    bulk = [asyncio.create_task(send(f"bulk {n}", 2)) for n in range(3)]
    await asyncio.sleep(0.01)
    await asyncio.gather(send("reply", 0), *bulk)
    assert order[0] == "reply"
