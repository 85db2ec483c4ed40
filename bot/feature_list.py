"""Every feature the bot has (see bot.features). A new feature is a module plus a line here."""
from __future__ import annotations

import importlib

from bot.features import Feature

FEATURE_MODULES = [
    "bot.reports",
    "bot.events",
    "bot.event_admin",
    "bot.businesses",
    "bot.surveys",
    "bot.survey_admin",
    "bot.groups",
    "bot.triage",
    "bot.overview",
    "bot.broadcasts",
    "bot.housekeeping",
    "bot.templates_desk",
]


def all_features() -> tuple[Feature, ...]:
    """Each module in FEATURE_MODULES exposes `FEATURE`."""
    return tuple(importlib.import_module(name).FEATURE for name in FEATURE_MODULES)
