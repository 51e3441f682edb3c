"""Cheaper action calls inside the Rasa server process (Rasa 3.6).

Installed by ``rasa_addons.tracker_store`` (the module Rasa imports for our
tracker store), so ``rasa run`` needs no other hook.

* ``RemoteAction._validate_action_result`` called ``jsonschema.validate`` on
  every action reply, which checks the schema itself each time before checking
  the reply (about 15 ms a call on this machine), and then tries each event
  against all ~20 event schemas (``oneOf``, several ms for five events).  The
  validators are built, and the schema checked, once, and each event is checked
  against its own type's schema only (the same result, see ``_fast_parts``);
  an invalid reply still raises the ``jsonschema.ValidationError`` that
  ``jsonschema.validate`` would.
* ``EndpointConfig.request`` opened a new ``aiohttp.ClientSession`` (and TCP
  connection) for every action call.  One session per endpoint and event loop
  is kept and its connections reused; idle connections are dropped after 2 s,
  before the action server's own 5 s keep-alive ends, so a reused connection
  is never one the server is closing.
* ``RemoteAction._action_call_format`` serialised every event of the
  conversation and sent them all to the action server on every turn, so a
  turn cost more the longer the conversation.  Our actions read only the
  latest message, the slots and the latest input channel, so the events sent
  are the current turn's (from the latest user message on); the slots, latest
  message, active loop and the rest of the state are sent as before.  Set
  ``ACTION_FULL_TRACKER=1`` to send every event (for actions that need them).
* Rasa's ``LogisticRegressionClassifier`` keeps its weights column-major, so
  scoring a message does not copy the weight matrix (``_fortran_weights``).
* An action endpoint ``url: "inprocess:actions"`` runs the actions in this
  process, with no HTTP at all (``rasa_addons.in_process_actions``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import ssl
from typing import Any

from rasa_addons import in_process_actions

logger = logging.getLogger(__name__)

_installed = False
KEEPALIVE_S = 2.0


def reply_schema() -> dict[str, Any]:
    """``RemoteAction.action_response_format_spec()``, without importing Rasa's core (TensorFlow)."""
    from rasa.shared.utils.schemas.events import EVENTS_SCHEMA

    return {
        "type": "object",
        "properties": {"events": EVENTS_SCHEMA, "responses": {"type": "array", "items": {"type": "object"}}},
    }


@functools.lru_cache(maxsize=1)
def action_reply_validator() -> Any:
    """A validator for the action server's reply schema, built (and the schema checked) once."""
    from jsonschema.validators import validator_for

    schema = reply_schema()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.lru_cache(maxsize=1)
def _fast_parts() -> tuple[Any, dict[str, Any]] | None:
    """The reply schema split so each event is checked only against its own type's schema.

    Rasa's event schema is ``oneOf`` some 20 event schemas, each fixing
    ``event`` to a constant (and ``event`` is required), so an event whose
    ``event`` is V can only match the schemas with constant V: checking those
    alone gives the same answer, without trying the 20 others for every event.
    ``None`` if the schema is not of that shape (then the full check is used).
    """
    import copy as _copy

    full = action_reply_validator()
    schema = full.schema
    try:
        items = schema["properties"]["events"]["items"]
        subs = items["oneOf"]
        consts = [sub["properties"]["event"]["const"] for sub in subs]
        if "event" not in items.get("required", ()):
            return None
    except (KeyError, TypeError):
        return None
    outer = _copy.deepcopy(schema)
    del outer["properties"]["events"]["items"]
    cls = type(full)
    per_type: dict[str, Any] = {}
    for name in set(consts):
        item = dict(items)
        item["oneOf"] = [sub for sub, c in zip(subs, consts) if c == name]
        per_type[name] = cls(item)
    return cls(outer), per_type


def reply_is_valid(result: Any) -> bool:
    parts = _fast_parts()
    if parts is None:
        return bool(action_reply_validator().is_valid(result))
    outer, per_type = parts
    if not outer.is_valid(result):
        return False
    events = result.get("events") if isinstance(result, dict) else None
    for event in events if isinstance(events, list) else ():
        name = event.get("event") if isinstance(event, dict) else None
        validator = per_type.get(name) if isinstance(name, str) else None
        if validator is None:
            return False  # not an object, no event type, or an unknown one: the full check explains
        if not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Rasa's check with validators built once; same errors as ``jsonschema.validate``."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    if reply_is_valid(result):
        return True
    # Invalid: the full schema gives the same error jsonschema.validate would.
    error = best_match(action_reply_validator().iter_errors(result))
    if error is None:  # pragma: no cover - the split check and the full one agree
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        f"from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# One client session per (endpoint, loop), kept on the endpoint object (EndpointConfig
# defines __eq__, so it cannot be a dict key): sessions belong to the loop that made them.
_ATTR = "_rasa_addons_sessions"


