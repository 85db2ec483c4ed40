"""Reminders and new-event alerts, driven by `kampung simulate` clock lines: on time,
after downtime within and beyond the grace period, across a restart, never to residents
who declined or said STOP, never twice."""
from __future__ import annotations

from dataclasses import replace

import io
import json
import logging

import pytest
from sqlalchemy import func, select

from bot import simulate
from bot.app import build_app
from db.events import EventFollow, EventReminder, EventRsvp
from tests.test_events_flow import announce

SRI, BUDI, TONO, WATI, ANI = (f"whatsapp:+62812345670{n:02d}" for n in (1, 2, 3, 4, 5))
EVENING_BEFORE = "2026-11-27T19:00:00+07:00"
TWO_HOURS_BEFORE = "2026-11-28T17:30:00+07:00"


def clock_to(app, *times: str) -> list[dict]:
    """Run `kampung simulate` clock lines; the messages it sent."""
    out, err = io.StringIO(), io.StringIO()
    assert simulate.run(app, io.StringIO("".join(json.dumps({"clock": t}) + "\n" for t in times)), out, err) == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def reminders(sent: list[dict]) -> list[str]:
    return sorted(m["to"] for m in sent if "Pengingat acara" in m["text"])


@pytest.fixture
def rt04(kampung, app):
    """Sri and Ani (no answer, maybe) get reminders; Budi declined, Tono said STOP,
    Wati lives in RT 05. Replies so far are sent, so later runs show only new messages."""
    for sender, name, rt in ((SRI, "Bu Sri", "4"), (BUDI, "Pak Budi", "4"), (TONO, "Pak Tono", "04"),
                             (WATI, "Bu Wati", "5"), (ANI, "Bu Ani", "4")):
        kampung.resident(sender).onboard(name=name, rt=rt)
    announce(app, audience="rt:04")
    for sender, answer in ((BUDI, "tidak hadir"), (ANI, "mungkin")):
        kampung.resident(sender).says("jadwal acara")
        kampung.resident(sender).says("1")
        kampung.resident(sender).says(answer)
    kampung.resident(TONO).says("STOP")
    clock_to(app, "2026-11-22T10:00:00+07:00")
    return kampung


def statuses(app) -> list[tuple[str, int | None]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(EventReminder.status, EventReminder.recipients).order_by(EventReminder.due_at))]


def test_reminders_go_on_time_to_invitees_who_have_not_declined(app, rt04):
    assert clock_to(app, "2026-11-27T18:59:00+07:00") == []
    sent = clock_to(app, EVENING_BEFORE)
    assert reminders(sent) == sorted([SRI, ANI])
    text = next(m["text"] for m in sent if m["to"] == SRI)
    assert "Musyawarah kas RW" in text and "Sabtu, 28 November 2026 pukul 19.30 WIB" in text and "Balai RW 05" in text
    assert clock_to(app, "2026-11-27T19:01:00+07:00", "2026-11-27T22:00:00+07:00") == []  # never twice
    assert reminders(clock_to(app, TWO_HOURS_BEFORE)) == sorted([SRI, ANI])
    assert clock_to(app, "2026-11-28T19:30:00+07:00", "2026-11-29T08:00:00+07:00") == []
    assert statuses(app) == [("sent", 2), ("sent", 2)]


def test_a_resident_who_changes_to_not_coming_gets_no_more_reminders(app, rt04):
    assert SRI in reminders(clock_to(app, EVENING_BEFORE))
    sri = rt04.resident(SRI)
    sri.says("jadwal acara")
    sri.says("1")
    sri.says("gak bisa")
    assert reminders(clock_to(app, TWO_HOURS_BEFORE)) == [ANI]


def test_after_downtime_a_reminder_within_the_grace_period_is_still_sent(app, rt04):
    assert reminders(clock_to(app, "2026-11-27T19:55:00+07:00")) == sorted([SRI, ANI])
    assert statuses(app)[0] == ("sent", 2)


def test_after_downtime_beyond_the_grace_period_a_reminder_is_dropped_and_logged(app, rt04, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.events"):
        assert clock_to(app, "2026-11-27T20:01:00+07:00") == []
    assert "dropped" in caplog.text
    assert statuses(app) == [("dropped", 0), ("pending", None)]
    assert reminders(clock_to(app, "2026-11-28T18:00:00+07:00")) == sorted([SRI, ANI])  # 30 minutes late: sent


def test_the_grace_period_comes_from_the_settings(app, rt04):
    app.settings = replace(app.settings, reminder_grace_minutes=180)
    assert reminders(clock_to(app, "2026-11-27T21:30:00+07:00")) == sorted([SRI, ANI])
    app.settings = replace(app.settings, reminder_grace_minutes=1440)
    assert clock_to(app, "2026-11-28T19:45:00+07:00") == []  # the event has started: too late whatever the grace
    assert statuses(app) == [("sent", 2), ("dropped", 0)]


def test_reminders_survive_a_restart_and_are_not_sent_again(app, rt04, settings, clock):
    app.engine.dispose()
    again = build_app(settings, clock=clock)
    try:
        assert reminders(clock_to(again, EVENING_BEFORE)) == sorted([SRI, ANI])
    finally:
        again.engine.dispose()
    third = build_app(settings, clock=clock)
    try:
        assert clock_to(third, "2026-11-27T19:30:00+07:00") == []
    finally:
        third.engine.dispose()


def test_a_kur_reminder_repeats_the_readiness_checklist(app, kampung):
    kampung.resident(SRI).onboard()
    announce(app, "Sosialisasi KUR BRI", "2026-11-25 09:00", kind="kur", checklist=True)
    clock_to(app, "2026-11-22T10:00:00+07:00")
    [reminder] = clock_to(app, "2026-11-24T19:00:00+07:00")
    assert "Sosialisasi KUR BRI" in reminder["text"]
    assert all(item in reminder["text"] for item in ("KTP", "Kartu Keluarga (KK)", "NIB", "minimal 6 bulan"))


def test_a_new_event_is_announced_at_once_to_followers_in_its_audience(app, kampung):
    for sender, rt in ((SRI, "4"), (TONO, "4"), (WATI, "5"), (BUDI, "4")):
        kampung.resident(sender).onboard(rt=rt)
    for sender in (SRI, TONO, WATI):
        kampung.resident(sender).says("ingatkan kalau ada sosialisasi kur")
    kampung.resident(TONO).says("STOP")
    kampung.resident(SRI).says("ingatkan posyandu")
    clock_to(app, "2026-11-22T10:00:00+07:00")

    assert announce(app, "KUR BRI", "2026-11-29 09:00", kind="kur", audience="rt:04").notified == 1
    assert announce(app, "Kerja bakti", "2026-11-29 07:00", kind="kerja_bakti", audience="rt:04").notified == 0
    [alert] = clock_to(app, "2026-11-22T10:01:00+07:00")
    assert alert["to"] == SRI
    assert "Ada acara baru" in alert["text"] and "KUR BRI" in alert["text"] and "berhenti ingatkan Sosialisasi KUR" in alert["text"]


def test_erasing_a_resident_removes_their_answers_and_follows(app, kampung):
    sri = kampung.resident(SRI)
    sri.onboard()
    announce(app)
    sri.says("ingatkan posyandu")
    sri.says("jadwal acara")
    sri.says("1")
    sri.says("hadir")
    sri.says("hapus data saya")
    sri.says("ya")
    with app.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EventRsvp)) == 0
        assert conn.scalar(select(func.count()).select_from(EventFollow)) == 0
