"""A newcomer's first conversation, read as a chat."""
from sqlalchemy import select

from db.models import Resident


def test_newcomer_gets_from_hello_to_the_main_menu(kampung, app):
    sri = kampung.resident("whatsapp:+6281234567001", profile_name="Sri Wahyuni")
    sri.says("halo").hears("Kampung Home Industri", "UU PDP", "Apakah Anda setuju?").offers("Setuju", "Tidak setuju").at(
        "onboarding", "consent")
    sri.says("stju").hears("Siapa nama Anda?").offers("Pakai nama Sri Wahyuni").at("onboarding", "name")
    sri.says("Bu Sri").hears("RT berapa").offers("RT 01", "RT 10").at("onboarding", "rt")
    sri.says("rt 4").hears("paguyuban").offers("UMKM RW 05", "Tidak ikut / lewati").at("onboarding", "paguyuban")
    sri.says("pkk dan umkm").hears("bahasa").offers("Bahasa Indonesia", "English", "Basa Jawa").at(
        "onboarding", "language")
    sri.says("1").hears("Selesai, Bu Sri!", "Menu utama").offers("Data saya").at("help", "menu")

    with app.sessions() as session:
        stored = session.scalars(select(Resident)).one()
        assert stored.name == "Bu Sri"
        assert stored.rt.number == "04"
        assert sorted(m.paguyuban.name for m in stored.memberships) == ["PKK RW 05", "UMKM RW 05"]
        assert stored.consent_at is not None and stored.consent_source == "chat"
        assert stored.language == "id"


def test_profile_name_can_be_taken_with_one_tap(kampung):
    budi = kampung.resident("whatsapp:+6281234567002", profile_name="Budi Santoso")
    budi.says("halo")
    budi.says("ya")
    budi.says("1").hears("RT berapa")


def test_declining_consent_stores_nothing_and_can_be_changed(kampung, app):
    ani = kampung.resident("whatsapp:+6281234567003")
    ani.says("halo")
    ani.says("tdk setuju").hears("tidak apa-apa", "setuju").at("onboarding", "declined")
    ani.says("apa ini?").at("onboarding", "declined")
    with app.sessions() as session:
        assert session.scalars(select(Resident)).one().consent_at is None
    ani.says("setuju deh").hears("Siapa nama Anda?").at("onboarding", "name")


def test_wrong_answers_are_asked_again_kindly(kampung):
    joko = kampung.resident("whatsapp:+6281234567004")
    joko.says("halo")
    joko.says("xyz qwerty").hears("belum kami pahami").offers("Setuju").at("onboarding", "consent")
    joko.says("setuju")
    joko.says("!!").hears("belum bisa kami pakai").at("onboarding", "name")
    joko.says("Pak Joko")
    joko.says("RT 99").hears("belum kami pahami").at("onboarding", "rt")
    joko.says("sebelas").at("onboarding", "rt")
    joko.says("07").at("onboarding", "paguyuban")


def test_javanese_answers_and_language(kampung):
    darmi = kampung.resident("telegram:777001")
    darmi.says("/start").at("onboarding", "consent")
    darmi.says("nggih").at("onboarding", "name")
    darmi.says("Mbah Darmi")
    darmi.says("papat").at("onboarding", "paguyuban")
    darmi.says("ora melu").at("onboarding", "language")
    darmi.says("boso jowo").at("help", "menu")


def test_telegram_buttons_answer_by_choice_id(kampung):
    tg = kampung.resident("telegram:777002")
    tg.says("/start").offers("Setuju")
    tg.presses("agree").at("onboarding", "name")
    tg.presses("agree").hears("Tombol itu sudah tidak berlaku").at("onboarding", "name")


def test_back_returns_to_previous_question_and_cancel_restarts_nothing(kampung):
    sri = kampung.resident()
    sri.says("halo")
    sri.says("setuju")
    sri.says("Bu Sri")
    sri.says("kembali").hears("Siapa nama Anda?").at("onboarding", "name")
    sri.says("Bu Sri Rahayu").at("onboarding", "rt")
    sri.says("menu").hears("Jawab dulu", "RT berapa").at("onboarding", "rt")


def test_paper_consent_residents_skip_onboarding(kampung, app):
    from datetime import datetime, timezone

    with app.sessions.begin() as session:
        session.add(Resident(phone="+6281234567005", name="Pak Harto", language="id", opted_out=False,
                             consent_at=datetime.now(timezone.utc), consent_source="paper",
                             created_at=datetime.now(timezone.utc)))
    kampung.resident("sms:+6281234567005").says("halo").hears("Menu utama", "Pak Harto").at("help", "menu")


def test_resident_who_does_not_know_their_rt_is_not_stuck(kampung, app):
    wati = kampung.resident("whatsapp:+6281234567006")
    wati.says("halo")
    wati.says("setuju")
    wati.says("Bu Wati")
    wati.says("gak tahu RT nya").hears("Ketua RT bisa melengkapinya nanti", "paguyuban").at("onboarding", "paguyuban")
    wati.says("lewati")
    wati.says("1").at("help", "menu")
    with app.sessions() as session:
        assert session.scalars(select(Resident)).one().rt is None
