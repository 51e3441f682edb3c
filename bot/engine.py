"""The assistant: text in, :class:`bot.answer.Answer` out.

Loaded once (knowledge, spaCy pipeline, classifier) and then answers in a few
milliseconds. The Rasa actions and the CLI both call :meth:`Assistant.ask`, so
they give the same answer for the same text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot import classifier as clf
from bot import knowledge, nlp
from bot.answer import Answer, Option, WhyPoint
from bot.knowledge import KnowledgeBase, Rule, Scenario
from bot.lookup import ClauseSearch, references, unknown_references
from bot.matching import (CLOSE_RATIO, SURE_ENOUGH, applicable_rules, deciding_question, rank,
                          rules_for_facts)
from bot.redaction import redact

MAX_CHARS = 2000
OFF_TOPIC_SURE = 0.5
NOT_UNDERSTOOD = 0.35  # a weak guess at small talk is worse than saying so
NEW_SITUATION = re.compile(r"^\s*(new situation|start again|start over|restart|reset|clear)\s*[.!]?\s*$", re.I)
RECORDING_WORDS = re.compile(
    r"\b(record\w*|film\w*|video\w*|vid|photo\w*|pics?|pictures?|snap\w*|camera|phones?|mobiles?|tiktok|"
    r"insta\w*|facebook|youtube|twitter|social|online|post\w*|stream\w*|live|facetime|voice|tape\w*|captur\w*|"
    r"footage|clips?|selfie|screenshot\w*|blog\w*|vlog\w*|upload\w*|shar\w*|policy|policies|sop|signage|gdpr|"
    r"data protection|journalist|media|tv|newspaper|press|teaching|poster|presentation|consent|filmed|image\w*|"
    r"scan pic\w*|print\w*|screen)\b", re.I)
CONTENT_INTENTS = {"ask_clause", "ask_policy", "compare_editions", "start_quiz", "check_member_advice"}
OUT_OF_SCOPE_POINTER = (
    "That is outside what I cover: I only advise on patients, relatives or staff recording images, video "
    "or audio in imaging and radiotherapy. For radiation doses and exposure factors ask your radiation "
    "protection supervisor or medical physics; for rotas and leave, your line manager; for IT or PACS "
    "faults, the IT service desk; for clinical technique, your modality lead or local protocols."
)
SMALL_TALK = {
    "greet": "Hello. Describe what is happening (for example \"relative started filming during set-up\") "
             "and I will say what to do, what to say, why, and what to record.",
    "thanks": "You're welcome. Reply \"new situation\" whenever you need me again.",
    "goodbye": "Goodbye. Remember to make any note or incident report before the end of your shift.",
    "help": "I help imaging and radiotherapy staff when patients, relatives or staff record images, video or "
            "audio. Describe the situation in your own words; ask what a clause says (\"what does 5.7 say\", "
            "\"SCoR point vi\"); ask what our policy says (\"our policy on filming in ultrasound\"); compare "
            "the 2014 and 2019 guidance; or say \"quiz me\". I give guidance, not legal advice. Please do "
            "not type patient names, NHS numbers or dates of birth.",
    "affirm": "Thanks. Describe the situation, or reply \"help\" to see what I can do.",
    "deny": "No problem. Describe the situation in your own words when you are ready.",
    "feedback": "Thank you for the feedback; it helps the department improve these answers.",
    "stop": "Stopped. Describe a situation or reply \"help\" whenever you need me.",
}


def clean(text: str) -> str:
    """Normalise odd encodings and invisible characters; keep the words."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return " ".join(text.split())


@dataclass
class Analysis:
    text: str
    intent: str
    intent_score: float
    scenario_scores: dict[str, float]
    facts: dict[str, list[str]]
    refs: list[str] = field(default_factory=list)


