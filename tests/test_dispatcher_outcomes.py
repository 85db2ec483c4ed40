"""What the dispatcher does with each kind of failed send (bot.delivery.Outcome), the
same for a failure a delivery receipt reports later (record_failure), and messages
split to fit a platform's limit."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.delivery import Failure, Outcome, Rate, SendError
from bot.message_split import split_message, split_text
from bot.messages import Choice, OutgoingMessage
from bot.outbox import MAX_ATTEMPTS, Dispatcher, record_failure
from db.models import Identity, Resident
from tests.test_dispatcher_sending import Policy, Recorder, queue, rows


def failing(error: SendError) -> Recorder:
    return Recorder(fail=lambda out: error)


def identity(app, channel: str, address: str) -> Identity:
    with app.sessions() as session:
        return session.scalars(select(Identity).where(Identity.channel == channel, Identity.address == address)).one()


async def test_a_transient_failure_backs_off_with_jitter_then_gives_up(app, clock):
    queue(app, clock, [("+6281234567001", "Pengumuman")])
    dispatcher = Dispatcher(app.sessions, {"whatsapp": failing(SendError(Outcome.TRANSIENT, "HTTP 503"))}, clock)

    await dispatcher.dispatch()
    [row] = rows(app)
    assert (row.status, row.attempts, row.error) == ("pending", 1, "HTTP 503")
    assert clock.now() + timedelta(seconds=2.5) <= row.not_before <= clock.now() + timedelta(seconds=5)
    for _ in range(MAX_ATTEMPTS - 1):
        clock.set(clock.now() + timedelta(hours=1))
        await dispatcher.dispatch()
    [row] = rows(app)
    assert (row.status, row.attempts, row.failure) == ("failed", MAX_ATTEMPTS, "gave_up")


async def test_a_permanent_failure_fails_at_once_with_its_reason(app, clock):
    queue(app, clock, [("+62812", "Pengumuman")])
    error = SendError(Outcome.PERMANENT, "message refused", code=21617, failure=Failure.REFUSED)
    await Dispatcher(app.sessions, {"whatsapp": failing(error)}, clock).dispatch()
    [row] = rows(app)
    assert (row.status, row.attempts, row.error_code, row.failure) == ("failed", 1, "21617", "refused")


async def test_a_resident_who_blocked_the_bot_is_marked_unreachable(kampung, app, clock):
    kampung.resident("telegram:5150").says("halo")
    error = SendError(Outcome.UNREACHABLE, "Forbidden: bot was blocked by the user", code=403, failure=Failure.BLOCKED)
    assert await Dispatcher(app.sessions, {"telegram": failing(error)}, clock).dispatch() == 0

    assert {(r.status, r.failure, r.error_code) for r in rows(app)} == {("failed", "blocked", "403")}
    blocked = identity(app, "telegram", "5150")
    assert (blocked.unreachable, blocked.unreachable_at) == ("blocked", clock.now())


async def test_a_carrier_stop_records_the_opt_out(kampung, app, clock):
    kampung.resident("sms:+6281234567001").says("halo")
    error = SendError(Outcome.OPTED_OUT, "unsubscribed recipient", code=21610)
    await Dispatcher(app.sessions, {"sms": failing(error)}, clock).dispatch()

    assert {(r.status, r.failure) for r in rows(app)} == {("failed", "unsubscribed")}
    with app.sessions() as session:
        assert session.scalars(select(Resident.opted_out)).one() is True


async def test_not_on_whatsapp_goes_by_sms_to_the_same_number(kampung, app, clock):
    kampung.resident("whatsapp:+6281234567001").says("halo")
    error = SendError(Outcome.NOT_ON_CHANNEL, "not a WhatsApp user", code=63003, failure=Failure.NOT_ON_WHATSAPP)
    sms = Recorder()

    assert await Dispatcher(app.sessions, {"whatsapp": failing(error), "sms": sms}, clock).dispatch() == 2

    assert [out.address for _, out in sms.sent] == ["+6281234567001"] * 2
    assert "Halo!" in sms.texts[0] and "setuju?" in sms.texts[1]
    assert {(r.channel, r.status, r.failure) for r in rows(app)} == {("sms", "sent", None)}
    assert identity(app, "whatsapp", "+6281234567001").unreachable == "not_on_whatsapp"


async def test_not_on_whatsapp_without_sms_fails(kampung, app, clock):
    kampung.resident("whatsapp:+6281234567001").says("halo")
    error = SendError(Outcome.NOT_ON_CHANNEL, "not a WhatsApp user", code=63003)
    await Dispatcher(app.sessions, {"whatsapp": failing(error)}, clock).dispatch()
    assert {(r.channel, r.status, r.failure) for r in rows(app)} == {("whatsapp", "failed", "not_on_whatsapp")}


async def test_a_failure_reported_later_by_a_receipt_is_acted_on_like_one_at_send_time(kampung, app, clock):
    """Twilio took the message (201) and reported 63003 by status callback afterwards."""
    kampung.resident("whatsapp:+6281234567001").says("halo")
    await Dispatcher(app.sessions, {"whatsapp": Recorder()}, clock).dispatch()
    first = rows(app)[0]
    assert first.status == "sent"

    with app.engine.begin() as conn:
        status = record_failure(conn, first.id, SendError(Outcome.NOT_ON_CHANNEL, "not a WhatsApp user", code=63003),
                                clock.now(), sms_available=True)
    assert status == "pending"
    sms = Recorder()
    assert await Dispatcher(app.sessions, {"whatsapp": Recorder(), "sms": sms}, clock).dispatch() == 1
    assert "Halo!" in sms.texts[0]
    with app.engine.begin() as conn:
        assert record_failure(conn, 999, SendError(Outcome.PERMANENT), clock.now(), sms_available=False) is None


def test_text_splits_at_paragraphs_then_lines_then_words():
    paragraph = "Kerja bakti Minggu pagi di balai RW."  # 36 characters
    assert split_text(f"{paragraph}\n\n{paragraph}", 50) == [paragraph, paragraph]
    assert split_text(f"{paragraph}\n{paragraph}", 50) == [paragraph, paragraph]
    assert split_text(paragraph, 20) == ["Kerja bakti Minggu", "pagi di balai RW."]
    assert split_text("x" * 45, 20) == ["x" * 20, "x" * 20, "x" * 5]
    assert all(len(part) <= 300 for part in split_text(" ".join(["kata"] * 400), 300))


def test_choices_come_with_the_last_part_and_a_photo_with_the_first():
    limits = Policy(Rate(1), max_length=60)
    long = " ".join(f"kalimat{n}" for n in range(20))  # 178 characters
    parts = split_message(OutgoingMessage("telegram", "5150", long, [Choice("y", "Ya")], flow="f", step="s"),
                          limits.max_length)
    assert " ".join(p.text for p in parts) == long
    assert [bool(p.choices) for p in parts] == [False] * (len(parts) - 1) + [True]

    def caption_limit(out):
        return 20 if out.media_url else 60

    parts = split_message(OutgoingMessage("telegram", "5150", long, [Choice("y", "Ya")], media_url="telegram-file:1"),
                          caption_limit)
    assert parts[0].media_url == "telegram-file:1" and len(parts[0].text) <= 20
    assert all(p.media_url is None and len(p.text) <= 60 for p in parts[1:])
    assert " ".join(p.text for p in parts) == long and parts[-1].choices


async def test_a_long_message_goes_in_parts_in_order_and_the_first_parts_id_is_stored(app, clock):
    long = "\n\n".join(f"Paragraf {n}: " + "isi " * 20 for n in range(4))
    queue(app, clock, [("5150", long)], channel="telegram")
    telegram = Recorder()
    policy = Policy(Rate(100), max_length=120)

    assert await Dispatcher(app.sessions, {"telegram": telegram}, clock, policies={"telegram": policy}).dispatch() == 1

    assert [t.split(":")[0] for t in telegram.texts] == [f"Paragraf {n}" for n in range(4)]
    assert all(len(t) <= 120 for t in telegram.texts)
    assert rows(app)[0].provider_id == "SM1"
