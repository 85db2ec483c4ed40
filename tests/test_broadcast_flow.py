"""Announcements in chat ("kirim pengumuman"): who may send to whom, the preview, sending
now in the same transaction, natural and repeating times, quiet hours, STOP, photos,
linked Telegram groups, listing and cancelling, bad answers, batal, and Javanese."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.groups import add_member, find_group, link_chat
from bot.media import PhotoFetcher
from bot.messages import Media
from bot.roles_admin import grant_role
from db.broadcasts import Broadcast, BroadcastDelivery
from db.models import Outbox
from scheduler.due import DueTasks

KOOR, PAK_RT = "+6281234567005", "+6281234567004"
SRI, BUDI, TONO, WATI = (f"whatsapp:+62812345670{n:02d}" for n in (1, 2, 3, 6))
DARMI = "telegram:5150"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def announcements(app) -> list[dict]:
    """Outbox rows carrying an announcement: address and text."""
    with app.engine.connect() as conn:
        rows = conn.execute(select(Outbox.channel, Outbox.address, Outbox.payload, Outbox.resident_id)
                            .order_by(Outbox.id)).all()
    return [{"channel": c, "to": a, "text": p["text"], "media_url": p["media_url"], "document": p["document_path"],
             "resident_id": r} for c, a, p, r in rows if "📢" in p["text"]]


def broadcasts(app) -> list:
    with app.engine.connect() as conn:
        return conn.execute(select(Broadcast.__table__).order_by(Broadcast.id)).all()


def make_warga(kampung):
    """Sri, Budi and Tono (STOP) in RT 04; Wati in RT 05; Mbah Darmi (Javanese, Telegram) in RT 04."""
    for sender, name, rt in ((SRI, "Bu Sri", "4"), (BUDI, "Pak Budi", "4"), (TONO, "Pak Tono", "4"),
                             (WATI, "Bu Wati", "5")):
        kampung.resident(sender).onboard(name=name, rt=rt)
    kampung.resident(DARMI).onboard(name="Mbah Darmi", rt="4", language="3")
    kampung.resident(TONO).says("STOP")
    return kampung


def make_koordinator(kampung, app):
    """Bu Ani of RT 05, koordinator."""
    ani = kampung.resident(f"whatsapp:{KOOR}")
    ani.onboard(name="Bu Ani", rt="5")
    with app.sessions.begin() as session:
        grant_role(session, KOOR, "koordinator", None)
    return ani


@pytest.fixture
def warga(kampung):
    return make_warga(kampung)


@pytest.fixture
def koordinator(kampung, app):
    return make_koordinator(kampung, app)


@pytest.fixture
def pak_rt(kampung, app):
    joko = kampung.resident(f"whatsapp:{PAK_RT}")
    joko.onboard(name="Pak Joko", rt="4")
    with app.sessions.begin() as session:
        grant_role(session, PAK_RT, "ketua_rt", "04")
    return joko


def start(staff, text: str = "Besok Minggu kerja bakti jam 7 pagi di gang 3, bawa cangkul ya"):
    staff.says("menu pengurus").offers("Kirim pengumuman")
    staff.says("kirim pengumuman").hears("Tulis isi pengumumannya").at("broadcast", "text")
    return staff.says(text).at("broadcast", "audience")


def test_koordinator_sends_to_everyone_now_stop_skipped(app, warga, koordinator):
    start(koordinator).offers("Semua warga", "Warga satu RT", "Anggota paguyuban")
    koordinator.says("semua warga").hears("Kapan dikirim?").offers("Sekarang", "Berulang (rutin)")
    preview = koordinator.says("sekarang").at("broadcast", "preview")
    # Sri, Budi, Wati, Darmi and Bu Ani herself; Tono said STOP
    preview.hears("Besok Minggu kerja bakti jam 7 pagi", "semua warga, 5 warga", "Dilewati: 1 warga yang minta STOP",
                  "Dikirim: sekarang").offers("Kirim", "Ubah", "Batal")
    done = koordinator.says("kirim").at("staff", "menu")
    done.hears("Pengumuman #1 sedang dikirim ke semua warga: 5 warga (WhatsApp 4, Telegram 1). "
               "1 warga dilewati karena minta STOP")
    sent = announcements(app)
    assert sorted(m["to"] for m in sent) == sorted([SRI.split(":")[1], BUDI.split(":")[1], WATI.split(":")[1],
                                                     "5150", KOOR])
    by_to = {m["to"]: m["text"] for m in sent}
    assert by_to[SRI.split(":")[1]] == ("📢 Pengumuman dari Bu Ani (koordinator):\n"
                                        "Besok Minggu kerja bakti jam 7 pagi di gang 3, bawa cangkul ya")
    assert by_to["5150"].startswith("📢 Woro-woro saka Bu Ani (koordinator):")  # her own language
    [row] = broadcasts(app)
    assert (row.status, row.audience, row.rule, row.next_run_at) == ("sending", "all", None, None)
    with app.engine.connect() as conn:
        delivered = conn.execute(select(BroadcastDelivery.resident_id, BroadcastDelivery.outbox_id)).all()
    assert len(delivered) == 5 and all(outbox_id for _, outbox_id in delivered)


def test_a_resident_is_refused(warga):
    sri = warga.resident(SRI)
    sri.says("kirim pengumuman").hears("khusus pengurus").at("help", "menu")
    sri.says("pengumuman terjadwal").hears("khusus pengurus").at("help", "menu")
    sri.says("menu pengurus").hears("khusus pengurus").at("help", "menu")


def test_rt_head_may_address_only_their_own_rt(app, warga, pak_rt):
    start(pak_rt, "Iuran sampah bulan Desember bisa dibayar ke bendahara RT").offers("RT 04")
    replies = pak_rt.says("rt 05")  # not offered: asked again
    assert replies.choices == ["RT 04"]
    pak_rt.says("RT 04").at("broadcast", "when")
    pak_rt.says("sekarang").hears("warga RT 04, 4 warga", "Dilewati: 1")  # Sri, Budi, Darmi, Pak Joko
    pak_rt.says("kirim").hears("Pengumuman #1 sedang dikirim ke warga RT 04: 4 warga")
    sent = announcements(app)
    assert WATI.split(":")[1] not in [m["to"] for m in sent]
    assert sent[0]["text"].startswith("📢 Pengumuman dari Pak Joko (Ketua RT 04):")


def test_the_effect_handler_checks_the_audience_again(app, warga, pak_rt):
    """Whatever a flow asks for, an RT head's broadcast to another RT is refused by the handler."""
    from bot.broadcasts import FEATURE
    from bot.features import EffectContext
    from bot.residents import load_info
    from flows.broadcast import CreateBroadcast

    with app.engine.begin() as conn:
        info, _ = load_info(conn, "whatsapp", PAK_RT)
        said = FEATURE.effects[CreateBroadcast](EffectContext(conn, info, app.clock.now(), app.core.notifier,
                                                              app.settings), CreateBroadcast("Hai semua", "rt:05"))
        assert said[0].key == "broadcast.not_yours"
        said = FEATURE.effects[CreateBroadcast](EffectContext(conn, info, app.clock.now(), app.core.notifier,
                                                              app.settings), CreateBroadcast("Hai semua", "all"))
        assert said[0].key == "broadcast.not_yours"
    assert broadcasts(app) == [] and announcements(app) == []


