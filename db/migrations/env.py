"""Alembic environment: runs on the connection handed over by db.session.upgrade_schema,
or on DATABASE_URL when invoked through the alembic command line."""
import importlib
import pkgutil

from alembic import context

import db
from db.models import Base

# Every model module in db/ (features add their own), so autogenerate sees all tables.
for module in pkgutil.iter_modules(db.__path__):
    if module.name not in ("migrations", "session"):
        importlib.import_module(f"db.{module.name}")

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from bot.settings import load_settings
        from db.session import make_engine

        with make_engine(load_settings().database_url).begin() as conn:
            _migrate(conn)
    else:
        _migrate(connection)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
