"""`kampung templates sync|list` against the fake Content API (real twilio client,
real SQLite database): creation, submission, idempotency, approval read back, and
the one-line errors of the desk."""
from __future__ import annotations

import socket

import httpx
import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.cli import main
from bot.settings import load_settings
from bot.templates import CATEGORIES, KINDS, LANGUAGES, approved_content, friendly_name
from db.templates import WhatsAppTemplate
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN
from tests.fakes.twilio_content import FakeContentApi

ALL = len(KINDS) * len(LANGUAGES)


@pytest.fixture
def content():
    with FakeContentApi() as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def env(tmp_path, monkeypatch, content):
    values = {"DATABASE_URL": f"sqlite:///{tmp_path}/desk.db", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
              "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": "+14155238886",
              "PUBLIC_BASE_URL": "https://bot.example.org", "TWILIO_CONTENT_BASE_URL": content.base_url}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def kampung(*args: str) -> int:
    return main(["--env-file", "/nonexistent", "templates", *args])


def stored(env) -> dict[tuple[str, str], object]:
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": env["DATABASE_URL"]}))
    try:
        with app.engine.connect() as conn:
            return {(r.kind, r.language): r for r in conn.execute(select(WhatsAppTemplate.__table__))}
    finally:
        app.engine.dispose()


def posts(content, path_end: str) -> list[dict]:
    return [r for r in content.requests if r["method"] == "POST" and r["path"].endswith(path_end)]


def test_sync_creates_and_submits_every_template_once(env, content, capsys):
    assert kampung("sync") == 0
    out = capsys.readouterr().out.splitlines()
    assert "kampung_announcement_id: dibuat dan diajukan ke WhatsApp." in out
    assert out[-1] == "Template: 0 disetujui, 24 menunggu, 0 ditolak, 0 lainnya. Lihat rinciannya: kampung templates list"
    creates, approvals = posts(content, "/v1/Content"), posts(content, "/whatsapp")
    assert sorted((r["body"]["friendly_name"], r["body"]["language"]) for r in creates) == sorted(
        (friendly_name(k, lang), lang) for k in KINDS for lang in LANGUAGES)
    assert {r["body"]["name"]: r["body"]["category"] for r in approvals} == {
        friendly_name(k, lang): CATEGORIES[k].upper() for k in KINDS for lang in LANGUAGES}
    generic = next(r["body"] for r in creates if r["body"]["friendly_name"] == "kampung_generic_id")
    assert generic["types"] == {"twilio/text": {
        "body": "Ada pesan baru untuk Anda dari {{1}}. Balas apa saja untuk membacanya."}}
    assert generic["variables"] == {"1": "Kampung Sukamaju RW 05"}
    rows = stored(env)
    assert len(rows) == ALL
    assert {r.status for r in rows.values()} == {"received"}
    assert {r.content_sid for r in rows.values()} == set(content.contents)

    assert kampung("sync") == 0
    assert len(posts(content, "/v1/Content")) == ALL and len(posts(content, "/whatsapp")) == ALL
    assert {k: r.content_sid for k, r in stored(env).items()} == {k: r.content_sid for k, r in rows.items()}


def test_approval_and_rejection_are_read_back_and_listed(env, content, capsys):
    assert kampung("sync") == 0
    content.approve("kampung_announcement_id")
    content.approve("kampung_announcement_en")
    content.reject("kampung_announcement_jv", "INVALID_FORMAT: language jv is not supported")
    content.set_status("kampung_generic_id", "paused")
    content.set_status("kampung_event_reminder_id", "approved", category="MARKETING")
    capsys.readouterr()
    assert kampung("sync") == 0
    assert capsys.readouterr().out.splitlines() == [
        "Template: 3 disetujui, 19 menunggu, 1 ditolak, 1 lainnya. Lihat rinciannya: kampung templates list"]
    assert kampung("list") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == ALL
    assert "kampung_announcement_id — pengumuman, id, pemasaran: disetujui" in out
    assert ("kampung_announcement_jv — pengumuman, jv, pemasaran: ditolak "
            "(INVALID_FORMAT: language jv is not supported)") in out
    assert "kampung_generic_id — pesan baru (umum), id, utilitas: dijeda WhatsApp" in out
    assert "kampung_event_reminder_en — pengingat acara, en, utilitas: diterima WhatsApp, menunggu diperiksa" in out
    assert "kampung_event_reminder_id — pengingat acara, id, pemasaran: disetujui" in out  # WhatsApp re-categorised
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": env["DATABASE_URL"]}))
    try:
        with app.engine.connect() as conn:
            assert approved_content(conn, "announcement", "jv") == content.by_name("kampung_announcement_id")["sid"]
            assert approved_content(conn, "announcement", "en") == content.by_name("kampung_announcement_en")["sid"]
            assert approved_content(conn, "generic", "id") is None
    finally:
        app.engine.dispose()