def test_scheduled_at_a_natural_time(app, warga, koordinator, clock):
    start(koordinator, "Rapat pengurus RW di balai warga")
    koordinator.says("Warga satu RT").offers("RT 04", "RT 05")
    koordinator.says("RT 05")
    koordinator.says("nanti").hears("Kapan dikirim? Tulis hari dan jamnya").at("broadcast", "at")
    koordinator.says("kemarin jam 8").hears("Waktu itu sudah lewat").at("broadcast", "at")
    koordinator.says("jam berapa ya").hears("belum paham waktunya").at("broadcast", "at")
    koordinator.says("sabtu").hears("Jam berapa?").at("broadcast", "at")
    koordinator.says("jam 4 sore").hears("Sabtu, 28 November 2026 pukul 16.00 WIB", "warga RT 05, 2 warga") \
        .at("broadcast", "preview")
    koordinator.says("kirim").hears("Pengumuman #1 untuk warga RT 05 akan dikirim Sabtu, 28 November 2026 pukul 16.00 WIB")
    [row] = broadcasts(app)
    assert (row.status, row.next_run_at) == ("scheduled", datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc))
    assert announcements(app) == []


def test_a_time_typed_at_the_when_question_and_a_repetition(app, warga, koordinator):
    start(koordinator, "Jadwal ronda malam, cek grup")
    koordinator.says("semua")
    koordinator.says("setiap Jumat jam 16.00").hears("setiap Jumat jam 16.00").at("broadcast", "preview")
    koordinator.says("ya").hears("dikirim setiap Jumat jam 16.00. Yang pertama Jumat, 27 November 2026 pukul 16.00 WIB")
    [row] = broadcasts(app)
    assert (row.rule, row.status) == ("weekly:4@16:00", "scheduled")


