"""The participation report per RT (invited, RSVP hadir, attended), in chat for the
koordinator (every RT) and an RT head (their RT only), with exact figures from events
that residents answered through their own flow and staff marked attendance at."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests import test_event_admin_create as base
from tests.test_event_admin_create import BUDI, SRI, WATI, create

# Shared fixtures (tests/test_event_admin_create.py).
koordinator, neighbours, pak_rt = base.koordinator, base.neighbours, base.pak_rt

TODAY = datetime(2026, 11, 22, tzinfo=timezone.utc) - timedelta(hours=7)  # 22 November 00.00 WIB


def rsvp(kampung, phone: str, number: str) -> None:
    resident = kampung.resident(f"whatsapp:{phone}")
    resident.says("acara")
    resident.says(number).at("events", "detail")
    resident.says("hadir").at("help", "menu")


def mark(staff, event_number: str, picks: str):
    staff.says("kelola acara")
    staff.says("daftar acara")
    staff.says(event_number)
    staff.says("catat kehadiran").at("event_admin", "attend")
    staff.says(picks).hears("Ditandai datang")
    return staff.says("selesai").at("event_admin", "detail")


@pytest.fixture
def season(app, koordinator, pak_rt, kampung, clock):
    """RT 04: Bu Sri, Pak Budi, Pak Tono (STOP), Pak Joko (ketua RT); RT 05: Bu Wati, Bu Ani.
    A (everyone, 15.00): Sri, Budi, Wati say hadir; Sri, Wati, Joko come.
    B (RT 04, 16.00, by Pak Joko): Sri says hadir; Sri and Budi come.
    C (RT 05, 17.00) is cancelled; D (everyone, Saturday) has not happened yet."""
    create(koordinator, title="Rapat A", when=("jam 3 sore",))
    koordinator.says("simpan")
    create(pak_rt, kind="kerja bakti", title="Kerja bakti B", when=("jam 4 sore",), audience="Warga RT 04")
    pak_rt.says("simpan")
    create(koordinator, title="Rapat C", when=("jam 5 sore",), audience="Warga RT 05")
    koordinator.says("simpan")
    koordinator.says("kelola acara")
    koordinator.says("daftar acara")
    koordinator.says("3")
    koordinator.says("batalkan acara ini")
    koordinator.says("ya").hears("dibatalkan")
    create(koordinator, title="Rapat D")
    koordinator.says("simpan")
    rsvp(kampung, SRI, "1")
    rsvp(kampung, BUDI, "1")
    rsvp(kampung, WATI, "1")
    rsvp(kampung, SRI, "2")
    clock.set(TODAY + timedelta(hours=15, minutes=30))
    # A: hadir first (Bu Sri, Bu Wati, Pak Budi), then Bu Ani, Pak Joko, Pak Tono.
    mark(koordinator, "1", "1 2 5").hears("*Datang* (tercatat): 3 dari 6 warga")
    clock.set(TODAY + timedelta(hours=16, minutes=30))
    # B, by the RT head: Bu Sri (hadir), then Pak Budi, Pak Joko, Pak Tono.
    mark(pak_rt, "1", "1 2").hears("*Datang* (tercatat): 2 dari 4 warga")
    clock.set(TODAY + timedelta(hours=18))
    return kampung


def test_koordinator_sees_every_rt_with_exact_figures(app, koordinator, season):
    koordinator.says("kelola acara")
    replies = koordinator.says("laporan keikutsertaan").hears(
        "Keikutsertaan acara per RT* sejak Senin, 24 Agustus 2026 pukul 18.00 WIB",
        "2 acara, 2 dengan daftar hadir.",
        "• RT 04: diundang 8, bilang hadir 3, datang 4 (50%), dari 2 acara",
        "• RT 05: diundang 2, bilang hadir 1, datang 1 (50%), dari 1 acara",
    ).offers("12 bulan terakhir").at("event_admin", "report")
    assert "3 bulan terakhir" not in replies.choices
    koordinator.says("12 bulan terakhir").hears("sejak Sabtu, 22 November 2025", "RT 04: diundang 8").offers(
        "3 bulan terakhir")


def test_an_rt_head_sees_only_their_rt(app, pak_rt, season):
    pak_rt.says("kelola acara")
    replies = pak_rt.says("laporan").hears("2 acara", "• RT 04: diundang 8, bilang hadir 3, datang 4 (50%)")
    assert "RT 05" not in replies.text


def test_a_quiet_period_says_so(app, koordinator):
    koordinator.says("kelola acara")
    koordinator.says("laporan").hears("0 acara", "Belum ada acara yang sudah lewat")
