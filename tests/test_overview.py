"""The kampung overview: only the koordinator (and admin) get it; the figures are right
for seeded data, in chat and on the desk; the chart is a real PNG; bad answers, batal,
a restart, and the English and Javanese texts."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from bot.app import build_app
from bot.cli import main
from bot.roles_admin import grant_role
from db.businesses import Business
from db.events import Event, EventAttendance, EventRsvp
from db.models import Resident, Rt
from db.reports import Report
from db.surveys import Survey, SurveyResponse
from tests.transcript import Kampung

SRI, BUDI, PAK_RT, KOOR = "+6281234567001", "+6281234567003", "+6281234567004", "+6281234567005"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _ids(session) -> dict[str, int]:
    return {phone: rid for phone, rid in session.execute(select(Resident.phone, Resident.id))}


@pytest.fixture
def seeded(kampung, sri, app, clock):
    """Four residents (RT 04: Bu Sri, Pak Joko; RT 05: Pak Budi, who said STOP, and
    Bu Ani); three businesses, three open reports and a done one, a survey for RT 04 that
    Bu Sri finished, and a past kerja bakti where two of four said they come."""
    for phone, name, rt in ((BUDI, "Pak Budi", "5"), (PAK_RT, "Pak Joko", "4"), (KOOR, "Bu Ani", "5")):
        kampung.resident(f"whatsapp:{phone}").onboard(name=name, rt=rt)
    now = clock.now()
    with app.sessions.begin() as session:
        grant_role(session, PAK_RT, "ketua_rt", "04")
        grant_role(session, KOOR, "koordinator", None)
        ids = _ids(session)
        session.execute(update(Resident).where(Resident.phone == BUDI).values(opted_out=True))
        rt04 = session.scalar(select(Rt.id).where(Rt.number == "04"))
        stamps = {"created_at": now, "updated_at": now}
        session.execute(insert(Business), [
            {"owner_id": ids[SRI], "name": "Keripik Bu Sri", "owner_name": "Bu Sri", "category": "biz_cat_food",
             "products": "keripik", "order_contact": SRI, "rt_id": rt04, "nib": "none", "pirt": True,
             "halal": False, "haki": False, **stamps},
            {"owner_id": ids[SRI], "name": "Anyaman Sri", "owner_name": "Bu Sri", "category": "biz_cat_craft",
             "products": "tas", "order_contact": SRI, "rt_id": rt04, "nib": "rba", "pirt": None, "halal": None,
             "haki": True, **stamps},
            {"owner_id": ids[BUDI], "name": "Sambal Budi", "owner_name": "Pak Budi",
             "category": "biz_cat_home_industry", "products": "sambal", "order_contact": BUDI, "rt_id": rt04,
             "nib": "old", "pirt": False, "halal": False, "haki": False, **stamps},
        ])
        session.execute(insert(Report), [
            {"category": category, "rt": "04", "description": "x", "status": state, "status_changed_at": now,
             "created_at": now - timedelta(days=days)}
            for category, days, state in (("road", 2, "new"), ("road", 10, "verified"), ("drain", 40, "in_progress"),
                                          ("light", 1, "done"))
        ])
        survey_id = session.execute(insert(Survey).values(
            title="Survei sampah", audience="rt:04", closes_at=now + timedelta(days=3), questions=[],
            created_at=now)).inserted_primary_key[0]
        session.execute(insert(SurveyResponse), [
            {"survey_id": survey_id, "resident_id": ids[SRI], "answers": {}, "started_at": now, "updated_at": now,
             "completed_at": now},
            {"survey_id": survey_id, "resident_id": ids[PAK_RT], "answers": {}, "started_at": now,
             "updated_at": now, "completed_at": None},
        ])
        past, future = (session.execute(insert(Event).values(
            kind="kerja_bakti", title=title, starts_at=now + timedelta(days=days), place="balai RW",
            audience="all", created_at=now)).inserted_primary_key[0]
            for title, days in (("Kerja bakti selokan", -2), ("Rembuk warga", 5)))
        session.execute(insert(EventRsvp), [
            {"event_id": event, "resident_id": ids[phone], "answer": answer, "updated_at": now}
            for event, phone, answer in ((past, SRI, "yes"), (past, BUDI, "yes"), (past, PAK_RT, "no"),
                                         (future, KOOR, "yes"))
        ])
    return kampung.resident(f"whatsapp:{KOOR}")


FIGURES_ID = (
    "*Warga*: 4 orang, 1 tidak mau menerima pengumuman.", "• RT 04: 2", "• RT 05: 2",
    "*Usaha warga*: 3", "• Makanan / minuman: 1", "• Kerajinan / kriya: 1", "• Industri rumah tangga: 1",
    "Belum punya NIB berbasis risiko (OSS): 2", "Usaha pangan: 2, belum PIRT: 1, belum halal: 2",
    "*Laporan yang masih terbuka*: 3", "• Jalan rusak / berlubang: 2", "• Saluran air / selokan mampet: 1",
    "Umurnya: 1 kurang dari seminggu, 1 seminggu sampai sebulan, 1 lebih dari sebulan.",
    "• Survei sampah: 1 dari 2 (50%)", "• Kerja bakti selokan: 2 dari 4 (50%)",
)


def test_a_resident_and_an_rt_head_are_refused(seeded, sri, kampung):
    sri.says("gambaran kampung").hears("khusus pengurus").at("help", "menu")
    joko = kampung.resident(f"whatsapp:{PAK_RT}")
    joko.says("gambaran kampung").hears("khusus").at("help", "menu")
    assert "Gambaran kampung (angka dan grafik)" not in joko.says("menu pengurus").at("staff", "menu").choices
    joko.presses("overview").hears("tidak berlaku").at("staff", "menu")  # a button he was never shown


def test_the_koordinator_gets_the_figures_and_a_png_chart(seeded, settings):
    ani = seeded
    ani.says("menu pengurus").offers("Gambaran kampung (angka dan grafik)")
    replies = ani.says("gambaran kampung").hears(*FIGURES_ID).offers("Kirim grafik").at("overview", "summary")
    assert "Rembuk warga" not in replies.text  # not yet held
    replies = ani.says("grafik").hears("Ini grafiknya").at("overview", "after_chart")
    path = Path(next(m["document_path"] for m in replies.messages if m["document_path"]))
    assert path.is_relative_to(settings.data_dir / "charts")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    ani.says("lihat lagi").hears("*Usaha warga*: 3").at("overview", "summary")
    ani.says("menu pengurus").at("staff", "menu")


def test_wrong_answers_kembali_batal_and_a_restart(seeded, settings, clock):
    ani = seeded
    ani.says("gambaran kampung").at("overview", "summary")
    ani.says("asdfgh").hears("belum kami pahami").offers("Kirim grafik").at("overview", "summary")
    ani.says("grafk").hears("Ini grafiknya").at("overview", "after_chart")
    ani.says("kembali").at("overview", "summary")
    ani.says("batal").at("help", "menu")
    ani.says("gambaran kampung").at("overview", "summary")
    clock.set(clock.now() + timedelta(hours=3))
    restarted = Kampung(build_app(settings, clock=clock)).resident(f"whatsapp:{KOOR}")
    restarted.says("grafik").hears("Ini grafiknya").at("overview", "after_chart")


def test_an_empty_kampung_says_none_yet(kampung, app):
    ani = kampung.resident(f"whatsapp:{KOOR}")
    ani.onboard(name="Bu Ani")
    with app.sessions.begin() as session:
        grant_role(session, KOOR, "admin", None)
    ani.says("gambaran kampung").hears("*Usaha warga*: 0", "• belum ada").at("overview", "summary")
    replies = ani.says("grafik").at("overview", "after_chart")
    assert Path(next(m["document_path"] for m in replies.messages if m["document_path"])).read_bytes()[:8] \
        == PNG_SIGNATURE


@pytest.mark.parametrize("language, expected, not_expected", [
    ("en", ("*Residents*: 4, 1 do not want announcements.", "Without the risk-based NIB (OSS): 2",
           "• Kerja bakti selokan: 2 of 4 (50%)"), "Warga"),
    ("jv", ("*Warga*: 4 wong, 1 ora gelem nampa woro-woro.", "Durung duwe NIB adhedhasar risiko (OSS): 2",
           "• Kerja bakti selokan: 2 saka 4 (50%)"), "orang"),
])
def test_english_and_javanese(seeded, app, language, expected, not_expected):
    ani = seeded
    with app.sessions.begin() as session:
        session.execute(update(Resident).where(Resident.phone == KOOR).values(language=language))
    ani.says("menu pengurus").at("staff", "menu")
    replies = ani.presses("overview").hears(*expected).at("overview", "summary")
    assert not_expected not in replies.text
    ani.presses("ovw_chart").hears("chart" if language == "en" else "grafike")


def test_the_cli_prints_the_figures_and_draws_the_chart(seeded, settings, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    capsys.readouterr()
    chart = tmp_path / "overview.png"
    assert main(["--env-file", "/nonexistent", "overview", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    ages = "Umurnya: 1 kurang dari seminggu, 1 seminggu sampai sebulan, 1 lebih dari sebulan."
    for fragment in FIGURES_ID:
        assert fragment == ages or fragment in out
    # The desk runs on the real clock, so the seeded reports' ages depend on today.
    assert sum(map(int, re.search(r"Umurnya: (\d+) .*, (\d+) .*, (\d+) ", out).groups())) == 3
    assert f"Grafik ditulis ke {chart}" in out
    assert chart.read_bytes().startswith(PNG_SIGNATURE)


def test_recorded_attendance_replaces_rsvps_and_cancelled_events_are_left_out(seeded, app, clock):
    """Once staff mark who came (flow event_admin), an event's turnout is who came."""
    now = clock.now()
    with app.sessions.begin() as session:
        ids = _ids(session)
        past = session.scalar(select(Event.id).where(Event.title == "Kerja bakti selokan"))
        session.execute(insert(EventAttendance), [
            {"event_id": past, "resident_id": ids[phone], "marked_at": now, "marked_by": ids[KOOR]}
            for phone in (SRI, BUDI, PAK_RT)])
        session.execute(insert(Event).values(kind="rembuk", title="Rapat batal", starts_at=now - timedelta(days=1),
                                             place="balai RW", audience="all", created_at=now, cancelled_at=now))
    replies = seeded.says("gambaran kampung").hears("• Kerja bakti selokan: 3 dari 4 (75%)")
    assert "Rapat batal" not in replies.text
