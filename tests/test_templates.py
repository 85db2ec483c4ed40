"""WhatsApp templates as catalogue entries (bot.templates): their bodies follow
WhatsApp's rules in every language, the variables the dispatcher sends fit, and the
approved ContentSid is found with the Indonesian fallback."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from bot.i18n import Catalog
from bot.templates import (CATEGORIES, GENERIC, KIND_BY_KEY, KINDS, LANGUAGES, MAX_BODY, approved_content,
                           body_variables, fits_template, flatten, friendly_name, kind_for_key, sample_variables,
                           template_body, template_variables)
from db.templates import WhatsAppTemplate
from tests.fakes.twilio_content import whatsapp_problems

CATALOG = Catalog()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def filled(kind: str, language: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{(\d+)\}\}", lambda m: values[m.group(1)], template_body(CATALOG, kind, language))


def test_every_kind_a_message_can_have_has_a_template():
    assert set(KIND_BY_KEY.values()) | {GENERIC} == set(KINDS)
    assert set(CATEGORIES.values()) == {"utility", "marketing"}
    assert kind_for_key("report.update.done") == "report_status"
    assert kind_for_key("menu.main") == GENERIC


@pytest.mark.parametrize("kind", KINDS)
def test_same_placeholders_in_every_language(kind):
    expected = ["1"] if kind == GENERIC else ["1", "2"]
    for language in LANGUAGES:
        body = template_body(CATALOG, kind, language)
        assert body_variables(body) == expected, f"{language}: {body!r}"
        assert sorted(sample_variables(CATALOG, kind, language)) == expected


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_bodies_and_samples_follow_whatsapp_rules(kind, language):
    assert whatsapp_problems(template_body(CATALOG, kind, language), sample_variables(CATALOG, kind, language)) == []
    assert re.fullmatch(r"[a-z0-9_]+", friendly_name(kind, language))


def test_generic_template_names_the_kampung_and_asks_for_a_reply():
    body = template_body(CATALOG, GENERIC, "id")
    assert body == "Ada pesan baru untuk Anda dari {{1}}. Balas apa saja untuk membacanya."
    assert template_variables(GENERIC, "Rapat warga\nbesok", "Kampung Sukamaju") == {"1": "Kampung Sukamaju"}


def test_variables_go_on_one_line():
    text = "📢 Pengumuman dari Pak RT:\nAir PDAM mati\n\n\tbesok     *jam 8*\r\nbawa ember"
    values = template_variables("announcement", text, "Kampung  Sukamaju\nRW 05")
    assert values == {"1": "Kampung Sukamaju · RW 05",
                      "2": "📢 Pengumuman dari Pak RT: Air PDAM mati · besok *jam 8* · bawa ember"}
    assert fits_template("announcement", text, "Kampung Sukamaju")
    for value in values.values():
        assert not re.search(r"[\n\t]| {5}", value)


def test_flatten_keeps_a_single_line_as_it_is():
    assert flatten("Rapat warga jam 19.30") == "Rapat warga jam 19.30"
    assert flatten("  \n \n") == ""


@pytest.mark.parametrize("kind", [k for k in KINDS if k != GENERIC])
def test_a_long_text_is_cut_so_every_language_stays_within_1024(kind):
    text = "\n".join(f"Baris {n}: kerja bakti 🧹 di gang {n}, bawa sapu dan karung." for n in range(60))
    kampung = "Kampung Sukamaju Makmur Sejahtera RW 05"
    values = template_variables(kind, text, kampung)
    assert values["1"] == kampung
    assert values["2"].endswith("…") and values["2"].startswith("Baris 0: kerja bakti 🧹")
    assert not fits_template(kind, text, kampung)
    lengths = [units(filled(kind, language, values)) for language in LANGUAGES]
    assert max(lengths) <= MAX_BODY
    assert max(lengths) > MAX_BODY - 30, "the cut wastes room"


def test_a_text_that_just_fits_is_not_cut():
    kampung = "Kampung Sukamaju"
    room = MAX_BODY - max(units(filled("event_reminder", lang, {"1": kampung, "2": ""})) for lang in LANGUAGES)
    text = "x" * room
    assert template_variables("event_reminder", text, kampung)["2"] == text
    assert fits_template("event_reminder", text, kampung)
    assert not fits_template("event_reminder", text + "y", kampung)
    assert template_variables("event_reminder", text + "y", kampung)["2"] == "x" * (room - 1) + "…"


def test_an_empty_text_does_not_fit():
    assert not fits_template("announcement", " \n ", "Kampung Sukamaju")


def store(app, kind, language, status, sid):
    with app.engine.begin() as conn:
        conn.execute(insert(WhatsAppTemplate.__table__).values(
            kind=kind, language=language, friendly_name=friendly_name(kind, language), content_sid=sid,
            category=CATEGORIES[kind], status=status, updated_at=NOW))


def test_approved_content_prefers_the_residents_language_then_indonesian(app):
    id_sid, en_sid, jv_sid = ("HX" + c * 32 for c in "abc")
    store(app, "announcement", "id", "approved", id_sid)
    store(app, "announcement", "en", "approved", en_sid)
    store(app, "announcement", "jv", "rejected", jv_sid)
    store(app, "event_reminder", "id", "pending", "HX" + "d" * 32)
    with app.engine.connect() as conn:
        assert approved_content(conn, "announcement", "en") == en_sid
        assert approved_content(conn, "announcement", "jv") == id_sid
        assert approved_content(conn, "announcement", "id") == id_sid
        assert approved_content(conn, "event_reminder", "id") is None
        assert approved_content(conn, "survey_reminder", "en") is None
