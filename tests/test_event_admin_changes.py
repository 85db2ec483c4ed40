"""Editing and cancelling an event in chat: invitees are told (those who declined hear
of a new time and of a cancellation, not of other changes; STOP hears nothing),
reminders are rescheduled or dropped, and a cancelled event leaves residents' lists."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.groups import find_group, link_chat
from db.events import Event
from tests import test_event_admin_create as base
from tests.test_event_admin_create import (
    BUDI,
    SABTU,
    SRI,
    TONO,
    WATI,
    create,
    events,
    reminder_rows,
    texts,
)
from tests.test_events_reminders import clock_to, reminders

# Shared fixtures (tests/test_event_admin_create.py).
koordinator, neighbours = base.koordinator, base.neighbours

CHANGED = "Ada perubahan acara"
CANCELLED = "Acara dibatalkan"


TODAY_3PM = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def rt04_event(app, koordinator, kampung, when=("Sabtu", "jam 8 malam"), flush=True):
    """Musyawarah kas RW for RT 04, Sabtu 20.00; Pak Budi answers tidak hadir. With `flush`,
    messages so far are sent through `kampung simulate` (which then owns the app's clock)."""
    create(koordinator, audience="Warga RT 04", when=when)
    koordinator.says("simpan").hears("Undangan terkirim ke 2 warga")
    budi = kampung.resident(f"whatsapp:{BUDI}")
    budi.says("acara")
    budi.says("1")
    budi.says("tidak hadir").hears("tidak hadir")
    koordinator.says("kelola acara")
    koordinator.says("daftar acara").hears("Musyawarah kas RW", "Warga RT 04").at("event_admin", "list")
    # Invited: Sri, Budi and Tono (who said STOP: he gets no messages, but he is still of RT 04).
    if flush:
        clock_to(app, "2026-11-22T10:00:00+07:00")
    return koordinator.says("1").hears("Warga RT 04, 3 warga", "hadir 0, tidak hadir 1, mungkin 0, belum menjawab 2").offers(
        "Siapa saja yang menjawab", "Ubah acara", "Batalkan acara ini").at("event_admin", "detail")


def test_new_time_tells_every_invitee_and_moves_the_reminders(app, koordinator, kampung):
    rt04_event(app, koordinator, kampung)
    koordinator.says("ubah acara").offers("Judul", "Waktu", "Tempat", "Agenda").at("event_admin", "edit")
    koordinator.says("waktu").hears("Kapan acaranya?").at("event_admin", "edit_value")
    koordinator.says("29/11").at("event_admin", "edit_hour")
    koordinator.says("jam 9 pagi").hears("Waktu *Musyawarah kas RW* sudah diubah. 2 warga sudah dikabari.",
                                         "Minggu, 29 November 2026 pukul 09.00 WIB").at("event_admin", "detail")
    assert events(app)[0].starts_at == datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
    for phone in (SRI, BUDI):  # Budi declined, but a new time may suit him
        [notice] = texts(app, phone, CHANGED)
        assert "Waktunya pindah (sebelumnya: " + SABTU + ")" in notice
        assert "Minggu, 29 November 2026 pukul 09.00 WIB" in notice and "Balas *acara*" in notice
    assert texts(app, TONO, CHANGED) == [] and texts(app, WATI, CHANGED) == []
    # Saturday 19.00 (the evening before) and Sunday 07.00 (2 hours before), both pending; nothing else.
    assert reminder_rows(app) == [(datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc), "pending"),
                                  (datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc), "pending")]
    assert reminders(clock_to(app, "2026-11-27T19:00:00+07:00")) == []  # the old evening reminder is gone
    # Sri last wrote days before: outside WhatsApp's window the dispatcher may send it by SMS.
    assert [to.split(":")[1] for to in reminders(clock_to(app, "2026-11-28T19:00:00+07:00"))] == [SRI]


def test_other_changes_skip_those_who_declined(app, koordinator, kampung):
    rt04_event(app, koordinator, kampung)
    koordinator.says("ubah acara")
    koordinator.says("tempat").hears("tempat baru")
    koordinator.says("Rumah Pak RT, gang 3").hears("Tempat *Musyawarah kas RW* sudah diubah. 1 warga sudah dikabari.")
    [notice] = texts(app, SRI, CHANGED)
    assert "Tempatnya pindah (sebelumnya: Balai RW 05)" in notice and "Rumah Pak RT, gang 3" in notice
    assert texts(app, BUDI, CHANGED) == []
    koordinator.says("ubah acara")
    koordinator.says("judul")
    koordinator.says("Rembuk kas RW").hears("*Rembuk kas RW* sudah diubah")
    koordinator.says("ubah acara")
    koordinator.says("agenda")
    koordinator.says("lewati").hears("Agenda *Rembuk kas RW* sudah diubah")
    event = events(app)[0]
    assert (event.title, event.place, event.agenda) == ("Rembuk kas RW", "Rumah Pak RT, gang 3", "")
    assert len(texts(app, SRI, CHANGED)) == 3
    assert reminder_rows(app) == [(datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc), "pending"),
                                  (datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc), "pending")]


