"""The dispatcher: once, in order, retried, never lost."""
from datetime import timedelta

from sqlalchemy import insert, select

from bot.channels.telegram_channel import to_html
from bot.messages import OutgoingMessage
from bot.outbox import Dispatcher
from db.models import Outbox


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


async def test_rows_left_mid_send_by_a_crash_are_not_resent(kampung, app, clock):
    kampung.resident("whatsapp:+6281234567001").says("halo")
    dispatcher = Dispatcher(app.sessions, {"whatsapp": None}, clock)
    assert dispatcher._claim(1)
    clock.set(clock.now() + timedelta(minutes=6))
    assert dispatcher.recover() == 1
    with app.sessions() as session:
        assert session.get(Outbox, 1).status == "uncertain"


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
