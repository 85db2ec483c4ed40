"""Who may manage events: residents are refused by the router; an RT head sees and acts
on their own RT's events only, in chat and again in the read view and effect handlers
(a forged event id or audience changes nothing); kampung-wide staff see everything."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.event_admin import (
    EventAdminView,
    cancel_event_effect,
    create_event,
    edit_event_effect,
    mark_attendance,
)
from bot.features import EffectContext
from bot.roles_admin import grant_role
from db.events import Event, EventAttendance
from db.models import Resident
from flows.base import ResidentInfo
from flows.event_admin import CancelEvent, EditEvent, MarkAttendance
from flows.event_builder import CreateEvent
from tests import test_event_admin_create as base
from tests.test_event_admin_create import (
    INVITATION,
    PAK_RT,
    SRI,
    WATI,
    create,
    events,
    texts,
)

# Shared fixtures (tests/test_event_admin_create.py).
koordinator, neighbours, pak_rt = base.koordinator, base.neighbours, base.pak_rt


@pytest.fixture
def three_events(app, koordinator):
    """Everyone (Sabtu), RT 05 (Minggu) and RT 04 (besok), made by the koordinator."""
    for title, audience, when in (("Rapat semua", "Semua warga", ("Sabtu", "jam 8 malam")),
                                  ("Kerja bakti RT 05", "Warga RT 05", ("Minggu depan jam 7 pagi",)),
                                  ("Posyandu RT 04", "Warga RT 04", ("besok jam 9 pagi",))):
        create(koordinator, title=title, audience=audience, when=when)
        koordinator.says("simpan").hears("tersimpan")
    return {e.title: e.id for e in events(app)}


def rt_head_info(app) -> ResidentInfo:
    with app.sessions() as session:
        rid = session.scalar(select(Resident.id).where(Resident.phone == PAK_RT))
    return ResidentInfo(rid, "Pak Joko", "04", "id", (), (("ketua_rt", "04"),), True, False, PAK_RT, ("whatsapp",))


def test_residents_are_refused_however_they_ask(app, sri, kampung):
    sri.says("kelola acara").hears("khusus pengurus").at("help", "menu")
    sri.says("buat acara").hears("khusus pengurus").at("help", "menu")
    sri.presses("eva_new").hears("tidak berlaku").at("help", "menu")  # a button never shown to her
    assert "Kelola acara (undangan, daftar hadir)" not in sri.says("menu").choices


def test_staff_see_the_tool_in_the_staff_menu(app, pak_rt, koordinator, kampung):
    pak_rt.says("menu pengurus").offers("Kelola acara (undangan, daftar hadir)")
    pak_rt.says("kelola acara").at("event_admin", "menu")
    with app.sessions.begin() as session:
        grant_role(session, WATI, "ketua_rw", None)
    kampung.resident(f"whatsapp:{WATI}").says("menu pengurus").offers("Kelola acara (undangan, daftar hadir)")


def test_rt_head_lists_and_opens_only_their_rts_events(app, pak_rt, three_events):
    replies = pak_rt.says("kelola acara")
    replies = pak_rt.says("daftar acara").hears("Posyandu RT 04").at("event_admin", "list")
    assert "Rapat semua" not in replies.text and "Kerja bakti RT 05" not in replies.text
    assert replies.choices == ["Posyandu RT 04", "Buat acara baru", "Kembali ke kelola acara"]
    pak_rt.presses(f"eva_event_{three_events['Kerja bakti RT 05']}").hears("tidak berlaku").at("event_admin", "list")
    pak_rt.says("Kerja bakti RT 05").hears("belum").at("event_admin", "list")
    pak_rt.says("1").hears("Posyandu RT 04", "Warga RT 04").at("event_admin", "detail")


def test_kampung_wide_staff_see_every_event(app, koordinator, three_events, kampung):
    koordinator.says("kelola acara")
    koordinator.says("daftar acara").hears("Posyandu RT 04", "Rapat semua", "Kerja bakti RT 05")


def test_the_read_view_and_effect_handlers_enforce_the_rt_head_scope(app, pak_rt, three_events, clock):
    rt05, everyone, own = (three_events[t] for t in ("Kerja bakti RT 05", "Rapat semua", "Posyandu RT 04"))
    joko = rt_head_info(app)
    with app.engine.begin() as conn:
        view = EventAdminView(conn, joko, clock.now(), app.settings)
        assert [e.id for e in view.events()] == [own]
        assert view.get(rt05) is None and view.get(everyone) is None and view.people(rt05) == []
        ectx = EffectContext(conn, joko, clock.now(), app.core.notifier, app.settings)
        for handler, effect in ((edit_event_effect, EditEvent(rt05, "place", "Rumah saya")),
                                (edit_event_effect, EditEvent(everyone, "title", "Punya saya")),
                                (cancel_event_effect, CancelEvent(rt05)),
                                (cancel_event_effect, CancelEvent(everyone))):
            [said] = handler(ectx, effect)
            assert said.key == "event_admin.gone_id"
        later = EffectContext(conn, joko, clock.now() + timedelta(days=10), app.core.notifier, app.settings)
        [said] = mark_attendance(later, MarkAttendance(rt05, add=(1, 2)))
        assert said.key == "event_admin.gone_id"
        # A forged audience beyond his RT is refused; his own is fine.
        new = {"kind": "rembuk", "title": "", "starts_at": (clock.now() + timedelta(days=2)).isoformat(),
               "place": "Pos", "agenda": "", "checklist": False}
        for audience in ("all", "rt:05", "paguyuban:UMKM RW 05", "rw"):
            [said] = create_event(ectx, CreateEvent(audience=audience, **new))
            assert said.key == "event_admin.audience_not_allowed"
        [said] = create_event(ectx, CreateEvent(audience="rt:04", **new))
        assert said.key == "event_admin.saved"
        # Attendance before the start is refused, even for his own event.
        [said] = mark_attendance(ectx, MarkAttendance(own, add=(joko.id,)))
        assert said.key == "event_admin.not_started"
    with app.sessions() as session:
        stored = {e.title: e for e in session.scalars(select(Event))}
        assert session.scalars(select(EventAttendance)).all() == []
    assert stored["Kerja bakti RT 05"].place != "Rumah saya" and stored["Kerja bakti RT 05"].cancelled_at is None
    assert "Punya saya" not in stored and stored["Rapat semua"].cancelled_at is None
    assert stored["Rembuk warga"].audience == "rt:04"  # the default title, in his language
    assert len(texts(app, SRI, INVITATION)) == 3  # Rapat semua, Posyandu RT 04, Rembuk warga
