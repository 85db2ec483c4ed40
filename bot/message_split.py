"""Messages longer than a platform takes, as several sent in order.

Cuts fall at a paragraph break, else a line break, else between words, so every part
reads on its own. Choices (buttons) come with the last part, where the question is; a
photo or file keeps the first part as its caption and the rest follows as text.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from bot.messages import OutgoingMessage

# A paragraph or line break is a good cut only if it leaves at least this share of a part.
_MIN_SHARE = 0.5


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest good head of `text` of at most `limit` characters, and the rest."""
    if len(text) <= limit:
        return text, ""
    for separator, least in (("\n\n", int(limit * _MIN_SHARE)), ("\n", int(limit * _MIN_SHARE)), (" ", 1)):
        at = text.rfind(separator, 0, limit + len(separator))
        if at >= least and at <= limit:
            return text[:at].rstrip(), text[at:].lstrip()
    return text[:limit], text[limit:].lstrip()


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters."""
    parts = []
    rest = text
    while len(rest) > limit:
        head, rest = _cut(rest, limit)
        parts.append(head)
    parts.append(rest)
    return parts


def split_message(out: OutgoingMessage, max_length: Callable[[OutgoingMessage], int]) -> list[OutgoingMessage]:
    """`out` as the messages to send in order; `max_length(message)` is the platform's
    text limit for a message like it (a caption's is shorter)."""
    if len(out.text) <= max_length(out):
        return [out]
    attachment = bool(out.media_url or out.document_path)
    heads = []
    rest = out.text
    if attachment:
        head, rest = _cut(rest, max_length(replace(out, choices=[])))
        heads.append(replace(out, text=head, choices=[]))
    text_only = replace(out, media_url=None, document_path=None, choices=[])
    tail = split_text(rest, max_length(text_only)) if rest else [""]
    last_limit = max_length(replace(text_only, choices=out.choices))
    if len(tail[-1]) > last_limit:
        tail[-1:] = split_text(tail[-1], last_limit)
    parts = heads + [replace(text_only, text=piece) for piece in tail[:-1]]
    return parts + [replace(text_only, text=tail[-1], choices=out.choices)]
