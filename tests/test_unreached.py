"""An RT head asks who in their RT the bot cannot reach ("warga tak terjangkau"), to tell
them in person: residents with no address the bot can use, whose every address was
refused, or whose last announcement failed — by name, a phone masked, with the reason.
The koordinator picks any RT; residents are refused."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.roles_admin import grant_role
from db.models import Outbox, Resident
from tests.test_reach import imported, mark
from tests.transcript import Kampung

PAK_RT, KOOR = "+6281234567004", "+6281234567005"
BUDI, WATI = "+6281234567002", "+6281234567006"


@pytest.fixture
def warga(app, kampung):
    """RT 04: Siti Rahayu and Agus Salim from the list (no Twilio here, never wrote), Pak Budi
    (blocked the bot on WhatsApp), Mbah Darmi (Telegram; her last announcement failed),
    Bu Sri (fine). RT 05: Bu Wati (invalid number)."""
    imported(app)
    for sender, name, rt in ((f"whatsapp:{BUDI}", "Pak Budi", "4"), ("telegram:5150", "Mbah Darmi", "4"),
                             ("whatsapp:+6281234567001", "Bu Sri", "4"), (f"whatsapp:{WATI}", "Bu Wati", "5")):
        kampung.resident(sender).onboard(name=name, rt=rt)
    mark(app, BUDI, "blocked")
    mark(app, WATI, "invalid_number")
    with app.engine.begin() as conn:
        darmi = conn.scalar(select(Resident.id).where(Resident.name == "Mbah Darmi"))
        for failure in ("blocked", "chat_not_found"):  # her last two announcements; the later one counts
            conn.execute(Outbox.__table__.insert().values(
                resident_id=darmi, channel="telegram", address="5150", payload={"text": "📢"}, status="failed",
                failure=failure, attempts=1, created_at=app.clock.now(), not_before=app.clock.now(), priority=2))
    return kampung


def staff(app, kampung, phone: str, role: str, rt: str | None, name: str, home: str):
    person = kampung.resident(f"whatsapp:{phone}")
    person.onboard(name=name, rt=home)
    with app.sessions.begin() as session:
        grant_role(session, phone, role, rt)
    return person


def test_an_rt_head_hears_who_in_their_rt_cannot_be_reached(app, warga):
    joko = staff(app, warga, PAK_RT, "ketua_rt", "04", "Pak Joko", "4")
    joko.says("menu pengurus").offers("Warga tak terjangkau")
    joko.says("warga tak terjangkau").hears(
        "Warga RT 04 yang tidak bisa dihubungi bot (4):\n"
        "• Agus Salim (+62812****7102): belum pernah chat dengan bot, dan WhatsApp/SMS bot belum disiapkan\n"
        "• Mbah Darmi: akun Telegram tidak ditemukan\n"
        "• Pak Budi (+62812****7002): memblokir bot\n"
        "• Siti Rahayu (+62812****7101): belum pernah chat dengan bot, dan WhatsApp/SMS bot belum disiapkan\n"
        "\nMohon sampaikan langsung ke mereka",
    ).offers("Menu pengurus", "Menu utama").at("unreached", "list")
    assert "Bu Sri" not in joko.says("siapa yang belum terjangkau").text
    assert "Bu Wati" not in joko.says("siapa yang belum terjangkau").text  # RT 05
    joko.says("menu pengurus").at("staff", "menu")


def test_the_koordinator_picks_any_rt(app, warga):
    ani = staff(app, warga, KOOR, "koordinator", None, "Bu Ani", "5")
    ani.says("warga tak terjangkau").hears("Mau lihat warga tak terjangkau di RT berapa?").offers("RT 04", "RT 05")
    ani.says("rt 5").hears("Warga RT 05 yang tidak bisa dihubungi bot (1):\n"
                           "• Bu Wati (+62812****7006): nomor tidak valid").offers("Lihat RT lain")
    ani.says("rt lain").hears("Mau lihat warga tak terjangkau di RT berapa?")
    ani.says("RT 04").hears("Warga RT 04 yang tidak bisa dihubungi bot (4)")


def test_an_rt_everyone_can_be_reached(app, warga):
    with app.engine.begin() as conn:
        conn.execute(update(Resident).where(Resident.name == "Bu Wati").values(rt_id=None))
    ani = staff(app, warga, KOOR, "koordinator", None, "Bu Ani", "5")
    ani.says("warga tak terjangkau")
    ani.says("RT 05").hears("Semua warga RT 05 bisa dihubungi bot, dan pesan massal terakhir sampai ke mereka")


def test_a_resident_may_not_ask(app, warga):
    sri = Kampung(app).resident("whatsapp:+6281234567001")
    refused = sri.says("warga tak terjangkau").hears("khusus pengurus")
    assert "Pak Budi" not in refused.text
