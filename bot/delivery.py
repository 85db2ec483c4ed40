"""What a channel tells the dispatcher when a send does not go through, and the limits
it asks the dispatcher to keep.

Channels translate their platform's errors (Twilio error codes, Telegram's HTTP
answers) into a `SendError` of one `Outcome`; the dispatcher acts on the outcome
alone, so it never needs to know a platform's codes. `Failure` values say, in a word
the summaries can translate, why a resident could not be reached.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Outcome(str, Enum):
    """What the dispatcher does with a failed send."""

    TRANSIENT = "transient"            # timeouts, 5xx: back off with jitter and retry
    RATE_LIMITED = "rate_limited"      # 429: wait `retry_after`, then retry (not counted as an attempt)
    PERMANENT = "permanent"            # the message itself is refused: do not retry
    UNREACHABLE = "unreachable"        # the address is dead (blocked the bot, invalid number): mark it
    OUTSIDE_WINDOW = "outside_window"  # WhatsApp's 24-hour window is closed: send a template instead
    NOT_ON_CHANNEL = "not_on_channel"  # not a WhatsApp user: try SMS
    OPTED_OUT = "opted_out"            # unsubscribed with the carrier's STOP: record the opt-out


class Failure(str, Enum):
    """Why a resident was not reached (outbox.failure, identities.unreachable)."""

    INVALID_NUMBER = "invalid_number"
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    UNSUBSCRIBED = "unsubscribed"
    BLOCKED = "blocked"
    CHAT_NOT_FOUND = "chat_not_found"
    OUTSIDE_WINDOW = "outside_window"
    REFUSED = "refused"
    GAVE_UP = "gave_up"


class SendError(Exception):
    """A send the platform refused or could not take, classified."""

    def __init__(self, outcome: Outcome, detail: str = "", *, code: str | int | None = None,
                 failure: Failure | None = None, retry_after: float | None = None):
        super().__init__(detail or outcome.value)
        self.outcome = outcome
        self.code = None if code is None else str(code)
        self.failure = failure
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rate:
    """At most `count` sends per `seconds` in one bucket."""

    count: float
    seconds: float = 1.0


@dataclass(frozen=True)
class Bucket:
    """One rate-limit bucket a send draws from: a key ("telegram", "telegram:chat:42",
    "twilio:whatsapp:+1415…") and its rate."""

    key: str
    rate: Rate
