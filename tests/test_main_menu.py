"""The main menu, free text, global words, idle expiry and media, read as chats."""
from datetime import timedelta

import pytest

from bot.messages import Location, Media


@pytest.mark.parametrize("text, flow", [
    ("jalan depan rumah rusak parah", "report"),
    ("mau daftarkan usaha bakso", "business"),
    ("kapan rapat RW?", "events"),
    ("ada survei baru?", "survey"),
    ("2", "report"),
    ("lapor", "report"),
    ("jadwal acara", "events"),
])
def test_free_text_and_numbers_open_the_right_flow(sri, text, flow):
    assert sri.says(text).messages[-1]["flow"] == flow


def test_unclear_text_asks_with_choices(sri):
    sri.says("selamat pagi pak").hears("belum paham").at("help", "menu")


def test_ambiguous_text_asks_back_instead_of_guessing(sri):
    sri.says("rapat soal usaha").hears("Maksudnya yang mana?").offers(
        "Usaha saya / daftar usaha (UMKM)", "Jadwal acara & pengingat").at("help", "clarify")
    sri.says("1").at("business", "home")


def test_cancel_and_menu_work_everywhere(sri):
    sri.says("lapor").at("report", "category")
    sri.says("batal").hears("dibatalkan").at("help", "menu")
    sri.says("data saya").at("privacy", "show")
    sri.says("menu").at("help", "menu")
    sri.says("bantuan").hears("Cara pakai", "*batal*").at("help", "menu")


def test_idle_conversation_expires_and_resident_is_told(sri, clock):
    sri.says("ubah data").at("privacy", "edit")
    clock.set(clock.now() + timedelta(hours=25))
    sri.says("1").hears("data saya", "lama tidak dibalas").at("help", "menu")


def test_conversation_within_idle_timeout_continues(sri, clock):
    sri.says("ubah data").at("privacy", "edit")
    clock.set(clock.now() + timedelta(hours=23))
    sri.says("nama").at("privacy", "edit_name")


@pytest.mark.parametrize("content_type, word", [
    ("audio/ogg", "pesan suara"), ("sticker", "stiker"), ("video/mp4", "video"), ("application/pdf", "berkas"),
])
def test_unreadable_media_gets_a_friendly_reply(sri, content_type, word):
    sri.says(media=[Media("https://example.org/m", content_type)]).hears(word, "tulisan, foto, dan lokasi").at(
        "help", "menu")


def test_photo_where_text_is_needed(sri):
    sri.says("ubah data")
    sri.says("nama")
    sri.says(media=[Media("https://example.org/p.jpg", "image/jpeg")]).hears("perlu jawaban tulisan").at(
        "privacy", "edit_name")


def test_location_alone_at_the_menu_is_not_understood_politely(sri):
    sri.says(location=Location(-6.99, 110.35)).hears("belum paham").at("help", "menu")


def test_stop_and_mulai(sri, app):
    sri.says("STOP").hears("tidak akan menerima pengumuman", "MULAI").at("optout", "stopped")
    sri.says("data saya").hears("berhenti (STOP)")
    sri.says("MULAI").hears("akan kami kirim lagi").at("help", "menu")
    sri.says("data saya").hears("Pengumuman: aktif")


def test_stop_works_before_onboarding(kampung):
    new = kampung.resident("sms:+6281234567009")
    new.says("STOP").at("optout", "stopped")
    new.says("halo").at("onboarding", "consent")


@pytest.mark.parametrize("text", ["jalan berlubang", "jalan di gang 3 ambles", "lampu jalan mati"])
def test_road_words_are_reports_not_selling(sri, text):
    assert sri.says(text).messages[-1]["flow"] == "report"


def test_clarify_question_still_understands_free_text(sri):
    sri.says("rapat soal usaha").at("help", "clarify")
    assert sri.says("lampu jalan mati").messages[-1]["flow"] == "report"


def test_free_text_at_the_menu_carries_into_the_report(sri):
    replies = sri.says("lampu jalan mati di gang 3")
    assert replies.messages[-1]["flow"] == "report"
    assert replies.messages[-1]["step"] != "category"  # the category was read from the words
