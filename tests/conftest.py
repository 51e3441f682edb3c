"""Shared test helpers and fixtures: the repository root, the CI flag, free ports,
one loaded Assistant, and (for integration tests) the real Rasa server and
action server started on free local ports. Database fixtures live in
``db_fixtures.py`` and are loaded as a plugin."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

sys.modules.setdefault("tensorflow", None)  # the core never needs it; keeps test start-up quick
# Nothing a test starts may report to Rasa's telemetry or Sentry (scripts/run.sh sets this itself).
os.environ["RASA_TELEMETRY_ENABLED"] = "false"

pytest_plugins = ["db_fixtures", "browser_support"]

# Skips that are right even under CI=true (none today). Any other skip under CI fails the run:
# a check that silently did not run is worse than one that failed.
ALLOWED_CI_SKIPS: frozenset[str] = frozenset()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.nodeid not in ALLOWED_CI_SKIPS and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every check: {reason}"


def tracked_state() -> str | None:
    """What git sees of the tracked files (status and content), or None outside a git checkout."""
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                capture_output=True, text=True, timeout=60, check=True).stdout
        diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=REPO, capture_output=True,
                              timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return status + hashlib.sha256(diff).hexdigest()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_TRACKED] = tracked_state()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tests write to tmp paths only: a run that changed a tracked file fails, naming it."""
    before = session.config.stash.get(_TRACKED, None)
    after = tracked_state()
    if before is not None and after is not None and before != after:
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                 capture_output=True, text=True).stdout
        session.config.get_terminal_writer().line(
            f"FAILED: the test run changed tracked files (tests must write only to tmp paths); tracked files now differing from HEAD:\n{changed}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_TRACKED = pytest.StashKey[str | None]()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Settings are read once per process; each test starts, and leaves, with the real environment's."""
    from bot import config

    config.reload()
    yield
    config.reload()


@pytest.fixture(scope="session")
def assistant():
    from bot.answering.engine import Assistant

    return Assistant()


@pytest.fixture()
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of knowledge/ for tests that break it on purpose."""
    dest = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", dest)
    return dest


def edit_yaml(path: Path, change: Any) -> None:
    """Load a YAML file, let ``change`` alter the data in place, write it back."""
    import yaml

    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def knowledge_problems(root: Path) -> list[str]:
    """The problems ``bot.knowledge.load`` refuses ``root`` with (it must refuse it)."""
    from bot.knowledge import KnowledgeError, load

    with pytest.raises(KnowledgeError) as err:
        load(root)
    return [str(p) for p in err.value.problems]


def free_port() -> int:
    """A port free now, for servers that cannot choose their own (Rasa, the action server,
    HAProxy); the page server binds port 0 and says which port it got (``start_page``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_PAGE_ANNOUNCED = re.compile(r"Chat page on http://[^/\s]+:(\d+)/")


def announced_page_port(log: Path, proc: subprocess.Popen, timeout: float = 60) -> int:
    """The port the page server bound, from the line it prints when it is listening."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _PAGE_ANNOUNCED.search(log.read_text(errors="replace")) if log.exists() else None
        if found:
            return int(found[1])
        if proc.poll() is not None:
            raise RuntimeError(f"the page server exited early:\n{log.read_text()[-3000:] if log.exists() else ''}")
        time.sleep(0.05)
    raise RuntimeError(f"the page server did not say where it listens in {timeout}s")


def start_page(rasa_url: str, log: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """``python -m bot web`` on a port it binds itself (``--port 0``): the page's URL once it answers."""
    env = dict(env or os.environ, WEB_QUIET="1")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "web", "--port", "0", "--rasa", rasa_url], cwd=REPO,
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{announced_page_port(log, proc)}"
        wait_for(url + "/health", proc, log, timeout=30)
    except BaseException:
        stop_process(proc)
        raise
    return proc, url


def stop_process(proc: subprocess.Popen) -> None:
    """Stop a server started in its own session, and anything it started."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def quiz_answer_key(kb: Any, answer: dict[str, Any]) -> int:
    """The number of the right option of a quiz question. The quiz bank's own tests
    (tests/test_quiz_quality.py) check each key against its card; here the key the
    question carries is enough to tell which verdict a reply deserves."""
    current = (answer.get("state") or {}).get("current") or {}
    assert isinstance(current.get("a"), int), f"no answer key in the quiz state: {answer.get('state')}"
    assert 1 <= current["a"] <= len(answer["options"])
    return current["a"]


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not start in {timeout}s:\n{log.read_text()[-3000:]}")


class Chat:
    """Talks to the running bot through the REST channel, as a page or a ward PC would."""

    def __init__(self, rest_url: str, sender: str):
        self.rest_url, self.sender = rest_url, sender

    def send(self, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": self.sender, "message": message}).encode()
        req = urllib.request.Request(self.rest_url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def answer(self, message: str) -> dict[str, Any]:
        """The structured answer (custom payload) of the bot's reply."""
        customs = [m["custom"] for m in self.send(message) if "custom" in m]
        assert customs, f"no structured answer for {message!r}"
        return customs[-1]


def rows_eventually(database_url: str, sql: str, params: dict[str, Any],
                    until: Callable[[list[Any]], bool] = bool, timeout: float = 15) -> list[Any]:
    """The rows of ``sql`` once ``until(rows)`` holds (by default: once there are any), or at the
    timeout: records are written by a background thread after the reply (bot/records/recorder.py),
    so a test reading straight after may be early."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, future=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                rows = conn.execute(text(sql), params).all()
            if until(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)
    finally:
        engine.dispose()


def warm_up(rest_url: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    """Wait for a first full answer: the action server loads the core on its first call,
    which on a busy machine takes longer than Rasa waits for an action."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the servers stopped:\n{log.read_text()[-3000:]}")
        try:
            if any("custom" in m for m in Chat(rest_url, f"warm-up-{time.monotonic_ns()}").send("hello")):
                return
        except OSError:
            pass
        time.sleep(2)
    raise RuntimeError(f"no answer from {rest_url} within {timeout}s:\n{log.read_text()[-3000:]}")