def test_repeating_answers_that_need_more(koordinator, warga):
    start(koordinator, "Jadwal ronda malam, cek grup")
    koordinator.says("semua")
    koordinator.says("berulang").hears("Kapan saja dikirim?").at("broadcast", "every")
    koordinator.says("setiap jumat").hears("Jam berapa?").at("broadcast", "every")
    koordinator.says("tiap bulan jam 8").hears("Hari apa?").at("broadcast", "every")
    koordinator.says("tiap tanggal 40 jam 8").hears("tidak ada").at("broadcast", "every")
    koordinator.says("besok jam 9 pagi").hears("Senin, 23 November 2026 pukul 09.00 WIB").at("broadcast", "preview")


def test_quiet_hours_refuse_a_time_and_offer_the_end_of_the_quiet_period(app, warga, koordinator):
    start(koordinator, "Pengumuman lomba 17an")
    koordinator.says("semua")
    quiet = koordinator.says("besok jam 10 malam").at("broadcast", "quiet")
    quiet.hears("Senin, 23 November 2026 pukul 22.00 WIB masuk jam tenang (21.00–06.00)",
                "Bagaimana kalau Selasa, 24 November 2026 pukul 06.00 WIB?").offers("Kirim tgl 24/11 jam 06.00")
    koordinator.says("ya").hears("Dikirim: Selasa, 24 November 2026 pukul 06.00 WIB").at("broadcast", "preview")


def test_quiet_hours_refuse_a_repetition_too(app, warga, koordinator):
    start(koordinator, "Jangan lupa kunci pagar")
    koordinator.says("semua")
    koordinator.says("berulang")
    koordinator.says("tiap hari jam 11 malam").hears("Jadwal setiap hari jam 23.00 masuk jam tenang",
                                                     "Bagaimana kalau setiap hari jam 06.00?") \
        .offers("Ya, pakai jadwal itu").at("broadcast", "quiet")
    koordinator.says("tiap hari jam 8 malam").hears("Dikirim: setiap hari jam 20.00").at("broadcast", "preview")


def test_now_inside_quiet_hours_asks_again(app, warga, koordinator, clock):
    clock.set(datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc))  # 22.30 WIB
    start(koordinator, "Ada kebakaran kecil di gang 2, sudah padam")
    koordinator.says("semua")
    koordinator.says("sekarang").hears("Sudah malam (jam tenang 21.00–06.00)", "Senin, 23 November 2026 pukul 06.00 WIB") \
        .offers("Tetap kirim sekarang", "Kirim besok jam 06.00", "Pilih waktu lain").at("broadcast", "now_quiet")
    koordinator.says("tetap kirim sekarang").hears("Dikirim: sekarang").at("broadcast", "preview")
    koordinator.says("kirim").hears("Pengumuman #1 sedang dikirim")
    assert len(announcements(app)) == 5


