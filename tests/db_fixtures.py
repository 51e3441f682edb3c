"""Database fixtures shared by the records tests.

``db_url`` runs a test on SQLite and on PostgreSQL (127.0.0.1:5432, database
``test``).  Each PostgreSQL test gets its own schema, dropped afterwards, so
parallel runs do not collide.  Outside CI an unreachable server skips the
PostgreSQL half; under ``CI=true`` it fails instead.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_CANDIDATES = (
    os.environ.get("TEST_POSTGRES_URL"),
    "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg2://root@127.0.0.1:5432/test",
)
_pg_cache: dict = {}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def find_postgres() -> str | None:
    """First candidate URL that accepts a connection (cached per session)."""
    if "url" not in _pg_cache:
        _pg_cache["url"], _pg_cache["errors"] = None, []
        for url in filter(None, PG_CANDIDATES):
            engine = create_engine(url, future=True, connect_args={"connect_timeout": 3})
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                _pg_cache["url"] = url
                break
            except Exception as exc:  # noqa: BLE001 - any failure means "not this one"
                _pg_cache["errors"].append(f"{url}: {type(exc).__name__}: {exc}".splitlines()[0])
            finally:
                engine.dispose()
    return _pg_cache["url"]


def require_postgres() -> str:
    url = find_postgres()
    if url is None:
        reason = "PostgreSQL not reachable: " + "; ".join(_pg_cache["errors"])
        if in_ci():
            pytest.fail(reason + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    return url


def url_with_schema(base: str, schema: str) -> str:
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, private schema."""
    base = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, future=True)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url_with_schema(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'records.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Run the test once per database."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox.jsonl"
