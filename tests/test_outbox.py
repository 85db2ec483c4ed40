"""The dispatcher: once, in order, retried, never lost."""
import asyncio
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import insert, select

from bot.channels.telegram_channel import to_html
from bot.messages import OutgoingMessage
from bot.delivery import Rate
from bot.outbox import CLAIM_LEASE, SEND_LEASE, Dispatcher
from db.models import Outbox
from tests.test_dispatcher_sending import Policy, Recorder, queue, rows


async def test_failed_send_holds_later_messages_and_is_retried_in_order(kampung, app, clock):
    kampung.resident("whatsapp:+6281234567001").says("halo")  # welcome + consent question
    delivered, failures = [], [RuntimeError("network down")]

    async def flaky(out):
        if failures:
            raise failures.pop()
        delivered.append(out.text)
        return f"SM{len(delivered)}"

    dispatcher = Dispatcher(app.sessions, {"whatsapp": flaky}, clock)
    assert await dispatcher.dispatch() == 0
    assert delivered == []
    clock.set(clock.now() + timedelta(seconds=6))
    assert await dispatcher.dispatch() == 2
    assert "Halo!" in delivered[0] and "setuju?" in delivered[1]
    assert await dispatcher.dispatch() == 0
    with app.sessions() as session:
        assert [(r.status, r.attempts) for r in session.scalars(select(Outbox).order_by(Outbox.id))] == [
            ("sent", 2), ("sent", 1)]


async def test_a_message_deferred_on_purpose_holds_back_nothing(kampung, app, clock):
    """An invitation held until quiet hours end does not hold back the resident's chat,
    nor, however many there are, anybody else's messages."""
    with app.engine.begin() as conn:
        conn.execute(insert(Outbox), [
            {"resident_id": None, "channel": "whatsapp", "address": f"+62812345670{n:02d}", "status": "pending",
             "payload": OutgoingMessage("whatsapp", f"+62812345670{n:02d}", f"undangan {n}").to_dict(),
             "attempts": 0, "not_before": clock.now() + timedelta(hours=8), "created_at": clock.now()}
            for n in range(1, 90)] * 3)
    kampung.resident("whatsapp:+6281234567001").says("halo")  # welcome + consent question
    delivered = []

    async def send(out):
        delivered.append(out.text)
        return f"SM{len(delivered)}"

    dispatcher = Dispatcher(app.sessions, {"whatsapp": send}, clock)
    assert await dispatcher.dispatch() == 2
    assert "Halo!" in delivered[0] and "setuju?" in delivered[1]
    clock.set(clock.now() + timedelta(hours=8))
    assert await dispatcher.dispatch(limit=1000) == 267
    assert delivered[2:5] == ["undangan 1", "undangan 2", "undangan 3"]


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_after_a_crash_rows_never_started_are_sent_and_rows_mid_send_become_uncertain(
        app, clock, settings, caplog):
    ids = queue(app, clock, [("+6281234567001", f"Pengumuman {n}") for n in range(3)]
                + [("+6281234567002", f"Pengumuman {n}") for n in range(2)])

    async def never_answers(out):
        await asyncio.Event().wait()

    crashed = Dispatcher(app.sessions, {"whatsapp": never_answers}, clock, settings=replace(settings, send_concurrency=2))
    task = asyncio.create_task(crashed.dispatch())
    await until(lambda: [r.status for r in rows(app)].count("sending") == 2)
    task.cancel()  # the process dies with two requests on the wire and three rows claimed
    await asyncio.gather(task, return_exceptions=True)
    assert sorted(r.status for r in rows(app)) == ["claimed"] * 3 + ["sending"] * 2

    whatsapp = Recorder()
    restarted = Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock)
    # The claims are taken back at once; the recipients' later rows wait while an
    # earlier request of theirs may still be on its way.
    assert await restarted.dispatch() == 0
    assert sorted(r.status for r in rows(app)) == ["pending"] * 3 + ["sending"] * 2
    assert restarted.recover() == 0
    clock.set(clock.now() + SEND_LEASE + timedelta(seconds=1))
    assert restarted.recover() == 2
    mid_send = [r.id for r in rows(app) if r.status == "uncertain"]
    assert len(mid_send) == 2 and all(str(i) in caplog.text for i in mid_send)
    assert await restarted.dispatch() == 3
    assert sorted(out.outbox_id for _, out in whatsapp.sent) == sorted(set(ids) - set(mid_send))


async def test_a_claim_taken_back_by_recovery_is_never_sent_twice(app, clock):
    """A pass waiting long for its rate limit loses its claims to recovery; whoever
    claims them next sends them, and the first pass does not."""
    queue(app, clock, [(f"+62812000{n:04d}", f"Pengumuman {n}") for n in range(3)])
    slow, fast = Recorder(), Recorder()
    first = Dispatcher(app.sessions, {"whatsapp": slow}, clock, policies={"whatsapp": Policy(Rate(1, 2.0))})
    task = asyncio.create_task(first.dispatch(limit=3))  # claims all three, then only sends
    await until(lambda: len(slow.sent) == 1)

    clock.set(clock.now() + CLAIM_LEASE + timedelta(seconds=1))
    first.recover()
    assert await Dispatcher(app.sessions, {"whatsapp": fast}, clock).dispatch() == 2
    assert await task == 1

    assert sorted(slow.texts + fast.texts) == ["Pengumuman 0", "Pengumuman 1", "Pengumuman 2"]
    assert [r.status for r in rows(app)] == ["sent"] * 3


def test_whatsapp_bold_becomes_telegram_html():
    assert to_html("Ini *Kampung Bot* <3 & kamu") == "Ini <b>Kampung Bot</b> &lt;3 &amp; kamu"


def test_times_render_in_the_readers_language_and_wib(app):
    from datetime import datetime, timezone

    from flows.base import Say, When

    when = When(datetime(2026, 11, 28, 12, 30, tzinfo=timezone.utc))
    render = app.core.renderer.message
    assert render("console", "x", "id", "time.when", {"date": "d", "time": "t", "zone": "z"}).text == "d pukul t z"
    assert render("console", "x", "id", "privacy.edit_name", {"name": when}).text.startswith(
        "Nama sekarang: Sabtu, 28 November 2026 pukul 19.30 WIB")
    assert "Saturday, 28 November 2026 at 19:30 WIB" in render("console", "x", "en", "privacy.edit_name", {"name": when}).text
    assert "Sabtu" in render("console", "x", "jv", "privacy.show", {
        "name": when, "phone": "-", "rt": "-", "rw": "-", "paguyuban": "-", "channels": "-",
        "announcements": Say("privacy.announcements_on")}).text
