"""Events as residents see them: the list, RSVPs, following kinds of event, read as chats."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.events import NewEvent, add_event, parse_local_time
from db.events import EventFollow, EventRsvp
from tests.transcript import Kampung

RAPAT = "Sabtu, 28 November 2026 pukul 19.30 WIB"


def announce(app, title="Musyawarah kas RW", at="2026-11-28 19:30", kind="rembuk", audience="all", **more):
    """Add an event as `kampung events add` does, at the app's current time."""
    new = NewEvent(kind=kind, title=title, starts_at=parse_local_time(at, "Asia/Jakarta"), place=more.pop("place", "Balai RW 05"),
                   audience=audience, **more)
    with app.engine.begin() as conn:
        return add_event(conn, app.core.notifier, new, app.core.clock.now(), "Asia/Jakarta")


def rsvps(app) -> dict[int, str]:
    with app.engine.connect() as conn:
        return dict(conn.execute(select(EventRsvp.resident_id, EventRsvp.answer)).all())


def follows(app) -> set[str]:
    with app.engine.connect() as conn:
        return set(conn.scalars(select(EventFollow.kind)))


def test_jadwal_acara_lists_kind_title_time_place_and_agenda(app, sri):
    announce(app, agenda="Iuran kas dan lampu gang")
    announce(app, "KUR BRI untuk UMKM", "2026-11-29 09:00", kind="kur", audience="rt:04", checklist=True)
    sri.says("jadwal acara").hears(
        "Musyawarah kas RW", "Rembuk warga", RAPAT, "Balai RW 05", "Iuran kas dan lampu gang",
        "KUR BRI untuk UMKM", "Sosialisasi KUR", "Minggu, 29 November 2026 pukul 09.00 WIB", "belum menjawab",
    ).offers("Musyawarah kas RW", "KUR BRI untuk UMKM", "Atur pengingat acara baru").at("events", "list")
    sri.says("2").hears("KUR BRI untuk UMKM", "KTP", "Kartu Keluarga", "NIB", "minimal 6 bulan", "akan hadir?").offers(
        "Hadir", "Tidak hadir", "Mungkin").at("events", "detail")


def test_only_events_for_the_residents_rt_and_groups_are_listed(app, sri):
    announce(app, "Kerja bakti RT 05", kind="kerja_bakti", audience="rt:05")
    announce(app, "Pelatihan kemasan", kind="pelatihan", audience="paguyuban:UMKM RW 05")
    announce(app, "Posyandu balita", kind="posyandu", audience="rt:04")
    replies = sri.says("jadwal acara").hears("Posyandu balita")
    assert "Kerja bakti RT 05" not in replies.text and "Pelatihan kemasan" not in replies.text
    sri.says("menu")
    sri.says("ubah data")
    sri.says("paguyuban")
    sri.says("UMKM RW 05")
    sri.says("menu")
    sri.says("jadwal acara").hears("Pelatihan kemasan", "Posyandu balita")


@pytest.mark.parametrize("text", ["jadwal acara", "rembuk warga kapan?", "sosialisasi KUR", "kapan kerja bakti?", "acara"])
def test_everyday_questions_open_the_list(app, sri, text):
    announce(app)
    sri.says(text).hears(RAPAT).at("events", "list")


def test_no_events_says_so_and_offers_alerts(sri):
    sri.says("jadwal acara").hears("Belum ada acara").offers("Atur pengingat acara baru", "Menu utama").at("events", "list")
    sri.says("1").at("events", "follows")


def test_rsvp_is_saved_and_can_be_changed(app, sri):
    announce(app)
    sri.says("jadwal acara")
    sri.says("1").hears("belum menjawab").at("events", "detail")
    sri.says("hadir").hears("Terima kasih", "hadir", "malam sebelumnya").at("help", "menu")
    assert list(rsvps(app).values()) == ["yes"]
    sri.says("jadwal acara").hears("Jawaban Anda: hadir")
    sri.says("1")
    sri.says("tidak hadir").hears("tidak hadir", "tidak mengirim pengingat").at("help", "menu")
    assert list(rsvps(app).values()) == ["no"]
    sri.says("jadwal acara")
    sri.says("1").hears("*tidak hadir*")
    sri.says("mungkin")
    assert list(rsvps(app).values()) == ["maybe"]


@pytest.mark.parametrize("text, answer", [
    ("hdir", "yes"), ("insya allah hadir", "yes"), ("gak bisa datang", "no"), ("berhalangan", "no"),
    ("belum pasti", "maybe"), ("3", "maybe"), ("teka", "yes"), ("ora iso teka", "no"), ("can't make it", "no"),
])
def test_typos_slang_and_javanese_answers(app, sri, text, answer):
    announce(app)
    sri.says("jadwal acara")
    sri.says("1")
    sri.says(text).at("help", "menu")
    assert list(rsvps(app).values()) == [answer]


