"""Report triage in chat: who may use it, what each staff member sees, status changes
that reach reporter and supporters, merging duplicates, bad answers, batal, restart,
and the English and Javanese texts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.messages import Location, Media
from bot.roles_admin import grant_role
from db.models import Outbox
from db.reports import Report, ReportPhoto, ReportSupport
from tests.transcript import Kampung

SRI, DARMI, BUDI, PAK_RT, KOOR = ("+6281234567001", "5150", "+6281234567003", "+6281234567004",
                                   "+6281234567005")


def file_report(resident, text: str, clock, place: str | Location = "lewati") -> None:
    """A road report in the resident's own RT, without a photo."""
    resident.says("lapor")
    resident.says("1")
    resident.says(text)
    resident.says("lewati")
    resident.says(place) if isinstance(place, str) else resident.says(location=place)
    resident.says("kirim").hears("LPR-")
    clock.set(clock.now() + timedelta(minutes=5))


def news(app, address: str) -> list[str]:
    with app.sessions() as session:
        return [row.payload["text"] for row in session.scalars(
            select(Outbox).where(Outbox.address == address).order_by(Outbox.id))]


@pytest.fixture
def reports(kampung, sri, clock):
    """LPR-0001 by Bu Sri in RT 04 (with a map pin), LPR-0002 by Pak Budi in RT 05,
    LPR-0003 by Bu Sri again in RT 04; Mbah Darmi (Javanese, Telegram) supports LPR-0001."""
    file_report(sri, "jalan berlubang depan masjid", clock, Location(-6.9932, 110.4203))
    budi = kampung.resident(f"whatsapp:{BUDI}")
    budi.onboard(name="Pak Budi", rt="5")
    file_report(budi, "aspal rusak dekat pos ronda", clock)
    file_report(sri, "lubang besar gang tiga dekat sekolah", clock)
    darmi = kampung.resident(f"telegram:{DARMI}")
    darmi.onboard(name="Mbah Darmi", language="3")
    darmi.says("lapor")
    darmi.says("1")
    darmi.says("1").hears("LPR-0003")  # the newest similar report is offered first
    return budi


@pytest.fixture
def pak_rt(kampung, app):
    """Pak Joko, ketua RT 04."""
    joko = kampung.resident(f"whatsapp:{PAK_RT}")
    joko.onboard(name="Pak Joko")
    with app.sessions.begin() as session:
        grant_role(session, PAK_RT, "ketua_rt", "04")
    return joko


@pytest.fixture
def koordinator(kampung, app):
    bu_ani = kampung.resident(f"whatsapp:{KOOR}")
    bu_ani.onboard(name="Bu Ani", rt="5")
    with app.sessions.begin() as session:
        grant_role(session, KOOR, "koordinator", None)
    return bu_ani


def status(app, report_id: int) -> tuple[str, str | None]:
    with app.sessions() as session:
        report = session.get(Report, report_id)
        return report.status, report.status_note


def test_a_resident_is_refused(reports, sri):
    sri.says("tangani laporan").hears("khusus pengurus").at("help", "menu")
    sri.says("menu")
    sri.says("urus laporan").hears("khusus pengurus").at("help", "menu")


def test_rt_head_sees_only_their_rt_oldest_first(reports, pak_rt):
    pak_rt.says("menu pengurus").offers("Tangani laporan warga")
    replies = pak_rt.says("tangani laporan warga").at("triage", "list")
    assert replies.text.index("LPR-0001") < replies.text.index("LPR-0003")
    assert "LPR-0002" not in replies.text
    assert replies.choices == ["LPR-0001", "LPR-0003", "Unduh file laporan (Excel)", "Menu utama"]
    pak_rt.says("LPR-0002").hears('"LPR-0002" tidak ada').at("triage", "list")
    pak_rt.says("1").hears("Laporan *LPR-0001*", "https://maps.google.com/?q=-6.993200,110.420300",
                           "Warga yang melapor: 1", "WIB").at("triage", "detail")


