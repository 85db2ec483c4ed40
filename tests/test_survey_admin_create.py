"""Creating a survey in chat (flow `survey_admin`, steps new_*): every question type,
then a resident answers it through the ordinary survey flow; bad input gets a
friendly reply; ubah, buang, batal, a restart mid-way, and a run in English.

The fixtures here (residents, staff, `create_survey`) are shared by the other
tests/test_survey_admin_*.py files."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.roles_admin import grant_role
from db.surveys import Survey, SurveyResponse
from tests.transcript import Kampung

SRI, BUDI, JOKO, ANI, WATI = ("+6281234567001", "+6281234567003", "+6281234567004", "+6281234567005",
                              "+6281234567006")
# Sabtu, 28 November 2026 pukul 20.00 WIB
SATURDAY_8PM = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)

# The chat that makes a survey with every question type, and what gets stored.
EVERY_TYPE = [
    ("ya / tidak", "Apakah selokan depan rumah pernah mampet?", None),
    ("pilih satu", "Kapan kerja bakti paling cocok?", "Minggu pagi, Sabtu sore"),
    ("beberapa jawaban", "Apa yang bisa Anda sumbangkan?", "1. Tenaga 2. Alat (cangkul, sapu) 3. Makanan"),
    ("nilai", "Seberapa bersih RT Anda?", "sangat kotor, sangat bersih"),
    ("angka", "Berapa orang yang bisa ikut?", "0 sampai 20"),
    ("angka", "Iuran sebulan yang pantas (rupiah)?", "lewati"),
    ("isian bebas", "Ada usul?", None),
]
STORED = [
    {"id": "q1", "type": "yesno", "text": "Apakah selokan depan rumah pernah mampet?"},
    {"id": "q2", "type": "single", "text": "Kapan kerja bakti paling cocok?",
     "options": [["opt1", "Minggu pagi"], ["opt2", "Sabtu sore"]]},
    {"id": "q3", "type": "multi", "text": "Apa yang bisa Anda sumbangkan?",
     "options": [["opt1", "Tenaga"], ["opt2", "Alat (cangkul, sapu)"], ["opt3", "Makanan"]]},
    {"id": "q4", "type": "scale", "text": "Seberapa bersih RT Anda?", "low": "sangat kotor", "high": "sangat bersih"},
    {"id": "q5", "type": "number", "text": "Berapa orang yang bisa ikut?", "min": 0, "max": 20},
    {"id": "q6", "type": "number", "text": "Iuran sebulan yang pantas (rupiah)?"},
    {"id": "q7", "type": "text", "text": "Ada usul?"},
]


def onboard(kampung, phone: str, name: str, rt: str, language: str = "1"):
    resident = kampung.resident(f"whatsapp:{phone}")
    resident.onboard(name=name, rt=rt, language=language)
    return resident


@pytest.fixture
def warga(kampung, sri):
    """Bu Sri and Bu Wati (who said STOP) in RT 04, Pak Budi in RT 05."""
    budi = onboard(kampung, BUDI, "Pak Budi", "5")
    wati = onboard(kampung, WATI, "Bu Wati", "4")
    wati.says("stop")
    wati.says("menu").at("help", "menu")
    return {"sri": sri, "budi": budi, "wati": wati}


@pytest.fixture
def koordinator(kampung, app):
    """Bu Ani, koordinator, living in RT 05."""
    ani = onboard(kampung, ANI, "Bu Ani", "5")
    with app.sessions.begin() as session:
        grant_role(session, ANI, "koordinator", None)
    return ani


@pytest.fixture
def pak_rt(kampung, app):
    """Pak Joko, ketua RT 04."""
    joko = onboard(kampung, JOKO, "Pak Joko", "4")
    with app.sessions.begin() as session:
        grant_role(session, JOKO, "ketua_rt", "04")
    return joko


def create_survey(staff, title: str = "Kerja bakti Desember", audience: str = "semua warga",
                  questions=EVERY_TYPE, closes: tuple[str, ...] = ("sabtu jam 8 malam",), publish: bool = True):
    staff.says("kelola survei")
    staff.says("buat survei baru")
    staff.says(title)
    staff.says("lewati")
    for kind, text, extra in questions:
        staff.says(kind)
        staff.says(text)
        if extra:
            staff.says(extra)
    staff.says("selesai")
    staff.says(audience)
    for line in closes:
        replies = staff.says(line)
    return staff.says("terbitkan") if publish else replies


def stored_surveys(app) -> list:
    with app.engine.connect() as conn:
        return conn.execute(select(Survey.id, Survey.title, Survey.description, Survey.audience, Survey.closes_at,
                                   Survey.questions, Survey.created_by)).all()


def test_a_survey_with_every_question_type_made_in_chat_is_answered_by_a_resident(warga, koordinator, app):
    ani = koordinator
    ani.says("kelola survei").hears("Belum ada survei").offers("Buat survei baru").at("survey_admin", "list")
    ani.says("buat survei baru").hears("Apa judulnya?").at("survey_admin", "new_title")
    ani.says("Kerja bakti Desember").hears("Judul: *Kerja bakti Desember*").offers("Lewati").at(
        "survey_admin", "new_description")
    ani.says("Untuk rembuk warga bulan depan").hears("pertanyaan pertama").offers(
        "Ya / tidak", "Pilih satu jawaban", "Boleh pilih beberapa jawaban", "Nilai 1 sampai 5",
        "Angka (jumlah, rupiah)", "Isian bebas").at("survey_admin", "new_qtype")
    for n, (kind, text, extra) in enumerate(EVERY_TYPE, 1):
        ani.says(kind).hears(f"Pertanyaan ke-{n}").at("survey_admin", "new_qtext")
        replies = ani.says(text)
        if extra:
            replies.at("survey_admin", {"pilih satu": "new_qoptions", "beberapa jawaban": "new_qoptions",
                                        "nilai": "new_qscale", "angka": "new_qnumber"}[kind])
            replies = ani.says(extra)
        replies.hears(f"Pertanyaan {n} tersimpan").offers("Selesai, tidak ada pertanyaan lagi").at(
            "survey_admin", "new_qtype")
    ani.says("selesai").hears("untuk siapa?").offers("Semua warga", "Warga RT 04", "UMKM RW 05").at(
        "survey_admin", "new_audience")
    ani.says("semua warga").hears("Kapan survei ditutup?").at("survey_admin", "new_closes")
    ani.says("sabtu").hears("Tanggal 28/11/2026, jam berapa").at("survey_admin", "new_closes_time")
    ani.says("jam 8 malam").hears(
        "Pertanyaannya:", "3. Apa yang bisa Anda sumbangkan? (Boleh pilih beberapa jawaban)",
        "Pilihan: Tenaga / Alat (cangkul, sapu) / Makanan", "1 = sangat kotor, 5 = sangat bersih",
        "Batas: 0 sampai 20", "Periksa dulu", "*Kerja bakti Desember*", "Untuk rembuk warga bulan depan",
        "7 pertanyaan", "Untuk: semua warga", "Undangan dikirim ke 3 warga (1 warga minta STOP, tidak dikirimi)",
        "Sabtu, 28 November 2026 pukul 20.00 WIB").offers("Terbitkan dan kirim undangan", "Ubah dulu").at(
        "survey_admin", "new_preview")
    ani.says("terbitkan").hears("sudah diterbitkan (nomor 1)", "Undangan dikirim ke 3 warga").at("survey_admin", "list")
    ani.says("kembali").hears("sudah diterbitkan atau dibuang").at("survey_admin", "new_preview")
    ani.says("kembali ke daftar survei").at("survey_admin", "list")

    [survey] = stored_surveys(app)
    assert (survey.title, survey.description, survey.audience, survey.closes_at) == (
        "Kerja bakti Desember", "Untuk rembuk warga bulan depan", "all", SATURDAY_8PM)
    assert survey.questions == STORED

    sri = warga["sri"]
    sri.says("survei").hears("Kerja bakti Desember", "7 pertanyaan", "Pertanyaan 1 dari 7").at("survey", "start")
    sri.says("iya").offers("Minggu pagi", "Sabtu sore").at("survey", "q2")
    sri.says("sabtu sore").offers("Tenaga", "Alat (cangkul, sapu)", "Makanan").at("survey", "q3")
    sri.says("1, 3").offers("1 (sangat kotor)", "5 (sangat bersih)").at("survey", "q4")
    sri.says("4").at("survey", "q5")
    sri.says("25").hears("paling besar 20").at("survey", "q5")
    sri.says("3").at("survey", "q6")
    sri.says("Rp 20.000").at("survey", "q7")
    sri.says("Selokan gang 3 dikeruk").hears("Terima kasih", "warga pertama").at("help", "menu")
    with app.engine.connect() as conn:
        answers, completed = conn.execute(select(SurveyResponse.answers, SurveyResponse.completed_at)).one()
    assert answers == {"q1": True, "q2": "opt2", "q3": ["opt1", "opt3"], "q4": 4, "q5": 3, "q6": 20000,
                       "q7": "Selokan gang 3 dikeruk"}
    assert completed is not None


def test_bad_input_gets_a_friendly_reply_and_the_same_question(koordinator):
    ani = koordinator
    ani.says("kelola survei")
    ani.says("buat survei baru")
    ani.says("?!").hears("judulnya belum terbaca").at("survey_admin", "new_title")
    ani.says("x" * 201).hears("paling banyak 200 huruf").at("survey_admin", "new_title")
    ani.says("Iuran sampah")
    ani.says("lewati").at("survey_admin", "new_qtype")
    ani.says("selesai").hears("paling sedikit satu pertanyaan").at("survey_admin", "new_qtype")
    ani.says("pilih satu")
    ani.says("..").hears("pertanyaannya belum terbaca").at("survey_admin", "new_qtext")
    ani.says("Setuju iuran naik?")
    ani.says("Setuju").hears("paling sedikit 2 pilihan").at("survey_admin", "new_qoptions")
    ani.says("Setuju, setuju").hears("\"setuju\" tertulis dua kali").at("survey_admin", "new_qoptions")
    ani.says("Setuju, Tidak setuju").hears("Pertanyaan 1 tersimpan")
    ani.says("angka")
    ani.says("Berapa iuran yang pantas?")
    ani.says("terserah").hears("batasnya belum terbaca").at("survey_admin", "new_qnumber")
    ani.says("50000 - 1000").hears("yang kecil dulu").at("survey_admin", "new_qnumber")
    ani.says("max 50rb").hears("Pertanyaan 2 tersimpan")
    ani.says("nilai")
    ani.says("Puas dengan kebersihan?")
    ani.says("puas").hears("dua arti yang dipisah koma").at("survey_admin", "new_qscale")
    ani.says("tidak puas - sangat puas").hears("Pertanyaan 3 tersimpan")
    ani.says("selesai")
    ani.says("semua")
    ani.says("kapan kapan").hears("waktunya belum terbaca").at("survey_admin", "new_closes")
    ani.says("kemarin jam 8").hears("sudah lewat").at("survey_admin", "new_closes")
    ani.says("tgl 31 nov jam 10").hears("tidak ada di kalender").at("survey_admin", "new_closes")
    ani.says("besok").at("survey_admin", "new_closes_time")
    ani.says("pokoknya").hears("Jam berapa?").at("survey_admin", "new_closes_time")
    ani.says("jam 9 pagi").hears("Senin, 23 November 2026 pukul 09.00 WIB", "Batas: - sampai 50.000",
                                 "1 = tidak puas, 5 = sangat puas").at("survey_admin", "new_preview")


def test_questions_end_with_selesai_typed_in_place_of_a_question(koordinator, app):
    ani = koordinator
    replies = create_survey(ani, questions=[("ya tidak", "Setuju kerja bakti Minggu?", None)], publish=False)
    replies.at("survey_admin", "new_preview")
    ani.says("ubah").at("survey_admin", "new_edit")
    ani.says("tambah pertanyaan").at("survey_admin", "new_qtype")
    ani.says("isian bebas").at("survey_admin", "new_qtext")
    ani.says("selesai").hears("1 pertanyaan").at("survey_admin", "new_preview")  # the pending question is dropped


def test_ubah_changes_a_part_and_comes_back_to_the_preview(koordinator, app):
    ani = koordinator
    create_survey(ani, questions=EVERY_TYPE[:3], publish=False).at("survey_admin", "new_preview")
    ani.says("ubah").offers("Judul", "Hapus pertanyaan", "Waktu tutup")
    ani.says("judul").at("survey_admin", "new_title")
    ani.says("Kerja bakti akhir tahun").hears("*Kerja bakti akhir tahun*").at("survey_admin", "new_preview")
    ani.says("ubah")
    ani.says("hapus pertanyaan").offers("Kapan kerja bakti paling cocok?").at("survey_admin", "new_remove")
    ani.says("2").hears("Pertanyaan dihapus: Kapan kerja bakti paling cocok?", "2 pertanyaan").at(
        "survey_admin", "new_preview")
    ani.says("ubah")
    ani.says("untuk siapa")
    ani.says("RT 05").hears("Untuk: warga RT 05", "Undangan dikirim ke 1 warga").at("survey_admin", "new_preview")
    ani.says("terbitkan").hears("sudah diterbitkan")
    [survey] = stored_surveys(app)
    assert (survey.title, survey.audience) == ("Kerja bakti akhir tahun", "rt:05")
    assert [q["text"] for q in survey.questions] == [EVERY_TYPE[0][1], EVERY_TYPE[2][1]]


def test_buang_and_batal_store_nothing(koordinator, app):
    ani = koordinator
    create_survey(ani, questions=EVERY_TYPE[:1], publish=False)
    ani.says("buang survei ini").hears("dibuang dan tidak dikirim").at("survey_admin", "list")
    create_survey(ani, questions=EVERY_TYPE[:1], publish=False)
    ani.says("batal").hears("belum diterbitkan tidak disimpan").at("help", "menu")
    ani.says("kelola survei")
    ani.says("buat survei baru")
    ani.says("Survei setengah jadi")
    ani.says("batal").hears("dibatalkan").at("help", "menu")
    assert stored_surveys(app) == []


def test_the_draft_survives_a_pause_and_a_restart(koordinator, settings, clock, app):
    ani = koordinator
    ani.says("kelola survei")
    ani.says("buat survei baru")
    ani.says("Jadwal posyandu")
    ani.says("lewati")
    ani.says("pilih satu")
    ani.says("Hari apa yang cocok?")
    app.engine.dispose()
    clock.set(clock.now().replace(hour=clock.now().hour + 3))
    fresh = build_app(settings, clock=clock)
    try:
        ani = Kampung(fresh).resident(f"whatsapp:{ANI}")
        ani.says("Senin, Kamis").hears("Pertanyaan 1 tersimpan").at("survey_admin", "new_qtype")
        ani.says("selesai")
        ani.says("semua")
        ani.says("sabtu jam 8 malam").hears("Jadwal posyandu", "Hari apa yang cocok?", "Pilihan: Senin / Kamis")
        ani.says("terbitkan").hears("sudah diterbitkan")
        assert [s.title for s in stored_surveys(fresh)] == ["Jadwal posyandu"]
    finally:
        fresh.engine.dispose()


def test_an_rt_head_makes_surveys_for_their_own_rt_only(warga, pak_rt, app):  # noqa: F811
    joko = pak_rt
    joko.says("kelola survei")
    joko.says("buat survei baru")
    joko.says("Ronda malam RT 04")
    joko.says("lewati")
    joko.says("ya tidak")
    joko.says("Bisa ikut ronda?")
    joko.says("selesai").hears("Survei ini untuk warga RT 04 (wilayah Anda)").at("survey_admin", "new_closes")
    joko.says("sabtu jam 8 malam").hears("Untuk: warga RT 04", "Undangan dikirim ke 2 warga (1 warga minta STOP")
    joko.says("ubah")
    joko.says("untuk siapa").hears("untuk warga RT Anda").offers("Warga RT 04")
    assert joko.says("semua warga").choices == ["Warga RT 04"]  # not offered: asked again
    joko.says("1").at("survey_admin", "new_preview")
    joko.says("terbitkan").hears("sudah diterbitkan", "Undangan dikirim ke 2 warga")
    [survey] = stored_surveys(app)
    assert survey.audience == "rt:04"


def test_creating_a_survey_in_english(kampung, app):
    ani = onboard(kampung, ANI, "Bu Ani", "5", language="2")
    with app.sessions.begin() as session:
        grant_role(session, ANI, "koordinator", None)
    ani.says("manage surveys").hears("There are no surveys yet").at("survey_admin", "list")
    ani.says("create a new survey").hears("What is its title?")
    ani.says("Clean-up day")
    ani.says("skip").hears("the first question")
    ani.says("yes / no").hears("Question 1")
    ani.says("Will you join?").hears("Question 1 saved")
    ani.says("done").hears("Who is this survey for?")
    ani.says("all residents").hears("When does the survey close?")
    ani.says("nonsense words").hears("could not read the time")
    ani.says("sabtu jam 8 malam").hears("Please check before publishing", "Saturday, 28 November 2026")
    ani.says("publish").hears("is published (number 1)", "Invitations sent to 1 residents")


def test_a_second_open_survey_with_the_same_title_or_a_passed_closing_time_is_sent_back(koordinator, app, clock):
    ani = koordinator
    create_survey(ani, questions=EVERY_TYPE[:1]).hears("sudah diterbitkan")
    create_survey(ani, questions=EVERY_TYPE[:1], closes=("jam 11",), publish=False).hears("pukul 11.00 WIB")
    ani.says("terbitkan").hears("*Kerja bakti Desember* masih dibuka (nomor 1)").at("survey_admin", "new_title")
    ani.says("Kerja bakti Desember minggu kedua").at("survey_admin", "new_preview")
    clock.set(clock.now() + timedelta(hours=2))
    ani.says("terbitkan").hears("sudah lewat selagi menunggu").at("survey_admin", "new_closes")
    ani.says("senin jam 8 malam").at("survey_admin", "new_preview")
    ani.says("terbitkan").hears("sudah diterbitkan (nomor 2)")
    assert [s.title for s in stored_surveys(app)] == ["Kerja bakti Desember", "Kerja bakti Desember minggu kedua"]


@pytest.mark.parametrize("typed, options", [
    ("Minggu pagi, Sabtu sore, Jumat malam", ["Minggu pagi", "Sabtu sore", "Jumat malam"]),
    ("Minggu pagi; Sabtu sore", ["Minggu pagi", "Sabtu sore"]),
    ("Minggu pagi\nSabtu sore", ["Minggu pagi", "Sabtu sore"]),  # when line breaks reach the flow
    ("1. Tenaga 2. Alat (cangkul, sapu) 3. Makanan", ["Tenaga", "Alat (cangkul, sapu)", "Makanan"]),
    ("1) Ya 2) Tidak", ["Ya", "Tidak"]),
    ("a. Setuju b. Tidak setuju", ["Setuju", "Tidak setuju"]),
    ("- Tenaga - Alat", ["Tenaga", "Alat"]),
    ("Tenaga", ["Tenaga"]),
])
def test_options_can_be_typed_the_ways_people_write_lists(typed, options):
    from flows.survey_questions import split_options

    assert split_options(typed) == options


@pytest.mark.parametrize("typed, limits", [
    ("0-20", (0, 20)), ("0 sampai 20", (0, 20)), ("1 s/d 10", (1, 10)), ("min 0", (0, None)),
    ("minimal 1", (1, None)), ("max 50rb", (None, 50000)), ("paling banyak 100.000", (None, 100000)),
    ("terserah", None), ("20", None),
])
def test_number_limits_are_read_from_chat_words(typed, limits):
    from flows.survey_questions import read_range

    assert read_range(typed) == limits


def test_options_typed_one_per_line_in_chat(koordinator):
    koordinator.says("kelola survei")
    koordinator.says("buat survei baru")
    koordinator.says("Jadwal kerja bakti")
    koordinator.says("lewati")
    koordinator.says("pilih satu")
    koordinator.says("Hari apa paling cocok?").hears("satu per baris")
    koordinator.says("Sabtu pagi\nMinggu pagi\n\nMinggu sore").hears("Pertanyaan 1 tersimpan")
    koordinator.says("selesai")
    koordinator.says("semua warga")
    koordinator.says("jumat jam 8 malam").hears("Pilihan: Sabtu pagi / Minggu pagi / Minggu sore")


def test_scale_ends_in_words_and_selesai_to_skip_a_detail(koordinator):
    koordinator.says("kelola survei")
    koordinator.says("buat survei baru")
    koordinator.says("Survei air bersih")
    koordinator.says("lewati")
    koordinator.says("nilai")
    koordinator.says("Seberapa puas dengan air PAM?").at("survey_admin", "new_qscale")
    koordinator.says("tidak puas sampai sangat puas").hears("Pertanyaan 1 tersimpan")
    koordinator.says("angka")
    koordinator.says("Berapa rupiah per bulan?").at("survey_admin", "new_qnumber")
    koordinator.says("selesai").hears("Pertanyaan 2 tersimpan")
    koordinator.says("selesai")
    koordinator.says("semua warga")
    koordinator.says("jumat jam 8 malam").hears("tidak puas", "sangat puas")
