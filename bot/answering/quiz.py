"""Practice questions for students ("quiz me").

Stems are short scenes written for the quiz (each card's ``quiz.vignettes``),
never a card's own summary. Wrong options are real misconceptions that fit the
scene (``knowledge/misconceptions.yml``), so a wrong choice can be explained:
the feedback says why that option is wrong and cites its clause.

Question types, easiest first: true or false on a common belief, "what first",
"what belongs in the note", "which clause" and "which edition says this".
Harder types come in as the score rises, and a question answered wrongly
comes back later in the same round. The state travels between turns (a Rasa
slot, the CLI's JSON Lines), so it is plain JSON holding only ids and keys; a
malformed or stale state ends the quiz with a message instead of an error.
"""

from __future__ import annotations

import random
import re
from typing import Any

from bot.answering.context import Context
from bot.answering.contract import Answer, Option
from bot.answering.quiz_bank import TOPICS, QuizBank, QuizBankError, bank_for
from bot.knowledge.models import Scenario

QUESTIONS_PER_ROUND = 5
MAX_RETRIES = 3  # a round never grows by more than this
RETRY_GAP = 2  # a missed question comes back after this many others (or at the end)
STATE_VERSION = 2
TOPIC_FACTS = ("where", "how", "purpose", "covert")  # "quiz me" must not read "me" as a topic
#: question types by level; the level rises with the score (see :func:`level`)
LEVELS: dict[int, tuple[str, ...]] = {
    1: ("tf", "first"),
    2: ("first", "record", "clause"),
    3: ("clause", "edition", "record"),
}
#: clauses whose one-line summary reads as a plain statement (the true half of true/false)
TRUE_CLAUSES = (
    "SoR-2019 2.2",
    "SoR-2019 2.3",
    "SoR-2019 2.4",
    "SoR-2019 2.5",
    "SoR-2019 3.3",
    "SoR-2019 5.1",
    "SoR-2019 5.4",
    "SoR-2019 5.5",
    "SoR-2019 5.6",
    "SoR-2019 5.9",
    "SoR-2019 5.11",
    "SoR-2019 5.12",
)
#: clause topic tags -> quiz topic, first match wins
_CLAUSE_TOPICS = (
    ("safety", "safety"),
    ("radiation", "safety"),
    ("distraction", "safety"),
    ("time", "safety"),
    ("health-record", "records"),
    ("ownership", "records"),
    ("data-protection", "records"),
    ("social-media", "sharing"),
    ("third-parties", "sharing"),
    ("other-patients", "sharing"),
    ("harassment", "sharing"),
    ("staff-views", "local"),
    ("policy", "local"),
    ("permission", "consent"),
    ("on-behalf", "consent"),
    ("consent", "consent"),
)
#: background paragraphs that state no rule: never offered as "which clause" answers
_BACKGROUND = ("SoR-2019 ISAS", "SoR-2019 1.1", "SoR-2019 1.3", "SoR-2019 2.10", "SoR-2019 2.12", "SoR-2019 2.13")
EDITION_OPTIONS = {
    "e:2014": "Only the 2014 SCoR advice",
    "e:2019": "Only the 2019 SoR guidance",
    "e:both": "Both editions",
}
_EDITION_ANSWER = {"only_2014": "e:2014", "only_2019": "e:2019", "both": "e:both"}
_STOP = re.compile(r"^\s*(stop|end|quit|finish|exit|enough|that'?s enough|stop the quiz|end quiz)\b", re.I)
_CHOICE = re.compile(r"^\s*(?:option|answer|choice)?\s*([1-4]|[a-d]|true|false|t|f)\s*[.)]?\s*$", re.I)
QUIZ_RESET = (
    "That quiz can't be continued: the questions have changed since it started, or the quiz was "
    'interrupted. Say "quiz me" to start a new one.'
)


class _Stale(Exception):
    """The carried state does not fit the current knowledge."""


def first_step(item: Any) -> str:
    """A do_now item as text: a plain string, or a mapping ``{text, cite|basis}``."""
    if isinstance(item, dict):
        return str(item.get("text", ""))
    return str(item)


