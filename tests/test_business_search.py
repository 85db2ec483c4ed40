"""The kampung business directory: only listings the owner consented to, found by
chat with typos and in other words; the ranking itself; owners-only changes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.businesses import delete_business, rank, set_listing
from bot.features import EffectContext
from bot.i18n import Catalog
from flows.base import ResidentInfo
from flows.business_draft import DeleteBusiness, SetListing
from handlers.understanding import normalize
from tests.test_business_support import register, stored


@pytest.fixture
def directory(kampung):
    """Three owners: two listed businesses, one that did not consent to be listed."""
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.onboard()
    register(sri)
    register(sri, name="Kue Basah Bu Sri", products="kue lapis, nagasari, lemper")
    tini = kampung.resident("whatsapp:+6281234567002")
    tini.onboard(name="Bu Tini", rt="2")
    register(tini, name="Penjahit Bu Tini", category="jahit", products="permak celana, jahit seragam",
             licences=("belum", "belum"), order="datang ke rumah, gang 2")
    rahma = kampung.resident("whatsapp:+6281234567003")
    rahma.onboard(name="Bu Rahma")
    register(rahma, name="Keripik Rahasia", products="keripik singkong", listing="tidak usah")
    budi = kampung.resident("whatsapp:+6281234567004")
    budi.onboard(name="Pak Budi")
    return budi


@pytest.mark.parametrize("text, found", [
    ("cari keripik", ["Keripik Bu Sri"]),
    ("cari kripik", ["Keripik Bu Sri"]),
    ("cari jahit", ["Penjahit Bu Tini"]),
    ("siapa jual jahitan", ["Penjahit Bu Tini"]),
    ("ada yang jual kue?", ["Kue Basah Bu Sri"]),
    ("Ada yg jual lemper", ["Kue Basah Bu Sri"]),
    ("jual peyek", ["Keripik Bu Sri"]),
])
def test_search_from_the_main_menu(directory, text, found):
    reply = directory.says(text).hears("usaha di kampung", "Mau cari yang lain?").at("business", "search")
    names = [n for n in ("Keripik Bu Sri", "Kue Basah Bu Sri", "Penjahit Bu Tini", "Keripik Rahasia") if n in reply.text]
    assert names == found


def test_results_show_how_to_order(directory):
    directory.says("cari jahit").hears("Penjahit Bu Tini", "RT 02", "permak celana", "datang ke rumah, gang 2")
    directory.says("keripik").hears("0812-3456-7001", "wa.me/6281234567001")


def test_a_listing_without_consent_is_never_shown(directory):
    reply = directory.says("cari singkong").hears("Belum ketemu", "Coba kata lain")
    assert "Keripik Rahasia" not in reply.text


def test_a_category_word_finds_businesses_of_that_kind(directory):
    reply = directory.says("cari makanan").hears("Belum ada yang menulis \"makanan\"", "2 usaha sejenis")
    assert "Keripik Bu Sri" in reply.text and "Kue Basah Bu Sri" in reply.text and "Penjahit" not in reply.text


def test_nothing_found_suggests_other_words(directory):
    directory.says("cari sepeda motor").hears("Belum ketemu usaha untuk \"sepeda motor\"", "\"kue\"", "\"jahit\"").at(
        "business", "search")
    directory.says("menu").at("help", "menu")


def test_cari_alone_asks_what_then_searches(directory):
    directory.says("cari").hears("Mau cari apa?").at("business", "search")
    directory.says("kue lapis").hears("Kue Basah Bu Sri")
    directory.says("cari keripik").hears("Keripik Bu Sri")  # the prefix also works here


def test_search_from_the_business_menu(directory):
    directory.says("usaha saya")
    directory.says("cari usaha").hears("Mau cari apa?").at("business", "search")
    directory.says(media=[]).at("business", "search")


def test_more_results_than_shown_are_counted(kampung):
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.onboard()
    for n in range(7):
        register(sri, name=f"Kue Nomor {n + 1}", products="kue kering")
    reply = sri.says("menu")
    reply = sri.says("cari kue").hears("Ada 7 usaha", "Masih ada 2 lagi")
    assert reply.text.count("🛍️") == 5


@pytest.mark.parametrize("language, text, expected", [
    ("2", "who sells chips", "No one lists \"chips\" in their products yet"),  # listings are in Indonesian
    ("3", "golek keripik", "Ana 1 usaha ing kampung"),
])
def test_search_in_other_languages(directory, kampung, language, text, expected):
    res = kampung.resident("whatsapp:+6281234567009")
    res.onboard(language=language)
    reply = res.says(text).hears(expected, "Keripik Bu Sri").at("business", "search")
    assert "Mau cari" not in reply.text


def test_hiding_a_business_takes_it_out_of_the_directory(directory, kampung):
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.says("usaha saya")
    sri.says("keripik bu sri")
    sri.says("sembunyikan").hears("tidak ditampilkan lagi")
    assert "Keripik Bu Sri" not in directory.says("cari keripik").text


# -- the ranking --------------------------------------------------------------------
def _biz(name, products, category="biz_cat_food"):
    return {"name": name, "products": products, "category": category}


LISTED = [
    _biz("Keripik Bu Sri", "keripik tempe, peyek"),
    _biz("Penjahit Bu Tini", "permak celana", "biz_cat_fashion"),
    _biz("Salon Ayu", "potong rambut, creambath", "biz_cat_service"),
    _biz("Es Teh Mbak Ani", "es teh, es jeruk"),
]


@pytest.mark.parametrize("query, names, related", [
    ("keripik", ["Keripik Bu Sri"], False),
    ("kripik", ["Keripik Bu Sri"], False),
    ("jahit", ["Penjahit Bu Tini"], False),
    ("jait", ["Penjahit Bu Tini"], True),
    ("rambut", ["Salon Ayu"], False),
    ("makanan", ["Keripik Bu Sri", "Es Teh Mbak Ani"], True),
    ("baju", ["Penjahit Bu Tini"], True),
    ("laundry", ["Salon Ayu"], True),
    ("es", ["Es Teh Mbak Ani"], False),
    ("sepeda", [], False),
    ("a", [], False),
])
def test_rank(query, names, related):
    found, is_related = rank(query, LISTED)
    assert [b["name"] for b in found] == names
    assert is_related == related


def test_rank_puts_businesses_matching_more_words_first():
    found, _ = rank("keripik celana", LISTED + [_biz("Keripik & Celana", "keripik, celana")])
    assert found[0]["name"] == "Keripik & Celana"


# -- owners only ----------------------------------------------------------------------
def test_only_the_owner_can_list_or_delete(directory, app):
    keripik = stored(app)[0]
    stranger = ResidentInfo(999, "X", None, "id", (), (), True, False, None, ())
    now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    with app.engine.begin() as conn:
        ec = EffectContext(conn, stranger, now, app.core.notifier)
        set_listing(ec, SetListing(keripik.id, False))
        delete_business(ec, DeleteBusiness(keripik.id))
    assert stored(app)[0].listed_at == keripik.listed_at


# -- the catalogue ------------------------------------------------------------------
OPPOSITES = [("biz_yes", "biz_no"), ("biz_yes", "biz_unsure"), ("biz_list_yes", "biz_list_no"),
             ("biz_save", "biz_fix"), ("biz_show", "biz_hide"), ("biz_delete_yes", "biz_delete_no")]


@pytest.mark.parametrize("pair", OPPOSITES, ids=["/".join(p) for p in OPPOSITES])
@pytest.mark.parametrize("lang", ["id", "en", "jv"])
def test_opposite_choices_share_no_word(lang, pair):
    catalog = Catalog()
    words = [{normalize(w) for w in catalog.synonyms(lang, cid)} for cid in pair]
    assert not words[0] & words[1]
