"""Scheduled and repeating announcements on the simulated clock (DueTasks and `kampung
simulate` clock lines): sent when due and never twice, weekly and monthly runs, cancel,
downtime within and beyond the grace period, and the delivery summary counted from the
outbox after the dispatcher has sent (or failed) each row."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot import simulate
from bot.outbox import Dispatcher
from db.broadcasts import Broadcast, BroadcastRun
from db.models import Outbox
from scheduler.due import DueTasks
from tests.test_broadcast_flow import KOOR, SRI, WATI, announcements, broadcasts, make_koordinator, make_warga


@pytest.fixture
def warga(kampung):
    return make_warga(kampung)


@pytest.fixture
def koordinator(kampung, app):
    return make_koordinator(kampung, app)

WIB = timezone(timedelta(hours=7))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=WIB).astimezone(timezone.utc)


def run_due(app, clock, when: str) -> list[dict]:
    """Move the clock and run the due tasks; the announcements queued by that run."""
    before = len(announcements(app))
    clock.set(at(when))
    DueTasks.of(app).run(clock.now())
    return announcements(app)[before:]


def summaries(app) -> list[str]:
    with app.engine.connect() as conn:
        return [p["text"] for (p,) in conn.execute(select(Outbox.payload).where(Outbox.address == KOOR)
                                                    .order_by(Outbox.id)) if "Ringkasan" in p["text"]
                or "tidak dikirim" in p["text"]]


def schedule(koordinator, when: str, audience: str = "semua", text: str = "Kerja bakti bersihkan selokan"):
    koordinator.says("kirim pengumuman")
    koordinator.says(text)
    if audience.startswith("RT"):
        koordinator.says("rt")
    koordinator.says(audience)
    koordinator.says(when).at("broadcast", "preview")
    return koordinator.says("kirim")


def test_scheduled_at_a_natural_time_goes_once_when_due(app, clock, warga, koordinator):
    schedule(koordinator, "sabtu jam 4 sore", "RT 05").hears("akan dikirim Sabtu, 28 November 2026 pukul 16.00 WIB")
    assert run_due(app, clock, "2026-11-28T15:59") == []
    sent = run_due(app, clock, "2026-11-28T16:00")
    assert sorted(m["to"] for m in sent) == sorted([WATI.split(":")[1], KOOR])
    assert run_due(app, clock, "2026-11-28T16:01") == []
    assert [b.status for b in broadcasts(app)] == ["sending"]  # until the delivery summary
    assert run_due(app, clock, "2026-11-29T16:00") == []
    assert [b.status for b in broadcasts(app)] == ["done"]


async def test_delivery_summary_counts_from_the_outbox_after_the_dispatcher(app, clock, warga, koordinator):
    schedule(koordinator, "besok jam 9 pagi")
    assert len(run_due(app, clock, "2026-11-23T09:00")) == 5  # Sri, Budi, Wati, Darmi, Bu Ani; Tono said STOP
    assert summaries(app) == []  # nothing final yet

    async def whatsapp(out):
        if out.address == WATI.split(":")[1]:
            raise RuntimeError("number not on WhatsApp")
        return "SM1"

    async def telegram(out):
        return 7

    dispatcher = Dispatcher(app.sessions, {"whatsapp": whatsapp, "telegram": telegram}, clock)
    await dispatcher.dispatch()
    with app.engine.begin() as conn:  # the receipts: Wati's number is not on WhatsApp, the rest arrived
        conn.execute(update(Outbox).where(Outbox.address == WATI.split(":")[1])
                     .values(status="failed", failure="not_on_whatsapp"))
        conn.execute(update(Outbox).where(Outbox.status == "sent").values(delivery="delivered"))
    run_due(app, clock, "2026-11-23T09:01")
    [summary] = summaries(app)
    assert ("Ringkasan pengumuman #1 untuk semua warga:\n• Sampai: 4 warga (sudah dibaca 0)\n"
            "• Gagal: 1 (1 nomor tidak aktif di WhatsApp)\n• Tidak terjangkau: 0\n• Dilewati (STOP): 1") == summary
    run_due(app, clock, "2026-11-23T10:00")
    assert len(summaries(app)) == 1  # once
    assert [b.status for b in broadcasts(app)] == ["done"]


def test_the_summary_comes_after_a_bounded_wait_when_rows_stay_pending(app, clock, warga, koordinator):
    schedule(koordinator, "besok jam 9 pagi")
    run_due(app, clock, "2026-11-23T09:00")
    run_due(app, clock, "2026-11-23T09:29")
    assert summaries(app) == []
    run_due(app, clock, "2026-11-23T09:30")
    [summary] = summaries(app)
    assert "• Sampai: 0 warga (sudah dibaca 0)" in summary and summary.endswith("• Masih dalam antrean: 5")


def test_weekly_runs_twice_without_duplicates_and_cancel_stops_it(app, clock, warga, koordinator):
    schedule(koordinator, "setiap Jumat jam 16.00").hears("Yang pertama Jumat, 27 November 2026 pukul 16.00 WIB")
    assert len(run_due(app, clock, "2026-11-27T16:00")) == 5
    assert run_due(app, clock, "2026-11-27T16:05") == []
    assert run_due(app, clock, "2026-12-04T15:59") == []
    assert len(run_due(app, clock, "2026-12-04T16:00")) == 5
    assert run_due(app, clock, "2026-12-04T16:30") == []
    [row] = broadcasts(app)
    assert (row.status, row.next_run_at) == ("scheduled", at("2026-12-11T16:00"))
    koordinator.says("pengumuman terjadwal").hears("berikutnya Jumat, 11 Desember 2026 pukul 16.00 WIB")
    koordinator.says("1")
    koordinator.says("ya").hears("sudah dibatalkan")
    assert run_due(app, clock, "2026-12-11T16:00") == []
    with app.engine.connect() as conn:
        assert conn.execute(select(BroadcastRun.due_at).order_by(BroadcastRun.id)).scalars().all() == [
            at("2026-11-27T16:00"), at("2026-12-04T16:00")]


def test_monthly_runs_on_the_first_of_each_month(app, clock, warga, koordinator):
    schedule(koordinator, "tiap tanggal 1 jam 08.00", "RT 04", "Iuran kebersihan bulan ini")
    assert run_due(app, clock, "2026-11-30T08:00") == []
    assert len(run_due(app, clock, "2026-12-01T08:00")) == 3  # Sri, Budi, Darmi
    assert run_due(app, clock, "2026-12-01T08:10") == [] and run_due(app, clock, "2026-12-15T08:00") == []
    assert len(run_due(app, clock, "2027-01-01T08:00")) == 3
    assert broadcasts(app)[0].next_run_at == at("2027-02-01T08:00")


def test_a_one_off_missed_beyond_the_grace_period_is_not_sent_and_the_sender_is_told(app, clock, warga, koordinator):
    schedule(koordinator, "sabtu jam 4 sore")
    assert run_due(app, clock, "2026-11-28T17:01") == []  # the bot was down from before 16.00
    assert [b.status for b in broadcasts(app)] == ["missed"]
    [told] = summaries(app)
    assert "Pengumuman #1 untuk semua warga (Sabtu, 28 November 2026 pukul 16.00 WIB) tidak dikirim" in told


def test_a_one_off_late_within_the_grace_period_is_still_sent(app, clock, warga, koordinator):
    schedule(koordinator, "sabtu jam 4 sore")
    assert len(run_due(app, clock, "2026-11-28T16:45")) == 5


def test_a_repetition_missed_during_downtime_runs_once_not_for_every_missed_day(app, clock, warga, koordinator):
    schedule(koordinator, "tiap hari jam 7 pagi", "RT 05", "Jangan lupa buang sampah di TPS")
    assert len(run_due(app, clock, "2026-11-23T07:00")) == 2
    # down from Monday until Thursday 07.30: one run for Thursday 07.00, not four
    assert len(run_due(app, clock, "2026-11-26T07:30")) == 2
    assert broadcasts(app)[0].next_run_at == at("2026-11-27T07:00")
    # down again until Saturday noon: Saturday's run is beyond the grace period, skipped
    assert run_due(app, clock, "2026-11-28T12:00") == []
    assert broadcasts(app)[0].next_run_at == at("2026-11-29T07:00")
    assert len(run_due(app, clock, "2026-11-29T07:00")) == 2


def clock_to(app, *times: str) -> list[dict]:
    out, err = io.StringIO(), io.StringIO()
    lines = "".join(json.dumps({"clock": t}) + "\n" for t in times)
    assert simulate.run(app, io.StringIO(lines), out, err) == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_through_kampung_simulate_clock_lines(app, warga, koordinator):
    schedule(koordinator, "setiap Senin malam jam 8", "RT 05", "Ronda malam giliran RT 05")
    clock_to(app, "2026-11-22T10:00:00+07:00")  # what was queued so far goes out
    assert clock_to(app, "2026-11-23T19:59:00+07:00") == []
    sent = clock_to(app, "2026-11-23T20:00:00+07:00")
    # Both last wrote more than 24 hours ago: outside WhatsApp's window the run may go by SMS.
    assert sorted(m["to"].split(":")[1] for m in sent if "📢" in m["text"]) == sorted([WATI.split(":")[1], KOOR])
    assert clock_to(app, "2026-11-23T20:01:00+07:00") == []  # no receipt comes in the simulation
    later = clock_to(app, "2026-11-23T20:30:00+07:00")  # so the summary comes after SUMMARY_WAIT
    assert [m["to"].split(":")[1] for m in later] == [KOOR]
    assert "• Gagal: 0" in later[0]["text"] and "• Terkirim, belum ada kabar: 2" in later[0]["text"]
    assert clock_to(app, "2026-11-23T22:00:00+07:00") == []
    assert len([m for m in clock_to(app, "2026-11-30T20:00:00+07:00") if "📢" in m["text"]]) == 2


@pytest.mark.parametrize("quiet", ["22:00-05:00"])
def test_quiet_hours_come_from_the_settings(app, warga, koordinator, quiet):
    from dataclasses import replace

    from flows.base import Policy

    app.settings = replace(app.settings, quiet_hours=quiet)
    app.core.router.policy = Policy(app.settings.timezone, app.settings.quiet_window())
    koordinator.says("kirim pengumuman")
    koordinator.says("Tes jam tenang")
    koordinator.says("semua")
    koordinator.says("besok jam 21.30").hears("Senin, 23 November 2026 pukul 21.30 WIB").at("broadcast", "preview")
    koordinator.says("ubah")
    koordinator.says("waktu")
    koordinator.says("besok jam 10 malam").hears("masuk jam tenang (22.00–05.00)", "pukul 05.00 WIB")
    assert SRI


def test_a_repeating_announcement_outlives_its_sender_without_their_name(app, clock, warga, koordinator):
    schedule(koordinator, "setiap Jumat jam 16.00")
    assert all("Bu Ani (koordinator):" in m["text"] for m in run_due(app, clock, "2026-11-27T16:00"))
    koordinator.says("hapus data saya")
    koordinator.says("ya").hears("sudah kami hapus")
    later = run_due(app, clock, "2026-12-04T16:00")
    assert len(later) == 4 and all("Bu Ani" not in m["text"] for m in later)
    assert "📢 Pengumuman dari koordinator:\nKerja bakti" in [m["text"] for m in later if m["to"] == SRI.split(":")[1]][0]
    with app.engine.connect() as conn:
        assert "Bu Ani" not in str(conn.execute(select(Broadcast.__table__)).all())
