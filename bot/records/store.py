"""The records store: answers, feedback, unanswered questions.

Writing a record must never stop the assistant answering.  When the
database is down or read-only the record goes to a JSON-lines outbox
(already redacted) and is written, in order, on the next successful write or
by ``flush_outbox()``.  Every text field is redacted again here, so a caller
that forgot cannot leak an identifier into the database.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from alembic.util import CommandError
from sqlalchemy import column as sa_column
from sqlalchemy import create_engine, delete, event, func, inspect, select, text
from sqlalchemy import table as sa_table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot import config
from bot.records.models import TABLES, AnswerRecord, FeedbackRecord, UnansweredRecord, new_id, utcnow
from bot.records.reasons import MAX_COMMENT, normalise_reason

try:  # POSIX file locks keep appends and flushes from interleaving
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

WRITTEN, QUEUED, REJECTED = "written", "queued", "rejected"
_MAX_TEXT = 10_000  # a pasted document is not a question; keep rows small
# A locked table must not hold up an answer (the actions are synchronous):
# PostgreSQL cancels any statement that runs longer than this.
STATEMENT_TIMEOUT_MS = 5000
# What "the database cannot take this now" looks like: the driver, or Alembic
# (e.g. a database migrated by a newer release than this one).
DATABASE_ERRORS = (SQLAlchemyError, CommandError)


def _redact(text: str | None) -> str:
    # Imported lazily: Presidio pulls in spaCy/TensorFlow (seconds), which
    # the purge and report commands do not need.
    from bot.redaction import redact_prefix

    # Only the head is read: a pasted megabyte costs what 10,000 characters do.
    return redact_prefix(text or "", _MAX_TEXT)


def _department(value: Any) -> str | None:
    """A department id as recorded: a short lower-case id, or nothing (never free text)."""
    text = str(value or "").strip()
    return text if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", text) and len(text) <= 64 else None


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def short_error(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0][:200] if detail else ''}"


def with_statement_timeout(url: str) -> str:
    """A PostgreSQL URL whose connections cancel statements after ``STATEMENT_TIMEOUT_MS``.

    Added to the URL's own ``options`` (which may already set e.g. a search_path);
    a URL that sets ``statement_timeout`` itself, and other databases, are returned unchanged.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    options = parsed.query.get("options") or ""
    if isinstance(options, tuple):
        options = " ".join(options)
    if "statement_timeout" in options:
        return url
    options = f"{options} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (whatever the umask),
    and tighten one left readable by others."""
    parsed = make_url(url)
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return
    path = Path(db)
    if not path.parent.is_dir():
        return  # SQLite reports the missing folder itself (and the record is queued)
    # An existing file is never opened here: closing any descriptor of a file drops every
    # POSIX lock this process holds on it, so a SQLite connection already open in the same
    # process (the tracker store's pool, when the actions run inside Rasa) would lose its
    # locks, and another connection could then checkpoint and delete the write-ahead log
    # under it (sqlite.org/howtocorrupt.html, 2.2).
    try:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError as exc:  # e.g. a read-only location: SQLite reports that itself
        logger.warning("records: could not make %s private (%s)", path, exc.strerror)


def sqlite_pool_kwargs(url: Any) -> dict[str, Any]:
    """``create_engine`` arguments that keep a SQLite file's connections open; {} for anything else.

    SQLAlchemy 1.4 gives a SQLite file no pool (2.0 does), so every session opened the
    file and closed it again, and closing the last connection to a write-ahead-logged
    file checkpoints the log. A pooled connection is used by one thread at a time,
    which need not be the one that opened it (the recorder's, Rasa's save worker).
    Used by the records and by the tracker store (rasa_addons/fast_sql.py).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return {}
    return {"poolclass": QueuePool, "pool_size": 2, "connect_args": {"check_same_thread": False}}


