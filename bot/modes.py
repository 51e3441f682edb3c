"""Practice questions for students and member-advice checks for union representatives.

Questions and distractors are drawn from the scenario cards themselves, so a
new card brings new questions and no question can disagree with its card.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

from bot.answer import Answer, Option
from bot.knowledge import Scenario
from bot.matching import REPORTED_FACT_WEIGHT, rank

if TYPE_CHECKING:
    from bot.engine import Analysis, Assistant

QUESTIONS_PER_ROUND = 5
TOPIC_FACTS = ("where", "how", "purpose", "covert")  # "quiz me" must not read "me" as a topic
_STOP = re.compile(r"^\s*(stop|end|quit|finish|exit|enough|that'?s enough|stop the quiz|end quiz)\b", re.I)
_CHOICE = re.compile(r"^\s*(?:option|answer|choice)?\s*([1-4]|[a-d])\s*[.)]?\s*$", re.I)


def answer(assistant: "Assistant", question: str, analysis: "Analysis") -> Answer:
    if analysis.intent == "start_quiz":
        return start_quiz(assistant, question, analysis.facts)
    return member_advice(assistant, question, analysis)


# -- quiz ------------------------------------------------------------------------------
def quiz_pool(assistant: "Assistant", facts: dict[str, list[str]], text: str = "") -> list[Scenario]:
    """Scenario cards on the asked topic or setting; every card when none is named."""
    cards = list(assistant.kb.scenarios.values())
    topic = {f: v for f, v in facts.items() if f in TOPIC_FACTS}
    if topic:
        chosen = [s for s in cards if all(set(s.facts.get(f, ())) & set(v) for f, v in topic.items())]
        if len(chosen) >= 2:
            return chosen
    words = [w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in {"quiz", "question", "questions",
                                                                           "test", "practice", "give", "about"}]
    if words:
        chosen = [s for s in cards if any(w in (s.title + " " + s.summary).lower() for w in words)]
        if len(chosen) >= 2:
            return chosen
    return cards


def make_question(assistant: "Assistant", card: Scenario, number: int, rng: random.Random) -> dict[str, Any]:
    """Alternate "what first?" and "which clause?" questions; distractors come from other cards."""
    others = [s for s in assistant.kb.scenarios.values() if s.id != card.id]
    if number % 2 == 1:
        correct = card.do_now[0]
        pool = [s.do_now[0] for s in others if s.do_now[0] != correct and s.do_now[0] not in card.do_now]
        prompt = f"{card.summary} What should you do first?"
    else:
        correct = card.why[0].cite
        pool = sorted({p.cite for s in others for p in s.why} - set(card.citations))
        prompt = f"{card.summary} Which clause gives the main reason for the advice?"
    options = rng.sample(pool, k=min(2, len(pool))) + [correct]
    rng.shuffle(options)
    return {"scenario": card.id, "prompt": prompt, "options": options, "correct": options.index(correct) + 1,
            "kind": "first-step" if number % 2 == 1 else "clause"}


def _pose(assistant: "Assistant", question: str, state: dict[str, Any], preface: str = "") -> Answer:
    q = state["current"]
    ans = assistant._info(question, "quiz", "start_quiz",
                          (preface + "\n" if preface else "") + f"Question {state['number']}: {q['prompt']}")
    ans.options = [Option(label=f"{i}. {o}", choice=i) for i, o in enumerate(q["options"], 1)]
    ans.state = state
    return ans


def start_quiz(assistant: "Assistant", question: str, facts: dict[str, list[str]], seed: int | None = None) -> Answer:
    pool = [s.id for s in quiz_pool(assistant, facts, question)]
    seed = seed if seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    rng.shuffle(pool)
    state = {"mode": "quiz", "seed": seed, "pool": pool, "number": 1, "score": 0, "missed": []}
    state["current"] = make_question(assistant, assistant.kb.scenarios[pool[0]], 1, rng)
    return _pose(assistant, question, state, "Practice mode: choose an answer (reply 1, 2 or 3, or \"stop\").")


def mark(assistant: "Assistant", state: dict[str, Any], choice: int) -> tuple[bool, str]:
    q = state["current"]
    card = assistant.kb.scenarios[q["scenario"]]
    right = choice == q["correct"]
    reason = f"{card.why[0].point} ({card.why[0].cite})"
    answer_text = q["options"][q["correct"] - 1]
    verdict = "Right." if right else f"Not quite: the answer is {q['correct']}. {answer_text}."
    return right, f"{verdict} Why: {reason}"


def continue_mode(assistant: "Assistant", question: str, state: dict[str, Any], choice: int | None) -> Answer | None:
    """Carry on a quiz; ``None`` means the message is not part of it (the quiz then ends)."""
    if state.get("mode") != "quiz":
        return None
    if _STOP.match(question):
        return _summary(assistant, question, state)
    if choice is None:
        m = _CHOICE.match(question)
        if not m:
            return None
        raw = m.group(1).lower()
        choice = int(raw) if raw.isdigit() else "abcd".index(raw) + 1
    if not 1 <= choice <= len(state["current"]["options"]):
        ans = _pose(assistant, question, state, f"Please choose 1 to {len(state['current']['options'])}.")
        return ans
    right, feedback = mark(assistant, state, choice)
    state = dict(state, score=state["score"] + int(right), answered=state.get("answered", 0) + 1,
                 missed=state["missed"] +
                 ([] if right else [assistant.kb.scenarios[state["current"]["scenario"]].why[0].cite]))
    if state["number"] >= min(QUESTIONS_PER_ROUND, len(state["pool"])):
        done = _summary(assistant, question, state)
        done.text = f"{feedback}\n{done.text}"
        return done
    rng = random.Random(state["seed"] + state["number"])
    state["number"] += 1
    card = assistant.kb.scenarios[state["pool"][state["number"] - 1]]
    state["current"] = make_question(assistant, card, state["number"], rng)
    return _pose(assistant, question, state, f"{feedback}\nScore: {state['score']} of {state['answered']}.")


def _summary(assistant: "Assistant", question: str, state: dict[str, Any]) -> Answer:
    missed = list(dict.fromkeys(state["missed"]))
    text = f"Quiz finished: {state['score']} right out of {state.get('answered', 0)}."
    if missed:
        text += " Revise: " + ", ".join(missed) + "."
    else:
        text += " Nothing to revise from this round."
    ans = assistant._info(question, "quiz", "stop", text)
    ans.why = [assistant.why_point(c, assistant.kb.clause(c).summary if assistant.kb.clause(c) else "")
               for c in missed if not c.startswith("LOCAL ")]
    ans.state = {}
    return ans


# -- union representatives ---------------------------------------------------------------
ROUTES = {
    "harassment": "the police where there are threats, abuse or harassment (NHSP-2016 lists possible offences)",
    "default": "the line manager first, then the incident reporting system; the union representative "
               "throughout; the HCPC only where a registrant's own conduct is in question",
}


def member_advice(assistant: "Assistant", question: str, analysis: "Analysis") -> Answer:
    """The member's position, clause by clause, for the situation the rep describes."""
    ranked = rank(assistant.kb, analysis.scenario_scores, analysis.facts, REPORTED_FACT_WEIGHT)
    card = ranked[0].scenario
    lines = [f"Closest situation: {card.title}."]
    supported = [assistant.why_point(p.cite, p.point) for p in card.why]
    older = []
    for c in assistant.kb.clauses.values():
        if c.source == "SCoR-2014" and set(c.successor) & set(card.citations):
            older.append(assistant.why_point(c.id, f"2014 edition: {c.summary} Change: {c.change}"))
    lines.append("What the guidance supports: " + " ".join(f"{w.point} ({w.cite})." for w in supported[:4]))
    if card.caveats:
        lines.append("What it does not support, or where the member should be careful: " + " ".join(card.caveats))
    keep = list(card.record) + ["The member's own dated note of what happened and what was said, kept "
                                "privately; links or screenshots of any posts, not shared further."]
    lines.append("Record and keep: " + " | ".join(keep))
    harassment = "harassment" in " ".join(t for c in card.citations if assistant.kb.clause(c)
                                          for t in assistant.kb.clause(c).topics)
    route = ROUTES["default"] + ("; " + ROUTES["harassment"] if harassment else "")
    lines.append(f"Where to take it: {card.escalate or ''} Also {route}.")
    ans = assistant._info(question, "clause", "check_member_advice", "\n".join(lines), analysis.intent_score)
    ans.title = "Member advice check"
    ans.scenario = card.id
    ans.why = supported + older
    ans.record = keep
    ans.escalate = card.escalate
    return ans