class Assistant:
    def __init__(self, kb: KnowledgeBase | None = None):
        self.kb = kb or knowledge.load()
        self.nlp = nlp.load(self.kb.facts)
        self.extractor = nlp.FactExtractor(self.nlp)
        digest = clf.data_digest(extra=nlp.patterns_digest(self.kb.facts) + self.kb.version)
        self.classifier = clf.load_or_train(self._normalise, digest, examples=self.training_examples)
        self.model_version = digest
        self.search = ClauseSearch(self.kb)

    # -- understanding -------------------------------------------------------------
    def training_examples(self) -> list[clf.Example]:
        """The NLU files' examples plus each card's own title and summary."""
        cards = [clf.Example(text, clf.SITUATION, s.id) for s in self.kb.scenarios.values()
                 for text in (s.title, s.summary)]
        return clf.load_examples() + cards

    def _normalise(self, text: str) -> str:
        return self.extractor.lemmas(self.extractor.doc(text.lower()))

    @staticmethod
    def about_recording(text: str, facts: dict[str, list[str]]) -> bool:
        return bool(RECORDING_WORDS.search(text) or {"how", "covert", "staff_objection"} & set(facts))

    def analyse(self, text: str) -> Analysis:
        ranked = self.classifier.rank(text)
        intents: dict[str, float] = {}
        scenarios: dict[str, float] = {}
        for label, p in ranked:
            if label.startswith(clf.SCENARIO_PREFIX):
                scenarios[label[len(clf.SCENARIO_PREFIX):]] = p
                intents[clf.SITUATION] = intents.get(clf.SITUATION, 0.0) + p
            else:
                intents[label] = intents.get(label, 0.0) + p
        top, score = ranked[0]
        # the single best label decides: summing 29 scenario shares would drown every other intent
        intent = clf.SITUATION if top.startswith(clf.SCENARIO_PREFIX) else top
        facts = self.extractor.facts(self.extractor.doc(text))
        if intent == clf.SITUATION and not self.about_recording(text, facts):
            # every situation in scope involves a recording; without one, only a clear match counts
            best_other = next(((l, p) for l, p in ranked if not l.startswith(clf.SCENARIO_PREFIX)), None)
            if score < OFF_TOPIC_SURE and best_other and best_other[0] == "out_of_scope":
                intent, score = "out_of_scope", max(best_other[1], 1 - score)
        refs = references(text, self.kb)
        if (refs or unknown_references(text, self.kb)) and intent in (clf.SITUATION, "out_of_scope", "inform"):
            if intents.get(clf.SITUATION, 0) < 0.7:  # a clause number wins unless the situation is clear
                intent, score = "ask_clause", max(score, 0.6)
        return Analysis(text, intent, score, scenarios, facts, refs)

    # -- answering -----------------------------------------------------------------
    def ask(self, text: str, *, facts: dict[str, list[str]] | None = None, scenario: str | None = None,
            allow_clarify: bool = True, state: dict[str, Any] | None = None, choice: int | None = None) -> Answer:
        """Answer one message.

        ``facts`` answer a clarifying question, ``scenario`` is a chosen option, and
        ``state``/``choice`` carry a quiz or member-advice check between turns.
        """
        cleaned = clean(text or "")
        question = redact(cleaned)
        if state:
            from bot import modes
            follow = modes.continue_mode(self, question, state, choice)
            if follow is not None:
                return follow
        if not cleaned and not scenario:
            return self._info(question, "error", "empty", "Please type a question or describe what is happening.")
        if len(cleaned) > MAX_CHARS:
            return self._info(question[:MAX_CHARS], "error", "too_long",
                              f"That message is {len(cleaned):,} characters long; I read up to {MAX_CHARS:,}. "
                              "Please shorten it to the situation itself (your text is still in the box).")
        if scenario:
            if scenario not in self.kb.scenarios:
                return self._info(question, "error", "unknown_scenario", f"I do not know the situation '{scenario}'.")
            known = self._facts_for(question, facts)
            return self._scenario_answer(question, self.kb.scenarios[scenario], known, 1.0)
        if NEW_SITUATION.match(question):
            return self._info(question, "info", "new_situation", "Ready. Describe the new situation.")
        analysis = self.analyse(question)
        if analysis.intent in SMALL_TALK and analysis.intent_score < NOT_UNDERSTOOD and not facts:
            return self._info(question, "info", "not_understood",
                              "I'm not sure what you mean. " + SMALL_TALK["help"], analysis.intent_score)
        if facts:  # a follow-up (clarifying answer) continues the situation it answers
            analysis.intent = clf.SITUATION
        return self._dispatch(question, analysis, facts or {}, allow_clarify)

    def _facts_for(self, question: str, given: dict[str, list[str]] | None) -> dict[str, list[str]]:
        found = self.extractor.facts(self.extractor.doc(question)) if question else {}
        return _with_given(found, given)

    def _dispatch(self, question: str, a: Analysis, given: dict[str, list[str]], allow_clarify: bool) -> Answer:
        if a.intent == clf.SITUATION:
            return self._situation(question, a, _with_given(a.facts, given), allow_clarify)
        if a.intent == "out_of_scope":
            ans = self._info(question, "decline", "out_of_scope", OUT_OF_SCOPE_POINTER, a.intent_score)
            ans.out_of_scope = True
            return ans
        if a.intent == "ask_clause":
            return self._clause_answer(question, a)
        if a.intent == "ask_policy":
            return self._policy_answer(question, a)
        if a.intent == "compare_editions":
            from bot.editions import compare
            return compare(self, question, a)
        if a.intent in ("start_quiz", "check_member_advice"):
            from bot import modes
            return modes.answer(self, question, a)
        if a.intent == "inform":  # a fact with no situation pending: treat it as one
            return self._situation(question, a, a.facts, allow_clarify)
        reply = SMALL_TALK.get(a.intent, SMALL_TALK["help"])
        return self._info(question, "info", a.intent, reply, a.intent_score)

    def _answer(self, question: str, intent: str, confidence: float, **fields: Any) -> Answer:
        """Every answer carries the knowledge version and any policy warning."""
        return Answer(question=question, intent=intent, confidence=confidence,
                      knowledge_version=self.kb.version, warnings=self._warnings(), **fields)

    def _info(self, question: str, kind: str, intent: str, text: str, confidence: float = 1.0) -> Answer:
        return self._answer(question, intent, confidence, kind=kind, text=text)

    def _warnings(self) -> list[str]:
        p = self.kb.policy
        if p and p.is_past_review():
            return [f"the local policy ({p.department}, version {p.version}) was due for review on "
                    f"{p.review:%d %B %Y}. Check with {p.owner} that it still applies."]
        return []

    def _situation(self, question: str, a: Analysis, known: dict[str, list[str]], allow_clarify: bool) -> Answer:
        ranked = rank(self.kb, a.scenario_scores, known)
        situation_mass = sum(a.scenario_scores.values())
        first, second = ranked[0], ranked[1]
        confidence = first.score * min(1.0, situation_mass / 0.6)
        if allow_clarify and second.score >= CLOSE_RATIO * first.score:
            fact = deciding_question(first.scenario, second.scenario, known)
            if fact:
                return self._clarify(question, a, fact, first, second, confidence, known)
        if confidence < SURE_ENOUGH:
            return self._not_sure(question, ranked[:3], confidence, known)
        return self._scenario_answer(question, first.scenario, known, confidence)

    def _clarify(self, question, a, fact, first, second, confidence, known) -> Answer:
        spec = self.kb.facts[fact]
        values = list(dict.fromkeys(list(first.scenario.facts[fact]) + list(second.scenario.facts[fact])))
        options = [Option(label=spec.values[v].label, fact=fact, value=v) for v in values]
        return self._answer(question, clf.SITUATION, confidence, kind="clarify", scenario=first.scenario.id,
                            clarify=spec.question, clarify_fact=fact, options=options, facts=known)

    def _not_sure(self, question, closest, confidence, known) -> Answer:
        options = [Option(label=r.scenario.title, scenario=r.scenario.id) for r in closest]
        return self._answer(question, clf.SITUATION, confidence, kind="not_sure",
                            text="I'm not sure which situation this is. Is it one of these? If not, describe it "
                                 "in other words.", options=options, facts=known)

    def why_point(self, cite: str, point: str) -> WhyPoint:
        clause = self.kb.clause(cite)
        if clause is None:
            return WhyPoint(cite=cite, point=point)
        doc = self.kb.sources.get(clause.source)
        return WhyPoint(cite=cite, point=point, summary=clause.summary,
                        source=doc.cited_title if doc else clause.source)

    def rule_point(self, rule: Rule) -> WhyPoint:
        where = self.kb.policy.department if self.kb.policy else "local policy"
        return WhyPoint(cite=rule.cite, point=f"{rule.title} ({rule.effect}): {rule.text}", summary=rule.title,
                        source=where, local=True, departs=rule.departs_from_national)

    def _scenario_answer(self, question: str, s: Scenario, known: dict[str, list[str]], confidence: float) -> Answer:
        rules = applicable_rules(self.kb, s, known)
        do_now, notes = list(s.do_now), []
        for v in s.variants:
            if all(value in known.get(f, ()) for f, value in v.when.items()):
                do_now = list(v.do_now_first) + do_now
                if v.note:
                    notes.append(v.note)
        why = [self.rule_point(r) for r in rules] + [self.why_point(p.cite, p.point) for p in s.why]
        escalate = s.escalate
        contacts = self.kb.policy.contacts if self.kb.policy else {}
        for r in rules:
            if r.contact and r.contact in contacts:
                c = contacts[r.contact]
                escalate = f"{c.title} ({c.how}). " + (escalate or "")
                break
        record = list(s.record)
        if self.kb.policy and self.kb.policy.incident_system:
            record = [x.replace("[INCIDENT SYSTEM]", self.kb.policy.incident_system) for x in record]
        return self._answer(question, clf.SITUATION, confidence, kind="answer", scenario=s.id, title=s.title,
                            do_now=do_now, say=s.say, why=why, record=record, escalate=escalate,
                            caveats=notes + list(s.caveats), facts=known)

    def _clause_answer(self, question: str, a: Analysis) -> Answer:
        missing = unknown_references(question, self.kb)
        clauses = [self.kb.clauses[c] for c in a.refs] or ([] if missing else self.search.search(question))
        if not clauses:
            text = (f"I have no clause {missing[0]}. SoR-2019 runs from 1.1 to 5.16; SCoR-2014 has points (i) to (vi)."
                    if missing else "I could not find a clause about that. Try a number such as \"5.7\" or "
                                    "\"SCoR point vi\", or a topic such as \"social media\".")
            return self._info(question, "clause", "ask_clause", text, a.intent_score)
        first = clauses[0]
        source = self.kb.sources.get(first.source)
        status = f" ({source.status}; superseded by {source.superseded_by})" if source and source.superseded_by else ""
        lines = [first.text]
        if first.change:
            lines.append(f"What changed in 2019: {first.change}")
        if first.successor:
            lines.append(f"Now: {', '.join(first.successor)}.")
        used_in = [s.title for s in self.kb.scenarios.values() if first.id in s.citations][:3]
        if used_in:
            lines.append("Applies in: " + "; ".join(used_in) + ".")
        ans = self._info(question, "clause", "ask_clause", "\n".join(lines), a.intent_score)
        ans.title = f"{first.id}{status}: {first.summary}"
        ans.why = [self.why_point(c.id, c.summary) for c in clauses]
        return ans

    def _policy_answer(self, question: str, a: Analysis) -> Answer:
        p = self.kb.policy
        if p is None:
            return self._info(question, "policy", "ask_policy",
                              "No local policy is loaded, so the national guidance (SoR-2019) applies.")
        rules = rules_for_facts(self.kb, a.facts)
        if not rules:
            text = (f"Our policy ({p.department}) has no rule for that, so the national guidance applies "
                    "(SoR-2019 5.1 to 5.16). Describe the situation for the full advice.")
            if not a.facts:
                text = f"Our policy ({p.department}, version {p.version}, review due {p.review:%d %B %Y}) has " \
                       f"{len(p.rules)} rules: " + "; ".join(f"{r.id} {r.title}" for r in p.rules.values()) + "."
            return self._info(question, "policy", "ask_policy", text, a.intent_score)
        ans = self._info(question, "policy", "ask_policy",
                         f"{p.department} policy, version {p.version}:", a.intent_score)
        ans.why = [self.rule_point(r) for r in rules[:5]]
        departs = [f"{r.cite} goes beyond national guidance: {r.departs_from_national}" for r in rules[:5]
                   if r.departs_from_national]
        if departs:
            ans.caveats = departs
            ans.text += "\n" + "\n".join(departs)
        return ans

    def feedback_polarity(self, text: str) -> bool | None:
        """Typed feedback: True (helpful), False (not), None (cannot tell)."""
        lowered = f" {text.lower()} "
        if re.search(r"\b(not|wrong|unhelpful|useless|bad|incorrect|didn'?t|no)\b", lowered):
            return False
        if re.search(r"\b(helpful|useful|great|good|thanks|thank|spot on|perfect|helped|right)\b", lowered):
            return True
        return None


