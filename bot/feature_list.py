"""Every feature the bot has (see bot.features). A new feature is a module plus a line here."""
from __future__ import annotations

from bot.features import Feature


def all_features() -> tuple[Feature, ...]:
    return ()