def test_now_inside_quiet_hours_can_wait_for_the_morning(app, warga, koordinator, clock):
    clock.set(datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc))
    start(koordinator, "Besok pagi ada posyandu")
    koordinator.says("semua")
    koordinator.says("sekarang")
    koordinator.says("kirim besok jam 06.00").hears("Dikirim: Senin, 23 November 2026 pukul 06.00 WIB")
    koordinator.says("kirim").hears("akan dikirim Senin, 23 November 2026 pukul 06.00 WIB")
    assert announcements(app) == []


def test_a_paguyuban_with_a_linked_telegram_group(app, warga, koordinator):
    with app.engine.begin() as conn:
        group = find_group(conn, "UMKM RW 05")
        for resident_id in (1, 4):  # Sri, Wati
            add_member(conn, group.id, resident_id)
        link_chat(conn, group.id, "-1001234567890", app.clock.now())
    app.core._kampung_cache = (None, 0.0)  # the 30-second kampung cache (a known gap of the core)
    start(koordinator, "Bazar UMKM hari Sabtu, daftar stan ke Bu Ani")
    koordinator.says("paguyuban").hears("Untuk paguyuban yang mana?").offers("UMKM RW 05")
    koordinator.says("UMKM RW 05")
    koordinator.says("sekarang").hears("paguyuban UMKM RW 05, 2 warga (WhatsApp 2) + 1 grup Telegram")
    koordinator.says("kirim").hears("Pengumuman #1 sedang dikirim ke paguyuban UMKM RW 05: 2 warga (WhatsApp 2) + 1 grup "
                                     "Telegram")
    sent = announcements(app)
    group_posts = [m for m in sent if m["to"] == "-1001234567890"]
    assert len(group_posts) == 1 and group_posts[0]["channel"] == "telegram" and group_posts[0]["resident_id"] is None
    assert sorted(m["to"] for m in sent if m["resident_id"]) == sorted([SRI.split(":")[1], WATI.split(":")[1]])


def fetch_photos(app, clock, **downloads: bytes) -> int:
    """One pass of the worker's photo fetcher; `downloads` maps a reference prefix to the bytes its channel gives."""
    def downloader(data: bytes):
        async def download(ref: str) -> bytes:
            return data
        return download

    prefixes = {prefix.replace("_", "-") + ":": downloader(data) for prefix, data in downloads.items()}
    return asyncio.run(PhotoFetcher(app.engine, app.settings.data_dir, clock, prefixes).fetch_pending())


def test_a_photo_from_whatsapp_is_fetched_then_goes_to_every_channel(app, warga, koordinator, clock):
    koordinator.says("kirim pengumuman")
    koordinator.says("Ini denah lokasi bazar", media=[Media("https://api.twilio.com/M1/Media/ME1", "image/png")]) \
        .hears("Fotonya ikut dikirim").at("broadcast", "audience")
    koordinator.says("semua")
    koordinator.says("sekarang").hears("Foto: ada")
    koordinator.says("kirim").hears("dikirim sebentar lagi, begitu fotonya siap")
    DueTasks.of(app).run(clock.now())
    assert announcements(app) == []  # waiting for the worker to fetch the photo
    assert fetch_photos(app, clock, https=PNG) == 1
    DueTasks.of(app).run(clock.now())
    sent = announcements(app)
    assert len(sent) == 5 and {m["document"] for m in sent} == {
        str(Path(app.settings.data_dir) / "broadcasts" / "pengumuman-1.png")}
    assert Path(sent[0]["document"]).read_bytes() == PNG


def test_a_telegram_photo_reaches_whatsapp_residents_too(app, warga, koordinator, clock):
    koordinator.says("kirim pengumuman")
    koordinator.says("Foto kegiatan kerja bakti kemarin")
    koordinator.says(media=[Media("telegram-file:AgADBAAD", "image/jpeg")]).hears("Fotonya ikut dikirim") \
        .at("broadcast", "audience")
    koordinator.says("semua")
    koordinator.says("sekarang")
    koordinator.says("kirim")
    assert fetch_photos(app, clock, telegram_file=b"\xff\xd8jpeg") == 1
    DueTasks.of(app).run(clock.now())
    documents = {m["to"]: m["document"] for m in announcements(app)}
    assert documents["5150"] == documents[SRI.split(":")[1]] and documents["5150"].endswith("pengumuman-1.jpg")