def _with_given(found: dict[str, list[str]], given: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """Facts found in the text, overridden by those the user gave (a button, a --fact)."""
    merged = dict(found)
    merged.update({k: list(v) for k, v in (given or {}).items() if v})
    return merged


_shared: Assistant | None = None


def shared() -> Assistant:
    """One Assistant per process (the action server, the CLI's JSON Lines mode)."""
    global _shared
    if _shared is None:
        _shared = Assistant()
    return _shared


_FACT_ARG = re.compile(r"^([a-z_]+)=([a-z_]+)$")


def parse_fact_args(items: list[str], kb: KnowledgeBase) -> dict[str, list[str]]:
    """``["stage=exposure"]`` -> ``{"stage": ["exposure"]}``, checked against facts.yml."""
    out: dict[str, list[str]] = {}
    for item in items:
        m = _FACT_ARG.match(item.strip())
        if not m or m.group(1) not in kb.facts or m.group(2) not in kb.facts[m.group(1)].values:
            known = "; ".join(f"{f}: {', '.join(s.values)}" for f, s in kb.facts.items())
            raise ValueError(f"bad fact '{item}': use FACT=VALUE with one of {known}")
        out.setdefault(m.group(1), []).append(m.group(2))
    return out


__all__ = ["Assistant", "shared", "parse_fact_args", "clean"]
