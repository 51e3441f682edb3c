"""The assistant: text in, :class:`bot.answering.contract.Answer` out.

Loaded once (knowledge, spaCy pipeline, classifier) and then answers in a few
milliseconds. The Rasa actions and the command line both call
:meth:`Assistant.ask`, so they give the same answer for the same text. The
assistant only cleans, guards and dispatches: each kind of question has its
own handler module, given an explicit :class:`Context`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot import knowledge
from bot.answering import clauses, editions, member_advice, policy, quiz, rules, situations, vague
from bot.answering.context import Context
from bot.answering.contract import Answer
from bot.answering.small_talk import NEW_SITUATION, NOT_UNDERSTOOD, OUT_OF_SCOPE_POINTER, SMALL_TALK, feedback_polarity
from bot.knowledge import layers
from bot.knowledge.models import KnowledgeBase
from bot.redaction import redact, redact_prefix
from bot.understanding import classifier as clf
from bot.understanding.analysis import Analyser, Analysis
from bot.understanding.clause_search import ClauseSearch
from bot.understanding.text import MAX_CHARS, READ_CHARS, clean, is_question

Facts = dict[str, list[str]]
Handler = Callable[[Context, str, Analysis], Answer]


def _out_of_scope(ctx: Context, question: str, a: Analysis) -> Answer:
    ans = ctx.info(question, "decline", "out_of_scope", OUT_OF_SCOPE_POINTER, a.intent_score)
    ans.out_of_scope = True
    return ans


def _start_quiz(ctx: Context, question: str, a: Analysis) -> Answer:
    return quiz.start_quiz(ctx, question, a.facts)


#: intent -> handler, for every intent that is not a situation or small talk
HANDLERS: dict[str, Handler] = {
    "out_of_scope": _out_of_scope,
    "ask_clause": clauses.clause_answer,
    "ask_policy": policy.policy_answer,
    "compare_editions": editions.compare,
    "start_quiz": _start_quiz,
    "check_member_advice": member_advice.member_advice,
    "ask_rule": rules.rule_answer,
    vague.VAGUE_INTENT: vague.vague_opener,
}


#: what a rep's question may be read as and still be answered with the member's position: a member's
#: situation, or a rule the member was told to follow ("her supervisor has instructed her to ...")
REP_TAKES_ADVICE = (clf.SITUATION, "inform", "ask_rule")


class Assistant:
    def __init__(self, kb: KnowledgeBase | None = None):
        kb = kb or knowledge.load()
        self.analyser = Analyser(kb)
        self.ctx = Context(kb=kb, analyser=self.analyser, search=ClauseSearch(kb))
        self._contexts: dict[str | None, Context] = {}

    def context(self, department: str | None) -> Context:
        """The context for one department: its effective policy, built once per known department and kept.

        An unknown id gets a fresh context each time (cheap: the trust's policy as loaded), so ids sent
        by clients cannot grow the cache."""
        key = (department or "").strip() or None
        cached = self._contexts.get(key)
        if cached is not None:
            return cached
        view, notice = layers.for_department(self.ctx.kb, key)
        known = key if key in self.ctx.kb.departments else None
        ctx = Context(kb=view, analyser=self.analyser, search=self.ctx.search, department=known, notice=notice)
        if key is None or known:
            self._contexts[key] = ctx
        return ctx

    @property
    def kb(self) -> KnowledgeBase:
        return self.ctx.kb

    @property
    def model_version(self) -> str:
        return self.analyser.model_version

    @property
    def extractor(self):  # noqa: ANN201 (spaCy type; kept for the actions' fact reading)
        return self.analyser.extractor

    def analyse(self, text: str) -> Analysis:
        return self.analyser.analyse(text)

    @staticmethod
    def feedback_polarity(text: str) -> bool | None:
        return feedback_polarity(text)

    def ask(
        self,
        text: str,
        *,
        facts: Facts | None = None,
        scenario: str | None = None,
        allow_clarify: bool = True,
        state: dict[str, Any] | None = None,
        choice: int | None = None,
        department: str | None = None,
    ) -> Answer:
        """Answer one message.

        ``facts`` answer a clarifying question, ``scenario`` is a chosen option, and
        ``state``/``choice`` carry a quiz between turns. ``department`` (an id) chooses whose local
        policy applies: the trust's with that department's on top (unknown or none: the trust's alone).
        """
        ctx = self.context(department)
        text = text or ""
        # Cap before any work: cleaning and redacting are linear, but a
        # megabyte pasted into the box must not cost more than a question.
        cleaned = clean(text[:READ_CHARS])
        length = len(cleaned) if len(text) <= READ_CHARS else len(text)
        # Too long: redact the head only, never an identifier cut in half.
        question = redact_prefix(cleaned, MAX_CHARS) if length > MAX_CHARS else redact(cleaned)
        if state:
            follow = quiz.continue_mode(ctx, question, state, choice)
            if follow is not None:
                return follow
        if not cleaned and not scenario:
            return ctx.info(question, "error", "empty", "Please type a question or describe what is happening.")
        if length > MAX_CHARS:
            return ctx.info(
                question,
                "error",
                "too_long",
                f"That message is {length:,} characters long; I read up to {MAX_CHARS:,}. "
                "Please shorten it to the situation itself (your text is still in the box).",
            )
        if scenario:
            if scenario not in self.kb.scenarios:
                return ctx.info(
                    question, "error", "unknown_scenario", f"I do not know the situation '{_echo(scenario)}'."
                )
            known = situations.with_given(self.analyser.facts(question), facts)
            return situations.scenario_answer(ctx, question, self.kb.scenarios[scenario], known, 1.0)
        if NEW_SITUATION.match(question):
            return ctx.info(question, "info", "new_situation", "Ready. Describe the new situation.")
        analysis = self.analyser.analyse(question)
        if analysis.intent in SMALL_TALK and analysis.intent_score < NOT_UNDERSTOOD and not facts:
            return ctx.info(
                question,
                "info",
                "not_understood",
                "I'm not sure what you mean. " + SMALL_TALK["help"],
                analysis.intent_score,
            )
        if facts:  # a follow-up (clarifying answer) continues the situation it answers
            analysis.intent = clf.SITUATION
        return self._dispatch(ctx, question, analysis, facts or {}, allow_clarify)

    def _dispatch(self, ctx: Context, question: str, a: Analysis, given: Facts, allow_clarify: bool) -> Answer:
        if not given and a.intent in REP_TAKES_ADVICE and member_advice.is_rep_question(question):
            a.intent = "check_member_advice"  # a rep describing a member's situation wants the member's position
        if a.intent == "ask_rule" and not is_question(question) and not a.body_clauses:
            a.intent = clf.SITUATION  # "patient filmed something" is a report, not a rule question: no rule is guessed
        known = situations.with_given(a.facts, given)
        if allow_clarify and not given and vague.asks_first(a, known):
            # too little to pick a situation or a rule: the one clarifying question, never a guess
            return vague.vague_opener(ctx, question, a, known)
        if a.intent in (clf.SITUATION, "inform", vague.VAGUE_INTENT):  # "inform" alone: a fact, no pending situation
            if a.intent == vague.VAGUE_INTENT:
                a.intent = clf.SITUATION  # a follow-up already answered the question: rank as usual
            return situations.situation(ctx, question, a, known, allow_clarify)
        handler = HANDLERS.get(a.intent)
        if handler:
            return handler(ctx, question, a)
        reply = SMALL_TALK.get(a.intent, SMALL_TALK["help"])
        return ctx.info(question, "info", a.intent, reply, a.intent_score)


ECHO_CHARS = 80  # of a chosen scenario id quoted back in an error


def _echo(value: object) -> str:
    """A client-chosen value quoted back: short, cleaned and redacted."""
    text = redact(clean(str(value)[: 4 * ECHO_CHARS]))  # redacted whole, then cut
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…"


_shared: Assistant | None = None


def shared() -> Assistant:
    """One Assistant per process (the action server, the CLI's JSON Lines mode)."""
    global _shared
    if _shared is None:
        _shared = Assistant()
    return _shared


_FACT_ARG = re.compile(r"^([a-z_]+)=([a-z_]+)$")


def parse_fact_args(items: list[str], kb: KnowledgeBase) -> Facts:
    """``["stage=exposure"]`` -> ``{"stage": ["exposure"]}``, checked against facts.yml."""
    out: Facts = {}
    for item in items:
        m = _FACT_ARG.match(item.strip())
        if not m or m.group(1) not in kb.facts or m.group(2) not in kb.facts[m.group(1)].values:
            known = "; ".join(f"{f}: {', '.join(s.values)}" for f, s in kb.facts.items())
            raise ValueError(f"bad fact '{item}': use FACT=VALUE with one of {known}")
        out.setdefault(m.group(1), []).append(m.group(2))
    return out


__all__ = ["Assistant", "shared", "parse_fact_args", "MAX_CHARS"]
