"""Creating an event in chat (flow `event_admin`): kind, title, a natural time ("Sabtu"
then the hour), place, agenda, audience, the KUR checklist, the preview, and the
invitations that go out; bad answers, `batal`, changing a field from the preview, a
restart mid-way, and a run in English. Shared fixtures for tests/test_event_admin_*.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.roles_admin import grant_role
from db.events import Event, EventReminder
from db.models import Outbox
from tests.transcript import Kampung

SRI, BUDI, TONO, PAK_RT, KOOR, WATI = (f"+62812345670{n:02d}" for n in (1, 2, 3, 4, 5, 6))
SATURDAY_8PM = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)  # Sabtu 28 November 2026 20.00 WIB
SABTU = "Sabtu, 28 November 2026 pukul 20.00 WIB"
INVITATION = "Undangan acara"


def texts(app, phone: str, fragment: str = "") -> list[str]:
    """Messages queued for a phone number (replies and notices), oldest first."""
    with app.sessions() as session:
        rows = session.scalars(select(Outbox).where(Outbox.address.contains(phone)).order_by(Outbox.id))
        return [row.payload["text"] for row in rows if fragment in row.payload["text"]]


def events(app) -> list[Event]:
    with app.sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def reminder_rows(app, event_id: int = 1) -> list[tuple[datetime, str]]:
    with app.sessions() as session:
        return [tuple(r) for r in session.execute(
            select(EventReminder.due_at, EventReminder.status).where(EventReminder.event_id == event_id)
            .order_by(EventReminder.due_at, EventReminder.id))]


@pytest.fixture
def neighbours(kampung, sri):
    """Bu Sri, Pak Budi and Pak Tono (said STOP) in RT 04; Bu Wati in RT 05."""
    for phone, name, rt in ((BUDI, "Pak Budi", "4"), (TONO, "Pak Tono", "4"), (WATI, "Bu Wati", "5")):
        kampung.resident(f"whatsapp:{phone}").onboard(name=name, rt=rt)
    kampung.resident(f"whatsapp:{TONO}").says("STOP")
    return kampung


@pytest.fixture
def koordinator(kampung, app, neighbours):
    """Bu Ani, koordinator, lives in RT 05."""
    ani = kampung.resident(f"whatsapp:{KOOR}")
    ani.onboard(name="Bu Ani", rt="5")
    with app.sessions.begin() as session:
        grant_role(session, KOOR, "koordinator", None)
    return ani


@pytest.fixture
def pak_rt(kampung, app, neighbours):
    """Pak Joko, ketua RT 04."""
    joko = kampung.resident(f"whatsapp:{PAK_RT}")
    joko.onboard(name="Pak Joko")
    with app.sessions.begin() as session:
        grant_role(session, PAK_RT, "ketua_rt", "04")
    return joko


def create(staff, kind="rembuk", title="Musyawarah kas RW", when=("Sabtu", "jam 8 malam"), place="Balai RW 05",
           agenda="Iuran kas dan lampu gang", audience="Semua warga", checklist=None):
    """Go through the creation questions up to the preview."""
    staff.says("buat acara").at("event_admin", "new_kind")
    staff.says(kind).at("event_admin", "new_title")
    staff.says(title)
    for part in when:
        replies = staff.says(part)
    replies.at("event_admin", "new_place")
    staff.says(place).at("event_admin", "new_agenda")
    staff.says(agenda).at("event_admin", "new_audience")
    replies = staff.says(audience)
    if checklist is not None:
        replies.at("event_admin", "new_checklist")
        replies = staff.says(checklist)
    return replies.at("event_admin", "new_preview")


def test_koordinator_creates_an_event_with_sabtu_then_the_hour(app, koordinator):
    koordinator.says("menu pengurus").offers("Kelola acara (undangan, daftar hadir)")
    koordinator.says("kelola acara").offers("Buat acara baru", "Daftar acara", "Laporan keikutsertaan per RT").at(
        "event_admin", "menu")
    koordinator.says("buat acara baru").hears("Acara apa").offers("Rembuk warga", "Sosialisasi KUR", "Pelatihan",
                                                                   "Kerja bakti", "Lainnya")
    koordinator.says("rapat warga").hears("Judul acaranya apa?", "*Rembuk warga*").offers("Rembuk warga")
    koordinator.says("Musyawarah kas RW").hears("Kapan acaranya?").at("event_admin", "new_time")
    koordinator.says("Sabtu").hears("Jam berapa?").at("event_admin", "new_hour")
    koordinator.says("jam 8 malam").hears("Di mana tempatnya?")
    koordinator.says("Balai RW 05").hears("agendanya").offers("Lewati")
    koordinator.says("Iuran kas dan lampu gang").hears("Siapa yang diundang?").offers(
        "Semua warga", "Warga RT 04", "Warga RT 05", "Paguyuban UMKM RW 05")
    koordinator.says("semua warga").hears(
        "Periksa dulu", "*Musyawarah kas RW* (Rembuk warga)", SABTU, "Balai RW 05", "Iuran kas dan lampu gang",
        "Diundang: Semua warga (4 warga akan menerima undangan)",  # Sri, Budi, Wati, Ani; Tono said STOP
    ).offers("Simpan dan kirim undangan", "Ubah dulu", "Buang, tidak jadi").at("event_admin", "new_preview")
    assert events(app) == []
    koordinator.says("simpan").hears("Acara *Musyawarah kas RW* tersimpan", SABTU, "Undangan terkirim ke 4 warga").at(
        "event_admin", "menu")
    [event] = events(app)
    assert (event.kind, event.title, event.place, event.agenda, event.audience, event.checklist) == (
        "rembuk", "Musyawarah kas RW", "Balai RW 05", "Iuran kas dan lampu gang", "all", False)
    assert event.starts_at == SATURDAY_8PM and event.cancelled_at is None and event.created_by is not None
    # The evening before at 19.00 and 2 hours before, as `kampung events add` does.
    assert reminder_rows(app) == [(datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc), "pending"),
                                  (datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc), "pending")]


def test_invitations_reach_the_audience_but_not_stop(app, koordinator):
    create(koordinator, audience="Warga RT 04")
    koordinator.says("simpan").hears("Undangan terkirim ke 2 warga (Warga RT 04)")
    [invitation] = texts(app, SRI, INVITATION)
    assert "Musyawarah kas RW" in invitation and SABTU in invitation and "Balai RW 05" in invitation
    assert "Balas *acara*" in invitation
    assert len(texts(app, BUDI, INVITATION)) == 1
    assert texts(app, TONO, INVITATION) == []  # said STOP
    assert texts(app, WATI, INVITATION) == []  # RT 05
    assert texts(app, KOOR, INVITATION) == []


def test_the_invitation_tells_how_to_answer_and_that_works(app, koordinator, kampung):
    create(koordinator)
    koordinator.says("simpan")
    sri = kampung.resident(f"whatsapp:{SRI}")
    sri.says("acara").hears("Musyawarah kas RW").at("events", "list")
    sri.says("1").at("events", "detail")
    sri.says("hadir").hears("Terima kasih")


def test_kur_event_asks_for_the_checklist_and_the_default_title(app, koordinator):
    koordinator.says("buat acara")
    koordinator.says("sosialisasi kur")
    koordinator.says("1").at("event_admin", "new_time")  # the suggested title: the kind's name
    koordinator.says("tgl 7 des jam 10")
    koordinator.says("Balai RW 05")
    koordinator.says("lewati").at("event_admin", "new_audience")
    koordinator.says("Paguyuban UMKM RW 05").hears("daftar persiapan KUR").at("event_admin", "new_checklist")
    koordinator.says("ya").hears("*Sosialisasi KUR* (Sosialisasi KUR)", "Senin, 7 Desember 2026 pukul 10.00 WIB",
                                 "Agenda: menyusul", "Paguyuban UMKM RW 05", "Dengan daftar persiapan KUR")
    koordinator.says("simpan")
    [event] = events(app)
    assert (event.title, event.kind, event.audience, event.checklist, event.agenda) == (
        "Sosialisasi KUR", "kur", "paguyuban:UMKM RW 05", True, "")


def test_bad_times_get_a_friendly_reply_and_the_question_again(app, koordinator):
    koordinator.says("buat acara")
    koordinator.says("kerja bakti")
    koordinator.says("Kerja bakti selokan")
    koordinator.says("kemarin jam 8").hears("sudah lewat").at("event_admin", "new_time")
    koordinator.says("kue lapis legit").hears("belum paham waktunya").at("event_admin", "new_time")
    koordinator.says("31 februari jam 10").hears("tidak ada").at("event_admin", "new_time")
    koordinator.says("hari ini").at("event_admin", "new_hour")  # Sunday the 22nd, 10.00
    koordinator.says("jam 7 pagi").hears("sudah lewat").at("event_admin", "new_hour")
    koordinator.says("jam 3 sore").at("event_admin", "new_place")
    koordinator.says("x").hears("terlalu pendek").at("event_admin", "new_place")
    koordinator.says("Gang 3").at("event_admin", "new_agenda")
    koordinator.says("Bersih-bersih selokan gang 3").at("event_admin", "new_audience")
    koordinator.says("sepeda motor").hears("belum").at("event_admin", "new_audience")
    koordinator.says("rt 4").hears("Minggu, 22 November 2026 pukul 15.00 WIB", "Warga RT 04")
    koordinator.says("simpan")
    assert events(app)[0].audience == "rt:04"


def test_change_a_field_from_the_preview_then_save(app, koordinator):
    create(koordinator)
    koordinator.says("ubah dulu").offers("Jenis acara", "Judul", "Waktu", "Tempat", "Agenda", "Yang diundang").at(
        "event_admin", "new_change")
    koordinator.says("waktu").at("event_admin", "new_time")
    koordinator.says("besok jam 8 malam").hears("Senin, 23 November 2026 pukul 20.00 WIB").at(
        "event_admin", "new_preview")
    koordinator.says("ubah")
    koordinator.says("tempat")
    koordinator.says("Rumah Pak RT").hears("Rumah Pak RT").at("event_admin", "new_preview")
    koordinator.says("simpan")
    [event] = events(app)
    assert event.place == "Rumah Pak RT" and event.starts_at == datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc)


def test_batal_and_buang_save_nothing_and_send_nothing(app, koordinator):
    create(koordinator)
    koordinator.says("batal").hears("dibatalkan").at("help", "menu")
    create(koordinator)
    koordinator.says("3").hears("tidak jadi dibuat").at("event_admin", "menu")
    assert events(app) == []
    assert texts(app, SRI, INVITATION) == []


def test_a_restart_midway_carries_on_with_the_draft(app, settings, clock, koordinator):
    koordinator.says("buat acara")
    koordinator.says("rembuk")
    koordinator.says("Musyawarah kas RW")
    koordinator.says("Sabtu").at("event_admin", "new_hour")
    app.engine.dispose()
    again = build_app(settings, clock=clock)
    try:
        ani = Kampung(again).resident(f"whatsapp:{KOOR}")
        ani.says("jam 8 malam").at("event_admin", "new_place")
        ani.says("Balai RW 05")
        ani.says("lewati")
        ani.says("semua").hears("Musyawarah kas RW", SABTU)
        ani.says("simpan").hears("tersimpan")
        assert [e.title for e in events(again)] == ["Musyawarah kas RW"]
    finally:
        again.engine.dispose()


def test_rt_head_may_invite_only_their_own_rt(app, pak_rt):
    pak_rt.says("buat acara")
    pak_rt.says("kerja bakti")
    pak_rt.says("Kerja bakti RT 04")
    pak_rt.says("Sabtu jam 7 pagi")
    pak_rt.says("Pos ronda")
    replies = pak_rt.says("lewati").at("event_admin", "new_audience")
    assert replies.choices == ["Warga RT 04"]
    pak_rt.says("semua warga").hears("belum kami pahami").at("event_admin", "new_audience")
    pak_rt.says("1").hears("Warga RT 04 (3 warga akan menerima undangan)")  # Sri, Budi, Pak Joko
    pak_rt.says("simpan").hears("Undangan terkirim ke 3 warga")
    assert events(app)[0].audience == "rt:04"
    assert texts(app, WATI, INVITATION) == []


def test_in_english(app, koordinator, kampung):
    koordinator.says("bahasa")
    koordinator.says("English")
    koordinator.says("buat acara").hears("What kind of event?")
    koordinator.says("training").hears("What is the event called?")
    koordinator.says("Packaging training")
    koordinator.says("Sabtu").hears("At what time")  # the day is noted, the hour asked
    koordinator.says("19.30")
    koordinator.says("Balai RW 05")
    koordinator.says("skip")
    koordinator.says("all residents").hears("Please check", "Saturday, 28 November 2026", "All residents")
    koordinator.says("save").hears("Invitations sent to 4 residents")
    assert events(app)[0].starts_at == datetime(2026, 11, 28, 12, 30, tzinfo=timezone.utc)
    sri_invitation = texts(app, SRI, INVITATION)
    assert len(sri_invitation) == 1  # Sri reads Indonesian


def test_kembali_a_pause_of_hours_and_a_change_of_kind_to_kur(app, koordinator, clock):
    koordinator.says("buat acara")
    koordinator.says("rembuk")
    koordinator.says("1").at("event_admin", "new_time")  # title: the kind's name
    koordinator.says("Sabtu").at("event_admin", "new_hour")
    koordinator.says("kembali").hears("Kapan acaranya?").at("event_admin", "new_time")
    koordinator.says("Sabtu jam 9 pagi").at("event_admin", "new_place")
    clock.set(clock.now() + timedelta(hours=5))
    koordinator.says("Aula kelurahan").at("event_admin", "new_agenda")
    koordinator.says("lewati")
    koordinator.says("semua").hears("*Rembuk warga* (Rembuk warga)", "Sabtu, 28 November 2026 pukul 09.00 WIB")
    koordinator.says("ubah")
    koordinator.says("jenis acara").at("event_admin", "new_kind")
    koordinator.says("kur").at("event_admin", "new_checklist")  # a KUR event asks for its checklist
    koordinator.says("tidak").hears("*Sosialisasi KUR* (Sosialisasi KUR)").at("event_admin", "new_preview")
    koordinator.says("simpan")
    [event] = events(app)
    assert (event.kind, event.title, event.place, event.checklist) == ("kur", "Sosialisasi KUR", "Aula kelurahan", False)


@pytest.mark.parametrize("day, hour, expected", [
    ("Sabtu", "19.30", "Sabtu, 28 November 2026 pukul 19.30 WIB"),
    ("malam minggu", "jam 8", "Sabtu, 28 November 2026 pukul 20.00 WIB"),  # the evening, not 08.00
    ("Minggu", "jam 7 pagi", "Minggu, 29 November 2026 pukul 07.00 WIB"),  # today's 07.00 has passed
    ("besok", "setengah 8 malam", "Senin, 23 November 2026 pukul 19.30 WIB"),
    ("tgl 7 des", "jam 10", "Senin, 7 Desember 2026 pukul 10.00 WIB"),
    ("Sabtu", "Senin jam 9", "Senin, 23 November 2026 pukul 09.00 WIB"),  # changed their mind about the day
])
def test_a_day_then_its_hour(app, koordinator, day, hour, expected):
    koordinator.says("buat acara")
    koordinator.says("rembuk")
    koordinator.says("1")
    koordinator.says(day).at("event_admin", "new_hour")
    koordinator.says(hour).at("event_admin", "new_place")
    koordinator.says("Balai RW 05")
    koordinator.says("lewati")
    koordinator.says("semua").hears(expected)


def test_invitations_written_in_quiet_hours_wait_until_morning(app, koordinator, clock):
    clock.set(datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc))  # 22.00 WIB, inside 21.00-06.00
    create(koordinator, audience="Warga RT 04")
    koordinator.says("simpan").hears("Undangan terkirim ke 2 warga", "jam istirahat malam",
                                     "Senin, 23 November 2026 pukul 06.00 WIB")
    with app.sessions() as session:
        rows = session.scalars(select(Outbox).where(Outbox.payload["text"].as_string().contains(INVITATION))).all()
        assert len(rows) == 2
        assert {row.not_before for row in rows} == {datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)}


def test_a_kind_not_on_the_list_becomes_the_title_of_another_kind(app, koordinator):
    koordinator.says("buat acara")
    koordinator.says("ok").hears("Balas dengan nomor").at("event_admin", "new_kind")
    koordinator.says("arisan PKK").hears("acara *arisan PKK* (jenis: Lainnya)").at("event_admin", "new_time")
    koordinator.says("Sabtu jam 8 malam")
    koordinator.says("Rumah Bu Wati")
    koordinator.says("lewati")
    koordinator.says("Semua warga").hears("*arisan PKK* (Lainnya)").at("event_admin", "new_preview")
    koordinator.says("simpan").hears("tersimpan")
    assert [(e.kind, e.title) for e in events(app)] == [("lainnya", "arisan PKK")]
