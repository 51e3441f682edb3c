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


def test_the_department_in_metadata_reaches_rasa_and_nothing_else_the_client_sent():
    seen: list[Any] = []

    async def answers(user_message: Any) -> None:
        seen.append(user_message.metadata)

    def request(metadata: Any) -> Any:
        return SimpleNamespace(headers={"content-type": "application/json"},
                               json={"sender": "ward-pc-3", "message": "filming during setup", "metadata": metadata})

    receive = _receive(answers)
    reply = asyncio.run(receive(request({"department": "radiotherapy", "nhs_number": "943 476 5919"})))
    assert reply.status == 200 and seen == [{"department": "radiotherapy"}]
    for nothing in (None, {}, {"department": ""}, {"other": 1}):
        seen.clear()
        assert asyncio.run(receive(request(nothing))).status == 200 and seen == [None], nothing
    for bad in ("radiotherapy", ["radiotherapy"], {"department": "Radio Therapy"}, {"department": "<b>x</b>"},
                {"department": 7}, {"department": "a" * 65}):
        reply = asyncio.run(receive(request(bad)))
        assert reply.status == 400 and "metadata" in json.loads(reply.body)["error"], bad
