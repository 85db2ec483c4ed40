"""Settings: every value has a default, bad values are named at once, and the quiet
hours read as wall-clock times."""
from __future__ import annotations

from datetime import time

import pytest

from bot.settings import SettingsError, load_settings


def settings_of(**environ):
    return load_settings(env_file=None, environ=environ)


def test_a_fresh_checkout_runs_on_defaults():
    settings = settings_of()
    settings.validate()
    assert settings.database_url.startswith("sqlite:")
    assert settings.quiet_window() == (time(21, 0), time(6, 0))


@pytest.mark.parametrize("text, window", [
    ("22:00-05:30", (time(22, 0), time(5, 30))),
    ("9:00-17:00", (time(9, 0), time(17, 0))),
    (" 21:30 - 06:15 ", (time(21, 30), time(6, 15))),
    ("off", None),
])
def test_quiet_hours_are_read_from_the_environment(text, window):
    assert settings_of(QUIET_HOURS=text).quiet_window() == window


@pytest.mark.parametrize("text", ["21.00", "malam", "25:00-06:00", "21:00-"])
def test_unreadable_quiet_hours_stop_the_bot_with_their_name(text):
    with pytest.raises(SettingsError, match="QUIET_HOURS"):
        settings_of(QUIET_HOURS=text).validate()


def test_every_problem_is_named_at_once():
    with pytest.raises(SettingsError) as raised:
        settings_of(TWILIO_ACCOUNT_SID="AC1", IDLE_TIMEOUT_HOURS="0", QUIET_HOURS="x").validate()
    message = str(raised.value)
    assert "TWILIO_AUTH_TOKEN" in message and "IDLE_TIMEOUT_HOURS" in message and "QUIET_HOURS" in message
