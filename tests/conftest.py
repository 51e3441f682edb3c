"""Shared fixtures: one loaded Assistant, and (for integration tests) the real
Rasa server and action server started on free local ports."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

sys.modules.setdefault("tensorflow", None)  # the core never needs it; keeps test start-up quick


@pytest.fixture(scope="session")
def assistant():
    from bot.engine import Assistant

    return Assistant()


@pytest.fixture()
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of knowledge/ for tests that break it on purpose."""
    dest = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", dest)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


@pytest.fixture(scope="session")
def running_bot(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The trained model served by `rasa run` with the real action server."""
    model = REPO / "models" / "assistant.tar.gz"
    if not model.is_file():
        if IN_CI:
            pytest.fail("models/assistant.tar.gz is missing: run `make train` (make test does)")
        pytest.skip("no trained model: run `make train`")
    work = tmp_path_factory.mktemp("bot")
    rasa_port, actions_port, web_port = free_port(), free_port(), free_port()
    endpoints = work / "endpoints.yml"
    endpoints.write_text((REPO / "endpoints.yml").read_text().replace("127.0.0.1:5055", f"127.0.0.1:{actions_port}"))
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", ASSISTANT_VAR_DIR=str(work / "var"),
               DATABASE_URL=os.environ.get("TEST_BOT_DATABASE_URL", f"sqlite:///{work / 'bot.db'}"),
               LOG_DIR=str(work))
    logs = {"actions": work / "actions.log", "rasa": work / "rasa.log"}
    rasa = str(VENV_BIN / "rasa")
    procs = [
        subprocess.Popen([rasa, "run", "actions", "--actions", "actions", "--port", str(actions_port)],
                         cwd=REPO, env=env, stdout=logs["actions"].open("w"), stderr=subprocess.STDOUT,
                         start_new_session=True),
        subprocess.Popen([rasa, "run", "--model", str(model), "--port", str(rasa_port), "--endpoints",
                          str(endpoints), "--credentials", str(REPO / "credentials.yml"),
                          "--cors", f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"],
                         cwd=REPO, env=env, stdout=logs["rasa"].open("w"), stderr=subprocess.STDOUT,
                         start_new_session=True),
    ]
    try:
        wait_for(f"http://127.0.0.1:{actions_port}/health", procs[0], logs["actions"])
        wait_for(f"http://127.0.0.1:{rasa_port}/", procs[1], logs["rasa"])
        yield {"rest": f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", "rasa_port": rasa_port,
               "actions_port": actions_port, "web_port": web_port, "database_url": env["DATABASE_URL"], "logs": logs, "work": work,
               "env": env}
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


@pytest.fixture()
def chat(running_bot, request) -> Chat:
    return Chat(running_bot["rest"], f"test-{request.node.name}-{time.monotonic_ns()}")
