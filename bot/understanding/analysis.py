"""From a message to an :class:`Analysis`: the intent, each scenario's score, the facts
mentioned and any clause references. No wording of answers happens here."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import config
from bot.knowledge.models import KnowledgeBase
from bot.understanding import classifier as clf
from bot.understanding import embeddings, narrative, pipeline, spelling
from bot.understanding.references import Bodies, only_bare_names, references, unknown_references
from bot.understanding.text import about_recording, is_question, without_identifiers

OFF_TOPIC_SURE = 0.5
CLAUSE_WINS_BELOW = 0.7  # a clause number wins over a situation unless the situation is this clear
VAGUE = "vague_situation"  # an opener too thin to pick a situation (bot/answering/vague.py)
# readings that give way to a rule answer when the question asks what a named body says
ASKS_OF_A_BODY = (clf.SITUATION, "out_of_scope", "inform", "ask_rule", "ask_policy", VAGUE)
ABOUT_A_RECORDING = (clf.SITUATION, "ask_rule")  # readings that only make sense about a recording
# A long message read as off topic as a whole, with one sentence about a recording that reads this clearly as a
# situation, is that situation (5-fold CV, bench/tune_declines.py "narrative rescue": 1 more of 3,161 situations
# kept at 0.3 or 0.5, none at 0.7, and not one of 656 declines lost at any of them).
STORY_SURE = 0.5


def next_reading(ranked: list[tuple[str, float]], besides: str) -> tuple[str, float] | None:
    """The best intent other than ``besides``, scenarios aside: what a message is if not that."""
    return next(
        ((label, p) for label, p in ranked if not label.startswith(clf.SCENARIO_PREFIX) and label != besides), None
    )


def story_situation(text: str, rank: narrative.Ranker, sure: float = STORY_SURE) -> tuple[str, float] | None:
    """The sentence of a long message, itself about a recording, that reads clearly as a situation."""
    return narrative.clearest_situation(text, rank, clf.SCENARIO_PREFIX, sure, lambda part: about_recording(part, {}))


@dataclass
class Analysis:
    text: str
    intent: str
    intent_score: float
    scenario_scores: dict[str, float]
    facts: dict[str, list[str]]
    refs: list[str] = field(default_factory=list)
    # clauses from the bodies whose view a question asks ("what does NICE say about ...")
    body_clauses: list[str] = field(default_factory=list)


class Analyser:
    """The spaCy pipeline, the fact extractor and the classifier, loaded once."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.nlp = pipeline.load(kb.facts)
        self.extractor = pipeline.FactExtractor(self.nlp)
        self.encoder = embeddings.shared()
        self.bodies = Bodies(kb)
        # the encoder's version too: features from another encoder would not match the weights learnt
        digest = clf.data_digest(extra=pipeline.patterns_digest(kb.facts) + kb.version + self.encoder.version)
        self.classifier = clf.load_or_train(
            self.lemmatise, self.encoder.encode_many, digest, examples=self.training_examples
        )
        self.model_version = digest
        self.speller = self._speller(digest)

    def _speller(self, digest: str) -> spelling.Speller:
        path = config.settings().speller
        speller = spelling.Speller.load(path, digest)
        if speller is None:
            texts = [e.text for e in self.training_examples()]
            speller = spelling.Speller.from_texts(texts, spelling.english_words())
            try:
                speller.save(path, digest)
            except OSError:
                pass  # a read-only checkout still answers, it just rebuilds next time
        return speller

    def readable(self, text: str) -> str:
        """The text as understood: identifiers' placeholders gone, hurried typing put right."""
        return self.speller.correct(without_identifiers(text))

    def training_examples(self) -> list[clf.Example]:
        """The NLU files' examples plus each card's own title and summary."""
        cards = [
            clf.Example(text, clf.SITUATION, s.id) for s in self.kb.scenarios.values() for text in (s.title, s.summary)
        ]
        return clf.load_examples() + cards

    def lemmatise(self, text: str) -> str:
        return self.extractor.lemmas(self.extractor.doc(text.lower()))

    def facts(self, text: str) -> dict[str, list[str]]:
        return self._facts_of(self.readable(text))

    def _facts_of(self, readable: str) -> dict[str, list[str]]:
        return self.extractor.facts(self.extractor.doc(readable)) if readable else {}

    def analyse(self, text: str) -> Analysis:
        # "Re Mrs [NAME], MRN [HOSPITAL-NUMBER] - her son is filming" is read as "Re , - her son is filming"
        text = self.readable(text)
        ranked = self.classifier.rank(text)
        intents: dict[str, float] = {}
        scenarios: dict[str, float] = {}
        for label, p in ranked:
            if label.startswith(clf.SCENARIO_PREFIX):
                scenarios[label[len(clf.SCENARIO_PREFIX) :]] = p
                intents[clf.SITUATION] = intents.get(clf.SITUATION, 0.0) + p
            else:
                intents[label] = intents.get(label, 0.0) + p
        top, score = ranked[0]
        # the single best label decides: summing 29 scenario shares would drown every other intent
        intent = clf.SITUATION if top.startswith(clf.SCENARIO_PREFIX) else top
        facts = self._facts_of(text)  # text is already readable
        if intent in ABOUT_A_RECORDING and not about_recording(text, facts):
            # every situation and rule in scope involves a recording; without one, only a clear match counts
            best_other = next_reading(ranked, intent)
            if score < OFF_TOPIC_SURE and best_other and best_other[0] == "out_of_scope":
                intent, score = "out_of_scope", max(best_other[1], 1 - score)
        story = None
        if intent == "out_of_scope":  # a worried story can drown its one sentence about a recording
            story = story_situation(text, self.classifier.rank)
            if story:
                intent, score = clf.SITUATION, story[1]
        if intent == clf.SITUATION:  # a long, worried message: keep the situation words in view
            scenarios = narrative.scenario_scores(text, self.classifier.rank, clf.SCENARIO_PREFIX) or scenarios
        if story:
            # read as the situation its clearest sentence tells, the message is as sure as that sentence,
            # not as the whole (mostly a busy shift's preamble), or the answer would be "not sure" after all
            mass = sum(p for label, p in self.classifier.rank(story[0]) if label.startswith(clf.SCENARIO_PREFIX))
            total = sum(scenarios.values()) or 1.0
            scenarios = {sid: p * mass / total for sid, p in scenarios.items()}
        if intent == VAGUE and not about_recording(text, facts):
            # a vague opener is vague about a recording; with none, take the next reading
            intent, score = next_reading(ranked, VAGUE) or (intent, score)
        refs = references(text, self.kb)
        # a source named in passing ("my CPD on the HCPC portal") does not make a clear decline a look-up
        # (bench/tune_declines.py: 618 of 656 declines kept by cross-validation against 612, nothing else declined)
        in_passing = intent == "out_of_scope" and score >= OFF_TOPIC_SURE and only_bare_names(text)
        if (refs or unknown_references(text, self.kb)) and intent in (clf.SITUATION, "out_of_scope", "inform", VAGUE):
            if intents.get(clf.SITUATION, 0) < CLAUSE_WINS_BELOW and not in_passing:
                intent, score = "ask_clause", max(score, 0.6)
        asked = self.bodies.asked(text, opening=not is_question(text)) if not refs else []
        if asked and intent in ASKS_OF_A_BODY:
            intent = "ask_rule"  # "what does NICE say about ..." asks for the rule, with that body's clauses
        return Analysis(text, intent, score, scenarios, facts, refs, asked)