def test_a_past_time_is_refused_kindly(app, koordinator, kampung):
    rt04_event(app, koordinator, kampung)
    koordinator.says("ubah acara")
    koordinator.says("waktu")
    koordinator.says("kemarin jam 8 malam").hears("sudah lewat").at("event_admin", "edit_value")
    koordinator.says("menu").at("help", "menu")
    assert events(app)[0].starts_at == datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)


def test_cancel_tells_everyone_drops_reminders_and_leaves_the_residents_list(app, koordinator, kampung, clock):
    rt04_event(app, koordinator, kampung)
    koordinator.says("batalkan acara ini").hears("Batalkan *Musyawarah kas RW*", "2 warga").at(
        "event_admin", "cancel_confirm")
    koordinator.says("tidak").hears("tetap jalan").at("event_admin", "detail")
    assert events(app)[0].cancelled_at is None
    koordinator.says("3")  # Batalkan acara ini
    koordinator.says("ya").hears("*Musyawarah kas RW* dibatalkan. 2 warga sudah dikabari.").at(
        "event_admin", "list")
    assert events(app)[0].cancelled_at == clock.now()
    for phone in (SRI, BUDI):  # Budi declined, and hears of the cancellation all the same
        [notice] = texts(app, phone, CANCELLED)
        assert "Musyawarah kas RW" in notice and SABTU in notice
    assert texts(app, TONO, CANCELLED) == []
    assert [status for _, status in reminder_rows(app)] == ["dropped", "dropped"]
    assert reminders(clock_to(app, "2026-11-27T19:00:00+07:00", "2026-11-28T18:00:00+07:00")) == []
    sri = kampung.resident(f"whatsapp:{SRI}")
    sri.says("acara").hears("Belum ada acara").at("events", "list")
    koordinator.says("kelola acara")
    koordinator.says("daftar acara").hears("Belum ada acara")


def test_a_resident_looking_at_a_cancelled_event_is_told_it_is_gone(app, koordinator, kampung):
    rt04_event(app, koordinator, kampung)
    sri = kampung.resident(f"whatsapp:{SRI}")
    sri.says("acara")
    sri.says("1").at("events", "detail")
    koordinator.says("batalkan acara ini")
    koordinator.says("ya")
    sri.says("hadir").hears("sudah lewat atau dibatalkan").at("events", "detail")
    sri.says("menu")
    sri.says("acara").hears("Belum ada acara")


def test_a_started_event_can_no_longer_be_changed(app, koordinator, kampung, clock):
    rt04_event(app, koordinator, kampung, when=("jam 3 sore",), flush=False)
    koordinator.says("ubah acara").at("event_admin", "edit")
    clock.set(TODAY_3PM + timedelta(minutes=5))
    koordinator.says("tempat").hears("sudah dimulai").at("event_admin", "edit")
    koordinator.says("kembali ke acara").offers("Catat kehadiran", "Siapa saja yang menjawab").at("event_admin", "detail")
    assert "Ubah acara" not in koordinator.says("kelola acara").choices


def test_the_edit_is_refused_if_the_event_starts_while_typing(app, koordinator, kampung, clock):
    rt04_event(app, koordinator, kampung, when=("jam 3 sore",), flush=False)
    koordinator.says("ubah acara")
    koordinator.says("tempat").at("event_admin", "edit_value")
    clock.set(TODAY_3PM + timedelta(minutes=5))
    koordinator.says("Rumah Pak RT").hears("sudah dimulai")
    with app.engine.connect() as conn:
        assert conn.scalar(select(Event.place)) == "Balai RW 05"
    assert texts(app, SRI, CHANGED) == []


def test_a_paguyubans_linked_telegram_group_gets_the_invitation_and_the_cancellation(app, koordinator, clock):
    with app.engine.begin() as conn:
        link_chat(conn, find_group(conn, "PKK RW 05").id, "-100777", clock.now())
    create(koordinator, audience="Paguyuban PKK RW 05")
    koordinator.says("simpan").hears("tersimpan")
    [invitation] = texts(app, "-100777")
    assert "Undangan acara" in invitation and "chat pribadi dengan Kampung Bot" in invitation and SABTU in invitation
    koordinator.says("daftar acara")
    koordinator.says("1")
    koordinator.says("batalkan acara ini")
    koordinator.says("ya").hears("dibatalkan")
    assert CANCELLED in texts(app, "-100777")[-1]