def test_koordinator_sees_every_rt_with_photos_and_supporters(reports, koordinator, app):
    now = app.clock.now()
    with app.engine.begin() as conn:
        conn.execute(ReportSupport.__table__.insert().values(report_id=2, resident_id=1, created_at=now))
        conn.execute(ReportPhoto.__table__.insert().values(report_id=2, n=1, url="telegram-file:AgAD", path="p/2-1.jpg",
                                                           status="saved", attempts=1, not_before=now))
    replies = koordinator.says("kelola laporan").at("triage", "list")
    assert [c for c in replies.choices if c.startswith("LPR")] == ["LPR-0001", "LPR-0002", "LPR-0003"]
    detail = koordinator.says("lpr 2").hears("LPR-0002", "RT 05", "Warga yang melapor: 2", "tidak disebutkan",
                                             "ada foto (1)")
    assert not any(m["media_url"] for m in detail.messages)  # a Telegram file id is no link to send on


def test_detail_sends_the_reporters_photo_link(kampung, koordinator):
    sri = kampung.resident(f"whatsapp:{SRI}")
    sri.onboard()
    sri.says("lapor")
    sri.says("1", media=[Media("https://api.twilio.com/media/ME1", "image/jpeg"),
                         Media("https://api.twilio.com/media/ME2", "image/jpeg")])
    sri.says("lampu jalan mati dekat mushola")
    sri.says("lewati")
    sri.says("kirim").hears("LPR-0001")
    koordinator.says("tangani laporan")
    detail = koordinator.says("1").at("triage", "detail")
    photo, *rest = detail.messages
    assert (photo["media_url"], photo["text"]) == ("https://api.twilio.com/media/ME1", "Foto dari pelapor LPR-0001")
    assert "ada foto (2)" in rest[-1]["text"] and rest[-1]["media_url"] is None


def test_status_change_with_note_reaches_reporter_and_supporter(reports, pak_rt, app):
    pak_rt.says("tangani laporan")
    pak_rt.says("LPR-0003").at("triage", "detail").offers("Sudah dicek (diverifikasi)", "Tolak (dengan alasan)")
    pak_rt.says("diverfikasi").at("triage", "note")  # a typo
    pak_rt.says("tukang datang senin").hears("LPR-0003 sekarang: *sudah dicek pengurus*. 2 warga").at(
        "triage", "list")
    assert status(app, 3) == ("verified", "tukang datang senin")
    assert "sudah dicek pengurus" in news(app, SRI)[-1] and "tukang datang senin" in news(app, SRI)[-1]
    assert "wis dicek pengurus" in news(app, DARMI)[-1]

    pak_rt.says("2").at("triage", "detail")  # LPR-0003 is second in the list
    pak_rt.says("sedang dikerjakan")
    pak_rt.says("tanpa catatan").hears("*sedang dikerjakan*")
    assert status(app, 3) == ("in_progress", None)
    assert "*lagi digarap*" in news(app, DARMI)[-1]


def test_rejection_needs_a_reason(reports, pak_rt, app):
    pak_rt.says("tangani laporan")
    pak_rt.says("1")
    pak_rt.says("tolak").hears("Tulis alasannya").at("triage", "note")
    pak_rt.says("tanpa catatan").hears("perlu alasan").at("triage", "note")
    pak_rt.says("??").hears("terlalu pendek")
    assert status(app, 1) == ("new", None)
    pak_rt.says("jalan milik provinsi, sudah diteruskan").hears("LPR-0001 sekarang: *ditolak*")
    assert status(app, 1) == ("rejected", "jalan milik provinsi, sudah diteruskan")
    assert news(app, SRI)[-1].endswith("Catatan pengurus: jalan milik provinsi, sudah diteruskan")


