"""Runtime settings read from the environment.

One setting, ``DATABASE_URL``, drives both the records store and Rasa's SQL
tracker store, so a department only has to configure one database.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Repository root: the parent of the ``bot/`` package.
REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_RETENTION_DAYS = 90


def var_dir() -> Path:
    """Directory for local state (SQLite file, outbox); created on demand."""
    path = Path(os.environ.get("ASSISTANT_VAR_DIR") or REPO_ROOT / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """SQLAlchemy URL for records and tracker store (SQLite file by default)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{var_dir() / 'assistant.db'}"


def outbox_path() -> Path:
    """JSON-lines file holding records that could not be written yet."""
    override = os.environ.get("RECORDS_OUTBOX", "").strip()
    return Path(override) if override else var_dir() / "outbox.jsonl"


def retention_days() -> int:
    """How long records are kept before ``records purge`` removes them."""
    raw = os.environ.get("RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError as exc:
        raise ValueError(f"RETENTION_DAYS must be a whole number, got {raw!r}") from exc
    if days < 0:
        raise ValueError(f"RETENTION_DAYS must not be negative, got {days}")
    return days


def tracker_store_kwargs(url: str | None = None) -> dict:
    """Keyword arguments for Rasa's ``SQLTrackerStore`` derived from one URL.

    Lets ``DATABASE_URL`` drive the tracker store too, e.g. in endpoints.yml
    or when building the store in code.  Plain SQLAlchemy: no Rasa import.
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url or database_url())
    kwargs: dict = {
        "dialect": parsed.drivername,
        "host": parsed.host,
        "port": parsed.port,
        "db": parsed.database,
        "username": parsed.username,
        "password": parsed.password,
    }
    if parsed.query:
        kwargs["query"] = dict(parsed.query)
    return kwargs


def sender_id_key() -> bytes:
    """Secret for pseudonymising conversation (sender) ids in the tracker store.

    ``SENDER_ID_KEY`` if set (needed when several Rasa servers share one
    database), else a random key kept in ``var/sender_id.key``.
    """
    env = os.environ.get("SENDER_ID_KEY", "").strip()
    if env:
        return env.encode("utf-8")
    path = var_dir() / "sender_id.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    import secrets

    key = secrets.token_hex(32).encode("ascii")
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