def test_wrong_answers_are_explained_and_lose_nothing(app, sri):
    announce(app)
    sri.says("jadwal acara")
    sri.says("kue lapis legit").hears("belum paham").at("events", "list")
    sri.says("9").hears("belum paham").at("events", "list")
    sri.says("1").at("events", "detail")
    sri.says("sepeda motor").hears("belum kami pahami", "akan hadir?").at("events", "detail")
    sri.says("").hears("belum kami pahami").at("events", "detail")
    assert rsvps(app) == {}
    sri.says("hadir").at("help", "menu")


def test_another_need_typed_at_the_list_goes_there(app, sri):
    announce(app)
    sri.says("jadwal acara")
    assert sri.says("lampu jalan mati").messages[-1]["flow"] == "report"


def test_batal_midway_saves_nothing(app, sri):
    announce(app)
    sri.says("jadwal acara")
    sri.says("1")
    sri.says("batal").hears("dibatalkan").at("help", "menu")
    assert rsvps(app) == {}


def test_kembali_returns_to_the_list(app, sri):
    announce(app)
    sri.says("jadwal acara")
    sri.says("1").at("events", "detail")
    sri.says("kembali").hears(RAPAT).at("events", "list")
    sri.says("lihat acara lain").at("events", "list")


def test_a_restart_mid_answer_loses_nothing(app, sri, settings, clock):
    announce(app)
    sri.says("jadwal acara")
    sri.says("1").at("events", "detail")
    app.engine.dispose()
    clock.set(clock.now() + timedelta(hours=3))
    again = build_app(settings, clock=clock)
    try:
        Kampung(again).resident("whatsapp:+6281234567001").says("hadir").hears("Terima kasih").at("help", "menu")
        assert list(rsvps(again).values()) == ["yes"]
    finally:
        again.engine.dispose()


def test_an_event_that_started_during_a_pause_is_not_answered(app, sri, clock):
    announce(app, at="2026-11-22 18:00")
    sri.says("jadwal acara")
    sri.says("1").at("events", "detail")
    clock.set(clock.now() + timedelta(hours=9))
    sri.says("hadir").hears("belum kami pahami", "sudah lewat").offers("Lihat acara lain").at("events", "detail")
    sri.says("1").hears("Belum ada acara").at("events", "list")
    assert rsvps(app) == {}


def test_ingatkan_follows_a_kind_from_the_menu_and_berhenti_unfollows(app, sri):
    sri.says("ingatkan kalau ada sosialisasi KUR").hears("Sosialisasi KUR", "kami kabari").at("help", "menu")
    assert follows(app) == {"kur"}
    sri.says("ingetin posyandu").at("help", "menu")
    assert follows(app) == {"kur", "posyandu"}
    sri.says("berhenti ingatkan KUR").hears("tidak lagi dikabari", "Sosialisasi KUR").at("help", "menu")
    assert follows(app) == {"posyandu"}


def test_ingatkan_without_a_known_kind_asks_which(app, sri):
    sri.says("ingatkan dong soal itu").hears("belum kami kenali").offers("Sosialisasi KUR", "Posyandu").at(
        "events", "follows")
    sri.says("sosialisasi kur").hears("kami kabari", "Yang Anda ikuti sekarang: Sosialisasi KUR").at("events", "follows")
    sri.says("kerja bakti").hears("Sosialisasi KUR, Kerja bakti")
    sri.says("2").hears("tidak lagi dikabari", "Yang Anda ikuti sekarang: Kerja bakti").at("events", "follows")
    sri.says("jangan ingatkan kerja bakti").hears("tidak lagi dikabari").at("help", "menu")
    assert follows(app) == set()


def test_english_texts(app, kampung):
    announce(app, "KUR BRI", kind="kur", checklist=True)
    ann = kampung.resident("telegram:5001")
    ann.onboard(name="Ann", language="2")
    replies = ann.says("events").hears("Events for you", "Saturday, 28 November 2026", "KUR micro-credit").at(
        "events", "list")
    assert "Acara" not in replies.text
    ann.says("1").hears("What to bring for KUR", "Will you come?").offers("I'm coming", "Not coming", "Maybe")
    assert "hadir" not in ann.says("not coming").hears("not coming", "will not send reminders").text
    ann.says("remind me about posyandu").hears("Health post (posyandu)", "we will tell you")


def test_javanese_texts(app, kampung):
    announce(app)
    tini = kampung.resident("whatsapp:+6281234567003")
    tini.onboard(name="Mbah Tini", language="3")
    replies = tini.says("kapan kumpulan").hears("Acara kanggo panjenengan", "Rembug warga", "28 November 2026 jam 19.30 WIB").at(
        "events", "list")
    assert "Jawaban Anda" not in replies.text
    tini.says("1").hears("Panjenengan arep teka?").offers("Teka", "Ora teka", "Mbok menawa")
    tini.says("teka").hears("Matur nuwun", "teka").at("help", "menu")
    tini.says("elingke posyandu").hears("Siap", "dikabari lewat chat iki")