def level(score: int) -> int:
    return 1 + min(2, score // 2)


def clause_topic(ctx: Context, cite: str) -> str:
    clause = ctx.kb.clause(cite)
    tags = set(clause.topics) if clause else set()
    return next((topic for tag, topic in _CLAUSE_TOPICS if tag in tags), "consent")


def quiz_pool(ctx: Context, facts: dict[str, list[str]], text: str = "") -> list[Scenario]:
    """Scenario cards on the asked topic or setting; every card when none is named."""
    cards = list(ctx.kb.scenarios.values())
    topic = {f: v for f, v in facts.items() if f in TOPIC_FACTS}
    if topic:
        chosen = [s for s in cards if all(set(s.facts.get(f, ())) & set(v) for f, v in topic.items())]
        if len(chosen) >= 2:
            return chosen
    words = [
        w
        for w in re.findall(r"[a-z]{4,}", text.lower())
        if w not in {"quiz", "question", "questions", "test", "practice", "give", "about"}
    ]
    if words:
        chosen = [s for s in cards if any(w in (s.title + " " + s.summary).lower() for w in words)]
        if len(chosen) >= 2:
            return chosen
    return cards


# -- building questions ---------------------------------------------------------------------


def _question(kind: str, card: str | None, stem: Any, options: list[str], answer: int, topic: str) -> dict[str, Any]:
    return {"t": kind, "c": card, "s": stem, "o": options, "a": answer, "topic": topic, "r": 0}


def _shuffled(
    kind: str, card: str, stem: Any, right: str, wrong: list[str], topic: str, rng: random.Random
) -> dict[str, Any]:
    options = [right] + wrong
    rng.shuffle(options)
    return _question(kind, card, stem, options, options.index(right) + 1, topic)


def _nearby_clauses(ctx: Context, card: Scenario, rng: random.Random, k: int = 2) -> list[str]:
    """Plausible wrong answers to "which clause": guidance clauses sharing a topic with the
    card's main clause that the card does not cite."""
    lead = ctx.kb.clause(card.why[0].cite)
    tags = set(lead.topics) if lead else set()
    scored = []
    for c in ctx.kb.clauses.values():
        if c.id in card.citations or c.id in _BACKGROUND or c.source in ("SCoR-2014", "NEWS-2025"):
            continue
        rule = c.secondary or (c.source == "SoR-2019" and (c.section or "").startswith(("3.", "5.")))
        scored.append((2 * len(tags & set(c.topics)) + int(rule), rng.random(), c.id))
    scored.sort(reverse=True)
    return rng.sample([cid for *_, cid in scored[:5]], k=min(k, len(scored)))


def make_question(ctx: Context, bank: QuizBank, card: Scenario, kind: str, rng: random.Random) -> dict[str, Any] | None:
    """One question of ``kind`` about ``card``; ``None`` when the card cannot give one."""
    cq = bank.cards[card.id]
    vignette = rng.randrange(len(cq.vignettes))
    if kind == "first":
        wrong = bank.fitting(card.id, "action")
        if len(wrong) < 2:
            return None
        return _shuffled(kind, card.id, vignette, "do", [f"m:{m.id}" for m in rng.sample(wrong, 2)], cq.topic, rng)
    if kind == "record":
        wrong = bank.fitting(card.id, "note")
        if not cq.record or len(wrong) < 2:
            return None
        return _shuffled(kind, card.id, vignette, "rec", [f"m:{m.id}" for m in rng.sample(wrong, 2)], "records", rng)
    if kind == "clause":
        near = _nearby_clauses(ctx, card, rng)
        if len(near) < 2:
            return None
        lead = card.why[0].cite
        return _shuffled(kind, card.id, vignette, f"c:{lead}", [f"c:{c}" for c in near], clause_topic(ctx, lead), rng)
    if kind == "tf":  # options always True, False
        beliefs = bank.fitting(card.id, "action") + bank.fitting(card.id, "note")
        truths = [c for c in card.citations if c in TRUE_CLAUSES] or list(TRUE_CLAUSES)
        if beliefs and rng.random() < 0.5:
            m = rng.choice(beliefs)
            return _question(kind, card.id, f"m:{m.id}", ["T", "F"], 2, m.topic)
        cite = rng.choice(truths)
        return _question(kind, card.id, f"c:{cite}", ["T", "F"], 1, clause_topic(ctx, cite))
    if kind == "edition":  # options always 2014, 2019, both
        related = [
            e
            for e in bank.editions.values()
            if e.clause in card.citations or set(ctx.kb.clause(e.clause).successor) & set(card.citations)
        ]
        entry = rng.choice(related or list(bank.editions.values()))
        buckets = [(b, i) for b in ("only_2014", "only_2019", "both") for i in range(len(getattr(entry, b)))]
        bucket, i = rng.choice(buckets)
        keys = list(EDITION_OPTIONS)
        return _question(
            kind, card.id, f"{entry.clause}|{bucket}|{i}", keys, keys.index(_EDITION_ANSWER[bucket]) + 1, "local"
        )
    raise ValueError(f"unknown question type '{kind}'")


def _fresh(ctx: Context, bank: QuizBank, state: dict[str, Any]) -> dict[str, Any]:
    card = ctx.kb.scenarios[state["pool"][state["next"]]]
    types = LEVELS[level(state["score"])]
    kind = types[(state["fresh"] + state["seed"]) % len(types)]
    seen = set(state.get("seen", []))
    for attempt in range(4):  # a statement already asked this round is drawn again
        rng = random.Random(f"{state['seed']}:{state['number']}:{attempt}")
        for k in (kind, "first", "tf"):
            q = make_question(ctx, bank, card, k, rng)
            if q is not None and f"{q['t']}|{q['s']}" not in seen:
                if q["t"] in ("tf", "edition"):  # scene questions are tied to their card; statements are not
                    state["seen"] = state.get("seen", []) + [f"{q['t']}|{q['s']}"]
                return q
    return make_question(ctx, bank, card, "first", rng) or _fail(card.id)


def _fail(card: str) -> dict[str, Any]:
    raise _Stale(f"card '{card}' cannot give a question")


# -- reading a question back from its keys ----------------------------------------------------


def _stem(ctx: Context, bank: QuizBank, q: dict[str, Any]) -> str:
    kind, stem = q["t"], q["s"]
    if kind in ("first", "record", "clause"):
        vignette = bank.cards[q["c"]].vignettes[int(stem)]
        ask = {
            "first": "What should you do first?",
            "record": "Which of these belongs in the note?",
            "clause": "Which clause gives the main reason for what you should do?",
        }[kind]
        return f"{vignette} {ask}"
    if kind == "tf":
        return f"True or false: {_statement(ctx, bank, stem)}"
    if kind == "edition":
        return f'Which edition says this? "{_edition_statement(bank, stem)}"'
    raise _Stale(f"unknown question type '{kind}'")


def _statement(ctx: Context, bank: QuizBank, key: str) -> str:
    if key.startswith("m:"):
        return bank.misconceptions[key[2:]].belief
    clause = ctx.kb.clause(key[2:])
    if clause is None or not key.startswith("c:"):
        raise _Stale(key)
    return clause.summary


def _edition_statement(bank: QuizBank, key: str) -> str:
    clause, bucket, i = key.split("|")
    return getattr(bank.editions[clause], bucket)[int(i)]


def _label(ctx: Context, bank: QuizBank, q: dict[str, Any], key: str) -> str:
    if key == "do":
        return first_step(ctx.kb.scenarios[q["c"]].do_now[0])
    if key == "rec":
        record = bank.cards[q["c"]].record
        if not record:
            raise _Stale("record")
        return record
    if key in ("T", "F"):
        return "True" if key == "T" else "False"
    if key in EDITION_OPTIONS:
        return EDITION_OPTIONS[key]
    if key.startswith("m:"):
        return bank.misconceptions[key[2:]].option
    if key.startswith("c:"):
        clause = ctx.kb.clause(key[2:])
        if clause is None:
            raise _Stale(key)
        return f"{clause.id}: {clause.summary}"
    raise _Stale(key)


def _reason(ctx: Context, bank: QuizBank, q: dict[str, Any]) -> tuple[str, str]:
    """Why the right answer is right, and the clause to revise if it was missed."""
    kind, stem = q["t"], q["s"]
    if kind == "tf" and stem.startswith("m:"):
        m = bank.misconceptions[stem[2:]]
        return m.why_wrong, m.refuted_by[0]
    if kind == "tf":
        cite = stem[2:]
        return f"{ctx.kb.clause(cite).summary} ({cite})", cite
    if kind == "edition":
        entry = bank.editions[stem.split("|")[0]]
        return f"{entry.line} ({entry.clause})", entry.clause
    card = ctx.kb.scenarios[q["c"]]
    note = ctx.kb.clause("SoR-2019 5.7")
    if kind == "record" and note and note.id in card.citations:
        return f"{note.summary} ({note.id})", note.id
    return f"{card.why[0].point} ({card.why[0].cite})", card.why[0].cite


def _why_not(ctx: Context, bank: QuizBank, q: dict[str, Any], key: str) -> str:
    """Why the chosen wrong option is wrong, naming it."""
    if key.startswith("m:"):
        m = bank.misconceptions[key[2:]]
        return f'Why not "{m.option}": {m.why_wrong}'
    if key.startswith("c:"):
        clause = ctx.kb.clause(key[2:])
        return f"{clause.id} is about something else here: {clause.summary}" if clause else ""
    if q["t"] == "tf" and q["s"].startswith("m:") and key == "T":
        return "It is a common belief, but it is false."
    return ""


def _check(ctx: Context, bank: QuizBank, state: dict[str, Any]) -> None:
    """Raise :class:`_Stale` unless every key in the state resolves against today's knowledge."""
    try:
        if state.get("v") != STATE_VERSION or state.get("kv") != ctx.kb.version:
            raise _Stale("version")
        for name in ("seed", "number", "score", "answered", "fresh", "next"):
            if not isinstance(state[name], int):
                raise _Stale(name)
        if not all(isinstance(s, str) and s in ctx.kb.scenarios for s in state["pool"]):
            raise _Stale("pool")
        for q in [state["current"]] + [r["q"] for r in state["retry"]]:
            # every kind of question names its card, even those whose wording does not use it
            if q["c"] is not None and q["c"] not in bank.cards:
                raise _Stale("card")
            _stem(ctx, bank, q)
            for key in q["o"]:
                _label(ctx, bank, q, key)
            _reason(ctx, bank, q)
            if not 1 <= q["a"] <= len(q["o"]) or q["topic"] not in TOPICS:
                raise _Stale("answer")
        for topic, counts in state["topics"].items():
            if topic not in TOPICS or len(counts) != 2:
                raise _Stale("topics")
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise _Stale(str(e)) from None


# -- the conversation -----------------------------------------------------------------------


def _pose(ctx: Context, bank: QuizBank, question: str, state: dict[str, Any], preface: str = "") -> Answer:
    q = state["current"]
    body = f"Question {state['number']}: {_stem(ctx, bank, q)}"
    ans = ctx.info(question, "quiz", "start_quiz", (preface + "\n" if preface else "") + body)
    ans.options = [Option(label=f"{i}. {_label(ctx, bank, q, k)}", choice=i) for i, k in enumerate(q["o"], 1)]
    ans.state = state
    return ans


def _bank(ctx: Context) -> QuizBank | None:
    try:
        return bank_for(ctx.kb)
    except QuizBankError:
        return None


def start_quiz(ctx: Context, question: str, facts: dict[str, list[str]], seed: int | None = None) -> Answer:
    bank = _bank(ctx)
    if bank is None:
        return ctx.info(
            question,
            "error",
            "start_quiz",
            "Practice questions are unavailable: the quiz material "
            "failed its checks (run `python -m bot knowledge check`).",
        )
    pool = [s.id for s in quiz_pool(ctx, facts, question) if s.id in bank.cards]
    seed = seed if seed is not None else random.SystemRandom().randrange(1 << 30)
    random.Random(seed).shuffle(pool)
    state: dict[str, Any] = {
        "mode": "quiz",
        "v": STATE_VERSION,
        "kv": ctx.kb.version,
        "seed": seed,
        "pool": pool,
        "next": 0,
        "fresh": 0,
        "number": 1,
        "score": 0,
        "answered": 0,
        "topics": {},
        "missed": [],
        "retry": [],
        "retried": 0,
    }
    state["current"] = _fresh(ctx, bank, state)
    state["next"], state["fresh"] = 1, 1
    return _pose(
        ctx,
        bank,
        question,
        state,
        'Practice mode: choose an answer (reply with its number, or "stop"). Questions get harder as '
        "you go, and any you miss come back later.",
    )


def _read_choice(question: str, q: dict[str, Any]) -> int | None:
    m = _CHOICE.match(question)
    if not m:
        return None
    raw = m.group(1).lower()
    if raw.isdigit():
        return int(raw)
    if raw in ("true", "t", "false", "f") and q["o"] == ["T", "F"]:
        return 1 if raw.startswith("t") else 2
    if len(raw) == 1 and raw in "abcd":
        return "abcd".index(raw) + 1
    return None


def _reset(ctx: Context, question: str) -> Answer:
    ans = ctx.info(question, "quiz", "stop", QUIZ_RESET)
    ans.state = {}
    return ans


def continue_mode(ctx: Context, question: str, state: dict[str, Any], choice: int | None) -> Answer | None:
    """Carry on a quiz; ``None`` means the message is not part of it (the quiz then ends)."""
    if not isinstance(state, dict) or state.get("mode") != "quiz":
        return None
    bank = _bank(ctx)
    current = state.get("current") if isinstance(state.get("current"), dict) else {}
    if choice is None and not _STOP.match(question):
        try:
            choice = _read_choice(question, current)
        except (KeyError, TypeError):
            choice = None
        if choice is None:
            return None
    try:
        if bank is None:
            raise _Stale("bank")
        _check(ctx, bank, state)
    except _Stale:
        return _reset(ctx, question)
    if choice is not None and (isinstance(choice, bool) or not isinstance(choice, int)):
        return _reset(ctx, question)  # a button's number arrives as an int; anything else is forged
    try:
        if _STOP.match(question) and choice is None:
            return _summary(ctx, question, state)
        q = state["current"]
        if not 1 <= choice <= len(q["o"]):
            return _pose(ctx, bank, question, state, f"Please choose 1 to {len(q['o'])}.")
        return _next(ctx, bank, question, state, choice)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        # the state comes back from the client: damaged in a way _check did not foresee, it ends the quiz
        return _reset(ctx, question)


def _next(ctx: Context, bank: QuizBank, question: str, state: dict[str, Any], choice: int) -> Answer:
    q = state["current"]
    right = choice == q["a"]
    reason, revise = _reason(ctx, bank, q)
    if right:
        feedback = f"Right. Why: {reason}"
    else:
        answer = _label(ctx, bank, q, q["o"][q["a"] - 1])
        why_not = _why_not(ctx, bank, q, q["o"][choice - 1])
        feedback = (
            f"Not quite: the answer is {q['a']}. {answer.rstrip('.')}."
            + (f" {why_not}" if why_not else "")
            + f" Why: {reason}"
        )
    topics = {t: list(c) for t, c in state["topics"].items()}
    got, asked = topics.get(q["topic"], [0, 0])
    topics[q["topic"]] = [got + int(right), asked + 1]
    state = dict(
        state,
        score=state["score"] + int(right),
        answered=state["answered"] + 1,
        topics=topics,
        missed=state["missed"] + ([] if right else [[q["topic"], revise]]),
        retry=list(state["retry"]),
    )
    if not right and not q["r"] and state["retried"] < MAX_RETRIES:
        state["retry"].append({"q": dict(q, r=1), "due": state["number"] + RETRY_GAP + 1})
        state["retried"] += 1
    number = state["number"] + 1
    due = [r for r in state["retry"] if r["due"] <= number]
    fresh_left = state["fresh"] < QUESTIONS_PER_ROUND and state["next"] < len(state["pool"])
    if not due and not fresh_left and state["retry"]:
        due = state["retry"][:1]  # the round is over: bring back what is still owed
    if due:
        back = due[0]
        state["retry"] = [r for r in state["retry"] if r is not back]
        again = dict(back["q"])
        kind_fixed = again["t"] in ("tf", "edition")
        if not kind_fixed:  # the same question, options in a new order
            right_key = again["o"][again["a"] - 1]
            order = random.Random(f"{state['seed']}:{number}:again").sample(again["o"], len(again["o"]))
            again["o"] = order if order != again["o"] else order[1:] + order[:1]
            again["a"] = again["o"].index(right_key) + 1
        state.update(number=number, current=again)
        return _pose(
            ctx,
            bank,
            question,
            state,
            f"{feedback}\nScore: {state['score']} of {state['answered']}.\nBack to one you missed:",
        )
    if not fresh_left:
        done = _summary(ctx, question, state)
        done.text = f"{feedback}\n{done.text}"
        return done
    state["number"] = number
    state["current"] = _fresh(ctx, bank, state)
    state["next"] += 1
    state["fresh"] += 1
    return _pose(ctx, bank, question, state, f"{feedback}\nScore: {state['score']} of {state['answered']}.")


def _summary(ctx: Context, question: str, state: dict[str, Any]) -> Answer:
    missed = list(dict.fromkeys(cite for _, cite in state["missed"]))
    lines = [f"Quiz finished: {state['score']} right out of {state['answered']}."]
    if state["topics"]:
        lines.append("By topic:")
        for topic, name in TOPICS.items():
            if topic not in state["topics"]:
                continue
            got, asked = state["topics"][topic]
            revise = list(dict.fromkeys(c for t, c in state["missed"] if t == topic))
            lines.append(f"- {name}: {got} of {asked}" + (f" (revise {', '.join(revise)})" if revise else ""))
    lines.append(("Revise: " + ", ".join(missed) + ".") if missed else "Nothing to revise from this round.")
    ans = ctx.info(question, "quiz", "stop", "\n".join(lines))
    ans.why = [
        ctx.why_point(c, ctx.kb.clause(c).summary if ctx.kb.clause(c) else "")
        for c in missed
        if not c.startswith("LOCAL ")
    ]
    ans.state = {}
    return ans
