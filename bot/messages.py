"""Plain message values exchanged between channels and the core.

Channels translate platform payloads to and from these; flows and handlers never
see a platform object. Everything here is JSON-serialisable via ``to_dict`` /
``from_dict`` so it can sit in the inbox and outbox tables.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CHANNELS = ("whatsapp", "sms", "telegram", "console")


@dataclass(frozen=True)
class Media:
    """An attachment: a URL (Twilio) or a platform file reference (``telegram-file:ID``)."""

    url: str
    content_type: str = ""

    @property
    def kind(self) -> str:
        """Coarse kind: image, audio, video, sticker, document."""
        ct = self.content_type.lower()
        if ct in ("application/x-tgsticker", "image/webp-sticker", "sticker"):
            return "sticker"
        for kind in ("image", "audio", "video"):
            if ct.startswith(kind + "/") or ct == kind:
                return kind
        return "document"


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


@dataclass
class IncomingMessage:
    """One thing a person sent.

    ``address`` is the channel-specific sender id: E.164 phone for whatsapp/sms,
    the chat id for telegram, any label for console. ``choice_id`` is set when the
    platform returns a pressed button (Telegram inline keyboard). ``external_id``
    (MessageSid, update_id) makes redelivery idempotent. In a group chat ``address`` is
    the group and ``sender_id`` the person who wrote (their own address on the channel).
    ``contact_phone`` is the sender's own number, shared with the platform's contact
    button (Telegram); the channel passes it only when the contact is the sender's.
    """

    channel: str
    address: str
    text: str = ""
    media: list[Media] = field(default_factory=list)
    location: Location | None = None
    choice_id: str | None = None
    profile_name: str | None = None
    external_id: str | None = None
    sender_id: str | None = None
    contact_phone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncomingMessage:
        data = dict(data)
        data["media"] = [Media(**m) for m in data.get("media") or []]
        loc = data.get("location")
        data["location"] = Location(**loc) if loc else None
        return cls(**data)


# A choice id channels render as their own "share my phone number" button (Telegram's
# contact button); the number then arrives as `IncomingMessage.contact_phone`.
SHARE_PHONE = "share_phone"


@dataclass(frozen=True)
class Choice:
    """An option offered to a person; ``id`` is stable, ``label`` is localised text."""

    id: str
    label: str


@dataclass
class OutgoingMessage:
    """One message to send. ``choices`` are rendered natively by each channel;
    ``flow``/``step`` say where the recipient's conversation stands after it.

    ``kind`` names the WhatsApp template kind of a message the bot starts itself
    (announcement, event_reminder, …; see bot.templates); None for a chat reply.
    The dispatcher sets the rest before a send, none of it stored: ``outbox_id`` (for
    the delivery-receipt callback), and ``content_sid``/``content_variables`` when the
    message goes as an approved WhatsApp template."""

    channel: str
    address: str
    text: str
    choices: list[Choice] = field(default_factory=list)
    media_url: str | None = None
    document_path: str | None = None
    flow: str | None = None
    step: str | None = None
    kind: str | None = None
    outbox_id: int | None = None
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        # Hand-written: dataclasses.asdict deep-copies and is slow on the per-message path.
        return {
            "channel": self.channel, "address": self.address, "text": self.text,
            "choices": [{"id": c.id, "label": c.label} for c in self.choices],
            "media_url": self.media_url, "document_path": self.document_path, "flow": self.flow, "step": self.step,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutgoingMessage:
        data = dict(data)
        data["choices"] = [Choice(**c) for c in data.get("choices") or []]
        return cls(**data)


def split_sender(sender: str) -> tuple[str, str]:
    """Split ``whatsapp:+62…`` / ``telegram:123`` into (channel, address).

    A bare phone number (no prefix) is an SMS sender, as Twilio sends it.
    """
    if ":" in sender:
        prefix, rest = sender.split(":", 1)
        if prefix in CHANNELS:
            return prefix, rest
    return "sms", sender


def join_sender(channel: str, address: str) -> str:
    return f"{channel}:{address}"
