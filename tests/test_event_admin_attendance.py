"""RSVP counts and lists as residents answer through their own flow, and attendance
marked by tapping names or typing their numbers ("1 3"), corrected by tapping again,
paged ten names at a time, and found by typing part of a name."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from db.events import EventAttendance
from db.models import Resident
from tests import test_event_admin_create as base
from tests.test_event_admin_create import BUDI, KOOR, SRI, WATI, create

# Shared fixtures (tests/test_event_admin_create.py).
koordinator, neighbours = base.koordinator, base.neighbours

TODAY_3PM = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def answer(kampung, phone: str, reply: str) -> None:
    resident = kampung.resident(f"whatsapp:{phone}")
    resident.says("acara")
    resident.says("1").at("events", "detail")
    resident.says(reply).at("help", "menu")


def present(app) -> list[str]:
    with app.sessions() as session:
        return sorted(session.scalars(select(Resident.name).join(EventAttendance,
                                                                 EventAttendance.resident_id == Resident.id)))


def open_event(staff):
    staff.says("kelola acara")
    staff.says("daftar acara")
    return staff.says("1").at("event_admin", "detail")


def test_rsvp_counts_and_lists_follow_the_residents_answers(app, koordinator, kampung):
    create(koordinator)
    koordinator.says("simpan")
    answer(kampung, SRI, "hadir")
    answer(kampung, BUDI, "gak bisa datang")
    answer(kampung, WATI, "mungkin")
    # Invited: everyone who agreed to use the bot (Pak Tono said STOP but is still a resident).
    open_event(koordinator).hears("Diundang: Semua warga, 5 warga", "hadir 1, tidak hadir 1, mungkin 1, belum menjawab 2")
    koordinator.says("siapa saja yang menjawab").hears(
        "*Hadir* (1): Bu Sri (RT 04)", "*Mungkin* (1): Bu Wati (RT 05)", "*Tidak hadir* (1): Pak Budi (RT 04)",
        "*Belum menjawab* (2): Bu Ani (RT 05), Pak Tono (RT 04)",
    ).offers("Kembali ke acara", "Daftar acara").at("event_admin", "people")
    assert "Catat kehadiran" not in koordinator.says("kembali ke acara").choices  # not started yet
    answer(kampung, SRI, "tidak hadir")
    koordinator.says("daftar acara")
    koordinator.says("1").hears("hadir 0, tidak hadir 2, mungkin 1, belum menjawab 2")
    koordinator.says("1").hears("*Hadir* (0): -", "*Tidak hadir* (2): Bu Sri (RT 04), Pak Budi (RT 04)")


def test_attendance_by_typed_numbers_and_taps_and_corrections(app, koordinator, kampung, clock):
    create(koordinator, when=("jam 3 sore",))
    koordinator.says("simpan")
    answer(kampung, BUDI, "hadir")
    answer(kampung, WATI, "mungkin")
    open_event(koordinator).offers("Ubah acara")
    koordinator.says("catat kehadiran").hears("belum kami pahami")  # not offered before the start
    clock.set(TODAY_3PM + timedelta(minutes=20))
    koordinator.says("daftar acara").hears("sudah lewat")
    koordinator.says("1").offers("Catat kehadiran", "Siapa saja yang menjawab").at("event_admin", "detail")
    replies = koordinator.says("catat kehadiran").hears("0 dari 5 warga sudah ditandai datang", "*1 3 5*",
                                                        "Halaman 1 dari 1")
    # Those who said hadir first, then mungkin, then the rest by name.
    assert replies.choices == ["Pak Budi (RT 04)", "Bu Wati (RT 05)", "Bu Ani (RT 05)", "Bu Sri (RT 04)",
                               "Pak Tono (RT 04)", "Selesai"]
    koordinator.says("1 3").hears("Ditandai datang: Pak Budi (RT 04), Bu Ani (RT 05)", "2 dari 5").offers(
        "✅ Pak Budi (RT 04)", "✅ Bu Ani (RT 05)", "Bu Sri (RT 04)").at("event_admin", "attend")
    assert present(app) == ["Bu Ani", "Pak Budi"]
    koordinator.says("3").hears("Tanda datang dihapus: Bu Ani (RT 05)", "1 dari 5")  # a correction
    koordinator.presses(replies.choice_ids[3]).hears("Ditandai datang: Bu Sri (RT 04)")  # a tap on Telegram
    koordinator.says("tono").hears("Ditandai datang: Pak Tono (RT 04)")  # part of a name on this page
    koordinator.says("5").hears("Tanda datang dihapus: Pak Tono (RT 04)")
    assert present(app) == ["Bu Sri", "Pak Budi"]
    koordinator.says("selesai").hears("*Datang* (tercatat): 2 dari 5 warga").at("event_admin", "detail")
    koordinator.says("siapa saja yang menjawab").hears("Tercatat datang*: Bu Sri (RT 04), Pak Budi (RT 04)")


def test_long_lists_are_paged_and_searchable(app, koordinator, kampung, clock):
    for n in range(1, 13):
        kampung.resident(f"whatsapp:+628123456{n + 100:03d}").onboard(name=f"Warga {n:02d}", rt="6")
    create(koordinator, when=("jam 3 sore",))
    koordinator.says("simpan").hears("Undangan terkirim ke 16 warga")
    clock.set(TODAY_3PM + timedelta(hours=1))
    open_event(koordinator)
    first = koordinator.says("catat kehadiran").hears("0 dari 17 warga", "Halaman 1 dari 2")
    assert len(first.choices) == 12 and first.choices[-2:] == ["Halaman berikutnya", "Selesai"]
    assert first.choices[:2] == ["Bu Ani (RT 05)", "Bu Sri (RT 04)"]
    second = koordinator.says("lanjut").hears("Halaman 2 dari 2")
    assert second.choices == [f"Warga {n:02d} (RT 06)" for n in range(6, 13)] + ["Halaman sebelumnya", "Selesai"]
    koordinator.says("1 7").hears("Ditandai datang: Warga 06 (RT 06), Warga 12 (RT 06)", "Halaman 2 dari 2")
    koordinator.says("halaman sebelumnya").hears("Halaman 1 dari 2")
    found = koordinator.says("Warga 1").hears('Nama yang mengandung "Warga 1"', "Halaman 1 dari 1")
    assert found.choices == ["Warga 10 (RT 06)", "Warga 11 (RT 06)", "✅ Warga 12 (RT 06)", "Tampilkan semua nama",
                             "Selesai"]
    koordinator.says("2").hears("Ditandai datang: Warga 11 (RT 06)")
    koordinator.says("zzz").hears('Tidak ada nama yang mengandung "zzz"')
    koordinator.says("tampilkan semua nama").hears("3 dari 17", "Halaman 1 dari 2")
    assert present(app) == ["Warga 06", "Warga 11", "Warga 12"]


def test_attendance_in_javanese(app, koordinator, kampung, clock):
    create(koordinator, when=("jam 3 sore",))
    koordinator.says("simpan")
    koordinator.says("basa")
    koordinator.says("Jawa")
    clock.set(TODAY_3PM + timedelta(minutes=30))
    koordinator.says("kelola acara").hears("Ngurus acara")
    koordinator.says("2")
    koordinator.says("1")
    koordinator.says("cathet sing teka").hears("Dhaptar rawuh", "0 saka 5 warga")
    koordinator.says("2").hears("Ditandhani teka: Bu Sri (RT 04)")
    koordinator.says("rampung").hears("*Teka* (kecathet): 1 saka 5 warga")
    assert KOOR and present(app) == ["Bu Sri"]
