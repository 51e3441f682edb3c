"""How the assistant is served, checked on the stack `scripts/run.sh` starts:
loopback only, the action server's token, request size caps, the REST channel's
refusals, owner-only files, rotated logs, no telemetry (security review M1-M4, M6)."""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             method: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _group(pid: int) -> list[int]:
    """Processes in run.sh's process group."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pid:
                    out.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return out


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _servers(bot: dict[str, Any]) -> dict[str, int]:
    found = {}
    for pid in _group(bot["pid"]):
        cmd = _cmdline(pid)
        if "rasa_addons.action_server" in cmd:
            found["actions"] = pid
        elif " run --model" in cmd:
            found["rasa"] = pid
        elif "-m bot web" in cmd:
            found["page"] = pid
    return found


def _listening(port: int) -> set[str]:
    """Local addresses listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    addresses = set()
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/net/{name}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            host, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                if len(host) == 8:
                    addresses.add(".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    addresses.add("::" if set(host) == {"0"} else host)
    return addresses


# Both start modes: actions inside Rasa (the default, SQLite) and the separate
# action server (the PostgreSQL stack, as departments that scale out run it).
BOTH = pytest.mark.parametrize("bot", ["running_bot", "running_bot_pg"], ids=["in-process", "action-server"])


@BOTH
def test_every_server_listens_on_loopback_only(bot, request):
    running = request.getfixturevalue(bot)
    ports = [running["rasa_port"], running["page_port"]] + ([running["actions_port"]] if running["actions_port"] else [])
    for port in ports:
        assert _listening(port) == {"127.0.0.1"}, port


@BOTH
def test_telemetry_is_off_in_every_server(bot, request):
    running = request.getfixturevalue(bot)
    servers = _servers(running)
    assert set(servers) == ({"rasa", "actions", "page"} if running["actions"] == "server" else {"rasa", "page"})
    for name, pid in servers.items():
        assert _environ(pid).get("RASA_TELEMETRY_ENABLED") == "false", name


def test_by_default_the_actions_run_inside_rasa_with_no_port_open(running_bot, chat):
    """make run's default: one Rasa process answers, and nothing listens for action calls."""
    assert running_bot["actions"] == "in-process" and "actions" not in _servers(running_bot)
    answer = chat.answer("relative started filming during setup")
    assert answer["reply"] and answer["answer_id"]  # answered by the actions, and recorded
    rasa_pid = _servers(running_bot)["rasa"]
    inodes = {p.readlink().name for p in Path(f"/proc/{rasa_pid}/fd").iterdir() if "socket" in str(p.readlink())}
    listening = set()
    for name in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and f"socket:[{fields[9]}]" in inodes:
                listening.add(int(fields[1].rsplit(":", 1)[1], 16))
    assert listening == {running_bot["rasa_port"]}


def test_action_server_refuses_calls_without_the_token(running_bot_pg):
    running_bot = running_bot_pg
    base = f"http://127.0.0.1:{running_bot['actions_port']}"
    token = _environ(_servers(running_bot)["actions"])["ACTION_SERVER_TOKEN"]
    assert len(token) >= 32
    call = json.dumps({"next_action": "action_answer", "tracker": {"sender_id": "x", "events": []},
                       "domain": {}, "version": "3.6.21"}).encode()
    assert _request(base + "/health")[0] == 200
    assert _request(base + "/actions")[0] == 401
    assert _request(base + "/webhook", call, {"Content-Type": "text/plain"})[0] == 401
    assert _request(base + "/webhook", call, {"Authorization": "Bearer " + token[:-1] + "x"})[0] == 401
    status, body = _request(base + "/actions", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and {"name": "action_answer"} in json.loads(body)
    # With the token: a compressed body is refused, a broken call does not echo the tracker.
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    assert _request(base + "/webhook", b"x\x9c\x03\x00", {**auth, "Content-Encoding": "deflate"})[0] == 415
    bad = json.dumps({"next_action": "action_answer", "tracker": {"sender_id": "x", "slots": {"mode_state": 5},
                      "latest_message": {"text": "secret 943 476 5919"}, "events": []}}).encode()
    status, body = _request(base + "/webhook", bad, auth)
    assert b"5919" not in body and b"request_body" not in body
    # The token never reaches a log.
    for log in running_bot["var"].glob("*.log*"):
        assert token not in log.read_text(errors="replace"), log.name
    assert token not in (running_bot["work"] / "run.log").read_text()


def test_a_one_megabyte_post_is_refused_before_it_is_read(running_bot, running_bot_pg):
    body = b'{"sender":"big","message":"' + b"x" * (1024 * 1024) + b'"}'
    for url in (running_bot["rest"], f"http://127.0.0.1:{running_bot_pg['actions_port']}/webhook"):
        started = time.monotonic()
        try:
            status, _ = _request(url, body, {"Content-Type": "application/json"})
        except (ConnectionError, urllib.error.URLError):
            status = 413  # closed after answering 413, before the client finished sending
        assert status in (401, 413), url  # the action server checks the token first
        assert time.monotonic() - started < 2.0
    status, _ = _request(running_bot["rest"], b'{"sender":"big","message":"' + b"x" * 17000 + b'"}',
                         {"Content-Type": "application/json"})
    assert status == 413


@pytest.mark.parametrize("payload, headers, status", [
    ({"message": "relative filming"}, None, 400),
    ({"sender": "", "message": "relative filming"}, None, 400),
    ({"sender": "   ", "message": "relative filming"}, None, 400),
    ({"sender": 7, "message": "relative filming"}, None, 400),
    ({"sender": "p-0123456789abcdef0123456789abcdef", "message": "hi"}, None, 400),
    ({"sender": "me"}, None, 400),
    ({"sender": "me", "message": ["x"]}, None, 400),
    ({"sender": "me", "message": "film " * 1000}, None, 413),
    ({"sender": "me", "message": "relative filming"}, {"Content-Type": "text/plain"}, 415),
    (["sender", "message"], None, 400),
])
def test_rest_channel_refuses_what_it_cannot_answer_safely(running_bot, payload, headers, status):
    got, body = _request(running_bot["rest"], json.dumps(payload).encode(),
                         headers or {"Content-Type": "application/json"})
    assert got == status and json.loads(body)["error"]


def test_socket_io_is_not_served(running_bot):
    assert _request(f"http://127.0.0.1:{running_bot['rasa_port']}/socket.io/?EIO=4&transport=polling")[0] == 404


def test_state_files_are_readable_by_their_owner_only(chat, running_bot):
    chat.answer("relative started filming during setup")
    var = running_bot["var"]
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    files = [p for p in var.iterdir() if p.is_file()]
    expected = {"rasa.log", "web.log", "sender_id.key"}  # actions.log only with the separate action server
    if running_bot["database_url"].startswith("sqlite"):
        expected.add("bot.db")
    assert expected <= {p.name for p in files}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o600" for p in files}
