"""Reporting a problem, read as chats: categories from numbers and words, photos and
locations whenever they come, "+1" for a report that already exists, `batal`,
`kembali`, a pause and a restart, and the catalogues in English and Javanese."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.messages import Location, Media
from db.models import Conversation, Identity
from db.reports import Report, ReportPhoto, ReportSupport
from flows.report import CATEGORY_OPTIONS
from handlers.understanding import normalize
from tests.transcript import Kampung

PHOTO = Media("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg")
CATEGORY_LABELS = ("Jalan rusak / berlubang", "Lampu jalan mati", "Lainnya")


@pytest.fixture
def budi(kampung):
    budi = kampung.resident("whatsapp:+6281234567002")
    budi.onboard(name="Pak Budi")
    return budi


def reports(app) -> list[Report]:
    with app.sessions() as session:
        return list(session.scalars(select(Report).order_by(Report.id)))


def draft(app, resident) -> dict:
    """What the report flow has kept so far for this resident."""
    with app.sessions() as session:
        rid = session.scalar(select(Identity.resident_id).where(Identity.address == resident.address))
        return session.get(Conversation, rid).data.get("vars", {})


def file_light_report(resident, text: str = "lampu mati depan masjid") -> None:
    resident.says("lapor")
    resident.says("4")
    resident.says(text)
    resident.says("lewati")
    resident.says("lewati")
    resident.says("kirim").hears("Nomor laporan")


# -- the happy path ------------------------------------------------------------------

def test_report_from_the_menu_with_photo_and_shared_location(sri, app):
    sri.says("2").hears("Mau lapor masalah apa?").offers(*CATEGORY_LABELS).at("report", "category")
    sri.says("1").hears("Ceritakan masalahnya (Jalan rusak / berlubang)").at("report", "description")
    sri.says("lubang besar di depan rumah Pak RT").hears("Ada fotonya?").offers("Lewati").at("report", "photo")
    sri.says(media=[PHOTO]).hears("Foto diterima", "Di mana tepatnya?").at("report", "place")
    sri.says(location=Location(-6.99, 110.35)).hears(
        "Lokasi diterima", "• Jenis: Jalan rusak / berlubang", "• Cerita: lubang besar di depan rumah Pak RT",
        "• Wilayah: RT 04", "• Foto: 1 foto", "• Lokasi: titik lokasi yang Anda kirim",
    ).offers("Kirim laporan ✅", "Ubah cerita", "Ganti RT").at("report", "confirm")

    sri.says("kirim").hears("sudah kami terima", "Nomor laporan: *LPR-0001* (Jalan rusak / berlubang)",
                            "laporan saya").at(None, None)

    [report] = reports(app)
    assert (report.category, report.rt, report.status) == ("road", "04", "new")
    assert report.description == "lubang besar di depan rumah Pak RT"
    assert (report.lat, report.lon, report.landmark) == (-6.99, 110.35, None)
    with app.sessions() as session:
        [photo] = session.scalars(select(ReportPhoto))
    assert (photo.report_id, photo.n, photo.url, photo.content_type) == (report.id, 1, PHOTO.url, "image/jpeg")
    assert (photo.status, photo.path) == ("pending", None)


def test_skipping_photo_and_location_with_words(sri, app):
    sri.says("lapor")
    sri.says("sampah")
    sri.says("sampah tidak diangkut seminggu")
    sri.says("gak ada").at("report", "place")
    sri.says("skip").hears("• Foto: tidak ada", "• Lokasi: tidak disebutkan").at("report", "confirm")
    sri.says("ok").hears("LPR-0001")
    [report] = reports(app)
    assert (report.category, report.lat, report.landmark) == ("trash", None, None)


def test_landmark_in_words(sri, app):
    sri.says("lapor")
    sri.says("banjir")
    sri.says("air masuk rumah setinggi lutut")
    sri.says("lewati")
    sri.says("gang 3 dekat pos ronda").hears("• Lokasi: gang 3 dekat pos ronda").at("report", "confirm")
    sri.says("1")
    assert reports(app)[0].landmark == "gang 3 dekat pos ronda"


def test_tickets_are_sequential_and_zero_padded(sri, budi, app):
    file_light_report(sri)
    budi.says("lapor")
    budi.says("1")
    budi.says("jalan retak panjang")
    budi.says("lewati")
    budi.says("lewati")
    budi.says("kirim").hears("*LPR-0002*")
    assert [r.id for r in reports(app)] == [1, 2]


# -- understanding the resident ------------------------------------------------------------

@pytest.mark.parametrize("text, category", [
    ("lampu mati", "light"),
    ("jalan berlubang", "road"),
    ("selokan mampet", "drain"),
    ("got buntu", "drain"),
    ("sampah numpuk", "trash"),
    ("banjir", "flood"),
    ("pohon tumbang", "hazard"),
    ("kabel putus", "hazard"),
    ("pos ronda", "facility"),
    ("lainnya", "other"),
    ("lampu jln mati", "light"),
    ("selokn mampet", "drain"),
    ("uwuh", "trash"),
    ("street light", "light"),
])
def test_category_from_words_typos_javanese_and_english(sri, app, text, category):
    sri.says("lapor")
    assert sri.says(text).messages[-1]["step"] in ("description", "photo")
    assert draft(app, sri)["category"] == category


def test_category_words_that_describe_the_problem_are_kept_as_its_description(sri, app):
    sri.says("lapor")
    sri.says("lampu jalan mati di gang 3").hears("Ada fotonya?").at("report", "photo")
    assert draft(app, sri)["category"] == "light"
    sri.says("lewati")
    sri.says("lewati").hears("• Jenis: Lampu jalan mati", "• Cerita: lampu jalan mati di gang 3")


def test_text_naming_no_category_is_kept_and_the_number_asked_for(sri, app):
    sri.says("lapor")
    sri.says("pokoknya parah banget pak").hears("ceritanya sudah kami catat", "“pokoknya parah banget pak”").offers(
        *CATEGORY_LABELS).at("report", "category")
    sri.says("8").hears("Ada fotonya?").at("report", "photo")
    assert draft(app, sri)["description"] == "pokoknya parah banget pak"


@pytest.mark.parametrize("text", ["??", "rusak", "hmm"])
def test_unclear_category_gets_a_friendly_reply_and_the_choices_again(sri, text):
    sri.says("lapor")
    sri.says(text).hears("belum kami tangkap", "*nomor*").offers(*CATEGORY_LABELS).at("report", "category")


def test_lapor_followed_by_the_problem_keeps_it(sri, app):
    sri.says("lapor lampu mati depan masjid").hears("*Lampu jalan mati*", "Ada fotonya?").at("report", "photo")
    assert draft(app, sri)["description"] == "lampu mati depan masjid"


def test_lapor_with_words_naming_no_category_keeps_them_and_asks_the_kind(sri, app):
    sri.says("lapor ada masalah di depan masjid").hears("Anda menulis: “ada masalah di depan masjid”").at(
        "report", "category")
    sri.says("4").hears("Ada fotonya?").at("report", "photo")


def test_button_presses_work(kampung, app):
    tg = kampung.resident("telegram:4242")
    tg.onboard()
    tg.presses("report").at("report", "category")
    tg.presses("rpt_hazard").at("report", "description")
    assert draft(app, tg)["category"] == "hazard"


def test_too_short_description_is_asked_again(sri):
    sri.says("lapor")
    sri.says("1")
    sri.says("ok").hears("terlalu pendek").at("report", "description")
    sri.says("lubang di tikungan").at("report", "photo")


def test_text_at_the_photo_step_asks_for_a_photo_or_lewati(sri):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan")
    sri.says("mana ya").hears("Kami menunggu fotonya", "*lewati*").at("report", "photo")


def test_unreadable_landmark_is_asked_again(sri):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan")
    sri.says("lewati")
    sri.says("!!").hears("patokannya belum jelas").at("report", "place")


# -- photos and locations whenever they come --------------------------------------------------

def test_photo_sent_first_is_kept_and_the_photo_step_skipped(sri, app):
    sri.says("lapor")
    sri.says(media=[PHOTO]).hears("Foto diterima 👍 (sudah 1)", "Mau lapor masalah apa?").at("report", "category")
    sri.says("1")
    sri.says("lubang di tikungan").hears("Di mana tepatnya?").at("report", "place")
    sri.says("lewati").hears("• Foto: 1 foto")


def test_at_most_three_photos(sri, app):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan")
    sri.says(media=[PHOTO, PHOTO]).hears("(sudah 2)").at("report", "place")
    sri.says(media=[PHOTO]).hears("(sudah 3)").at("report", "place")
    sri.says(media=[PHOTO]).hears("Sudah ada 3 foto").at("report", "place")
    sri.says("lewati")
    sri.says("kirim")
    with app.sessions() as session:
        assert list(session.scalars(select(ReportPhoto.n).order_by(ReportPhoto.n))) == [1, 2, 3]


def test_location_with_a_landmark(sri, app):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan")
    sri.says(location=Location(-6.99, 110.35)).hears("Lokasi diterima", "Ada fotonya?").at("report", "photo")
    sri.says("lewati").at("report", "confirm")
    sri.says("kembali").at("report", "photo")
    sri.says("kembali").at("report", "description")


# -- RT ----------------------------------------------------------------------------------------

def test_resident_without_rt_is_asked_for_it(kampung, app):
    ani = kampung.resident("whatsapp:+6281234567003")
    ani.onboard(name="Bu Ani", rt="belum tahu")
    ani.says("lapor")
    ani.says("1").hears("Masalahnya ada di RT berapa (RW 05)?").at("report", "rt")
    ani.says("rt 7").at("report", "description")
    ani.says("jalan retak panjang")
    ani.says("lewati")
    ani.says("lewati").hears("• Wilayah: RT 07")
    ani.says("kirim")
    assert reports(app)[0].rt == "07"


def test_rt_can_stay_unknown(kampung, app):
    ani = kampung.resident("whatsapp:+6281234567003")
    ani.onboard(name="Bu Ani", rt="belum tahu")
    ani.says("lapor")
    ani.says("1")
    ani.says("belum tahu").at("report", "description")
    ani.says("jalan retak panjang")
    ani.says("lewati")
    ani.says("lewati").hears("• Wilayah: RT belum tahu")
    ani.says("kirim")
    assert reports(app)[0].rt is None


def test_change_rt_and_description_from_the_summary(sri, app):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan")
    sri.says("lewati")
    sri.says("lewati").at("report", "confirm")
    sri.says("ganti rt").at("report", "rt")
    sri.says("9").hears("• Wilayah: RT 09").at("report", "confirm")
    sri.says("ubah cerita").at("report", "description")
    sri.says("lubang besar di tikungan gang 2").hears("• Cerita: lubang besar di tikungan gang 2").at(
        "report", "confirm")
    sri.says("kirim")
    [report] = reports(app)
    assert (report.rt, report.description) == ("09", "lubang besar di tikungan gang 2")


# -- "+1" for a report that already exists -------------------------------------------------------

def test_open_report_of_the_same_kind_in_the_same_rt_is_offered_for_support(sri, budi, app):
    file_light_report(sri)
    budi.says("lapor")
    budi.says(media=[PHOTO])
    budi.says("lampu mati").hears(
        "Sudah ada laporan *Lampu jalan mati* di RT 04", "*LPR-0001*: “lampu mati depan masjid” (1 warga)",
    ).offers("+1 dukung LPR-0001", "Bukan, ini laporan baru").at("report", "similar")
    budi.says("iya").hears("dukungan Anda untuk laporan *LPR-0001*", "2 warga").at(None, None)

    assert len(reports(app)) == 1
    with app.sessions() as session:
        [support] = session.scalars(select(ReportSupport))
        photos = list(session.scalars(select(ReportPhoto)))
    assert support.report_id == 1
    assert [(p.report_id, p.n) for p in photos] == [(1, 1)]  # Budi's photo joins the report
    budi.says("laporan saya").hears("*LPR-0001* Lampu jalan mati: *baru masuk* (Anda dukung)")


def test_a_different_problem_continues_as_a_new_report(sri, budi, app):
    file_light_report(sri)
    budi.says("lapor")
    budi.says("lampu mati").at("report", "similar")
    budi.says("bukan").hears("Ceritakan masalahnya").at("report", "description")
    budi.says("lampu di gang 5 kedip kedip")
    budi.says("lewati")
    budi.says("lewati")
    budi.says("kirim").hears("LPR-0002")


@pytest.mark.parametrize("setup", ["other_rt", "other_category", "old", "closed", "own"])
def test_reports_not_offered_for_support(sri, budi, app, clock, setup):
    file_light_report(sri)
    resident = sri if setup == "own" else budi
    if setup == "old":
        clock.set(clock.now() + timedelta(days=15))
    if setup == "closed":
        with app.engine.begin() as conn:
            conn.execute(Report.__table__.update().values(status="done"))
    if setup == "other_rt":
        budi.says("ubah data")
        budi.says("rt")
        budi.says("5")
        budi.says("menu")
    resident.says("lapor")
    resident.says("1" if setup == "other_category" else "4").at("report", "description")


def test_report_closed_while_the_resident_decides_becomes_a_new_one(sri, budi, app):
    file_light_report(sri)
    budi.says("lapor")
    budi.says("4").at("report", "similar")
    with app.engine.begin() as conn:
        conn.execute(Report.__table__.update().values(status="done"))
    budi.says("1").hears("LPR-0001 baru saja ditutup", "Ceritakan masalahnya").at("report", "description")


def test_the_next_neighbour_sees_how_many_are_behind_a_report(sri, budi, kampung):
    file_light_report(sri)
    budi.says("lapor")
    budi.says("4")
    budi.says("1")
    ani = kampung.resident("whatsapp:+6281234567003")
    ani.onboard(name="Bu Ani")
    ani.says("lapor")
    ani.says("lampu mati").hears("(2 warga)").at("report", "similar")


def test_supporting_twice_counts_once(sri, budi, app):
    file_light_report(sri)
    for _ in range(2):
        budi.says("lapor")
        budi.says("4")
        budi.says("1").hears("2 warga")
    with app.sessions() as session:
        assert len(list(session.scalars(select(ReportSupport)))) == 1


# -- laporan saya ------------------------------------------------------------------------------

def test_my_reports_when_there_are_none(sri):
    sri.says("laporan saya").hears("belum punya laporan").offers("Lapor masalah baru", "Menu utama").at(
        "report", "mine")
    sri.says("1").at("report", "category")


def test_my_reports_lists_them_with_their_status_from_anywhere(sri, app):
    file_light_report(sri)
    sri.says("lapor")
    sri.says("1")
    sri.says("jalan retak panjang")
    sri.says("lewati")
    sri.says("lewati")
    sri.says("kirim")
    sri.says("ubah data").at("privacy", "edit")
    replies = sri.says("laporan saya").at("report", "mine")
    assert replies.text.index("*LPR-0002* Jalan rusak / berlubang: *baru masuk*") < replies.text.index(
        "*LPR-0001* Lampu jalan mati: *baru masuk*")
    sri.says("menu").at("help", "menu")


# -- batal, kembali, pauses and restarts ---------------------------------------------------------

def test_batal_mid_way_saves_nothing(sri, app):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan")
    sri.says("batal").hears("dibatalkan").at("help", "menu")
    assert reports(app) == []


def test_kembali_goes_to_the_previous_question(sri):
    sri.says("lapor")
    sri.says("1")
    sri.says("kembali").hears("Mau lapor masalah apa?").at("report", "category")
    sri.says("2").hears("(Saluran air / selokan mampet)").at("report", "description")


def test_a_pause_of_hours_loses_nothing(sri, app, clock):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan").at("report", "photo")
    clock.set(clock.now() + timedelta(hours=6))
    sri.says(media=[PHOTO]).at("report", "place")
    sri.says("lewati").hears("• Cerita: lubang di tikungan", "• Foto: 1 foto")


def test_restart_mid_report_continues_where_it_was(sri, app, settings, clock):
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan").at("report", "photo")
    app.engine.dispose()

    restarted = build_app(settings, clock=clock)
    try:
        again = Kampung(restarted).resident("whatsapp:+6281234567001")
        again.says("lewati").at("report", "place")
        again.says("lewati").hears("• Cerita: lubang di tikungan").at("report", "confirm")
        again.says("kirim").hears("LPR-0001")
        assert reports(restarted)[0].description == "lubang di tikungan"
    finally:
        restarted.engine.dispose()


# -- other languages -----------------------------------------------------------------------------

def test_report_in_english(kampung, app):
    joe = kampung.resident("telegram:777")
    joe.onboard(name="Joe", language="2")
    replies = joe.says("report").at("report", "category")
    replies.hears("What would you like to report?").offers("Damaged road / potholes", "Street light out")
    assert "Mau lapor" not in replies.text
    joe.says("pothole").hears("Briefly describe the problem (Damaged road / potholes)")
    joe.says("big hole near the mosque").hears("Do you have a photo?").offers("Skip")
    joe.says("skip").hears("Where exactly?")
    joe.says("skip").hears("Please check your report", "• Photo: none").offers("Send report ✅")
    replies = joe.says("send").hears("We've received your report", "*LPR-0001*")
    assert "Laporan" not in replies.text
    joe.says("my reports").hears("Your reports:", "*LPR-0001* Damaged road / potholes: *just received*")


def test_report_in_javanese(kampung, app):
    darmi = kampung.resident("whatsapp:+6281234567004")
    darmi.onboard(name="Mbah Darmi", language="3")
    replies = darmi.says("lapor").hears("Panjenengan arep lapor masalah apa?").offers("Dalan rusak / bolong")
    assert "Mau lapor" not in replies.text
    darmi.says("dalan bolong").hears("Critakna masalahe (Dalan rusak / bolong)")
    darmi.says("bolongan gedhe ing gang 2").hears("Ana fotone?").offers("Liwati")
    darmi.says("ora ana").hears("Ing ngendi persise?")
    darmi.says("liwati").hears("Dipriksa dhisik laporane panjenengan", "• Foto: ora ana")
    darmi.says("kirim").hears("Laporane panjenengan wis ditampa", "*LPR-0001*")
    darmi.says("laporanku").hears("*LPR-0001* Dalan rusak / bolong: *lagi mlebu*")


# -- the catalogues' words ---------------------------------------------------------------------

def test_laporan_alone_opens_the_report_flow_not_my_reports(sri):
    sri.says("laporan").at("report", "category")


@pytest.mark.parametrize("lang", ["id", "en", "jv"])
def test_choices_offered_together_share_no_word(app, lang):
    side_by_side = [[o.id for o in CATEGORY_OPTIONS], ["rpt_support_1", "rpt_new"],
                    ["rpt_send", "rpt_edit_text", "rpt_change_rt"]]
    for ids in side_by_side:
        owners: dict[str, set[str]] = {}
        for cid in ids:
            for word in app.catalog.synonyms(lang, cid):
                owners.setdefault(normalize(word), set()).add(cid)
        shared = {word: sorted(cids) for word, cids in owners.items() if len(cids) > 1}
        assert not shared, f"{lang}: words naming two choices at one step: {shared}"