def _shared_session(endpoint: Any) -> Any:
    import aiohttp

    loop = asyncio.get_running_loop()
    per_loop = endpoint.__dict__.setdefault(_ATTR, {})
    session = per_loop.get(id(loop))
    if session is None or session.closed:
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
        from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S, limit=100),
        )
        per_loop[id(loop)] = session
    return session


async def _request(
    self: Any,
    method: str = "post",
    subpath: str | None = None,
    content_type: str | None = "application/json",
    compress: bool = False,
    **kwargs: Any,
) -> Any | None:
    """``EndpointConfig.request`` on a reused session (otherwise the same code); an
    ``inprocess:`` action endpoint runs the actions in this process instead."""
    if in_process_actions.is_in_process(self.url):
        return await in_process_actions.call(self.url, kwargs.get("json"))
    from aiohttp import ContentTypeError
    from rasa.shared.exceptions import FileNotFoundException
    from rasa.utils.endpoints import ClientResponseError, concat_url

    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if "headers" in kwargs:
        headers.update(kwargs.pop("headers"))
    if self.headers:
        headers.update(self.headers)
    url = concat_url(self.url, subpath)
    sslcontext = None
    if self.cafile:
        try:
            sslcontext = ssl.create_default_context(cafile=self.cafile)
        except FileNotFoundError as e:
            raise FileNotFoundException(
                f"Failed to find certificate file, '{os.path.abspath(self.cafile)}' does not exist."
            ) from e
    session = _shared_session(self)
    async with session.request(
        method,
        url,
        headers=headers,
        params=self.combine_parameters(kwargs),
        compress=compress,
        ssl=sslcontext,
        **kwargs,
    ) as response:
        if response.status >= 400:
            raise ClientResponseError(response.status, response.reason, await response.content.read())
        try:
            return await response.json()
        except ContentTypeError:
            return None


def turn_events(tracker: Any) -> list[Any]:
    """The current turn's events: from the latest user message to the end (all, if there is none)."""
    from rasa.shared.core.events import UserUttered

    events = list(tracker.events)
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], UserUttered):
            return events[i:]
    return events


def _action_call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
    """Rasa 3.6's request to the action server, with only the current turn's events."""
    import rasa

    state = tracker.current_state()  # every field but the events
    state["events"] = [e.as_dict() for e in turn_events(tracker)]
    result = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state, "version": rasa.__version__}
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        result["domain"] = domain.as_dict()
    return result


def _fortran_weights(load: Any) -> Any:
    """Wrap ``LogisticRegressionClassifier.load`` so the loaded model's weights are stored
    column-major (``bot.understanding.classifier.column_major_weights``: no copy per message)."""

    def wrapped(cls: Any, *args: Any, **kwargs: Any) -> Any:
        from bot.understanding.classifier import column_major_weights

        component = load.__func__(cls, *args, **kwargs)
        column_major_weights(getattr(component, "clf", None))
        return component

    return classmethod(wrapped)


def install() -> None:
    """Patch Rasa once per process (idempotent)."""
    global _installed
    if _installed:
        return
    try:
        from rasa.core.actions.action import RemoteAction
        from rasa.utils.endpoints import EndpointConfig
    except ImportError:  # not a Rasa server (e.g. tests without TensorFlow): nothing to speed up
        return
    if RemoteAction.action_response_format_spec() == reply_schema():
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    else:  # another Rasa version: keep its own check
        logger.warning("action reply schema changed; Rasa's own validation is kept")
    EndpointConfig.request = _request  # type: ignore[method-assign]
    try:
        from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    except ImportError:  # pragma: no cover - not in this Rasa version
        pass
    else:
        LogisticRegressionClassifier.load = _fortran_weights(LogisticRegressionClassifier.load)  # type: ignore[method-assign]
    if os.environ.get("ACTION_FULL_TRACKER", "") not in ("1", "true"):
        RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
    _installed = True
    logger.debug("rasa_addons.speed installed")


__all__ = ["action_reply_validator", "install", "turn_events"]
