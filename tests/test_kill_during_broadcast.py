"""kill -9 of `kampung run` in the middle of a 2,000-recipient announcement, then a
restart: at the (fake) Twilio API every recipient got it exactly once, except the rows
whose request was on the wire at the kill, which end `uncertain` and got it at most once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.app import build_app
from bot.clock import ManualClock
from bot.messages import OutgoingMessage
from bot.outbox import SEND_LEASE, Dispatcher
from bot.settings import load_settings
from db.models import Identity, Outbox, Resident
from tests.fakes.server import _free_port
from tests.fakes.twilio_api import FakeTwilioApi

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 2000
KILL_AFTER = 300  # messages the fake accepted


def address(n: int) -> str:
    return f"+628129{n:06d}"


def seed(app) -> None:
    """2,000 WhatsApp residents who wrote an hour ago (free-form), one announcement each."""
    now = datetime.now(timezone.utc)
    with app.engine.begin() as conn:
        conn.execute(insert(Resident), [
            {"id": 1000 + n, "name": f"Warga {n}", "phone": address(n), "language": "id", "consent_at": now,
             "consent_source": "chat", "opted_out": False, "created_at": now} for n in range(RECIPIENTS)])
        conn.execute(insert(Identity), [
            {"resident_id": 1000 + n, "channel": "whatsapp", "address": address(n),
             "last_inbound_at": now - timedelta(hours=1)} for n in range(RECIPIENTS)])
        conn.execute(insert(Outbox), [
            {"resident_id": 1000 + n, "channel": "whatsapp", "address": address(n), "status": "pending",
             "attempts": 0, "priority": 2, "not_before": now, "created_at": now,
             "payload": OutgoingMessage("whatsapp", address(n), f"Kerja bakti Minggu pagi ({n})",
                                        kind="announcement").to_dict()} for n in range(RECIPIENTS)])


def wait_until(condition, timeout: float, describe) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, describe()
        time.sleep(0.05)


def statuses(app) -> Counter:
    with app.engine.connect() as conn:
        return Counter(dict(conn.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()))


def test_kill_during_a_broadcast_then_restart_sends_each_message_once(tmp_path):
    database = tmp_path / "kampung.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "PUBLIC_BASE_URL"))}
    with FakeTwilioApi() as fake:
        port = _free_port()
        env.update(
            DATABASE_URL=f"sqlite:///{database}", DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1", HOST="127.0.0.1", PORT=str(port), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.auth_token,
            TWILIO_WHATSAPP_FROM="whatsapp:+14155238886", TWILIO_API_BASE_URL=fake.base_url)
        app = build_app(load_settings(env_file=None, environ=env))
        seed(app)

        log = tmp_path / "run.log"

        def start() -> subprocess.Popen:
            with log.open("ab") as sink:
                return subprocess.Popen([sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "run"],
                                        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sink)

        def log_tail() -> str:
            return log.read_text(errors="replace")[-3000:]

        first = start()
        try:
            wait_until(lambda: sum(r["response_status"] == 201 for r in fake.requests) >= KILL_AFTER, 40,
                       lambda: f"only {len(fake.requests)} sends; log: {log_tail()}")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        at_kill = statuses(app)
        assert at_kill["pending"] + at_kill["claimed"] > 0, at_kill  # killed mid-broadcast

        second = start()
        try:
            # Done when only the rows left mid-send at the kill are not sent.
            wait_until(lambda: statuses(app)["sent"] + at_kill["sending"] == RECIPIENTS, 45,
                       lambda: f"{statuses(app)}; log: {log_tail()}")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=10)

        # Past the lease, the rows that were mid-send at the kill are reported uncertain.
        later = ManualClock(datetime.now(timezone.utc) + SEND_LEASE + timedelta(seconds=1))
        uncertain = Dispatcher(app.sessions, {}, later).recover()
        received = Counter(request["To"] for request in fake.requests if request["response_status"] == 201)

    with app.engine.connect() as conn:
        final = dict(conn.execute(select(Outbox.address, Outbox.status)).all())
    app.engine.dispose()
    assert Counter(final.values()) == Counter({"sent": RECIPIENTS - uncertain, "uncertain": uncertain})
    assert uncertain <= at_kill["sending"]
    assert {received[f"whatsapp:{a}"] for a, status in final.items() if status == "sent"} == {1}
    assert all(received[f"whatsapp:{a}"] <= 1 for a, status in final.items() if status == "uncertain")
    print(f"killed after {KILL_AFTER}+ sends: {uncertain} uncertain rows, {RECIPIENTS - uncertain} sent once")
