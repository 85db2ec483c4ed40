"""A bot process killed mid-conversation loses nothing: the state lives in the
database. Real processes (`kampung simulate -`) on a shared SQLite file."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from bot.outbox import IN_FLIGHT
from db.models import Outbox
from tests.fakes.server import wait_for

ROOT = Path(__file__).resolve().parent.parent
RESIDENT = "whatsapp:+6281234567100"
READ_TIMEOUT = 30.0  # generous: a cold interpreter start plus migrations on a slow machine


class SimProcess:
    """`kampung simulate -` as a child process, fed JSON lines on stdin."""

    def __init__(self, database: Path, lines: queue.Queue | None = None):
        self.database = database
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "PUBLIC_BASE_URL"))}
        env.update(DATABASE_URL=f"sqlite:///{database}", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "simulate", "-"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        # Processes sharing one outbox may each send any reply: a test can have them print into one queue.
        self.lines: queue.Queue[str | None] = lines if lines is not None else queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append), daemon=True).start()

    @staticmethod
    def _pump(stream, put) -> None:
        for line in stream:
            put(line)
        put(None)

    def send(self, text: str, expect: int) -> list[dict]:
        """Send a message as RESIDENT and read the ``expect`` replies it causes; return
        once they are recorded as sent too (a reply is printed, then recorded), so the
        next turn, or a kill, finds this process at rest."""
        self.proc.stdin.write(json.dumps({"from": RESIDENT, "text": text}) + "\n")
        self.proc.stdin.flush()
        replies = [self._read() for _ in range(expect)]
        settled(self.database)
        return replies

    def _read(self) -> dict:
        deadline = time.monotonic() + READ_TIMEOUT
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no output in {READ_TIMEOUT}s; stderr: {''.join(self.stderr)[-2000:]}") from None
        if line is None:
            raise AssertionError(f"simulate exited ({self.proc.poll()}); stderr: {''.join(self.stderr)[-2000:]}")
        return json.loads(line)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no final save, exactly like a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()


@pytest.fixture
def processes(tmp_path):
    """Start simulate processes on one database file; all are cleaned up after the test."""
    started: list[SimProcess] = []
    database = tmp_path / "kampung.db"

    def start(lines: queue.Queue | None = None) -> SimProcess:
        proc = SimProcess(database, lines)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.close()


def where(reply: dict) -> tuple[str, str]:
    return reply["flow"], reply["step"]


def settled(database: Path) -> None:
    """Wait until no outbox row is claimed or mid-send (a kill then is a kill at rest;
    a kill mid-send is tests/test_kill_during_broadcast.py's)."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        def busy() -> int:
            with engine.connect() as conn:
                return conn.scalar(select(func.count()).select_from(Outbox).where(Outbox.status.in_(IN_FLIGHT)))
        wait_for(busy, lambda n: n == 0, lambda n: f"{n} outbox rows still in flight", timeout=READ_TIMEOUT)
    finally:
        engine.dispose()


def test_killed_mid_onboarding_continues_at_the_same_step(processes):
    first = processes()
    assert [where(r) for r in first.send("halo", expect=2)] == [("onboarding", "consent")] * 2
    assert where(first.send("setuju", expect=2)[-1]) == ("onboarding", "name")
    [rt] = first.send("Bu Sri", expect=1)
    assert where(rt) == ("onboarding", "rt")
    assert rt["to"] == RESIDENT
    first.kill()  # while it waits for more input

    second = processes()
    [paguyuban] = second.send("4", expect=1)

    assert where(paguyuban) == ("onboarding", "paguyuban")
    assert paguyuban["text"].startswith("Anda ikut paguyuban apa saja?")
    assert [c["label"] for c in paguyuban["choices"]] == [
        "Karang Taruna", "PKK RW 05", "Pengajian Al-Ikhlas", "UMKM RW 05", "Tidak ikut / lewati",
    ]
    assert where(second.send("1", expect=1)[-1]) == ("onboarding", "language")
    done, menu = second.send("1", expect=2)
    assert done["text"].startswith("Selesai, Bu Sri!")  # the name given to the killed process
    assert where(menu) == ("help", "menu")


def test_two_processes_take_turns_in_one_conversation(processes):
    """Two workers on one database: each message is handled by the process it reached,
    and every reply goes out exactly once, by whichever process's dispatcher took it."""
    printed: queue.Queue[str | None] = queue.Queue()
    a, b = processes(printed), processes(printed)

    assert where(a.send("halo", expect=2)[-1]) == ("onboarding", "consent")
    assert where(b.send("setuju", expect=2)[-1]) == ("onboarding", "name")
    assert where(a.send("Bu Sri", expect=1)[-1]) == ("onboarding", "rt")
    assert where(b.send("4", expect=1)[-1]) == ("onboarding", "paguyuban")
    assert where(a.send("1, 3", expect=1)[-1]) == ("onboarding", "language")
    done, menu = b.send("1", expect=2)

    assert done["text"].startswith("Selesai, Bu Sri!")
    assert where(menu) == ("help", "menu")
    assert menu["text"].startswith("Menu utama")
    # Nothing printed twice: after both stop, only their two end-of-output marks are left.
    a.close()
    b.close()
    assert [printed.get(timeout=READ_TIMEOUT), printed.get(timeout=READ_TIMEOUT)] == [None, None]
    assert printed.empty()
