"""Custom actions run inside the Rasa server: ``action_endpoint: url: "inprocess:actions"``.

Rasa 3.6 can only call custom actions over HTTP, so every turn paid for a
second process (its own copy of spaCy and the core, ~600 MB) and a round trip
with the turn serialised twice.  With an action endpoint whose URL is
``inprocess:<package>``, ``EndpointConfig.request`` (patched in
``rasa_addons.speed``) hands the call to rasa_sdk's own ``ActionExecutor``
in this process instead: the same actions, the same request and reply
documents (each copied through JSON, as over HTTP, so an action cannot change
Rasa's state by reference), and the same errors Rasa's ``RemoteAction``
expects from an action server:

* ``ActionExecutionRejection`` -> status 400 with ``error`` and ``action_name``
  (Rasa raises its own ``ActionExecutionRejection``, as with a server);
* an unknown action -> 404; any other exception -> 500 (logged here, with the
  log redaction the Rasa process already has).

The actions run one at a time on their own thread and event loop, as they
did on the action server's loop: our actions are synchronous, and one that
waits (a feedback vote waiting for a locked database) then holds up other
actions, never the Rasa server's own loop (health checks, NLU, other turns'
tracker reads).  The package is imported, and its ``warm_up()`` called if it
has one, on the first call, in a worker thread so the server keeps answering
health checks while the core loads.  The standalone action server
(``python -m rasa_addons.action_server``) is still what several Rasa servers
share (``make run-scaled``, Kubernetes).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)

SCHEME = "inprocess:"
DEFAULT_PACKAGE = "actions"

_executors: dict[str, Any] = {}
_load_lock = threading.Lock()
_actions_loop: asyncio.AbstractEventLoop | None = None


def is_in_process(url: str | None) -> bool:
    return bool(url) and str(url).startswith(SCHEME)


def package_of(url: str) -> str:
    """``inprocess:actions`` -> ``actions`` (the part after the scheme, slashes ignored)."""
    return url[len(SCHEME) :].strip("/") or DEFAULT_PACKAGE


def _load(package: str) -> Any:
    from rasa_sdk.executor import ActionExecutor

    with _load_lock:  # two first calls at once load the package once
        executor = _executors.get(package)
        if executor is None:
            executor = ActionExecutor()
            executor.register_package(package)
            warm_up = getattr(importlib.import_module(package), "warm_up", None)
            if callable(warm_up):
                warm_up()
            _executors[package] = executor
            logger.info("custom actions from %r run in this process: %s", package, sorted(executor.actions))
        return executor


async def executor_for(package: str) -> Any:
    executor = _executors.get(package)
    if executor is None:
        executor = await asyncio.get_running_loop().run_in_executor(None, _load, package)
    return executor


def actions_loop() -> asyncio.AbstractEventLoop:
    """The event loop the actions run on, in its own thread (started on first use, per process)."""
    global _actions_loop
    with _load_lock:
        if _actions_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="custom-actions", daemon=True).start()
            _actions_loop = loop
        return _actions_loop


def _error(status: int, reason: str, body: dict[str, Any]) -> Exception:
    from rasa.utils.endpoints import ClientResponseError

    return ClientResponseError(status, reason, json.dumps(body))


async def call(url: str, action_call: Any) -> Any:
    """Run one action call as the action server would; the reply document, or a ClientResponseError."""
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

    executor = await executor_for(package_of(url))
    request = json.loads(json.dumps(action_call))  # the actions get their own copy, as over HTTP
    try:
        result = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(executor.run(request), actions_loop()))
    except ActionExecutionRejection as exc:
        raise _error(400, "Bad Request", {"error": exc.message, "action_name": exc.action_name}) from None
    except ActionNotFoundException as exc:
        logger.error(exc.message)
        raise _error(404, "Not Found", {"error": exc.message, "action_name": exc.action_name}) from None
    except Exception as exc:
        logger.error("custom action %r failed: %s", request.get("next_action"), type(exc).__name__, exc_info=exc)
        raise _error(500, "Internal Server Error", {"error": "internal error"}) from exc
    return json.loads(json.dumps(result))


__all__ = ["SCHEME", "call", "is_in_process", "package_of"]