def test_a_photo_nothing_can_fetch_goes_as_it_can_after_a_while(app, warga, koordinator, clock):
    """The console and `kampung simulate` have no Telegram to fetch a Telegram photo:
    after PHOTO_WAIT the announcement goes, the photo by reference where it reaches."""
    koordinator.says("kirim pengumuman")
    koordinator.says("Foto kegiatan kerja bakti kemarin", media=[Media("telegram-file:AgADBAAD", "image/jpeg")])
    koordinator.says("semua")
    koordinator.says("sekarang")
    koordinator.says("kirim")
    assert fetch_photos(app, clock) == 0
    clock.set(clock.now() + timedelta(minutes=9))
    DueTasks.of(app).run(clock.now())
    assert announcements(app) == []
    clock.set(clock.now() + timedelta(minutes=2))
    DueTasks.of(app).run(clock.now())
    media = {m["to"]: m["media_url"] for m in announcements(app)}
    assert media["5150"] == "AgADBAAD" and media[SRI.split(":")[1]] is None


def test_change_before_sending_and_batal(app, warga, koordinator):
    start(koordinator, "Rapat RT malam ini")
    koordinator.says("semua")
    koordinator.says("sekarang")
    koordinator.says("ubah").offers("Isi pengumuman", "Penerima", "Waktu kirim").at("broadcast", "edit")
    koordinator.says("isi").at("broadcast", "text")
    koordinator.says("Rapat RT besok malam, bukan malam ini").hears("Rapat RT besok malam, bukan malam ini") \
        .at("broadcast", "preview")
    koordinator.says("ubah")
    koordinator.says("penerima")
    koordinator.says("rt")
    koordinator.says("RT 04").hears("warga RT 04, 3 warga").at("broadcast", "preview")
    koordinator.says("batal").hears("Oke, pengumuman tidak jadi dikirim").at("help", "menu")
    assert broadcasts(app) == [] and announcements(app) == []


def test_bad_answers_get_friendly_replies(koordinator, warga):
    koordinator.says("kirim pengumuman")
    koordinator.says("ok").hears("terlalu pendek").at("broadcast", "text")
    koordinator.says("Pengumuman penting untuk semua")
    koordinator.says("sembarang jawaban").hears("Pengumuman ini untuk siapa?").at("broadcast", "audience")
    koordinator.says("semua")
    koordinator.says("jam 25").hears("tidak ada").at("broadcast", "when")
    koordinator.says("xyz qwerty").hears("belum paham waktunya").at("broadcast", "when")


def test_list_and_cancel_scheduled_in_chat(app, warga, koordinator, pak_rt):
    start(koordinator, "Kerja bakti rutin")
    koordinator.says("semua")
    koordinator.says("setiap Minggu jam 6 pagi")
    koordinator.says("kirim")
    start(pak_rt, "Iuran RT tiap awal bulan")
    pak_rt.says("RT 04")
    pak_rt.says("tiap tanggal 1 jam 08.00")
    pak_rt.says("kirim").hears("dikirim setiap tanggal 1 jam 08.00")

    # the RT head sees only his own; the koordinator sees both
    listed = pak_rt.says("pengumuman terjadwal").at("broadcast", "list")
    assert listed.choices == ["Batalkan #2", "Buat pengumuman baru", "Menu utama"]
    koordinator.says("pengumuman terjadwal").hears("#1 semua warga, setiap Minggu jam 06.00", "#2 warga RT 04") \
        .offers("Batalkan #1", "Batalkan #2")
    koordinator.says("1").hears("Batalkan pengumuman #1").at("broadcast", "cancel_confirm")
    koordinator.says("ya").hears("Pengumuman #1 sudah dibatalkan").at("broadcast", "list")
    assert [b.status for b in broadcasts(app)] == ["cancelled", "scheduled"]
    koordinator.says("kirim pengumuman").hears("Ada 1 pengumuman terjadwal")


