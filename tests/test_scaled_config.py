"""The HAProxy configuration that `make run-scaled` generates, tried for real: HAProxy in
front of stand-in servers on loopback (no Rasa needed), so the routing rules are tested
on their own: a conversation stays on one server, a dead server's conversations move,
and a failing server gives staff the clear "temporarily unavailable" reply."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import IN_CI, free_port

from bot.serving import scaled


class _StandIn(BaseHTTPRequestHandler):
    """Answers like a Rasa server: GET / for health checks, POST with its own name."""

    name = "?"
    fail = False
    empty = False  # Rasa's answer when its action server failed

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._send(200, b"Hello from Rasa")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        sender = json.loads(self.rfile.read(length) or b"{}").get("sender")
        if type(self).fail:
            self._send(500, b"internal error")
            return
        if type(self).empty:
            self._send(200, b"[]")
            return
        self._send(200, json.dumps([{"recipient_id": sender, "text": type(self).name}]).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _stand_in(name: str) -> tuple[ThreadingHTTPServer, type[_StandIn]]:
    handler = type(f"StandIn_{name}", (_StandIn,), {"name": name, "fail": False, "empty": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


def _post(port: int, sender: str) -> tuple[int, list[dict]]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                 data=json.dumps({"sender": sender, "message": "hi"}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"[]")


@pytest.fixture()
def balancer(tmp_path: Path) -> Iterator[dict]:
    if not shutil.which("haproxy"):
        if IN_CI:
            pytest.fail("haproxy is not installed: `make test` installs it (make haproxy)")
        pytest.skip("haproxy is not installed: run `make haproxy`")
    servers = [_stand_in("A"), _stand_in("B")]
    port = free_port()
    (tmp_path / "unavailable.json").write_text(scaled.unavailable_body())
    (tmp_path / "unavailable.http").write_text(scaled.unavailable_errorfile())
    cfg = scaled.haproxy_config("127.0.0.1", port, free_port(), free_port(),
                                [s.server_address[1] for s, _ in servers], [free_port()], str(tmp_path))
    (tmp_path / "haproxy.cfg").write_text(cfg)
    proc = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _until(lambda: _up(port), "HAProxy to accept connections")
        _until(lambda: len({_post(port, f"warm-{i}")[1][0]["text"] for i in range(20)}) == 2,
               "both stand-in servers to pass their health checks")
        yield {"port": port, "servers": servers}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for s, _ in servers:
            s.shutdown()


def _up(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
        return True
    except OSError:
        return False


def _until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_each_conversation_stays_on_one_server_and_conversations_are_spread(balancer):
    port = balancer["port"]
    seen = {f"conv-{i}": {_post(port, f"conv-{i}")[1][0]["text"] for _ in range(5)} for i in range(30)}
    assert all(len(servers) == 1 for servers in seen.values()), "a conversation moved between live servers"
    assert {next(iter(s)) for s in seen.values()} == {"A", "B"}, "one server took every conversation"


def test_a_dead_servers_conversations_move_to_the_live_one(balancer):
    port = balancer["port"]
    (a, _), (b, _) = balancer["servers"]
    on_a = [s for s in (f"move-{i}" for i in range(40)) if _post(port, s)[1][0]["text"] == "A"]
    assert on_a, "no conversation was on server A to begin with"
    a.shutdown()
    a.server_close()
    answers = [_post(port, s) for s in on_a]
    assert all(status == 200 and body[0]["text"] == "B" for status, body in answers)


def test_a_failing_server_gives_the_clear_unavailable_reply(balancer):
    port = balancer["port"]
    for _, handler in balancer["servers"]:
        handler.fail = True
    status, body = _post(port, "any-conversation")
    assert status == 503
    assert body[0]["text"] == scaled.UNAVAILABLE_REPLY
    assert body[0]["custom"]["kind"] == "error"
    assert "internal error" not in json.dumps(body)


def test_no_server_up_at_all_still_gives_the_clear_reply(balancer):
    port = balancer["port"]
    for server, _ in balancer["servers"]:
        server.shutdown()
        server.server_close()
    _until(lambda: _post(port, "x")[0] == 503, "HAProxy to mark both servers down")
    status, body = _post(port, "after-both-died")
    assert status == 503 and body[0]["text"] == scaled.UNAVAILABLE_REPLY


def test_endpoints_share_the_tracker_store_and_the_redis_lock_store():
    data = yaml.safe_load(yaml.safe_dump(scaled.endpoints("http://127.0.0.1:5054/webhook", "127.0.0.1", 6379)))
    assert data["lock_store"]["type"] == "redis" and data["lock_store"]["url"] == "127.0.0.1"
    assert data["tracker_store"]["type"] == "rasa_addons.tracker_store.RedactingSQLTrackerStore"
    assert data["action_endpoint"]["url"].endswith(":5054/webhook")
    # the same token header as endpoints.yml: without it every action call is refused (401)
    plain = yaml.safe_load((Path(__file__).resolve().parent.parent / "endpoints.yml").read_text())
    assert data["action_endpoint"]["headers"] == plain["action_endpoint"]["headers"]


def test_an_empty_answer_from_rasa_gives_the_clear_reply(balancer):
    port = balancer["port"]
    for _, handler in balancer["servers"]:
        handler.empty = True
    status, body = _post(port, "action-server-down")
    assert status == 503 and body[0]["text"] == scaled.UNAVAILABLE_REPLY


# --- python -m bot.serving.scaled, as scripts/run-scaled.sh calls it ---------------------------


def test_the_endpoints_command_writes_a_shared_redis_lock_store(capsys):
    assert scaled.main(["endpoints", "--actions", "http://127.0.0.1:5054/webhook", "--redis", "10.0.0.7:6380"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["lock_store"]["url"] == "10.0.0.7" and data["lock_store"]["port"] == 6380


def test_the_haproxy_command_writes_the_reply_files_and_one_line_per_server(capsys, tmp_path: Path):
    run_dir = tmp_path / "scaled"
    assert scaled.main(["haproxy", "--run-dir", str(run_dir), "--rasa", "3@5100", "--actions", "2@5200"]) == 0
    cfg = capsys.readouterr().out
    assert [line.split()[2] for line in cfg.splitlines() if line.strip().startswith("server rasa")] == [
        "127.0.0.1:5101", "127.0.0.1:5102", "127.0.0.1:5103"]
    assert json.loads((run_dir / "unavailable.json").read_text())[0]["text"] == scaled.UNAVAILABLE_REPLY
    assert (run_dir / "unavailable.http").read_text().startswith("HTTP/1.0 503")


@pytest.fixture()
def database_url(monkeypatch):
    """Point DATABASE_URL somewhere for one test, and read the settings again after it."""
    from bot import config

    def use(url: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        config.reload()

    yield use
    monkeypatch.undo()
    config.reload()


def test_check_services_refuses_sqlite_for_several_servers(database_url, capsys, tmp_path: Path):
    database_url(f"sqlite:///{tmp_path / 'one.db'}")
    assert scaled.main(["check-services"]) == 1
    assert "cannot start: DATABASE_URL must be PostgreSQL for several servers (got sqlite)" in capsys.readouterr().err


def test_check_services_creates_a_missing_database_and_finds_redis(database_url, capsys):
    from db_fixtures import require_postgres
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(require_postgres())
    name = f"scaled_{time.monotonic_ns()}"
    database_url(base.set(database=name).render_as_string(hide_password=False))
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        assert scaled.main(["check-services", "--redis", "127.0.0.1:6379"]) == 0, capsys.readouterr().err
        with admin.connect() as conn:
            assert conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).scalar() == 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_check_services_says_what_to_start_when_nothing_answers(database_url, capsys):
    closed = free_port()  # nothing listens here
    database_url(f"postgresql+psycopg2://postgres@127.0.0.1:{closed}/test")
    assert scaled.main(["check-services", "--redis", f"127.0.0.1:{closed}"]) == 1
    err = capsys.readouterr().err
    assert f"cannot start: PostgreSQL at 127.0.0.1:{closed} is not reachable" in err
    assert f"cannot start: Redis at 127.0.0.1:{closed} is not reachable" in err and "start redis-server" in err