def test_merge_moves_people_and_closes_the_duplicate(reports, pak_rt, app, sri):
    pak_rt.says("tangani laporan")
    pak_rt.says("LPR-0003")
    pak_rt.says("gabungkan").at("triage", "merge").offers("LPR-0001")
    pak_rt.says("xyz").hears("belum jelas").at("triage", "merge")
    pak_rt.says("LPR-0001").hears("Gabungkan *LPR-0003* ke *LPR-0001*?").at("triage", "merge_confirm")
    pak_rt.says("ya").hears("LPR-0003 sudah digabung ke LPR-0001", "2 warga").at("triage", "list")
    assert status(app, 3) == ("rejected", "digabung ke LPR-0001")
    with app.sessions() as session:
        supporters = set(session.scalars(select(ReportSupport.resident_id).where(ReportSupport.report_id == 1)))
    darmi_id = 3
    assert darmi_id in supporters and 1 not in supporters  # Bu Sri already reported LPR-0001 herself
    assert "sama dengan laporan *LPR-0001*" in news(app, SRI)[-1]
    assert "padha karo laporan *LPR-0001*" in news(app, DARMI)[-1]
    sri.says("laporan saya").hears("Catatan: digabung ke LPR-0001")


def test_batal_midway_changes_nothing(reports, pak_rt, app):
    pak_rt.says("tangani laporan")
    pak_rt.says("1")
    pak_rt.says("diverifikasi").at("triage", "note")
    pak_rt.says("batal").at("help", "menu")
    assert status(app, 1) == ("new", None)


def test_kembali_and_resume_after_restart(reports, pak_rt, settings, clock, app):
    pak_rt.says("tangani laporan")
    pak_rt.says("1")
    pak_rt.says("gabung").at("triage", "merge")
    pak_rt.says("kembali").at("triage", "detail")
    pak_rt.says("diverifikasi").at("triage", "note")
    app.engine.dispose()
    clock.set(clock.now() + timedelta(hours=3))
    again = build_app(settings, clock=clock)
    try:
        joko = Kampung(again).resident(f"whatsapp:{PAK_RT}")
        joko.says("sudah dicek di lokasi").hears("LPR-0001 sekarang").at("triage", "list")
        assert status(again, 1) == ("verified", "sudah dicek di lokasi")
    finally:
        again.engine.dispose()


def test_a_report_closed_meanwhile_is_not_acted_on(reports, pak_rt, koordinator, app):
    pak_rt.says("tangani laporan")
    pak_rt.says("1")
    koordinator.says("tangani laporan")
    koordinator.says("LPR-0001")
    koordinator.says("tolak")
    koordinator.says("sudah diperbaiki warga sendiri")
    pak_rt.says("diverifikasi").hears("sudah tidak terbuka").offers("Kembali ke daftar")
    assert status(app, 1)[0] == "rejected"


def test_empty_list(kampung, pak_rt):
    pak_rt.says("tangani laporan").hears("Tidak ada laporan terbuka").at("triage", "list")
    pak_rt.says("2").at("help", "menu")


@pytest.mark.parametrize("language, expected, not_expected", [
    ("2", ("Open reports", "What should happen to it?", "Checked (verified)"), "Laporan yang masih terbuka"),
    ("3", ("Laporan sing durung rampung", "Arep diapakké?", "Wis dicek (diverifikasi)"), "Mau diapakan"),
])
def test_english_and_javanese_texts(reports, kampung, app, language, expected, not_expected):
    wiryo = kampung.resident("whatsapp:+6281234567009")
    wiryo.onboard(name="Pak Wiryo", language=language)
    with app.sessions.begin() as session:
        grant_role(session, "+6281234567009", "ketua_rw", None)
    listing = wiryo.says("triage" if language == "2" else "ngurus laporan")
    assert expected[0] in listing.text and not_expected not in listing.text
    detail = wiryo.says("1")
    assert expected[1] in detail.text
    detail.offers(expected[2])


def test_kembali_after_a_change_does_not_change_it_again(reports, pak_rt, app):
    pak_rt.says("tangani laporan")
    pak_rt.says("1")
    pak_rt.says("diverifikasi")
    pak_rt.says("tanpa catatan").hears("LPR-0001 sekarang").at("triage", "list")
    pak_rt.says("kembali").hears("sudah berubah, sekarang: *sudah dicek pengurus*").offers("Kembali ke daftar")
    pak_rt.says("tukang datang besok").at("triage", "note")
    assert status(app, 1) == ("verified", None)
