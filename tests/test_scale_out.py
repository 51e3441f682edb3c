"""The scale-out configuration: several Rasa servers share a Redis lock store.

The lock store block commented in endpoints.yml must work against a real
Redis (127.0.0.1:6379 here); under CI=true this test must not skip."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from conftest import IN_CI, REPO  # tests/ is on sys.path


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


def _two_servers() -> tuple[Any, Any]:
    if not _redis_up():
        if IN_CI:
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379")
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    config = _lock_store_config()
    assert config["type"] == "redis"
    endpoint = EndpointConfig(url=config["url"], type="redis", port=config["port"], db=config["db"],
                              key_prefix=f"test{uuid.uuid4().hex[:8]}")
    a, b = LockStore.create(endpoint), LockStore.create(endpoint)
    assert isinstance(a, RedisLockStore) and a is not b  # two clients of one Redis, as two servers have
    return a, b


async def _until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Wait for a condition (never for a fixed time); the limit only stops a hung test."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.01)


def _count_polls(store: Any) -> list[int]:
    """Count how often a server looks at the lock while it waits for its turn."""
    polls = [0]
    get_lock = store.get_lock

    def counting(conversation_id: str) -> Any:
        polls[0] += 1
        return get_lock(conversation_id)

    store.get_lock = counting
    return polls


def test_a_message_on_server_b_waits_while_server_a_holds_the_conversation():
    server_a, server_b = _two_servers()
    conversation = "ward-pc-7"
    order: list[str] = []

    async def scenario() -> None:
        async with server_a.lock(conversation, lock_lifetime=60, wait_time_in_seconds=0.05) as held:
            order.append("A starts")
            a_ticket = held.now_serving

            async def on_b() -> None:
                async with server_b.lock(conversation, lock_lifetime=60, wait_time_in_seconds=0.05) as lock:
                    order.append("B starts")
                    assert lock.now_serving == a_ticket + 1  # B's own ticket, next in line

            polls = _count_polls(server_b)
            task = asyncio.create_task(on_b())
            # B has taken a ticket and looked at the lock several times, and is still waiting
            await _until(lambda: polls[0] >= 5, "server B polling the lock")
            assert not task.done() and order == ["A starts"]
            assert len(server_a.get_lock(conversation).tickets) == 2
            order.append("A ends")
        await asyncio.wait_for(task, 30)
        assert server_a.get_lock(conversation) is None  # released for everyone once both are done

    asyncio.run(scenario())
    assert order == ["A starts", "A ends", "B starts"]


def test_a_message_whose_turn_expired_while_waiting_gets_a_lock_error():
    """Rasa's LockError: B's ticket lapsed while A still held the conversation, so when A
    finishes the lock is gone and B must fail rather than run unguarded."""
    from rasa.core.lock_store import LockError

    server_a, server_b = _two_servers()
    conversation = "ward-pc-8"

    async def scenario() -> None:
        async with server_a.lock(conversation, lock_lifetime=60, wait_time_in_seconds=0.05):
            async def on_b() -> None:
                async with server_b.lock(conversation, lock_lifetime=0.2, wait_time_in_seconds=0.05):
                    raise AssertionError("B ran although its ticket had expired")

            task = asyncio.create_task(on_b())
            await _until(lambda: len(server_a.get_lock(conversation).tickets) == 2,
                         "server B taking a ticket")
            # B drops its own lapsed ticket on a later poll: A's is the only one left
            await _until(lambda: len(server_a.get_lock(conversation).tickets) == 1, "B's ticket expiring")
            assert not task.done()
        with pytest.raises(LockError):
            await asyncio.wait_for(task, 30)

    asyncio.run(scenario())
