"""Assembly: settings -> database, catalogue, router, core and dispatcher.

The only place that wires parts together; everything else receives what it needs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import SystemClock
from bot.core import Core
from bot.feature_list import all_features
from bot.features import Feature
from bot.i18n import Catalog
from bot.kampung_setup import ensure_kampung
from bot.render import Renderer
from bot.settings import Settings
from db.session import make_engine, make_sessionmaker, upgrade_schema
from flows.base import Policy
from flows.registry import all_flows
from handlers.lexicon import Lexicons
from handlers.router import Router


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    catalog: Catalog
    core: Core
    clock: object
    features: tuple[Feature, ...]


def build_app(settings: Settings, clock=None, catalog: Catalog | None = None) -> App:
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        ensure_kampung(session)
    catalog = catalog or Catalog()
    clock = clock or SystemClock()
    lexicons = Lexicons(catalog)
    features = all_features()
    policy = Policy(settings.timezone, settings.quiet_window())
    router = Router(all_flows(), lexicons, timedelta(hours=settings.idle_timeout_hours), policy)
    core = Core(engine, Renderer(catalog, lexicons, settings.timezone), router, clock, features, settings)
    return App(settings, engine, sessions, catalog, core, clock, features)
