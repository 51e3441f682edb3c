"""A REST input channel that checks each request before Rasa sees it.

credentials.yml::

    rasa_addons.channels.CheckedRestInput:

It keeps Rasa's REST URL (``POST /webhooks/rest/webhook``) and reply format,
and refuses with a JSON ``{"error": ...}``:

- 415 a body not sent as ``application/json`` (a cross-site ``text/plain``
  POST from another web page needs no CORS preflight; JSON does);
- 400 a body that is not a JSON object, a missing or empty ``sender`` (Rasa
  would put every such request into one shared "default" conversation), a
  sender that looks like a stored pseudonym (``p-`` + 32 hex) or holds an
  unpaired UTF-16 surrogate, a ``message`` that is not a string or has no
  text (only spaces and control characters), a ``metadata`` that is not an
  object or whose ``department`` is not a department id (lower-case words
  joined by hyphens, at most 64 characters);
- 413 a message longer than ``MAX_MESSAGE_CHARS``;

and answers 503 with the "temporarily unavailable, try again" reply when the
message could not be handled (e.g. the database is down: see
``rasa_addons.no_silent_fallback``), rather than an answer whose turn was lost.

Unpaired surrogates in the message (valid JSON, but no text encoding can store
them) become "\ufffd". Angle brackets in the message become ``‹ ›`` before Rasa sees it, so no reply,
record or log can carry markup a client typed (the chat page shows text as
text anyway; other clients of this API may not). The client's
``input_channel`` is not used (the channel name is always ``rest``), and of
``metadata`` only ``department`` is passed on (as ``{"department": id}``: which
department's policy applies); nothing else the client chose is stored. Message
text is never written to the log here (Rasa's own REST channel logs it on an
error).
"""

from __future__ import annotations

import logging
import re
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.serving.scaled import unavailable_body

logger = logging.getLogger(__name__)

# Twice the core's own limit (bot.understanding.text.MAX_CHARS, 2000): the core
# still politely declines anything between the two; beyond this it is not a question.
MAX_MESSAGE_CHARS = 4000
MAX_SENDER_CHARS = 128
PSEUDONYM_RE = re.compile(r"p-[0-9a-f]{32}", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = str.maketrans({"<": "\u2039", ">": "\u203a"})
DEPARTMENT_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
MAX_DEPARTMENT_CHARS = 64


def neutralise_markup(text: str) -> str:
    """``text`` with ``<`` and ``>`` as single angle quotation marks: still readable, never a tag."""
    return text.translate(_MARKUP)


class BadRequest(Exception):
    """The request is refused with ``status`` and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def checked_metadata(value: Any) -> dict[str, str] | None:
    """The metadata Rasa is given: ``{"department": id}`` or nothing; ``BadRequest`` for a malformed one."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(400, 'metadata must be a JSON object, e.g. {"department": "radiotherapy"}')
    department = value.get("department")
    if department is None or department == "":
        return None
    if (
        not isinstance(department, str)
        or len(department) > MAX_DEPARTMENT_CHARS
        or not DEPARTMENT_ID.fullmatch(department)
    ):
        raise BadRequest(400, "metadata.department must be a department id: lower-case words joined by hyphens")
    return {"department": department}


def checked_body(request: Request) -> tuple[str, str, dict[str, str] | None]:
    """``(sender, message, metadata)`` from a request, or ``BadRequest``."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise BadRequest(415, "send the body as JSON with Content-Type: application/json")
    try:
        body = request.json
    except SanicException:
        raise BadRequest(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest(400, 'the body must be a JSON object: {"sender": ..., "message": ...}')
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest(400, "sender is required: a conversation id chosen by the client")
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(400, f"sender is longer than {MAX_SENDER_CHARS} characters")
    if PSEUDONYM_RE.fullmatch(sender.strip()):
        raise BadRequest(400, "sender must not have the form of a stored conversation id")
    if not isinstance(message, str):
        raise BadRequest(400, "message is required and must be a string")
    if len(message) > MAX_MESSAGE_CHARS:
        raise BadRequest(413, f"message is longer than {MAX_MESSAGE_CHARS} characters")
    if _SURROGATE.search(sender):
        raise BadRequest(400, "sender must be text (it holds an unpaired UTF-16 surrogate)")
    # JSON can carry halves of UTF-16 pairs that no text encoding can store: shown as "�"
    # ...and control characters other than tab and line breaks (a lone form feed stops Rasa's
    # pipeline) are spaces, as the core's own cleaning makes them
    text = _CONTROL.sub(" ", _SURROGATE.sub("\ufffd", message))
    if not text.strip():  # Rasa's pipeline fails on a message with no words at all
        raise BadRequest(400, "message is empty: type a question or describe what is happening")
    return sender, neutralise_markup(text), checked_metadata(body.get("metadata"))


class CheckedRestInput(RestInput):
    """Rasa's REST channel with the request checks above; no streaming."""

    @classmethod
    def name(cls) -> str:
        return "rest"  # keeps /webhooks/rest/webhook, which the chat page uses

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("checked_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, message, metadata = checked_body(request)
            except BadRequest as exc:
                return response.json({"error": exc.reason}, status=exc.status)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(message, collector, sender, input_channel=self.name(), metadata=metadata)
                )
            except CancelledError:
                logger.error("rest channel: the message timed out")
            except Exception as exc:  # noqa: BLE001 - log the kind only: the text may hold identifiers
                # The turn was not kept (e.g. the database is down): an answer shown now would be
                # missing from the conversation, so say "try again" instead (as HAProxy does).
                logger.error("rest channel: handling a message failed (%s)", type(exc).__name__)
                return response.raw(unavailable_body(), status=503, content_type="application/json")
            return response.json(collector.messages)

        return webhook