def test_a_lost_database_adopts_the_templates_twilio_has(env, content, tmp_path, monkeypatch, capsys):
    content.fail_create("kampung_survey_reminder_en", status=400, code=20001, message="Invalid parameter")
    assert kampung("sync") == 1
    out = capsys.readouterr().out.splitlines()
    assert "Template kampung_survey_reminder_en gagal: 400 20001: Unable to create record: Invalid parameter" in out
    assert ("survey_reminder", "en") not in stored(env) and len(stored(env)) == ALL - 1
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/fresh.db")
    assert kampung("sync") == 0
    assert len(posts(content, "/v1/Content")) == ALL + 1  # the failed create, then the missing one only
    assert len(content.contents) == ALL
    assert "kampung_survey_reminder_en: dibuat dan diajukan ke WhatsApp." in capsys.readouterr().out
    fresh = stored({"DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"})
    assert {r.content_sid for r in fresh.values()} == set(content.contents)


def test_a_created_template_whose_submission_failed_is_submitted_next_time(env, content, capsys):
    content.fail_submit("kampung_report_status_jv", status=400, code=20001, message="Invalid parameter")
    assert kampung("sync") == 1
    assert ("Template kampung_report_status_jv gagal: 400 20001: Unable to create record: Invalid parameter"
            in capsys.readouterr().out.splitlines())
    assert ("report_status", "jv") not in stored(env)
    assert kampung("sync") == 0
    assert "kampung_report_status_jv: diajukan ke WhatsApp." in capsys.readouterr().out.splitlines()
    assert len(posts(content, "/v1/Content")) == ALL
    assert stored(env)[("report_status", "jv")].status == "received"


def test_a_failing_listing_is_one_line(env, content, capsys):
    content.fail_next(1, status=500)
    assert kampung("sync") == 1
    assert capsys.readouterr().out.splitlines() == [
        "Twilio sedang bermasalah (500 20500: Unable to fetch page: Internal Server Error). "
        "Template yang sudah tersimpan tetap aman; jalankan lagi nanti."]
    assert stored(env) == {}


def test_an_outage_midway_keeps_what_was_done(env, content, capsys):
    content.fail_create("kampung_event_change_id", status=503, code=20503, message="Service Unavailable")
    assert kampung("sync") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("Twilio sedang bermasalah (503 20503")
    done = stored(env)
    assert sorted(done) == sorted((k, lang) for k in KINDS[:KINDS.index("event_change")] for lang in LANGUAGES)
    assert kampung("sync") == 0
    assert len(content.contents) == ALL and len(stored(env)) == ALL


def test_without_twilio_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/none.db")
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert kampung("sync") == 2
    captured = capsys.readouterr()
    assert captured.out == ("Template WhatsApp dibuat lewat Twilio: isi TWILIO_ACCOUNT_SID dan TWILIO_AUTH_TOKEN "
                            "dulu.\n")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    assert kampung("sync") == 2
    assert capsys.readouterr().out.startswith("WhatsApp templates are created through Twilio")
    assert kampung("list") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == ALL and out[0] == "kampung_announcement_id — announcement, id, marketing: not submitted"


def test_api_unreachable_one_line_and_nothing_stored(env, monkeypatch, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("TWILIO_CONTENT_BASE_URL", closed)
    assert kampung("sync") == 1
    captured = capsys.readouterr()
    assert captured.out == ("Twilio tidak bisa dihubungi. Template yang sudah tersimpan tetap aman; "
                            "jalankan lagi nanti.\n")
    assert "Traceback" not in captured.err
    assert stored(env) == {}


def test_the_fake_refuses_what_the_real_api_would():
    """The contract check is not vacuous: a body the spec refuses is a violation."""
    with FakeContentApi() as fake:
        auth = (ACCOUNT_SID, AUTH_TOKEN)
        missing = httpx.post(f"{fake.base_url}/v1/Content", json={"language": "id"}, auth=auth)
        typed = httpx.post(f"{fake.base_url}/v1/Content", auth=auth, json={
            "language": "id", "variables": {"1": 5}, "types": {"twilio/text": {"body": "Halo {{1}} ya"}}})
        assert (missing.status_code, typed.status_code) == (400, 400)
        assert len(fake.violations) == 2
        assert "types" in fake.violations[0] and "variables.1" in fake.violations[1]
