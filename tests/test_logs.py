"""No secret and no full phone number in any log line: a Telegram end-to-end exchange
(long polling, the chattiest mode) logged at DEBUG through `configure_logging`."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.app import build_app
from bot.log_setup import QUIET_LOGGERS, RedactingFilter, configure_logging, redact
from bot.services import Services
from bot.settings import load_settings
from tests.fakes.telegram_api import FakeTelegramAPI, message_update

TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
PHONE = "6281234567001"


class Capture(logging.Handler):
    """Every record, formatted as a log file would show it (traceback included)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured():
    """A capturing root handler, then configure_logging("DEBUG"); all undone after."""
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *QUIET_LOGGERS)}
    capture = Capture()
    root.addHandler(capture)
    configure_logging("DEBUG")
    yield capture
    root.removeHandler(capture)
    for handler in root.handlers:
        for found in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(found)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def logged(capture: Capture, logger: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(line.startswith(logger + " ") for line in capture.lines):
        assert time.monotonic() < deadline, f"nothing logged by {logger}"
        await asyncio.sleep(0.02)


@pytest.fixture
def api():
    server = FakeTelegramAPI(token=TOKEN).start()
    yield server
    server.stop()


async def test_a_telegram_exchange_logs_neither_the_token_nor_a_full_phone_number(tmp_path, api, captured):
    settings = load_settings(env_file=None, environ={
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kampung.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url})
    app = build_app(settings)
    services = Services(app)
    async with services.running():
        api.push_update(message_update(1, text="/start"))
        await api.wait_for_call("sendMessage", 2)
        api.push_update(message_update(2, text="Setuju"))
        await api.wait_for_call("sendMessage", 4)
        api.push_update(message_update(3, contact={"phone_number": PHONE, "first_name": "Siti", "user_id": 555}))
        api.fail_next("sendMessage", description=f"Bad Request: chat +{PHONE} via bot{TOKEN}")
        await api.wait_for_call("sendMessage", 5)
        await logged(captured, "bot.outbox")  # the dispatcher recorded the refused send
        # A line of the bot's own that names a resident and the token, as an error might.
        logging.getLogger("bot.worker").warning("reply to whatsapp:+%s failed at %s", PHONE,
                                                f"{api.base_url}/bot{TOKEN}/sendMessage")
    app.engine.dispose()

    log = "\n".join(captured.lines)
    assert len(captured.lines) > 5, log  # the exchange was logged at DEBUG
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert PHONE not in log
    assert "whatsapp:+62812****7001" in log and "/bot***/sendMessage" in log


def test_tracebacks_and_arguments_are_redacted_too(captured):
    try:
        raise ConnectionError(f"https://api.telegram.org/bot{TOKEN}/getMe from +{PHONE}")
    except ConnectionError:
        logging.getLogger("bot.outbox").exception("send to %s failed", {"to": f"whatsapp:+{PHONE}"})
    [line] = captured.lines
    assert TOKEN not in line and PHONE not in line
    assert "bot***/getMe from +62812****7001" in line and "'whatsapp:+62812****7001'" in line


@pytest.mark.parametrize("raw, clean", [
    ("from +6281234567001", "from +62812****7001"),
    ("whatsapp:+6281234567001", "whatsapp:+62812****7001"),
    ("contact 6281234567001 shared", "contact 62812****7001 shared"),
    ("typed 081234567001", "typed 0812****7001"),
    ("chat 555, outbox 1234, at 12:30:45, update 700000001", "chat 555, outbox 1234, at 12:30:45, update 700000001"),
    (f"token {TOKEN}", "token ***"),
    ("GET http://127.0.0.1:8081/bot123456:TEST-token/getMe", "GET http://127.0.0.1:8081/bot***/getMe"),
])
def test_redact(raw, clean):
    assert redact(raw) == clean
