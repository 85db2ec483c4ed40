"""Telegram has no phone number; a resident who shares theirs with the contact button is
joined to whoever already has it (registered on WhatsApp, or imported by the RT head),
so nobody registers twice and roles granted by phone reach them on Telegram too."""
from __future__ import annotations

import io
import itertools

from sqlalchemy import func, select

from bot.messages import IncomingMessage
from bot.residents_import import import_residents
from bot.roles_admin import grant_role
from db.models import Identity, Membership, Resident, RoleGrant
from tests.transcript import Replies

PHONE = "+6281234567001"
UPDATES = itertools.count(1)


def shares(app, chat: str, phone: str) -> Replies:
    msg = IncomingMessage("telegram", chat, contact_phone=phone, external_id=f"telegram:{next(UPDATES)}")
    return Replies([out.to_dict() for out in app.core.receive(msg)])


def residents(app) -> list[tuple]:
    with app.sessions() as session:
        return session.execute(select(Resident.name, Resident.phone).order_by(Resident.id)).all()


def accounts(app, name: str) -> set[tuple[str, str]]:
    with app.sessions() as session:
        return set(session.execute(select(Identity.channel, Identity.address).join(Resident)
                                   .where(Resident.name == name)).all())


def test_the_consent_question_on_telegram_offers_the_contact_button(kampung):
    siti = kampung.resident("telegram:555")
    siti.says("halo").offers("📱 Bagikan nomor HP saya").at("onboarding", "consent")
    siti.says("bagikan nomor hp").hears("Tekan tombol *📱 Bagikan nomor HP saya*").at("onboarding", "consent")
    whatsapp = kampung.resident("whatsapp:+6281234567002")
    assert "📱 Bagikan nomor HP saya" not in whatsapp.says("halo").choices  # WhatsApp knows the number


def test_a_whatsapp_resident_is_recognised_on_telegram_and_keeps_her_roles(kampung, app):
    sri = kampung.resident(f"whatsapp:{PHONE}")
    sri.onboard(name="Bu Sri", rt="4")
    with app.sessions.begin() as session:
        grant_role(session, PHONE, "ketua_rt", "04")
    kampung.resident("telegram:555").says("halo").at("onboarding", "consent")
    shares(app, "555", PHONE).hears("tersambung dengan data Anda", PHONE, "Bu Sri").at("help", "menu")
    assert residents(app) == [("Bu Sri", PHONE)]
    assert accounts(app, "Bu Sri") == {("whatsapp", PHONE), ("telegram", "555")}
    kampung.resident("telegram:555").says("menu pengurus").at("staff", "menu")  # the role came along
    shares(app, "555", PHONE).hears("memang sudah tersambung").at("staff", "menu")


def test_an_imported_resident_onboarded_on_telegram_takes_over_the_import(kampung, app):
    """Pak RT imported Pak Budi with his RT and paguyuban; Budi first chats on Telegram,
    agrees there, then shares his number: one resident, with the imported details."""
    with app.sessions.begin() as session:
        import_residents(session, io.StringIO("phone,name,rt,rw,paguyuban\n081234567001,Budi Santoso,07,05,PKK RW 05\n"),
                         consent_collected=False, now=app.clock.now())
        grant_role(session, PHONE, "ketua_rt", "07")
    budi = kampung.resident("telegram:777")
    budi.says("halo")
    budi.says("setuju").at("onboarding", "name")
    shares(app, "777", PHONE).hears("tersambung").at("onboarding", "name")
    assert residents(app) == [("Budi Santoso", PHONE)]
    with app.sessions() as session:
        budi_id = session.scalar(select(Resident.id))
        assert session.scalar(select(func.count()).select_from(Membership).where(Membership.resident_id == budi_id)) == 1
        assert session.scalar(select(RoleGrant.role).where(RoleGrant.resident_id == budi_id)) == "ketua_rt"


def test_a_new_number_is_kept_and_a_number_two_people_registered_is_left_to_the_rt_head(kampung, app):
    siti = kampung.resident("telegram:555")
    siti.onboard(name="Siti")
    shares(app, "555", "+6281234567009").hears("sudah dicatat").at("help", "menu")
    assert ("Siti", "+6281234567009") in residents(app)
    kampung.resident(f"whatsapp:{PHONE}").onboard(name="Bu Sri")
    shares(app, "555", PHONE).hears("sudah dipakai akun lain", "pengurus RT").at("help", "menu")
    assert accounts(app, "Siti") == {("telegram", "555")}
    assert accounts(app, "Bu Sri") == {("whatsapp", PHONE)}


def test_sharing_mid_flow_asks_the_same_question_again(kampung, app):
    siti = kampung.resident("telegram:555")
    siti.onboard(name="Siti")
    siti.says("lapor").at("report", "category")
    shares(app, "555", "+6281234567009").hears("sudah dicatat").at("report", "category")


def test_a_telegram_resident_can_share_their_number_later_from_data_saya(kampung, app):
    siti = kampung.resident("telegram:555")
    siti.onboard(name="Siti")
    siti.says("data saya").offers("📱 Bagikan nomor HP saya").at("privacy", "show")
    siti.says("bagikan nomor").hears("Tekan tombol").at("privacy", "show")
    shares(app, "555", "+6281234567009").hears("sudah dicatat", "+6281234567009").at("privacy", "show")
    assert "📱 Bagikan nomor HP saya" not in siti.says("data saya").choices
