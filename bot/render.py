"""Turning catalogue keys into the text and choices a person reads, in their language."""
from __future__ import annotations

from bot.i18n import Catalog
from bot.messages import Choice, OutgoingMessage
from bot.timefmt import format_when
from flows.base import Option, Say, When
from handlers.lexicon import Lexicons


class Renderer:
    def __init__(self, catalog: Catalog, lexicons: Lexicons, timezone: str = "Asia/Jakarta"):
        self.catalog = catalog
        self.lexicons = lexicons
        self.timezone = timezone

    def message(self, channel: str, address: str, lang: str, key: str, params: dict, options: tuple[Option, ...] = (),
                flow: str | None = None, step: str | None = None, document: str | None = None,
                media_url: str | None = None) -> OutgoingMessage:
        text = self.catalog.text(lang, key, **{k: self._param(lang, v) for k, v in params.items()})
        lexicon = self.lexicons.get(lang)
        choices = [Choice(o.id, lexicon.label(o)) for o in options]
        return OutgoingMessage(channel, address, text, choices, media_url=media_url, document_path=document,
                               flow=flow, step=step)

    def _param(self, lang: str, value):
        """A placeholder may itself be a catalogue key (`Say`) or a time (`When`),
        rendered in the same language."""
        if isinstance(value, Say):
            return self.catalog.text(lang, value.key, **{k: self._param(lang, v) for k, v in value.params.items()})
        if isinstance(value, When):
            return format_when(self.catalog, lang, value.at, self.timezone)
        return value
