"""Managing paguyuban in chat: the koordinator creates, renames and fills them; an RT
head may only look (and sees only their RT's members); residents are refused."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from datetime import timedelta

from bot.app import build_app
from bot.events import NewEvent, add_event
from bot.features import EffectContext
from bot.groups import FEATURE, group_chats_for, link_chat
from bot.residents import load_info
from bot.roles_admin import grant_role
from db.events import Event
from db.models import Membership, Paguyuban, Resident
from flows.groups import CreateGroup
from tests.transcript import Kampung

BUDI = "+6281234567009"


def grant(app, phone: str, role: str, rt: str | None = None) -> None:
    with app.sessions.begin() as session:
        grant_role(session, phone, role, rt)


@pytest.fixture
def budi(kampung, app, sri):
    """Pak Budi of RT 02, koordinator, at the main menu; Bu Sri (RT 04) is a resident."""
    budi = kampung.resident(f"whatsapp:{BUDI}")
    budi.onboard(name="Pak Budi", rt="2")
    grant(app, BUDI, "koordinator")
    return budi


def members(app, group: str) -> set[str]:
    with app.sessions() as session:
        return set(session.scalars(
            select(Resident.name).join(Membership, Membership.resident_id == Resident.id)
            .join(Paguyuban, Paguyuban.id == Membership.paguyuban_id).where(Paguyuban.name == group)))


def test_koordinator_adds_a_member_by_any_form_of_phone_number(budi, app):
    budi.says("menu pengurus").offers("Kelola paguyuban").at("staff", "menu")
    budi.says("kelola paguyuban").hears("Daftar paguyuban").offers("UMKM RW 05 (0 anggota)", "Buat paguyuban baru")
    budi.says("umkm").hears("Paguyuban *UMKM RW 05*, 0 anggota", "Belum ada anggota").at("groups", "group")
    budi.says("tambah").hears("nomor HP").at("groups", "add")
    budi.says("0812-3456-7001").hears("Bu Sri sudah masuk paguyuban *UMKM RW 05*", "• Bu Sri (RT 04)") \
        .at("groups", "group")
    assert members(app, "UMKM RW 05") == {"Bu Sri"}
    budi.says("tambah anggota")
    budi.says("62 812 3456 7001").hears("sudah menjadi anggota").at("groups", "group")
    budi.says("tambah")
    budi.says("+62 812 3456 7009").hears("Pak Budi sudah masuk", "• Pak Budi (RT 02)")
    assert members(app, "UMKM RW 05") == {"Bu Sri", "Pak Budi"}


def test_unknown_or_wrong_phone_gets_a_friendly_answer_and_loses_nothing(budi, app):
    budi.says("kelola paguyuban")
    budi.says("pkk")
    budi.says("tambah")
    budi.says("bu sri").hears("bukan nomor HP yang benar").at("groups", "add")
    budi.says("0813 9999 0000").hears("belum terdaftar di Kampung Bot").at("groups", "add")
    budi.says("081234567001").hears("Bu Sri sudah masuk paguyuban *PKK RW 05*").at("groups", "group")


def test_koordinator_creates_renames_and_removes(budi, app):
    budi.says("kelola paguyuban")
    budi.says("buat baru").hears("nama paguyuban yang baru").at("groups", "create")
    budi.says("x").hears("namanya belum bisa dipakai").at("groups", "create")
    budi.says("pkk rw 05").hears("Sudah ada paguyuban bernama *PKK RW 05*").at("groups", "create")
    budi.says("Kelompok Tani RW 05").hears("*Kelompok Tani RW 05* sudah dibuat", "0 anggota").at("groups", "group")
    budi.says("tambah")
    budi.says("081234567001").at("groups", "group")
    budi.says("ganti nama").at("groups", "rename")
    budi.says("Kelompok Tani Ngaliyan").hears("*Kelompok Tani RW 05* sudah diganti menjadi *Kelompok Tani Ngaliyan*")
    assert members(app, "Kelompok Tani Ngaliyan") == {"Bu Sri"}
    budi.says("keluarkan").offers("Bu Sri (RT 04)").at("groups", "remove")
    budi.says("bu sirr").hears("Bu Sri sudah dikeluarkan dari *Kelompok Tani Ngaliyan*").at("groups", "group")
    assert members(app, "Kelompok Tani Ngaliyan") == set()
    budi.says("daftar").offers("Kelompok Tani Ngaliyan (0 anggota)").at("groups", "list")


def test_remove_by_phone_and_not_a_member(budi, app):
    budi.says("kelola paguyuban")
    budi.says("karang taruna")
    budi.says("tambah")
    budi.says("081234567001")
    budi.says("keluarkan")
    budi.says("0812 3456 7009").hears("bukan anggota *Karang Taruna*").at("groups", "remove")
    budi.says("gimana ya").hears("belum jelas siapa").at("groups", "remove")
    budi.says("0812 3456 7001").hears("Bu Sri sudah dikeluarkan").at("groups", "group")


def test_batal_mid_way_keeps_what_was_saved(budi, app):
    budi.says("kelola paguyuban")
    budi.says("umkm")
    budi.says("tambah")
    budi.says("081234567001")
    budi.says("ganti nama")
    budi.says("batal").hears("Perubahan yang sudah tersimpan sebelumnya tetap tersimpan").at("help", "menu")
    assert members(app, "UMKM RW 05") == {"Bu Sri"}
    with app.sessions() as session:
        assert "UMKM RW 05" in session.scalars(select(Paguyuban.name)).all()


def test_kembali_goes_back_a_step(budi):
    budi.says("kelola paguyuban")
    budi.says("umkm")
    budi.says("tambah").at("groups", "add")
    budi.says("kembali").hears("Paguyuban *UMKM RW 05*").at("groups", "group")


def test_resume_after_a_restart(budi, settings, clock):
    budi.says("kelola paguyuban")
    budi.says("pengajian")
    budi.says("tambah").at("groups", "add")
    app2 = build_app(settings, clock=clock)
    try:
        again = Kampung(app2).resident(f"whatsapp:{BUDI}")
        again.says("0812 3456 7001").hears("Bu Sri sudah masuk paguyuban *Pengajian Al-Ikhlas*").at("groups", "group")
    finally:
        app2.engine.dispose()


def test_a_resident_is_refused(sri):
    sri.says("kelola paguyuban").hears("khusus pengurus").at("help", "menu")


def test_rt_head_may_only_list_and_sees_only_their_rt(budi, kampung, app):
    budi.says("kelola paguyuban")
    budi.says("umkm")
    budi.says("tambah")
    budi.says("081234567001")  # Bu Sri, RT 04
    budi.says("tambah")
    budi.says("081234567009")  # Pak Budi, RT 02
    grant(app, "+6281234567001", "ketua_rt", "04")
    sri = kampung.resident("whatsapp:+6281234567001")
    listing = sri.says("kelola paguyuban").offers("UMKM RW 05 (1 anggota)").at("groups", "list")
    assert "Buat paguyuban baru" not in listing.choices
    detail = sri.says("umkm").hears("• Bu Sri (RT 04)").at("groups", "group")
    assert "Pak Budi" not in detail.text
    assert detail.choice_ids == ["grp_list", "menu"]
    sri.says("tambah").hears("belum kami pahami").at("groups", "group")


def test_effects_are_refused_to_non_managers(budi, app):
    """The store checks the role again, whatever a flow might ask for."""
    with app.engine.begin() as conn:
        info, _ = load_info(conn, "whatsapp", "+6281234567001")
        says = FEATURE.effects[CreateGroup](EffectContext(conn, info, app.clock.now(), app.core.notifier),
                                            CreateGroup("Geng Sri"))
    assert [s.key for s in says] == ["common.not_allowed"]


@pytest.mark.parametrize("lang, number, words", [
    ("en", "2", ("manage paguyuban", "The kampung's paguyuban", "Add a member", "phone number of the resident",
                 "is not a valid phone number", "has joined paguyuban")),
    ("jv", "3", ("ngatur paguyuban", "Dhaptar paguyuban ing kampung", "Nambah anggota", "nomer HP warga",
                 "dudu nomer HP sing bener", "wis mlebu paguyuban")),
])
def test_other_languages(kampung, app, lang, number, words):
    command, listing, add, ask, invalid, added = words
    budi = kampung.resident(f"whatsapp:{BUDI}")
    budi.onboard(name="Pak Budi", rt="2", language=number)
    grant(app, BUDI, "koordinator")
    budi.says(command).hears(listing).at("groups", "list")
    budi.says("1").offers(add).at("groups", "group")
    budi.says(add).hears(ask).at("groups", "add")
    replies = budi.says("hello").hears(invalid).at("groups", "add")
    assert "bukan nomor" not in replies.text and "Ketik nomor" not in replies.text
    budi.says("0812 3456 7009").hears(added).at("groups", "group")


def test_group_chats_for_a_paguyuban(app):
    with app.engine.begin() as conn:
        pkk = conn.scalar(select(Paguyuban.id).where(Paguyuban.name == "PKK RW 05"))
        umkm = conn.scalar(select(Paguyuban.id).where(Paguyuban.name == "UMKM RW 05"))
        link_chat(conn, pkk, "-1001", app.clock.now())
        link_chat(conn, pkk, "-1002", app.clock.now())
        link_chat(conn, umkm, "-1003", app.clock.now())
        link_chat(conn, umkm, "-1002", app.clock.now())  # moved
        assert group_chats_for(conn, "pkk rw 05") == ["-1001"]
        assert group_chats_for(conn, "UMKM RW 05") == ["-1003", "-1002"]
        assert group_chats_for(conn, "Karang Taruna") == []


def test_a_paguyuban_removed_meanwhile_leads_back_to_the_list(budi, app):
    budi.says("kelola paguyuban")
    budi.says("karang taruna").at("groups", "group")
    with app.engine.begin() as conn:
        conn.execute(delete(Paguyuban).where(Paguyuban.name == "Karang Taruna"))
    budi.says("kembali").hears("Daftar paguyuban").at("groups", "list")
    budi.says("3").hears("Paguyuban *UMKM RW 05*").at("groups", "group")
    with app.engine.begin() as conn:
        conn.execute(delete(Paguyuban).where(Paguyuban.name == "UMKM RW 05"))
    budi.says("tambah").hears("paguyuban itu sudah tidak ada").offers("Daftar paguyuban").at("groups", "group")
    budi.says("1").hears("Daftar paguyuban").at("groups", "list")


# -- linking a Telegram group: /hubungkan, sent in the group ------------------------------
GROUP = "-1001234"


def in_group(app, user_id, text="", choice=None):
    from bot.messages import IncomingMessage

    msg = IncomingMessage("telegram", GROUP, text, choice_id=choice, sender_id=str(user_id))
    return [out.to_dict() for out in app.core.receive(msg)]


def test_koordinator_links_a_telegram_group_by_name(kampung, app):
    from bot.groups import group_chats_for

    koor = kampung.resident("telegram:501")
    koor.onboard(name="Pak Koor")
    _make_koordinator(app, "telegram", "501")
    replies = in_group(app, 501, "/hubungkan UMKM RW 05")
    assert [r["address"] for r in replies] == [GROUP]
    assert "*UMKM RW 05*" in replies[0]["text"]
    with app.engine.connect() as conn:
        assert group_chats_for(conn, "UMKM RW 05") == [GROUP]


def test_without_a_name_the_bot_asks_which_paguyuban_with_buttons(kampung, app):
    from bot.groups import group_chats_for

    kampung.resident("telegram:502").onboard(name="Bu Koor")
    _make_koordinator(app, "telegram", "502")
    asked = in_group(app, 502, "/hubungkan")
    assert "UMKM RW 05" in [c["label"] for c in asked[-1]["choices"]]
    choice = next(c["id"] for c in asked[-1]["choices"] if c["label"] == "PKK RW 05")
    done = in_group(app, 502, choice=choice)
    assert "*PKK RW 05*" in done[-1]["text"]
    with app.engine.connect() as conn:
        assert group_chats_for(conn, "PKK RW 05") == [GROUP]


def test_group_chatter_strangers_and_residents_are_not_answered_or_obeyed(kampung, app):
    from bot.groups import group_chats_for

    assert in_group(app, 503, "selamat pagi semua") == []
    assert "belum mengenal Anda" in in_group(app, 503, "/hubungkan UMKM RW 05")[0]["text"]
    kampung.resident("telegram:504").onboard(name="Pak Warga")
    assert "khusus pengurus" in in_group(app, 504, "/hubungkan UMKM RW 05")[0]["text"]
    with app.engine.connect() as conn:
        assert group_chats_for(conn, "UMKM RW 05") == []


def test_hubungkan_in_a_private_chat_explains_where_to_send_it(kampung, app):
    koor = kampung.resident("telegram:505")
    koor.onboard(name="Pak Koor")
    _make_koordinator(app, "telegram", "505")
    koor.says("/hubungkan UMKM RW 05").hears("di dalam grup Telegram").at("help", "menu")


def _make_koordinator(app, channel, address):
    from sqlalchemy import select

    from db.models import Identity, RoleGrant

    with app.sessions.begin() as session:
        rid = session.scalars(select(Identity.resident_id).where(
            Identity.channel == channel, Identity.address == address)).one()
        session.add(RoleGrant(resident_id=rid, role="koordinator"))


def test_a_new_or_renamed_paguyuban_is_offered_at_once(budi, sri):
    """The core's kampung cache is dropped after a change, not 30 s later."""
    budi.says("kelola paguyuban")
    budi.says("buat baru")
    budi.says("Kelompok Tani RW 05").hears("sudah dibuat")
    sri.says("ubah data")
    sri.says("paguyuban").offers("Kelompok Tani RW 05").at("privacy", "edit_paguyuban")
    sri.says("batal")
    budi.says("ganti nama")
    budi.says("Kelompok Tani Ngaliyan").hears("sudah diganti")
    sri.says("ubah data")
    offered = sri.says("paguyuban").offers("Kelompok Tani Ngaliyan").choices
    assert "Kelompok Tani RW 05" not in offered


def test_renaming_carries_over_to_events_and_surveys_for_that_paguyuban(budi, app, clock):
    with app.engine.begin() as conn:
        add_event(conn, app.core.notifier, NewEvent("pelatihan", "Pelatihan foto produk", clock.now() + timedelta(days=3),
                                                    "Balai RW", "paguyuban:UMKM RW 05"), clock.now(), "Asia/Jakarta")
        add_event(conn, app.core.notifier, NewEvent("rembuk", "Rembuk PKK", clock.now() + timedelta(days=3),
                                                    "Balai RW", "paguyuban:PKK RW 05"), clock.now(), "Asia/Jakarta")
    budi.says("kelola paguyuban")
    budi.says("umkm")
    budi.says("ganti nama")
    budi.says("UMKM Purwoyoso").hears("sudah diganti")
    with app.sessions() as session:
        assert set(session.scalars(select(Event.audience))) == {"paguyuban:UMKM Purwoyoso", "paguyuban:PKK RW 05"}