# Figures the REST suites report at the end of the run (pytest_terminal_summary).
SUMMARY: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY:
        terminalreporter.section("REST suites")
        for name, line in sorted(SUMMARY.items()):
            terminalreporter.write_line(f"{name}: {line}")


@contextlib.contextmanager
def serve_bot(work: Path, database_url: str, actions: str = "in-process") -> Iterator[dict[str, Any]]:
    """The trained model served by `scripts/run.sh` (the real start path: loopback
    only, request size cap, rotated owner-only logs, no telemetry), with everything
    it keeps under ``work``. ``actions="server"`` runs the separate action server
    (with its token) as the scaled set-up does; by default the actions run in Rasa."""
    model = REPO / "models" / "assistant.tar.gz"
    if not model.is_file():
        if IN_CI:
            pytest.fail("models/assistant.tar.gz is missing: run `make train` (make test does)")
        pytest.skip("no trained model: run `make train`")
    rasa_port, actions_port = free_port(), free_port()
    var = work / "var"
    # The page the browser tests use is started first, on a port it binds itself, so that
    # Rasa can be told to accept that page's origin (CORS).
    page_proc, page_url = start_page(f"http://127.0.0.1:{rasa_port}", work / "page.log")
    web_port = int(page_url.rsplit(":", 1)[1])
    env = dict(os.environ, ASSISTANT_VAR_DIR=str(var), DATABASE_URL=database_url,
               RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port), WEB_PORT="0",  # run.sh's own page too
               ACTIONS=actions,
               CORS_ORIGINS=f"http://127.0.0.1:{web_port} http://localhost:{web_port}", WEB_QUIET="false")
    for name in ("RASA_TELEMETRY_ENABLED", "BIND_HOST", "ACTION_SERVER_TOKEN", "REQUEST_MAX_SIZE"):
        env.pop(name, None)  # run.sh must set these itself
    run_log = work / "run.log"
    proc = subprocess.Popen(["bash", str(REPO / "scripts" / "run.sh")], cwd=REPO, env=env,
                            stdout=run_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    logs = {name: var / f"{name}.log" for name in ("rasa", "web") + (("actions",) if actions == "server" else ())}
    try:
        if actions == "server":
            wait_for(f"http://127.0.0.1:{actions_port}/health", proc, run_log)
        wait_for(f"http://127.0.0.1:{rasa_port}/", proc, run_log)
        rest = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
        warm_up(rest, proc, run_log)
        yield {"rest": f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", "rasa_port": rasa_port,
               "actions": actions, "actions_port": actions_port if actions == "server" else None, "web_port": web_port, "page": page_url,
               "page_port": announced_page_port(logs["web"], proc),
               "database_url": database_url,
               "logs": logs, "work": work, "var": var, "env": env, "pid": proc.pid}
    finally:
        stop_process(page_proc)
        try:
            proc.send_signal(signal.SIGTERM)  # run.sh stops its servers; their log pipes then end
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def running_bot(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The assistant on SQLite (or on TEST_BOT_DATABASE_URL if set)."""
    work = tmp_path_factory.mktemp("bot")
    with serve_bot(work, os.environ.get("TEST_BOT_DATABASE_URL") or f"sqlite:///{work / 'var' / 'bot.db'}") as bot:
        yield bot


@pytest.fixture(scope="session")
def running_bot_pg(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The assistant on PostgreSQL (127.0.0.1:5432, database ``test``) in a fresh schema,
    or on TEST_BOT_DATABASE_URL if set, with the separate action server (as departments
    that outgrow one machine run it)."""
    from db_fixtures import require_postgres, url_with_schema
    from sqlalchemy import create_engine, text

    work = tmp_path_factory.mktemp("bot-pg")
    given = os.environ.get("TEST_BOT_DATABASE_URL")
    if given:
        with serve_bot(work, given, actions="server") as bot:
            yield bot
        return
    base = require_postgres()
    schema = f"bot_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, future=True)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with serve_bot(work, url_with_schema(base, schema), actions="server") as bot:
            yield bot
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture()
def chat(running_bot, request) -> Chat:
    return Chat(running_bot["rest"], f"test-{request.node.name}-{time.monotonic_ns()}")