def test_in_javanese(app, warga, kampung):
    wati = kampung.resident(WATI)
    wati.says("bahasa")
    wati.says("jawa")
    with app.sessions.begin() as session:
        grant_role(session, WATI.split(":")[1], "koordinator", None)
    wati.says("ngirim woro-woro").hears("Tulisen isine woro-woro").at("broadcast", "text")
    wati.says("Sesuk ana kerja bakti")
    wati.says("kabeh warga").hears("Kapan dikirim?")
    wati.says("saben Jemuah jam 4 sore").hears("saben Jemuah jam 16.00", "Wis bener?")
    wati.says("kirim").hears("Woro-woro #1 kanggo kabeh warga dikirim saben Jemuah jam 16.00")


def test_kembali_and_a_restart_midway(app, warga, koordinator, settings, clock):
    from bot.app import build_app
    from tests.transcript import Kampung

    start(koordinator, "Posyandu balita hari Rabu")
    koordinator.says("semua")
    koordinator.says("kembali").hears("Pengumuman ini untuk siapa?").at("broadcast", "audience")
    koordinator.says("rt")
    koordinator.says("RT 04")
    app.engine.dispose()
    again = build_app(settings, clock=clock)
    try:
        ani = Kampung(again).resident(f"whatsapp:{KOOR}")
        ani.says("rabu jam 8 pagi").hears("Posyandu balita hari Rabu", "warga RT 04, 3 warga",
                                          "Rabu, 25 November 2026 pukul 08.00 WIB").at("broadcast", "preview")
        ani.says("kirim").hears("Pengumuman #1 untuk warga RT 04 akan dikirim Rabu, 25 November 2026 pukul 08.00 WIB")
    finally:
        again.engine.dispose()


def test_an_erased_recipient_is_left_out_of_the_summary(app, warga, koordinator, clock):
    from bot.broadcasts import tally

    start(koordinator, "Lomba tujuh belasan")
    koordinator.says("semua")
    koordinator.says("sekarang")
    koordinator.says("kirim")
    warga.resident(SRI).says("hapus data saya")
    warga.resident(SRI).says("ya")
    with app.engine.connect() as conn:
        counts = tally(conn, 1)
    assert (counts.sent, counts.failed, counts.waiting) == (0, 0, 4)


def test_an_announcement_keeps_its_line_breaks(app, warga, koordinator):
    koordinator.says("kirim pengumuman")
    koordinator.says("Kerja bakti Minggu:\n- jam 7 pagi\n- kumpul di gang 3\n\n\n\nTerima kasih 🙏")
    koordinator.says("semua warga")
    koordinator.says("sekarang").hears("Kerja bakti Minggu:\n- jam 7 pagi\n- kumpul di gang 3\n\nTerima kasih 🙏")
    koordinator.says("kirim")
    assert announcements(app)[0]["text"].endswith("Kerja bakti Minggu:\n- jam 7 pagi\n- kumpul di gang 3\n\nTerima kasih 🙏")


def test_a_day_alone_asks_just_the_hour(app, warga, koordinator):
    start(koordinator)
    koordinator.says("semua warga")
    koordinator.says("nanti").at("broadcast", "at")
    koordinator.says("besok").hears("Jam berapa?", "Tulis jamnya saja").at("broadcast", "at")
    koordinator.says("jam 9 pagi").hears("Dikirim: Senin, 23 November 2026 pukul 09.00 WIB").at("broadcast", "preview")


def test_naming_the_rt_at_the_audience_step_picks_it_at_once(app, warga, koordinator):
    start(koordinator)
    koordinator.says("warga rt 4").at("broadcast", "when")
    koordinator.says("sekarang").hears("RT 04").at("broadcast", "preview")
    start(koordinator)
    koordinator.says("per RT").at("broadcast", "pick_rt")
