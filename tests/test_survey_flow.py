"""Answering a survey, read as chats: one question at a time, typos and Javanese,
stop and resume, change until closing, and the polite refusal after."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.residents import load_kampung
from bot.surveys import add_survey, parse_survey
from db.surveys import SurveyResponse
from tests.transcript import Kampung

QUESTIONS = [
    {"type": "yesno", "text": "Apakah selokan depan rumah pernah mampet?"},
    {"type": "single", "text": "Kapan kerja bakti paling cocok?", "options": ["Minggu pagi", "Sabtu sore"]},
    {"type": "multi", "text": "Apa yang bisa Anda sumbangkan?", "options": ["Tenaga", "Alat", "Makanan"]},
    {"type": "scale", "text": "Seberapa bersih RT Anda?", "low": "sangat kotor", "high": "sangat bersih"},
    {"type": "number", "text": "Berapa orang yang bisa ikut?", "min": 0, "max": 20},
    {"type": "number", "text": "Iuran sebulan yang pantas (rupiah)?"},
    {"type": "text", "text": "Ada usul?"},
]


def add(app, clock, title="Kerja bakti RW 05", audience="all", closes="2026-12-05 20:00", questions=QUESTIONS) -> int:
    data = {"title": title, "audience": audience, "closes": closes, "questions": questions}
    with app.engine.begin() as conn:
        spec = parse_survey(data, load_kampung(conn), clock.now(), app.settings.timezone)
        return add_survey(conn, spec, clock.now())


def stored(app) -> list[tuple[dict, bool]]:
    """Every stored response: (answers, completed)."""
    with app.engine.connect() as conn:
        rows = conn.execute(select(SurveyResponse.answers, SurveyResponse.completed_at)).all()
    return [(answers, done is not None) for answers, done in rows]


def answer_all(resident) -> None:
    for text in ("ya", "2", "1, 3", "4", "3", "20000"):
        resident.says(text)
    return resident.says("Selokan gang 3 perlu dikeruk")


def test_one_open_survey_starts_directly_and_saves_every_answer(sri, app, clock):
    add(app, clock)
    sri.says("survei").hears("Kerja bakti RW 05", "7 pertanyaan", "Sabtu, 5 Desember 2026 pukul 20.00 WIB",
                             "Pertanyaan 1 dari 7", "pernah mampet?", "*ya* atau *tidak*").offers("Ya", "Tidak").at(
        "survey", "start")
    sri.says("iya").hears("Pertanyaan 2 dari 7").offers("Minggu pagi", "Sabtu sore").at("survey", "q2")
    sri.says("sabtu sore").hears("lebih dari satu").offers("Tenaga", "Makanan").at("survey", "q3")
    sri.says("tenaga dan makanan").hears("*1* sampai *5*").offers("1 (sangat kotor)", "3", "5 (sangat bersih)").at(
        "survey", "q4")
    sri.says("tiga").hears("Berapa orang").at("survey", "q5")
    sri.says("dua belas").hears("Iuran").at("survey", "q6")
    sri.says("Rp 50.000").hears("Ada usul?").at("survey", "q7")
    assert stored(app) == [({"q1": True, "q2": "opt2", "q3": ["opt1", "opt3"], "q4": 3, "q5": 12, "q6": 50000}, False)]
    sri.says("Selokan gang 3 perlu dikeruk").hears(
        "Terima kasih", "Kerja bakti RW 05", "warga pertama", "ketik *survei* sebelum Sabtu, 5 Desember 2026").at(
        "help", "menu")
    assert stored(app)[0] == ({"q1": True, "q2": "opt2", "q3": ["opt1", "opt3"], "q4": 3, "q5": 12, "q6": 50000,
                               "q7": "Selokan gang 3 perlu dikeruk"}, True)


def test_thanks_says_how_many_neighbours_answered(kampung, app, clock):
    add(app, clock)
    for n, phone in enumerate(("+6281234567001", "+6281234567002", "+6281234567003"), 1):
        warga = kampung.resident(f"whatsapp:{phone}")
        warga.onboard(name=f"Warga {n}")
        warga.says("survei")
        thanks = answer_all(warga)
        if n > 1:
            thanks.hears(f"sudah {n} warga yang mengisi")


def test_menu_and_free_text_reach_the_survey(sri, app, clock):
    add(app, clock)
    sri.says("3").at("survey", "start")
    sri.says("menu")
    sri.says("ada survei baru?").hears("Pertanyaan 1 dari 7").at("survey", "start")


def test_wrong_and_fuzzy_answers_are_asked_again_and_lose_nothing(sri, app, clock):
    add(app, clock)
    sri.says("survei")
    sri.says("mungkin").hears("belum kami pahami", "Pertanyaan 1 dari 7").at("survey", "start")
    sri.says("gak pernah").at("survey", "q2")
    sri.says("minggu pgi").at("survey", "q3")
    sri.says("1 dan 9").hears("belum kami pahami").at("survey", "q3")
    sri.says("alat").at("survey", "q4")
    sri.says("7").hears("belum kami pahami", "*1* sampai *5*").at("survey", "q4")
    sri.says("telu").at("survey", "q5")
    sri.says("banyak").hears("perlu satu angka").at("survey", "q5")
    sri.says("2 atau 3").hears("perlu satu angka").at("survey", "q5")
    sri.says("25").hears("paling besar 20").at("survey", "q5")
    sri.says("4 orang").at("survey", "q6")
    sri.says("50rb").at("survey", "q7")
    assert stored(app) == [({"q1": False, "q2": "opt1", "q3": ["opt2"], "q4": 3, "q5": 4, "q6": 50000}, False)]


def test_a_photo_or_location_at_a_text_question_is_asked_again(sri, app, clock):
    from bot.messages import Location, Media

    add(app, clock, questions=[{"type": "text", "text": "Ada usul?"}])
    sri.says("survei")
    sri.says(media=[Media("https://example.org/p.jpg", "image/jpeg")]).hears("perlu jawaban tulisan").at(
        "survey", "start")
    sri.says(location=Location(-6.99, 110.35)).hears("tulis jawabannya").at("survey", "start")
    sri.says("Tambah tempat sampah").hears("Terima kasih").at("help", "menu")


def test_back_shows_the_previous_question_with_the_answer_given(sri, app, clock):
    add(app, clock)
    sri.says("survei")
    sri.says("ya")
    sri.says("1")
    sri.says("kembali").hears("Pertanyaan 2 dari 7", "Jawaban Anda sekarang: Minggu pagi").at("survey", "q2")
    sri.says("kembali").hears("Pertanyaan 1 dari 7", "Jawaban Anda sekarang: Ya").at("survey", "start")
    sri.says("tidak").hears("Pertanyaan 3 dari 7").at("survey", "q3")  # on where they had got to
    assert stored(app) == [({"q1": False, "q2": "opt1"}, False)]


def test_batal_midway_keeps_answers_and_survei_resumes_at_the_first_unanswered(sri, app, clock):
    add(app, clock)
    sri.says("survei")
    sri.says("ya")
    sri.says("2")
    sri.says("batal").at("help", "menu")
    clock.set(clock.now() + timedelta(hours=30))
    sri.says("survei").hears("Lanjut survei", "tinggal 5 dari 7", "Pertanyaan 3 dari 7").at("survey", "start")
    sri.says("tenaga").hears("Pertanyaan 4 dari 7").at("survey", "q4")
    assert stored(app) == [({"q1": True, "q2": "opt2", "q3": ["opt1"]}, False)]


def test_a_pause_of_hours_continues_at_the_same_question(sri, app, clock):
    add(app, clock)
    sri.says("survei")
    sri.says("ya")
    clock.set(clock.now() + timedelta(hours=6))
    sri.says("2").hears("Pertanyaan 3 dari 7").at("survey", "q3")


def test_resume_after_a_restart(settings, clock):
    first = build_app(settings, clock=clock)
    add(first, clock)
    sri = Kampung(first).resident()
    sri.onboard()
    sri.says("survei")
    sri.says("ya")
    sri.says("2").at("survey", "q3")
    first.engine.dispose()

    second = build_app(settings, clock=clock)
    sri = Kampung(second).resident()
    sri.says("kembali").hears("Pertanyaan 2 dari 7", "Sabtu sore").at("survey", "q2")
    sri.says("1").at("survey", "q3")
    for text in ("1", "4", "3", "20000"):
        sri.says(text)
    sri.says("Tidak ada").hears("warga pertama").at("help", "menu")
    second.engine.dispose()


def test_answers_can_be_changed_until_the_survey_closes(sri, app, clock):
    add(app, clock)
    sri.says("survei")
    answer_all(sri)
    sri.says("survei").hears("sudah mengisi survei", "sampai Sabtu, 5 Desember 2026").offers(
        "Ubah jawaban", "Menu utama").at("survey", "start")
    sri.says("ubah").hears("mana yang mau diubah").offers("Berapa orang yang bisa ikut?").at("survey", "change")
    sri.says("5").hears("Pertanyaan 5 dari 7", "Jawaban Anda sekarang: 3").at("survey", "q5")
    sri.says("6").hears("sudah diganti").at("survey", "review")
    sri.says("menu").at("help", "menu")
    assert stored(app)[0][0]["q5"] == 6 and stored(app)[0][1]


def test_after_closing_a_polite_refusal(sri, app, clock):
    add(app, clock, closes="2026-11-22 12:00")
    sri.says("survei")
    answer_all(sri)
    sri.says("survei")
    sri.says("ubah")
    clock.set(clock.now() + timedelta(hours=3))
    sri.says("1").hears("sudah ditutup pada Minggu, 22 November 2026 pukul 12.00 WIB", "tetap tersimpan").at(
        "help", "menu")
    sri.says("survei").hears("sudah ditutup", "tidak bisa diubah lagi").offers("Menu utama").at("survey", "start")
    sri.says("1").at("help", "menu")
    assert stored(app)[0][0]["q1"] is True


def test_an_answer_after_closing_midway_is_refused(sri, app, clock):
    add(app, clock, closes="2026-11-22 12:00")
    sri.says("survei")
    sri.says("ya")
    clock.set(clock.now() + timedelta(hours=3))
    sri.says("1").hears("sudah ditutup").at("help", "menu")
    sri.says("survei").hears("belum ada survei")
    assert stored(app) == [({"q1": True}, False)]


def test_no_open_survey_is_said_kindly(sri, app, clock):
    sri.says("survei").hears("belum ada survei").offers("Menu utama").at("survey", "start")
    sri.says("jalan depan rumah rusak").at("report", "category")


def test_several_surveys_for_my_rt_and_paguyuban_are_listed(kampung, app, clock):
    add(app, clock, title="Survei RT 04", audience="rt:4", closes="2026-12-01 20:00")
    add(app, clock, title="Survei PKK", audience="paguyuban:pkk rw 05")
    add(app, clock, title="Survei RT 05", audience="rt:05")
    add(app, clock, title="Survei Karang Taruna", audience="paguyuban:Karang Taruna")
    sri = kampung.resident()
    for text in ("halo", "setuju", "Bu Sri", "4", "pkk", "1"):
        sri.says(text)
    listing = sri.says("survei").hears("Ada 2 survei").offers("Survei RT 04", "Survei PKK").at("survey", "start")
    assert "Survei RT 05" not in listing.choices and "Survei Karang Taruna" not in listing.choices
    sri.says("pkk").hears("Survei: *Survei PKK*", "Pertanyaan 1 dari 7").at("survey", "q1")
    answer_all(sri)
    sri.says("survei").offers("Survei PKK (sudah diisi ✅)", "Survei RT 04")
    sri.says("kembali").hears("Ini sudah pertanyaan pertama")
    sri.says("2").hears("sudah mengisi survei *Survei PKK*").at("survey", "review")
    sri.says("kembali").hears("Ada 2 survei").at("survey", "start")


def test_telegram_buttons_answer_by_choice_id(kampung, app, clock):
    add(app, clock)
    tg = kampung.resident("telegram:777001")
    tg.onboard()
    tg.says("survei")
    tg.presses("sv_no").at("survey", "q2")
    tg.presses("opt1").at("survey", "q3")
    tg.presses("scale4").hears("Tombol itu sudah tidak berlaku").at("survey", "q3")
    assert stored(app) == [({"q1": False, "q2": "opt1"}, False)]


def test_english_texts(kampung, app, clock):
    add(app, clock)
    tom = kampung.resident("whatsapp:+6281234567009")
    tom.onboard(name="Tom", language="2")
    tom.says("survey").hears("Question 1 of 7", "Reply *yes* or *no*", "open until Saturday, 5 December 2026").offers(
        "Yes", "No").at("survey", "start")
    tom.says("nope").at("survey", "q2")
    tom.says("1")
    tom.says("1")
    tom.says("2")
    tom.says("lots").hears("needs to be one number").at("survey", "q5")
    tom.says("kembali").hears("Your answer now: 2")
    tom.says("4")
    tom.says("3")
    tom.says("Rp 10.000")
    tom.says("More bins").hears("Thank you", "first neighbour").at("help", "menu")
    tom.says("survey").hears("You have answered").offers("Change my answers")


def test_javanese_texts_and_answers(kampung, app, clock):
    add(app, clock)
    darmi = kampung.resident("telegram:777002")
    darmi.onboard(name="Mbah Darmi", language="3")
    darmi.says("ngisi survei").hears("Pitakonan 1 saka 7", "Bales *iya* utawa *ora*", "dibukak nganti").offers(
        "Iya", "Ora").at("survey", "start")
    darmi.says("nggih").at("survey", "q2")
    darmi.says("loro")
    darmi.says("siji")
    darmi.says("papat").at("survey", "q5")
    darmi.says("akeh").hears("kudu siji angka").at("survey", "q5")
    darmi.says("telu")
    darmi.says("sepuluh ewu").at("survey", "q7")
    darmi.says("Uwuh ing kali").hears("Matur nuwun", "warga kapisan").at("help", "menu")
    answers = stored(app)[0][0]
    assert (answers["q1"], answers["q2"], answers["q5"], answers["q6"]) == (True, "opt2", 3, 10000)


def test_erasing_a_resident_erases_their_responses(sri, app, clock):
    add(app, clock)
    sri.says("survei")
    sri.says("ya")
    assert len(stored(app)) == 1
    sri.says("hapus data saya")
    sri.says("ya")
    assert stored(app) == []


@pytest.mark.parametrize("lang", ["id", "en", "jv"])
def test_yes_and_no_share_no_word(app, lang):
    from flows.survey import NO, YES
    from handlers.understanding import normalize

    yes, no = ({normalize(w) for w in app.catalog.synonyms(lang, cid)} for cid in (YES, NO))
    assert not yes & no
