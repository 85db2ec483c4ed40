"""WhatsApp's 24-hour window: a message the bot starts itself goes free-form inside it;
outside it as an approved template, else by SMS, else the generic template while the
message waits (held) until the resident writes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.delivery import Outcome, SendError
from bot.outbox import Dispatcher
from bot.whatsapp_window import NoWindow, WhatsAppWindow
from db.models import Identity, Kampung
from tests.test_dispatcher_sending import Recorder, queue, rows

SRI = "+6281234567001"


class Templates:
    """Stands in for bot.templates: approved ContentSids by (kind, language)."""

    def __init__(self, approved: dict[tuple[str, str], str]):
        self.approved = approved

    def approved_content(self, conn, kind: str, language: str) -> str | None:
        return self.approved.get((kind, language))

    def template_variables(self, kind: str, text: str, kampung_name: str) -> dict[str, str]:
        return {"1": kampung_name, "2": text.replace("\n", " ")}


def announce(app, clock, sri_id: int, text: str = "Kerja bakti Minggu pagi") -> int:
    [row_id] = queue(app, clock, [(SRI, text)], kind="announcement", resident_id=sri_id)
    return row_id


def dispatcher(app, clock, senders, approved=None) -> Dispatcher:
    return Dispatcher(app.sessions, senders, clock, window=WhatsAppWindow(Templates(approved or {})))


def sri_id(app) -> int:
    with app.sessions() as session:
        return session.scalars(select(Identity.resident_id).where(Identity.address == SRI)).one()


async def test_inside_the_window_an_announcement_goes_as_written(sri, app, clock):
    whatsapp = Recorder()
    await dispatcher(app, clock, {"whatsapp": whatsapp}).dispatch()  # the onboarding replies
    announce(app, clock, sri_id(app))
    clock.set(clock.now() + timedelta(hours=23))

    assert await dispatcher(app, clock, {"whatsapp": whatsapp}, {("announcement", "id"): "HX1"}).dispatch() == 1
    _, out = whatsapp.sent[-1]
    assert (out.text, out.content_sid) == ("Kerja bakti Minggu pagi", None)


async def test_outside_the_window_an_approved_template_goes(sri, app, clock):
    await dispatcher(app, clock, {"whatsapp": Recorder()}).dispatch()
    row_id = announce(app, clock, sri_id(app))
    clock.set(clock.now() + timedelta(hours=25))
    whatsapp = Recorder()

    assert await dispatcher(app, clock, {"whatsapp": whatsapp}, {("announcement", "id"): "HX1"}).dispatch() == 1

    [(_, out)] = whatsapp.sent
    with app.sessions() as session:
        kampung_name = session.scalars(select(Kampung.name)).one()
    assert (out.content_sid, out.content_variables) == ("HX1", {"1": kampung_name, "2": "Kerja bakti Minggu pagi"})
    assert out.outbox_id == row_id
    assert [r.status for r in rows(app) if r.id == row_id] == ["sent"]


async def test_outside_the_window_without_a_template_it_goes_by_sms(sri, app, clock):
    await dispatcher(app, clock, {"whatsapp": Recorder()}).dispatch()
    row_id = announce(app, clock, sri_id(app), "Pengumuman panjang\n\ndengan dua paragraf")
    clock.set(clock.now() + timedelta(days=3))
    whatsapp, sms = Recorder(), Recorder()

    assert await dispatcher(app, clock, {"whatsapp": whatsapp, "sms": sms}).dispatch() == 1

    assert whatsapp.sent == []
    assert [(out.channel, out.address, out.text) for _, out in sms.sent] == [
        ("sms", SRI, "Pengumuman panjang\n\ndengan dua paragraf")]
    assert [(r.channel, r.status) for r in rows(app) if r.id == row_id] == [("sms", "sent")]


async def test_otherwise_the_generic_template_goes_and_the_message_waits_for_the_residents_reply(
        sri, app, clock):
    await dispatcher(app, clock, {"whatsapp": Recorder()}).dispatch()
    first = announce(app, clock, sri_id(app), "Kerja bakti Minggu pagi")
    second = announce(app, clock, sri_id(app), "Posyandu Selasa")
    clock.set(clock.now() + timedelta(days=2))
    whatsapp = Recorder()
    senders = {"whatsapp": whatsapp}

    assert await dispatcher(app, clock, senders, {("generic", "id"): "HXgeneric"}).dispatch() == 0

    assert [out.content_sid for _, out in whatsapp.sent] == ["HXgeneric"]  # once, not per message
    held = [r for r in rows(app) if r.id in (first, second)]
    assert [(r.status, r.failure) for r in held] == [("held", "outside_window")] * 2
    assert held[0].provider_id == "SM1"

    sri.says("menu")  # opens the window; the held messages go first, in order, then the reply
    assert await dispatcher(app, clock, senders).dispatch() == 3
    assert whatsapp.texts[1:3] == ["Kerja bakti Minggu pagi", "Posyandu Selasa"]
    assert [out.content_sid for _, out in whatsapp.sent[1:]] == [None] * 3
    assert [r.status for r in rows(app)] == ["sent"] * len(rows(app))


async def test_a_free_form_message_whatsapp_refuses_as_outside_the_window_goes_again_as_a_template(
        sri, app, clock):
    """The bot thought the window open; WhatsApp says 63016."""
    await dispatcher(app, clock, {"whatsapp": Recorder()}).dispatch()
    row_id = announce(app, clock, sri_id(app))
    clock.set(clock.now() + timedelta(minutes=1))

    def outside_once(out):
        if out.content_sid is None:
            return SendError(Outcome.OUTSIDE_WINDOW, "outside the allowed window", code=63016)
        return None

    whatsapp = Recorder(fail=outside_once)
    assert await dispatcher(app, clock, {"whatsapp": whatsapp}, {("announcement", "id"): "HX1"}).dispatch() == 1

    assert [out.content_sid for _, out in whatsapp.sent] == ["HX1"]
    [row] = [r for r in rows(app) if r.id == row_id]
    assert (row.status, row.attempts, row.error_code) == ("sent", 2, None)


async def test_without_a_platform_there_is_no_window(sri, app, clock):
    """`kampung simulate` sends everything as written, however long ago the resident wrote."""
    await dispatcher(app, clock, {"whatsapp": Recorder()}).dispatch()
    announce(app, clock, sri_id(app))
    clock.set(clock.now() + timedelta(days=5))
    whatsapp, sms = Recorder(), Recorder()

    simulated = Dispatcher(app.sessions, {"whatsapp": whatsapp, "sms": sms}, clock, window=NoWindow())
    assert await simulated.dispatch() == 1
    assert [(out.text, out.content_sid) for _, out in whatsapp.sent] == [("Kerja bakti Minggu pagi", None)]


async def test_a_message_without_a_template_of_its_own_is_held_not_replaced_by_the_generic_one(sri, app, clock):
    await dispatcher(app, clock, {"whatsapp": Recorder()}).dispatch()
    [row_id] = queue(app, clock, [(SRI, "Ada surat untuk Ibu di pos RW")], kind="generic", resident_id=sri_id(app))
    clock.set(clock.now() + timedelta(days=2))
    whatsapp = Recorder()

    await dispatcher(app, clock, {"whatsapp": whatsapp}, {("generic", "id"): "HXgeneric"}).dispatch()

    assert [out.content_sid for _, out in whatsapp.sent] == ["HXgeneric"]
    assert [r.status for r in rows(app) if r.id == row_id] == ["held"]


class ShortTemplates(Templates):
    """Templates that can carry only short texts (the real ones stop at 1,024 characters)."""

    def fits_template(self, kind: str, text: str, kampung_name: str) -> bool:
        return len(text) <= 40


async def test_a_template_that_cannot_carry_the_whole_message_goes_and_the_message_waits_for_the_reply(
        sri, app, clock):
    await dispatcher(app, clock, {"whatsapp": Recorder()}).dispatch()
    long_text = "Kerja bakti Minggu pagi jam 07.00 di sepanjang selokan RT 04, bawa cangkul"
    row_id = announce(app, clock, sri_id(app), long_text)
    clock.set(clock.now() + timedelta(days=2))
    whatsapp = Recorder()
    window = WhatsAppWindow(ShortTemplates({("announcement", "id"): "HX1"}))

    assert await Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock, window=window).dispatch() == 0

    [(_, teaser)] = whatsapp.sent
    assert teaser.content_sid == "HX1"  # its own kind's template, not the generic one
    assert [r.status for r in rows(app) if r.id == row_id] == ["held"]

    sri.says("menu")  # the reply opens the window: the whole message, then the menu
    assert await Dispatcher(app.sessions, {"whatsapp": whatsapp}, clock, window=window).dispatch() == 2
    assert whatsapp.texts[1] == long_text and whatsapp.sent[1][1].content_sid is None
