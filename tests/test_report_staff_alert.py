"""A new report reaches the head of its RT at once (the koordinator when the RT has no
head on the bot), in their language, with the way to handle it."""
from __future__ import annotations

from sqlalchemy import select

from bot.roles_admin import grant_role
from db.models import Outbox

PAK_RT, KOOR, BUDI = "+6281234567004", "+6281234567005", "+6281234567003"


def grant(app, phone: str, role: str, rt: str | None = None) -> None:
    with app.sessions.begin() as session:
        grant_role(session, phone, role, rt)


def news(app, address: str) -> list[str]:
    with app.sessions() as session:
        return [row.payload["text"] for row in session.scalars(
            select(Outbox).where(Outbox.address == address).order_by(Outbox.id))]


def report(resident, text: str) -> None:
    resident.says("lapor")
    resident.says("selokan")
    resident.says(text)
    resident.says("lewati")
    resident.says("lewati")
    resident.says("kirim").hears("LPR-")


def test_the_rt_head_hears_of_a_report_in_their_rt_and_the_koordinator_does_not(kampung, app, sri):
    joko = kampung.resident(f"whatsapp:{PAK_RT}")
    joko.onboard(name="Pak Joko", rt="4", language="2")  # reads English
    grant(app, PAK_RT, "ketua_rt", "04")
    kampung.resident(f"whatsapp:{KOOR}").onboard(name="Bu Ani", rt="5")
    grant(app, KOOR, "koordinator")
    before = len(news(app, PAK_RT))
    report(sri, "selokan mampet depan rumah no 12, air meluber ke jalan")
    [alert] = news(app, PAK_RT)[before:]
    assert "New report *LPR-0001* in RT 04" in alert and "selokan mampet depan rumah" in alert
    assert "staff menu" in alert
    assert not any("LPR-0001" in text for text in news(app, KOOR))
    joko.says("staff menu")
    joko.says("handle reports").hears("LPR-0001")  # and it is there in triage


def test_without_an_rt_head_the_koordinator_hears_of_it_but_not_of_their_own(kampung, app, sri):
    koor = kampung.resident(f"whatsapp:{KOOR}")
    koor.onboard(name="Bu Ani", rt="5")
    grant(app, KOOR, "koordinator")
    before = len(news(app, KOOR))
    report(sri, "got buntu")
    assert any("Laporan baru *LPR-0001* di RT 04" in text for text in news(app, KOOR)[before:])
    before = len(news(app, KOOR))
    report(koor, "got di RT 05 juga buntu")
    assert not any("Laporan baru" in text for text in news(app, KOOR)[before:])
