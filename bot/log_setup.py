"""Logging for the bot's processes: no secret and no full phone number in any line.

A filter on the root logger's handlers rewrites every record after formatting: phone
numbers keep their first and last digits (+6281234567001 -> +62812****7001) and a
Telegram bot token becomes "bot***" wherever it appears. The HTTP client and
python-telegram-bot loggers stay at WARNING, so the request URLs that carry the token
(https://api.telegram.org/bot<token>/sendMessage) are not logged in the first place.
"""
from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that log request URLs (holding the bot token) at INFO or DEBUG; alembic is chatty.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "alembic")

# E.164 numbers (+62…, also inside whatsapp:+62…), and Indonesian mobiles written 62812… or 0812….
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{8,15}|62 ?8\d{7,12}|08\d{7,12})(?!\d)")
# "bot<id>:<secret>" in a URL, or a bare "<id>:<secret>" of a token's length.
_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+|(?<![\w:])\d{6,}:[A-Za-z0-9_-]{30,}")


def mask_phone(number: str) -> str:
    """Keep what tells an operator whose number it roughly is: +62812****7001."""
    digits = number.replace(" ", "")
    if len(digits) < 10:
        return digits[:-4] + "****"
    return digits[:-8] + "****" + digits[-4:]


def redact(text: str) -> str:
    """`text` without bot tokens and with phone numbers masked."""
    text = _TOKEN.sub(lambda m: "bot***" if m.group().startswith("bot") else "***", text)
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments already merged) and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure_logging(level: str) -> None:
    """Log to stderr at `level` (once per process), through the redacting filter."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level.upper())
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
