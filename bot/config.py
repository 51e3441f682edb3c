"""Every setting the core reads from the environment, in one place, read once.

``settings()`` returns the same object for the life of the process; tests that
change the environment call :func:`reload`. The README's configuration table is
checked against :class:`Settings` by a test, so a new variable cannot go
undocumented.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import BaseSettings, Field, ValidationError, validator

#: Repository root: the parent of the ``bot/`` package. Computed here only.
REPO = Path(__file__).resolve().parent.parent
NLU_DATA = REPO / "data" / "nlu"
WEB_ROOT = REPO / "web"

MIN_SENDER_KEY_BYTES = 32


class ConfigError(ValueError):
    """A setting has a value the assistant cannot use; the message names the variable."""


class Settings(BaseSettings):
    """Environment variables (names in capitals) and what they control."""

    knowledge_dir: Path = Field(
        REPO / "knowledge", env="KNOWLEDGE_DIR", description="folder of sources, clauses, scenario cards and facts"
    )
    policy_file: Path | None = Field(
        None,
        env="POLICY_FILE",
        description="a single policy YAML, used as the trust layer with no departments (default: POLICY_DIR)",
    )
    policy_dir: Path | None = Field(
        None,
        env="POLICY_DIR",
        description="folder of trust.yml and departments/<id>.yml policies (default: knowledge/policy/)",
    )
    build_dir: Path = Field(
        REPO / "build",
        env="BUILD_DIR",
        description="built spaCy pipeline, core classifier, the speller's word lists and the sentence model's layer graph",
    )
    var_dir: Path = Field(
        REPO / "var", env="ASSISTANT_VAR_DIR", description="local state: SQLite file, outbox, sender-id key, logs"
    )
    database_url: str = Field(
        "",
        env="DATABASE_URL",
        description="SQLAlchemy URL for records and Rasa's tracker store (default SQLite in var/)",
    )
    records_outbox: Path | None = Field(
        None, env="RECORDS_OUTBOX", description="file for records waiting for the database (default var/outbox.jsonl)"
    )
    retention_days: int = Field(
        90, env="RETENTION_DAYS", description="days records are kept before `bot records purge` removes them"
    )
    sender_id_key: str = Field(
        "", env="SENDER_ID_KEY", description="secret for pseudonymising conversation ids; the same on every server"
    )
    web_port: int = Field(8080, env="WEB_PORT", description="port of the chat page")
    rasa_url: str = Field(
        "http://localhost:5005", env="RASA_URL", description="where the chat page finds the Rasa server"
    )
    web_quiet: bool = Field(False, env="WEB_QUIET", description="do not log each page request")
    dashboard_token: str = Field(
        "",
        env="DASHBOARD_TOKEN",
        description="secret policy leads sign in to /dashboard with (16+ characters); unset: no dashboard",
    )

    class Config:
        case_sensitive = True

    @validator("retention_days")
    def _not_negative(cls, value: int) -> int:  # noqa: N805 (pydantic validators take cls)
        if value < 0:
            raise ValueError(f"must not be negative, got {value}")
        return value

    @validator("database_url", "sender_id_key", "dashboard_token")
    def _strip(cls, value: str) -> str:  # noqa: N805
        return value.strip()

    @property
    def spacy_model(self) -> Path:
        return self.build_dir / "spacy_model"

    @property
    def core_model(self) -> Path:
        return self.build_dir / "core_model.pkl"

    @property
    def speller(self) -> Path:
        return self.build_dir / "spelling.json"


def env_names() -> dict[str, str]:
    """Environment variable name -> description, for the README check and ``--help``."""
    return {
        f.field_info.extra.get("env", name.upper()): f.field_info.description or ""
        for name, f in Settings.__fields__.items()
    }


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]  # the fields come from the environment
    except ValidationError as exc:
        names = {name: f.field_info.extra.get("env", name) for name, f in Settings.__fields__.items()}
        problems = "; ".join(f"{names.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad setting: {problems}") from None


def reload() -> Settings:
    """Read the environment again (tests, and a CLI that changed it)."""
    settings.cache_clear()
    return settings()


def var_dir() -> Path:
    """Directory for local state; created on demand, readable by its owner only."""
    path = settings().var_dir
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def database_url() -> str:
    return settings().database_url or f"sqlite:///{var_dir() / 'assistant.db'}"


def outbox_path() -> Path:
    return settings().records_outbox or var_dir() / "outbox.jsonl"


def retention_days() -> int:
    return settings().retention_days


def tracker_store_kwargs(url: str | None = None) -> dict[str, Any]:
    """Keyword arguments for Rasa's ``SQLTrackerStore`` from one URL (plain SQLAlchemy, no Rasa import)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url or database_url())
    kwargs: dict[str, Any] = {
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

    ``SENDER_ID_KEY`` if set (several Rasa servers sharing one database need the
    same one), else a random key kept in ``var/sender_id.key``. The file is
    written whole under a temporary name and linked into place, so a concurrent
    reader never sees it empty.
    """
    env = settings().sender_id_key
    if env:
        if len(env.encode("utf-8")) < MIN_SENDER_KEY_BYTES:
            raise ConfigError(f"SENDER_ID_KEY must be at least {MIN_SENDER_KEY_BYTES} bytes long")
        return env.encode("utf-8")
    path = var_dir() / "sender_id.key"
    if not path.exists():
        tmp = path.with_name(f".sender_id.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode("ascii"))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process won the race: theirs is kept
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_bytes().strip()
    if len(key) < MIN_SENDER_KEY_BYTES:
        raise ConfigError(f"{path} holds a key shorter than {MIN_SENDER_KEY_BYTES} bytes; delete it to make a new one")
    return key
