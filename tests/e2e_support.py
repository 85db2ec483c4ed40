"""Shared by the end-to-end tests: waiting for the running bot to finish its work."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from bot.app import App
from bot.outbox import IN_FLIGHT
from db.models import Inbox, Outbox
from tests.fakes.server import wait_for


def count(app: App, model) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _busy(app: App) -> tuple[int, int]:
    """Inbox rows not yet processed, and outbox rows new or mid-send (a row waiting
    for a retry after a failure does not count: it is parked, not in flight)."""
    with app.sessions() as session:
        unprocessed = session.scalar(select(func.count()).select_from(Inbox).where(Inbox.processed_at.is_(None)))
        in_flight = session.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.status.in_(IN_FLIGHT) | ((Outbox.status == "pending") & (Outbox.attempts == 0))
        ))
    return unprocessed, in_flight


def settle(app: App, timeout: float = 5.0) -> None:
    """Wait until the worker has processed the inbox and sent what it could."""
    wait_for(lambda: _busy(app), lambda busy: busy == (0, 0),
             lambda busy: f"still busy: {busy[0]} inbox rows, {busy[1]} outbox rows", timeout)


class CallbackRelay:
    """Twilio's status callbacks (posted by the fake, from its own threads) into a
    TestClient. Closed before the client stops, and waits for the calls already inside:
    a callback left waiting on a stopped app would keep the test run from exiting."""

    def __init__(self, client, public_base_url: str):
        self.client, self.public = client, public_base_url
        self._lock = threading.Lock()
        self._closed = False
        self._inside = 0

    def __call__(self, url: str, params: dict, headers: dict) -> int:
        with self._lock:
            if self._closed:
                return 503
            self._inside += 1
        try:
            return self.client.post(url.removeprefix(self.public), data=params, headers=headers).status_code
        finally:
            with self._lock:
                self._inside -= 1

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closed = True
        wait_for(lambda: self._inside, lambda inside: inside == 0,
                 lambda inside: f"{inside} status callbacks still inside the app", timeout)
