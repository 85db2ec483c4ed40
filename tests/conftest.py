from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.app import build_app
from bot.clock import ManualClock
from bot.settings import load_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioApi
from tests.transcript import Kampung

START = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)  # 10:00 WIB


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A database brought to the newest schema once per session (migrations are most of
    an App's start-up); each test starts from its own copy."""
    path = tmp_path_factory.mktemp("schema") / "kampung.db"
    build_app(load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{path}"})).engine.dispose()
    return path


@pytest.fixture
def settings(tmp_path, migrated_database):
    shutil.copyfile(migrated_database, tmp_path / "kampung.db")
    return load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{tmp_path}/kampung.db",
                                                 "DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def app(settings, clock):
    app = build_app(settings, clock=clock)
    yield app
    app.engine.dispose()


@pytest.fixture
def kampung(app):
    return Kampung(app)


@pytest.fixture
def sri(kampung):
    """Bu Sri of RT 04: onboarded on WhatsApp, at the main menu."""
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.onboard()
    return sri


@pytest.fixture(scope="session")
def twilio_server():
    with FakeTwilioApi() as server:
        yield server


@pytest.fixture
def fake(twilio_server):
    """The fake Twilio REST API, emptied before and after each test."""
    twilio_server.clear()
    yield twilio_server
    twilio_server.clear()


@pytest.fixture
def api():
    """The fake Telegram Bot API; a request the real one would refuse fails the test."""
    server = FakeTelegramAPI().start()
    yield server
    server.stop()
    server.assert_no_violations()

