"""Registering a home business, read as chats: one-tap defaults, fuzzy and wrong
answers, fixing before saving, licence guidance, batal/kembali, pauses and restarts,
and the other languages."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import build_app
from bot.messages import Location, Media
from tests.test_business_support import register, stored
from tests.transcript import Kampung

PHOTO = Media("https://api.twilio.com/media/ME1", "image/jpeg")


def test_happy_path_with_defaults_photo_and_licence_guidance(sri, app):
    sri.says("1").hears("belum mendaftarkan usaha").offers("Daftar usaha baru", "Cari usaha di kampung").at(
        "business", "home")
    sri.says("daftar").hears("nama usaha").at("business", "name")
    sri.says("Keripik Bu Sri").offers("Saya sendiri (Bu Sri)").at("business", "owner")
    sri.says("1").offers("Makanan / minuman", "Lainnya").at("business", "category")
    sri.says("kripik").hears("dijual").at("business", "products")
    sri.says("keripik tempe, peyek kacang").offers("Pakai nomor ini: 0812-3456-7001").at("business", "order")
    sri.says("pakai nomor ini").offers("Lewati").at("business", "photo")
    sri.says(media=[PHOTO]).hears("Foto sudah kami terima").offers("Sama dengan rumah saya (RT 04)").at("business", "rt")
    sri.says("sama").hears("*NIB*").offers("Sudah", "Belum", "Tidak tahu").at("business", "nib")
    sri.says("udah").hears("berbasis risiko").at("business", "nib_oss")
    sri.says("ga tau").at("business", "pirt")
    sri.says("sudah punya").at("business", "halal")
    sri.says("blm").at("business", "haki")
    sri.says("gak punya").hears("daftar usaha kampung", "0812-3456-7001").at("business", "listing")
    sri.says("boleh").hears(
        "Nama usaha: Keripik Bu Sri", "Pemilik: Bu Sri", "Jenis: Makanan / minuman", "Produk: keripik tempe, peyek kacang",
        "wa.me/6281234567001", "Foto: ada", "RT: 04",
        "NIB ada, belum tahu jenisnya, PIRT sudah, halal belum, HAKI belum", "Daftar usaha kampung: tampil",
    ).at("business", "confirm")

    saved = sri.says("ya simpan").hears("Tersimpan", "Izin yang belum ada 3", "oss.go.id", "ptsp.halal.go.id",
                                        "SEHATI", "merek.dgip.go.id")
    assert "Dinas Kesehatan" not in saved.text  # PIRT is held: no step for it
    saved.offers("Keripik Bu Sri", "Daftar usaha baru").at("business", "home")

    [business] = stored(app)
    assert (business.name, business.owner_name, business.category) == ("Keripik Bu Sri", "Bu Sri", "biz_cat_food")
    assert business.order_contact == "+6281234567001"
    assert (business.photo_url, business.photo_content_type) == (PHOTO.url, "image/jpeg")
    assert (business.nib, business.pirt, business.halal, business.haki) == ("unsure", True, False, False)
    assert business.listed_at == app.clock.now()


def test_service_business_is_not_asked_food_licences(sri, app):
    sri.says("usaha saya")
    sri.says("daftar")
    sri.says("Jahit Bu Sri")
    sri.says("saya")
    sri.says("penjahit").at("business", "products")
    sri.says("jahit baju, permak celana")
    sri.says("datang ke rumah, gang 3").at("business", "photo")
    sri.says("tidak ada foto").at("business", "rt")
    sri.says("7").at("business", "nib")
    sri.says("belum").at("business", "haki")
    sri.says("belum").at("business", "listing")
    sri.says("tidak usah").hears("Izin: NIB belum, HAKI belum", "tidak ditampilkan", "Cara pesan: datang ke rumah, gang 3")
    reply = sri.says("simpan").hears("Izin yang belum ada 2", "oss.go.id", "merek.dgip.go.id")
    assert "PIRT" not in reply.text and "halal" not in reply.text
    [business] = stored(app)
    assert (business.category, business.pirt, business.halal, business.listed_at) == ("biz_cat_fashion", None, None, None)
    assert business.order_contact == "datang ke rumah, gang 3"


def test_all_licences_held_gets_praise(sri):
    register(sri, licences=("sudah", "sudah", "ada", "punya", "iya")).hears("sudah lengkap", "Hebat")


def test_wrong_answers_get_a_clear_reply_and_lose_nothing(sri):
    sri.says("usaha saya")
    sri.says("daftar")
    sri.says("😀").hears("belum bisa kami pakai").at("business", "name")
    sri.says("Keripik Bu Sri")
    sri.says("12").hears("nama pemiliknya").at("business", "owner")
    sri.says("Pak Budi").at("business", "category")  # someone else owns it
    sri.says("qwertyuiop").hears("belum kami pahami").at("business", "category")
    sri.says("makan").at("business", "products")
    sri.says("!!").hears("belum terbaca").at("business", "products")
    sri.says("keripik")
    sri.says("12345").hears("nomor HP yang lengkap").at("business", "order")
    sri.says("WA 0812 9999 8888").at("business", "photo")
    sri.says("ini fotonya").hears("kamera atau galeri", "*lewati*").at("business", "photo")
    sri.says(location=Location(-6.99, 110.35)).hears("kamera atau galeri").at("business", "photo")
    sri.says(media=[Media("https://x/v.ogg", "audio/ogg")]).hears("pesan suara").at("business", "photo")
    sri.says("lewati").at("business", "rt")
    sri.says("RT 99").at("business", "rt")
    sri.says("rt 3").at("business", "nib")
    sri.says("mungkin").hears("belum kami pahami").at("business", "nib")
    sri.says("tidak").at("business", "pirt")
    sri.says("belum")
    sri.says("belum")
    sri.says("belum")
    sri.says("jangan").hears(
        "Keripik Bu Sri", "Pemilik: Pak Budi", "Produk: keripik", "0812-9999-8888", "Foto: tidak ada", "RT: 03",
        "tidak ditampilkan").at("business", "confirm")


def test_a_tie_between_categories_asks_back(sri):
    register_until = ("usaha saya", "daftar", "Sari Rasa", "saya")
    for text in register_until:
        sri.says(text)
    sri.says("tukang jahit").hears("Maksudnya yang mana?").offers(
        "Jasa (servis, salon, laundry)", "Sandang / fashion (baju, jahit, batik)").at("business", "category")
    sri.says("2").at("business", "products")


def test_fix_any_field_before_saving(sri, app):
    sri.says("usaha saya")
    sri.says("daftar")
    for text in ("Jahit Bu Sri", "saya", "jasa", "jahit", "pakai", "lewati", "sama", "belum", "belum", "boleh"):
        sri.says(text)
    sri.says("ubah dulu").offers("Nama usaha", "Izin (NIB, PIRT, halal, HAKI)").at("business", "fix")
    sri.says("nama").at("business", "name")
    sri.says("Jahit & Kue Bu Sri").hears("Nama usaha: Jahit & Kue Bu Sri").at("business", "confirm")
    # A food category brings the food licence questions, then the summary again.
    sri.says("ubah")
    sri.says("jenis")
    sri.says("makanan").at("business", "pirt")
    sri.says("sudah").at("business", "halal")
    sri.says("sudah").hears("PIRT sudah, halal sudah").at("business", "confirm")
    # Licences: the whole licence chain, then the summary.
    sri.says("ubah")
    sri.says("izin").at("business", "nib")
    sri.says("sudah").at("business", "nib_oss")
    sri.says("sudah").at("business", "pirt")
    sri.says("sudah").at("business", "halal")
    sri.says("sudah").at("business", "haki")
    sri.says("sudah").hears("NIB sudah (berbasis risiko), PIRT sudah, halal sudah, HAKI sudah").at("business", "confirm")
    sri.says("simpan").hears("sudah lengkap")
    [business] = stored(app)
    assert (business.name, business.category, business.nib, business.haki) == ("Jahit & Kue Bu Sri", "biz_cat_food", "rba", True)


def test_batal_midway_saves_nothing(sri, app):
    sri.says("usaha saya")
    sri.says("daftar")
    sri.says("Keripik Bu Sri")
    sri.says("saya")
    sri.says("batal").hears("dibatalkan").at("help", "menu")
    assert stored(app) == []
    sri.says("usaha saya").hears("belum mendaftarkan usaha")


def test_kembali_goes_to_the_previous_question(sri):
    sri.says("usaha saya")
    sri.says("daftar")
    sri.says("Keripik Bu Sri")
    sri.says("saya")
    sri.says("kembali").at("business", "owner")
    sri.says("Pak Budi").at("business", "category")


def test_a_pause_of_hours_continues_where_it_stopped(sri, clock):
    sri.says("usaha saya")
    sri.says("daftar")
    sri.says("Keripik Bu Sri")
    clock.set(clock.now() + timedelta(hours=6))
    sri.says("saya").at("business", "category")


def test_resume_after_restart(sri, settings, clock, app):
    sri.says("usaha saya")
    sri.says("daftar")
    sri.says("Keripik Bu Sri")
    sri.says("saya")
    sri.says("makanan")
    sri.says("keripik tempe")
    sri.says("pakai")
    sri.says(media=[PHOTO])
    app.engine.dispose()

    restarted = build_app(settings, clock=clock)
    try:
        sri = Kampung(restarted).resident("whatsapp:+6281234567001")
        sri.says("sama").at("business", "nib")
        for text in ("belum", "belum", "belum", "belum"):
            sri.says(text)
        sri.says("boleh").hears("Keripik Bu Sri", "Foto: ada").at("business", "confirm")
        sri.says("simpan").hears("Tersimpan")
        [business] = stored(restarted)
        assert business.photo_url == PHOTO.url
    finally:
        restarted.engine.dispose()


def test_telegram_resident_without_phone_is_asked_for_a_number(kampung, app):
    tg = kampung.resident("telegram:4242")
    tg.onboard(name="Mas Joko")
    tg.says("usaha saya")
    tg.says("daftar")
    tg.says("Bakso Mas Joko")
    tg.says("saya")
    tg.says("makanan")
    reply = tg.says("bakso urat, mie ayam").hears("Tulis nomor HP/WA").at("business", "order")
    assert reply.choices == []
    tg.says("0813-2222-3333").at("business", "photo")
    for text in ("lewati", "sama", "belum", "belum", "belum", "belum", "ya"):
        tg.says(text)
    tg.says("simpan")
    assert stored(app)[0].order_contact == "+6281322223333"


def test_usaha_saya_shows_edits_lists_and_deletes_several_businesses(sri, app):
    register(sri)
    register(sri, name="Jahit Bu Sri", category="jahit", products="jahit baju", licences=("belum", "belum"),
             listing="tidak")
    home = sri.says("usaha saya").hears("terdaftar: 2").offers("Keripik Bu Sri", "Jahit Bu Sri").at("business", "home")
    assert home.choice_ids[:2] == [f"biz_item_{b.id}" for b in stored(app)]

    sri.says("jahit bu sri").hears("Data usaha Anda", "Jahit Bu Sri", "tidak ditampilkan").offers(
        "Tampilkan di daftar kampung", "Cara mengurus izin yang belum").at("business", "view")
    sri.says("tampilkan").hears("sekarang tampil").offers("Sembunyikan dari daftar kampung").at("business", "view")
    assert stored(app)[1].listed_at is not None
    sri.says("cara mengurus izin").hears("Izin yang belum ada 2", "oss.go.id").at("business", "view")

    sri.says("ubah usaha ini").at("business", "fix")
    sri.says("produk").at("business", "products")
    sri.says("jahit baju, permak celana, bordir").hears("bordir").at("business", "confirm")
    sri.says("simpan").hears("Perubahan *Jahit Bu Sri* sudah disimpan").at("business", "home")
    assert len(stored(app)) == 2 and stored(app)[1].products == "jahit baju, permak celana, bordir"

    sri.says("2")
    sri.says("hapus").hears("Yakin hapus *Jahit Bu Sri*").at("business", "delete_confirm")
    sri.says("jangan").at("business", "view")
    sri.says("hapus")
    sri.says("ya hapus").hears("sudah dihapus").at("business", "home")
    assert [b.name for b in stored(app)] == ["Keripik Bu Sri"]


def test_saving_twice_is_impossible_after_kembali(sri, app):
    register(sri)
    sri.says("kembali").hears("sudah pertanyaan pertama")
    assert len(stored(app)) == 1


def test_erasing_my_data_erases_my_businesses(sri, app):
    register(sri)
    sri.says("hapus data saya")
    sri.says("ya")
    assert stored(app) == []


@pytest.mark.parametrize("language, texts, not_indonesian", [
    ("2", ("What is your business called?", "Who owns the business?", "What kind of business", "Me (Bu Sri)"),
     ("Apa nama usaha", "Siapa pemilik")),
    ("3", ("Jeneng usaha panjenengan apa?", "Sapa sing nduwe usahane?", "Usahane jinis apa?", "Aku dhewe (Bu Sri)"),
     ("Apa nama usaha", "Siapa pemilik")),
])
def test_other_languages(kampung, language, texts, not_indonesian):
    res = kampung.resident("whatsapp:+6281234567005")
    res.onboard(language=language)
    replies = [res.says("usaha saya"), res.says("1"), res.says("Keripik Bu Sri"), res.says("1")]
    joined = "\n".join(r.text for r in replies) + "\n".join(replies[2].choices)
    for text in texts:
        assert text in joined
    for text in not_indonesian:
        assert text not in joined
    assert replies[-1].messages[-1]["step"] == "category"


def test_english_and_javanese_words_work_at_the_licence_questions(kampung):
    res = kampung.resident("whatsapp:+6281234567006")
    res.onboard(language="3")
    for text in ("usahaku", "ndaftar", "Wedang Jahe Mbok Darmi", "aku dhewe", "ombenan", "wedang jahe", "nganggo iki",
                 "liwati", "padha"):
        res.says(text)
    res.says("durung").at("business", "pirt")
    res.says("wis duwe").at("business", "halal")
    res.says("not yet").at("business", "haki")
    res.says("durung").hears("daftar usaha kampung").at("business", "listing")
    res.says("monggo").hears("Dicek dhisik", "Jinis: Panganan / ombenan", "PIRT wis, halal durung").at(
        "business", "confirm")
    res.says("iyo simpen").hears("Wis kesimpen", "Idin sing durung ana 3", "oss.go.id")


@pytest.mark.parametrize("text", ["a" * 10_000, "😀🙏🎉", "\u200b\u200c", "Robert'); DELETE FROM businesses;--"])
def test_odd_input_at_every_free_text_step_gets_a_polite_reply(sri, app, text):
    sri.says("usaha saya")
    sri.says("daftar")
    for step, answer in (("name", "Keripik"), ("owner", "saya"), ("category", "makanan"), ("products", "keripik"),
                         ("order", "pakai"), ("photo", None)):
        reply = sri.says(text)
        assert reply.messages and all(len(m["text"]) < 1600 for m in reply.messages)
        if reply.messages[-1]["step"] == step and answer:
            sri.says(answer)
    sri.says("menu")
    reply = sri.says("cari " + text).at("business", "search")
    assert all(len(m["text"]) < 1600 for m in reply.messages)
    assert len(stored(app)) == 0


def test_a_number_at_the_rt_question_means_that_rt(sri, app):
    """The RTs are listed first, so "1" is line 1 and RT 01 alike, and the resident's own
    RT is a word away ("sama")."""
    sri.says("usaha saya")
    sri.says("1")
    sri.says("Warung Bu Sri")
    sri.says("1")
    sri.says("sembako")
    sri.says("beras, minyak")
    sri.says("1")
    sri.says("lewati").at("business", "rt")
    sri.says("1").at("business", "nib")
    sri.says("kembali").at("business", "rt")
    sri.says("sama").at("business", "nib")
