"""Settings read from the environment (and `.env` through python-dotenv).

Every setting has an embedded default so that a fresh checkout runs on SQLite and
the console chat. `validate()` checks each channel's settings as a unit: a channel
half-configured is an error worth stopping for, not a silent fallback.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from dotenv import dotenv_values


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///kampung.db"
    data_dir: Path = Path("data")
    public_base_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_whatsapp_from: str = ""
    twilio_sms_from: str = ""
    # A Twilio Messaging Service may stand in for the From numbers.
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = ""
    # Only for tests: where the Content API (WhatsApp templates) is, instead of content.twilio.com.
    twilio_content_base_url: str = ""
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = ""
    files_secret: str = ""
    timezone: str = "Asia/Jakarta"
    default_language: str = "id"
    idle_timeout_hours: float = 24.0
    reminder_grace_minutes: float = 60.0
    # When announcements wait ("HH:MM-HH:MM", Asia/Jakarta wall clock); empty: never.
    quiet_hours: str = "21:00-06:00"
    # Sending rates the dispatcher keeps to (see bot.delivery.Rate): Telegram's published
    # limits, and Twilio's messages per second per sender (WhatsApp 80, an SMS long code 1).
    telegram_rate_per_second: float = 30.0
    telegram_chat_rate_per_second: float = 1.0
    telegram_group_rate_per_minute: float = 20.0
    twilio_whatsapp_rate_per_second: float = 80.0
    twilio_sms_rate_per_second: float = 1.0
    # How many sends the dispatcher keeps in flight at once.
    send_concurrency: int = 64
    # Days after which processed inbox text and sent outbox payloads are cleared (UU PDP).
    retention_days: float = 90.0
    host: str = "0.0.0.0"
    port: int = 8000
    log_level: str = "INFO"

    def quiet_window(self) -> tuple[time, time] | None:
        """QUIET_HOURS as (start, end) wall-clock times, or None when switched off."""
        text = self.quiet_hours.strip()
        if not text or text.lower() in ("off", "none", "-"):
            return None
        start, sep, end = text.partition("-")
        if not sep:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
        return time.fromisoformat(start.strip().zfill(5)), time.fromisoformat(end.strip().zfill(5))

    @property
    def phone_channels(self) -> tuple[str, ...]:
        """The phone channels this installation can send on, in order of preference."""
        if not self.twilio_enabled:
            return ()
        has_service = bool(self.twilio_messaging_service_sid)
        return tuple(name for name, configured in (("whatsapp", self.twilio_whatsapp_from or has_service),
                                                    ("sms", self.twilio_sms_from or has_service)) if configured)

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def webhooks_enabled(self) -> bool:
        return bool(self.public_base_url)

    def validate(self) -> None:
        """Raise SettingsError naming every problem at once."""
        problems = []
        if self.twilio_enabled and not (self.twilio_whatsapp_from or self.twilio_sms_from
                                        or self.twilio_messaging_service_sid):
            problems.append("TWILIO_WHATSAPP_FROM, TWILIO_SMS_FROM or TWILIO_MESSAGING_SERVICE_SID is required "
                            "with Twilio credentials")
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            problems.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together")
        if self.twilio_enabled and not self.public_base_url:
            problems.append("PUBLIC_BASE_URL is required for Twilio webhooks")
        if self.telegram_enabled and self.public_base_url and not self.telegram_webhook_secret:
            problems.append("TELEGRAM_WEBHOOK_SECRET is required when Telegram uses a webhook")
        if self.public_base_url and not self.public_base_url.startswith(("http://", "https://")):
            problems.append("PUBLIC_BASE_URL must start with http:// or https://")
        if self.idle_timeout_hours <= 0:
            problems.append("IDLE_TIMEOUT_HOURS must be positive")
        for name in ("telegram_rate_per_second", "telegram_chat_rate_per_second", "telegram_group_rate_per_minute",
                     "twilio_whatsapp_rate_per_second", "twilio_sms_rate_per_second", "retention_days"):
            if getattr(self, name) <= 0:
                problems.append(f"{name.upper()} must be positive")
        if self.send_concurrency < 1:
            problems.append("SEND_CONCURRENCY must be at least 1")
        if self.reminder_grace_minutes < 0:
            problems.append("REMINDER_GRACE_MINUTES must not be negative")
        try:
            self.quiet_window()
        except ValueError as exc:
            problems.append(f"QUIET_HOURS: {exc}")
        if problems:
            raise SettingsError("; ".join(problems))


_FIELDS = {
    "DATABASE_URL": ("database_url", str),
    "DATA_DIR": ("data_dir", Path),
    "PUBLIC_BASE_URL": ("public_base_url", lambda v: v.rstrip("/")),
    "TWILIO_ACCOUNT_SID": ("twilio_account_sid", str),
    "TWILIO_AUTH_TOKEN": ("twilio_auth_token", str),
    "TWILIO_WHATSAPP_FROM": ("twilio_whatsapp_from", str),
    "TWILIO_SMS_FROM": ("twilio_sms_from", str),
    "TWILIO_MESSAGING_SERVICE_SID": ("twilio_messaging_service_sid", str),
    "TWILIO_API_BASE_URL": ("twilio_api_base_url", str),
    "TWILIO_CONTENT_BASE_URL": ("twilio_content_base_url", str),
    "TELEGRAM_RATE_PER_SECOND": ("telegram_rate_per_second", float),
    "TELEGRAM_CHAT_RATE_PER_SECOND": ("telegram_chat_rate_per_second", float),
    "TELEGRAM_GROUP_RATE_PER_MINUTE": ("telegram_group_rate_per_minute", float),
    "TWILIO_WHATSAPP_RATE_PER_SECOND": ("twilio_whatsapp_rate_per_second", float),
    "TWILIO_SMS_RATE_PER_SECOND": ("twilio_sms_rate_per_second", float),
    "SEND_CONCURRENCY": ("send_concurrency", int),
    "RETENTION_DAYS": ("retention_days", float),
    "TELEGRAM_BOT_TOKEN": ("telegram_bot_token", str),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram_webhook_secret", str),
    "TELEGRAM_API_BASE_URL": ("telegram_api_base_url", str),
    "FILES_SECRET": ("files_secret", str),
    "KAMPUNG_TIMEZONE": ("timezone", str),
    "DEFAULT_LANGUAGE": ("default_language", str),
    "IDLE_TIMEOUT_HOURS": ("idle_timeout_hours", float),
    "REMINDER_GRACE_MINUTES": ("reminder_grace_minutes", float),
    "QUIET_HOURS": ("quiet_hours", str),
    "HOST": ("host", str),
    "PORT": ("port", int),
    "LOG_LEVEL": ("log_level", str),
}


def load_settings(env_file: str | os.PathLike | None = ".env", environ: dict | None = None) -> Settings:
    """Merge `.env` (if present) under the process environment; the environment wins."""
    values: dict[str, str] = {}
    if env_file and Path(env_file).exists():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    kwargs = {}
    for env_name, (attr, convert) in _FIELDS.items():
        raw = values.get(env_name, "").strip()
        if raw:
            try:
                kwargs[attr] = convert(raw)
            except ValueError as exc:
                raise SettingsError(f"{env_name}: {exc}") from exc
    return Settings(**kwargs)
