"""The scale-out configuration: several Rasa servers share a Redis lock store.

The lock store block commented in endpoints.yml must work against a real
Redis (127.0.0.1:6379 here); under CI=true this test must not skip."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _lock_store_config() -> dict:
    """The commented lock_store block of endpoints.yml, uncommented, as a department would."""
    lines = (REPO / "endpoints.yml").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("# lock_store:"))
    block = [l[2:] for l in lines[start:] if l.startswith("# ") or l == "#"]
    config = yaml.safe_load("\n".join(block).replace("${REDIS_HOST}", "127.0.0.1"))
    return config["lock_store"]


def test_two_servers_share_one_conversation_lock():
    if not _redis_up():
        if IN_CI:
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379")
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = _lock_store_config()
    assert config["type"] == "redis"
    endpoint = EndpointConfig(url=config["url"], type="redis", port=config["port"], db=config["db"],
                              key_prefix=f"test{uuid.uuid4().hex[:8]}")
    server_a, server_b = LockStore.create(endpoint), LockStore.create(endpoint)
    conversation = "ward-pc-7"

    async def scenario() -> None:
        async with server_a.lock(conversation, lock_lifetime=5, wait_time_in_seconds=0.05):
            # server B sees A's ticket: a message for this conversation on B would queue behind it
            seen = server_b.get_lock(conversation)
            assert seen is not None and seen.now_serving is not None
            assert seen.is_locked(seen.last_issued + 1)
        after = server_b.get_lock(conversation)
        assert after is None or after.now_serving is None  # released for everyone
        async with server_b.lock(conversation, lock_lifetime=5, wait_time_in_seconds=0.05):
            assert server_a.get_lock(conversation).now_serving is not None

    asyncio.run(scenario())
