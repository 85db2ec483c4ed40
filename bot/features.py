"""Features (reports, businesses, surveys, events) plug into the core here.

A feature brings, besides its flow in `flows/` and its texts in `locales/`:
- `reads`: a per-turn, read-only view of its data that flows see as `ctx.store.<name>`
  (flows stay free of I/O: they call plain methods and get plain values back);
- `effects`: handlers for the effect types its flows return, run inside the message's
  transaction; a handler may return `Say`s for the resident (a ticket number, say);
- `due_tasks`: work that becomes due at a time (reminders), run by the scheduler and by
  `kampung simulate`'s clock lines, each given a `TaskContext`;
- `cli`: its desk commands;
- `reshapes_kampung`: its effects that change the kampung's paguyuban or RTs;
- `erase`: what it must remove itself when a resident asks to be erased.
Features are listed in `bot.feature_list`.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy.engine import Connection

from bot.notify import Notifier
from bot.settings import Settings
from flows.base import ResidentInfo, Say


@dataclass(frozen=True)
class EffectContext:
    """What an effect handler may use: the transaction, the resident, the time, the
    notifier for messages to other residents (written to the same outbox), and the
    settings (where files go, the default language)."""

    conn: Connection
    resident: ResidentInfo
    now: datetime
    notifier: Notifier
    settings: Settings | None = None


@dataclass(frozen=True)
class TaskContext:
    """What a due task gets: its own transaction, the notifier, the time it runs for
    (real or simulated) and the settings."""

    conn: Connection
    notifier: Notifier
    now: datetime
    settings: Settings


EffectHandler = Callable[[EffectContext, Any], "list[Say] | None"]
# A due task returns how many things it handled.
DueTask = Callable[[TaskContext], int]
# Adds the feature's subcommands; `make_app(args)` builds the App from the CLI's settings.
CliRegistrar = Callable[[argparse._SubParsersAction, Callable], None]


@dataclass(frozen=True)
class Feature:
    name: str
    # Called as `reads(conn, resident, now, settings)`.
    reads: Callable[[Connection, ResidentInfo, datetime, Settings], Any] | None = None
    effects: dict[type, EffectHandler] = field(default_factory=dict)
    due_tasks: tuple[DueTask, ...] = ()
    cli: CliRegistrar | None = None
    # Removes what the feature keeps about a resident who asked to be erased beyond what
    # ON DELETE does (a name copied into a row); run in the erasure's transaction.
    erase: Callable[[Connection, int], None] | None = None
    # Effect types that change the kampung's shape (its paguyuban, RTs): the core
    # re-reads it after a turn that applied one, instead of waiting for its cache.
    reshapes_kampung: frozenset[type] = frozenset()


class FeatureIndex:
    """The features' read views and effect handlers by name and type, built once so
    that a message does no more than a dictionary look-up to reach them."""

    def __init__(self, features: tuple[Feature, ...]):
        self.readers = {f.name: f.reads for f in features if f.reads}
        self.effects = {t: h for f in features for t, h in f.effects.items()}
        self.reshaping = frozenset(t for f in features for t in f.reshapes_kampung)
        self.erasers = tuple(f.erase for f in features if f.erase)


class Store:
    """`ctx.store`: each feature's read view, built on first use in a turn."""

    def __init__(self, readers: dict[str, Callable], conn: Connection, resident: ResidentInfo, now: datetime,
                 settings: Settings):
        self._factories = readers
        self._conn, self._resident, self._now = conn, resident, now
        self._settings = settings

    def __getattr__(self, name: str) -> Any:
        try:
            factory = self._factories[name]
        except KeyError:
            raise AttributeError(name) from None
        view = factory(self._conn, self._resident, self._now, self._settings)
        setattr(self, name, view)
        return view