def make_engine(url: str) -> Engine:
    """A future-mode engine; SQLite enforces foreign keys like PostgreSQL."""
    backend = make_url(url).get_backend_name()
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 5}  # fail fast when down
        url = with_statement_timeout(url)
    elif backend == "sqlite":
        kwargs["connect_args"] = {"timeout": 5}
        private_sqlite_file(url)
        pooled = sqlite_pool_kwargs(url)
        kwargs["connect_args"].update(pooled.pop("connect_args", {}))
        kwargs.update(pooled)
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _fk_on(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


def upgrade_schema(engine: Engine) -> None:
    """Run ``alembic upgrade head`` on ``engine`` (no manual step needed)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(config.REPO / "alembic.ini"))
    cfg.set_main_option("script_location", str(config.REPO / "migrations"))
    cfg.attributes["configure_logger"] = False  # leave the app's logging alone
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting together must not both create tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(74201905)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class RecordStore:
    """Keeps redacted records in ``DATABASE_URL``, queueing them when it is down."""

    def __init__(
        self,
        url: str | None = None,
        *,
        outbox_path: str | Path | None = None,
        retry_after_s: float = 30.0,
    ) -> None:
        self.url = url or config.database_url()
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)
        self.outbox_path = Path(outbox_path) if outbox_path else config.outbox_path()
        self.retry_after_s = retry_after_s
        self._schema_ready = False
        self._down_until = 0.0
        self._lock = threading.RLock()

    # --- public API ----------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create or upgrade the ``rec_*`` tables once per process."""
        if not self._schema_ready:
            upgrade_schema(self.engine)
            self._schema_ready = True

    def record_answer(
        self,
        answer: dict[str, Any],
        *,
        channel: str,
        latency_ms: float,
        clarified: bool,
        model_version: str,
        knowledge_version: str,
        answer_id: str | None = None,
    ) -> str:
        """Store one answer; returns its id (also when only queued).

        ``answer_id`` lets a caller that writes later (the recorder's
        background thread) hand out the id before the row exists.
        """
        scenario = answer.get("scenario")
        out_of_scope = bool(answer.get("out_of_scope"))
        confidence = answer.get("confidence")
        row = {
            "id": answer_id or new_id(),
            "created_at": utcnow().isoformat(),
            # Client-supplied over REST ("input_channel"), so redacted too.
            "channel": _redact(str(channel or "unknown")[:64])[:64],
            "question": _redact(answer.get("question")),
            "intent": (str(answer["intent"])[:128] if answer.get("intent") else None),
            "confidence": float(confidence) if confidence is not None else None,
            "scenario": str(scenario)[:128] if scenario else None,
            "out_of_scope": out_of_scope,
            "fallback": not scenario and not out_of_scope,
            "clarified": bool(clarified),
            "citations": json.dumps([str(c) for c in answer.get("citations") or []]),
            "latency_ms": float(latency_ms) if latency_ms is not None else None,
            "model_version": str(model_version)[:64] if model_version else None,
            "knowledge_version": str(knowledge_version)[:64] if knowledge_version else None,
            "department": _department(answer.get("department")),
        }
        self._write("answer", row)
        return row["id"]

    def record_feedback(
        self, answer_id: str, helpful: bool, comment: str | None = None, reason: str | None = None
    ) -> str | None:
        """Store helpful/unhelpful for an answer; ``None`` if the answer is unknown.

        One vote per answer: a later vote replaces an earlier one, so a
        corrected click counts.  ``reason`` (not-helpful votes only) is one of
        ``REASONS``, anything else is stored as ``other``.
        """
        try:
            answer_id = str(uuid.UUID(str(answer_id)))
        except ValueError:
            logger.warning("records: feedback ignored, answer id is not a UUID")
            return None
        row = {
            "id": new_id(),
            "created_at": utcnow().isoformat(),
            "answer_id": answer_id,
            "helpful": bool(helpful),
            "comment": _redact(comment)[:MAX_COMMENT] if comment else None,
            "reason": normalise_reason(bool(helpful), reason),
        }
        return None if self._write("feedback", row) == REJECTED else row["id"]

    def record_unanswered(self, question: str, reason: str = "fallback", department: str | None = None) -> str:
        """Store a question the assistant could not answer (redacted), with the department id if any."""
        row = {
            "id": new_id(),
            "created_at": utcnow().isoformat(),
            "question": _redact(question),
            "reason": str(reason or "fallback")[:64],
            "department": _department(department),
        }
        self._write("unanswered", row)
        return row["id"]

    def flush_outbox(self) -> int:
        """Write queued records now; returns how many were written.

        Raises one of ``DATABASE_ERRORS`` if the database is still unavailable.
        """
        with self._lock:
            self.ensure_schema()
            written = self._flush_locked()
            self._down_until = 0.0
            return written

    def pending(self) -> int:
        """Number of records waiting in the outbox."""
        with self._outbox_file() as f:
            return sum(1 for line in f if line.strip()) if f else 0

    def purge(self, older_than_days: int | None = None, *, dry_run: bool = False) -> dict[str, int]:
        """Delete records (and Rasa conversation events) older than the period.

        Returns the number of rows removed (or, with ``dry_run``, that would
        be) per table, plus ``outbox`` for queued records past retention.
        """
        days = config.retention_days() if older_than_days is None else int(older_than_days)
        if days < 0:
            raise ValueError("older_than_days must not be negative")
        cutoff = utcnow() - timedelta(days=days)
        self.ensure_schema()
        counts: dict[str, int] = {}
        old_answers = select(AnswerRecord.id).where(AnswerRecord.created_at < cutoff)
        feedback_where = (FeedbackRecord.created_at < cutoff) | FeedbackRecord.answer_id.in_(old_answers)
        targets = [
            ("rec_feedback", FeedbackRecord, feedback_where),  # children first
            ("rec_answers", AnswerRecord, AnswerRecord.created_at < cutoff),
            ("rec_unanswered", UnansweredRecord, UnansweredRecord.created_at < cutoff),
        ]
        with self.engine.begin() as conn:
            if inspect(conn).has_table("events"):
                # Rasa's tracker store shares the database: conversations
                # follow the same retention.  Its timestamps are epoch seconds.
                events = sa_table("events", sa_column("timestamp"))
                epoch = cutoff.replace(tzinfo=timezone.utc).timestamp()
                targets.append(("events", events, events.c.timestamp < epoch))
            for name, target, where in targets:
                if dry_run:
                    counts[name] = conn.execute(select(func.count()).select_from(target).where(where)).scalar_one()
                else:
                    counts[name] = conn.execute(delete(target).where(where)).rowcount or 0
        counts["outbox"] = self._purge_outbox(cutoff, dry_run)
        return counts

    def dispose(self) -> None:
        self.engine.dispose()

    # --- writing and the outbox ---------------------------------------------

    def _write(self, kind: str, row: dict[str, Any]) -> str:
        with self._lock:
            if time.monotonic() < self._down_until:
                return self._queue(kind, row)
            try:
                self.ensure_schema()
                if self._outbox_size():
                    self._flush_locked()  # earlier records first: keeps order
                with self._sessions.begin() as session:
                    self._insert(session, kind, row)
            except (IntegrityError, DataError) as exc:
                # The row itself is bad (e.g. feedback on a purged answer):
                # retrying cannot help, so it is dropped, not queued.
                logger.warning("records: %s not stored (%s)", kind, short_error(exc))
                return REJECTED
            except DATABASE_ERRORS as exc:
                # Down, locked past the statement timeout, or its schema is not one
                # this release can migrate: keep the record for later.
                self._down_until = time.monotonic() + self.retry_after_s
                logger.error(
                    "records: database %s unavailable, %s kept in outbox (%s)",
                    safe_url(self.url),
                    kind,
                    short_error(exc),
                )
                return self._queue(kind, row)
            return WRITTEN

    def _insert(self, session: Session, kind: str, row: dict[str, Any]) -> None:
        if kind != "feedback":
            session.add(_to_model(kind, row))
            return
        # One vote per answer (unique answer_id): the newer vote replaces the
        # older in one statement, so two clicks racing cannot both insert.  The
        # WHERE keeps a replayed older vote from overwriting a newer one.
        table = FeedbackRecord.__table__
        values = {c.name: row.get(c.name) for c in table.columns}  # outbox lines may predate "reason"
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        dialect = self.engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - only the two are supported
            session.execute(
                delete(table).where(
                    table.c.answer_id == values["answer_id"], table.c.created_at <= values["created_at"]
                )
            )
            session.add(FeedbackRecord(**values))
            return
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.answer_id],
            set_={name: stmt.excluded[name] for name in values if name != "answer_id"},
            where=table.c.created_at <= stmt.excluded.created_at,
        )
        session.execute(stmt)

    def _queue(self, kind: str, row: dict[str, Any]) -> str:
        line = json.dumps({"kind": kind, "row": row}, ensure_ascii=False)
        try:
            self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
            with self._outbox_lock():
                fd = os.open(self.outbox_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
                    f.flush()
                    os.fsync(f.fileno())  # survives a crash right after answering
        except OSError as exc:
            logger.error("records: could not queue %s in outbox (%s)", kind, exc.strerror)
        return QUEUED

    def _outbox_size(self) -> int:
        try:
            return self.outbox_path.stat().st_size
        except OSError:
            return 0

    @contextmanager
    def _outbox_lock(self) -> Iterator[None]:
        """Exclusive use of the outbox among processes. The lock is a file of its
        own, because a rewrite replaces the outbox file (a lock on it would be
        left on the old one while another process appends there)."""
        lock_path = self.outbox_path.with_name(self.outbox_path.name + ".lock")
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released when the file closes
            yield
        finally:
            os.close(fd)

    @contextmanager
    def _outbox_file(self) -> Iterator[Any]:
        """The outbox open for reading, under the lock; ``None`` if there is none."""
        if not self.outbox_path.parent.is_dir():
            yield None
            return
        with self._outbox_lock():
            try:
                f = open(self.outbox_path, encoding="utf-8")
            except FileNotFoundError:
                yield None
                return
            with f:
                yield f

    def _flush_locked(self) -> int:
        written = 0
        with self._outbox_file() as f:
            if f is None:
                return 0
            lines = [line for line in f.read().splitlines() if line.strip()]
            done = 0
            try:
                for _done, line in enumerate(lines):
                    written += self._replay(line)
                done = len(lines)
            finally:
                # Keep whatever was not written (the database went away again).
                _rewrite(self.outbox_path, lines[done:])
        if written:
            logger.info("records: %d queued record(s) written from outbox", written)
        return written

    def _replay(self, line: str) -> int:
        """Write one outbox line; 0 if it was already there or is unusable."""
        try:
            item = json.loads(line)
            model = _to_model(item["kind"], item["row"])
        except (ValueError, KeyError, TypeError):
            logger.warning("records: unreadable outbox line dropped")
            return 0
        try:
            with self._sessions.begin() as session:
                if session.get(type(model), model.id) is not None:
                    return 0  # idempotent: a flush may be retried
                self._insert(session, item["kind"], item["row"])
        except (IntegrityError, DataError) as exc:
            logger.warning("records: queued %s dropped (%s)", item["kind"], short_error(exc))
            return 0
        return 1

    def _purge_outbox(self, cutoff: datetime, dry_run: bool) -> int:
        with self._lock, self._outbox_file() as f:
            if f is None:
                return 0
            keep: list[str] = []
            dropped = 0
            for line in f.read().splitlines():
                try:
                    created = datetime.fromisoformat(json.loads(line)["row"]["created_at"])
                except (ValueError, KeyError, TypeError):
                    created = None
                if created is not None and created < cutoff:
                    dropped += 1
                elif line.strip():
                    keep.append(line)
            if not dry_run and dropped:
                _rewrite(self.outbox_path, keep)
            return dropped


def _rewrite(path: Path, lines: list[str]) -> None:
    """Replace the outbox with ``lines`` atomically: a crash leaves the old or the new file, whole.

    Written under a temporary name, flushed to disk, renamed over the outbox, and
    the directory flushed so the rename itself survives a power cut.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _to_model(kind: str, row: dict[str, Any]) -> Any:
    values = dict(row)
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    return TABLES[kind](**values)


__all__ = [
    "DATABASE_ERRORS",
    "RecordStore",
    "make_engine",
    "private_sqlite_file",
    "safe_url",
    "short_error",
    "upgrade_schema",
    "with_statement_timeout",
]
