"""The REST channel when a message could not be handled (e.g. the database is down)."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from sqlalchemy.exc import OperationalError

from bot.serving.scaled import UNAVAILABLE_REPLY
from rasa_addons.channels import CheckedRestInput


def _receive(on_new_message: Any) -> Any:
    blueprint = CheckedRestInput().blueprint(on_new_message)
    (route,) = [r for r in blueprint._future_routes if r.uri == "/webhook"]
    return route.handler


def _request(message: str) -> Any:
    return SimpleNamespace(headers={"content-type": "application/json"},
                           json={"sender": "ward-pc-3", "message": message})


def test_a_turn_that_could_not_be_kept_gets_the_try_again_reply_not_its_answer():
    async def answers_then_fails(user_message: Any) -> None:
        await user_message.output_channel.send_text_message(user_message.sender_id, "Pause the set-up calmly.")
        raise OperationalError("save", {}, Exception("connection refused"))  # the tracker was not saved

    reply = asyncio.run(_receive(answers_then_fails)(_request("relative filming during setup")))
    body = json.loads(reply.body)
    assert reply.status == 503 and [m["text"] for m in body] == [UNAVAILABLE_REPLY]
    assert body[0]["custom"]["kind"] == "error"


def test_a_handled_turn_gets_its_answer():
    async def answers(user_message: Any) -> None:
        await user_message.output_channel.send_text_message(user_message.sender_id, "Pause the set-up calmly.")

    reply = asyncio.run(_receive(answers)(_request("relative filming during setup")))
    assert reply.status == 200 and [m["text"] for m in json.loads(reply.body)] == ["Pause the set-up calmly."]


def test_an_unpaired_surrogate_reaches_rasa_as_a_replacement_character():
    seen: list[str] = []

    async def answers(user_message: Any) -> None:
        seen.append(user_message.text)
        user_message.text.encode("utf-8")  # what storing it needs

    reply = asyncio.run(_receive(answers)(_request("filming \ud83d during setup")))
    assert reply.status == 200 and seen == ["filming \ufffd during setup"]


def test_a_message_of_only_spaces_and_control_characters_is_refused_clearly():
    async def never(user_message: Any) -> None:
        raise AssertionError("Rasa must not see it")

    for text in ["", "   ", "\x0c", "\x01\x02", "\u3000\t\n"]:
        reply = asyncio.run(_receive(never)(_request(text)))
        assert reply.status == 400 and "message is empty" in json.loads(reply.body)["error"], repr(text)
