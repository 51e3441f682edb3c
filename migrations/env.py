"""Alembic environment for the records tables.

The URL comes from, in order: a connection handed over programmatically
(``RecordStore.ensure_schema``), ``-x url=...`` on the command line, or
``DATABASE_URL`` via ``bot.settings``.  Only ``rec_*`` tables are managed;
Rasa's ``events`` table is left to Rasa.
"""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from bot.config import database_url
from bot.records.models import VERSION_TABLE, Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    # Autogenerate must never propose dropping Rasa's tables.
    return not (type_ == "table" and not str(name).startswith("rec_"))


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or database_url()


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool, future=True)
    with engine.connect() as conn:
        _configure(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
