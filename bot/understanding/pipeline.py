"""The project's spaCy pipeline: ``spacy.blank("en")``, a lookup lemmatiser and an
entity ruler whose patterns come from ``knowledge/facts.yml``.

No pretrained model exists offline, so matching is on word forms: each phrase
word becomes the set of its inflections taken from the lemma lookup table
(``film`` -> film, films, filmed, filming), compared case-insensitively. That is
the lemma-based match Rasa's ``SpacyNLP`` gets when it loads the saved folder,
without needing any custom component registered at load time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from bot import config
from bot.knowledge.models import FactSpec
from bot.understanding.recent import Recent

STAMP = "patterns.sha256"
POSSESSIVE = frozenset({"'s", "’s", "'"})
# a fact said not to hold ("she isn't anxious", "not a parent") is no mention of it
NEGATIONS = frozenset({"not", "n't", "n’t", "nt", "never", "no"})
NEGATION_REACH = 2  # tokens before a phrase: "is n't anxious", "not really anxious"
# "me" and "us" say staff are what is recorded only beside a recording ("filming me", "a clip of us on
# TikTok", "phone pointed at me"); "she asked me to rescan", "a member told me" say nothing of the kind
PRONOUNS = frozenset({"me", "us"})
PRONOUN_REACH = (4, 2)  # tokens before ("a photo of me", "phone pointed at me") and after ("me on TikTok")
_RECORDING = re.compile(
    r"(record|film|video|vid|photo|pic|picture|snap|camera|phone|mobile|clip|footage|tap(e|ing)|selfie|"
    r"stream|live|post|upload|tiktok|facebook|insta|youtube|online|facetim|screenshot|lens)",
    re.I,
)


def _inflections() -> dict[str, set[str]]:
    """lemma -> the word forms that lemmatise to it (from spacy-lookups-data)."""
    import spacy_lookups_data  # a build-time dependency, never needed to answer
    import srsly

    data = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    forms: dict[str, set[str]] = defaultdict(set)
    for word, lemma in srsly.read_gzip_json(data).items():
        if word.isalpha() and word.islower():
            forms[lemma.lower()].add(word)
    return forms


def _lemmatiser_lookups():
    from spacy.lookups import load_lookups

    return load_lookups("en", ["lemma_lookup"])


def patterns(facts: dict[str, FactSpec], forms: dict[str, set[str]] | None = None) -> list[dict]:
    """Entity-ruler patterns: label = fact name, id = canonical value."""
    nlp = spacy.blank("en")
    lookup = _lemmatiser_lookups().get_table("lemma_lookup")
    forms = forms if forms is not None else _inflections()
    out: list[dict[str, Any]] = []
    for fact in facts.values():
        for value in fact.values.values():
            for phrase in value.phrases:
                tokens: list[dict[str, Any]] = []
                for tok in nlp.make_doc(phrase.lower()):
                    lemma = lookup.get(tok.text, tok.text).lower()
                    # only a word written in its base form stands for its inflections:
                    # "film" catches "filming", but "screening" must not catch "screen"
                    variants = sorted({tok.text} | (forms.get(tok.text, set()) if lemma == tok.text else set()))
                    tokens.append({"LOWER": {"IN": variants}} if len(variants) > 1 else {"LOWER": tok.text})
                if tokens:
                    out.append({"label": fact.name, "pattern": tokens, "id": value.value})
    return out


def patterns_digest(facts: dict[str, FactSpec]) -> str:
    spec = {f.name: {v.value: list(v.phrases) for v in f.values.values()} for f in facts.values()}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def build(facts: dict[str, FactSpec], out: Path | None = None) -> Language:
    """Build the pipeline; save it to ``out`` (a folder SpacyNLP loads by path) if given."""
    nlp = spacy.blank("en")
    lemmatizer: Any = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lemmatizer.initialize(lookups=_lemmatiser_lookups())
    ruler: Any = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    ruler.add_patterns(patterns(facts))
    nlp.meta["name"] = "recording_guidance"
    nlp.meta["description"] = "Blank English pipeline with lookup lemmas and fact patterns from knowledge/facts.yml"
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        nlp.to_disk(out)
        (out / STAMP).write_text(patterns_digest(facts))
    return nlp


def is_current(facts: dict[str, FactSpec], folder: Path | None = None) -> bool:
    stamp = (folder or config.settings().spacy_model) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == patterns_digest(facts)


def load(facts: dict[str, FactSpec], folder: Path | None = None) -> Language:
    """The saved pipeline when it matches the facts, else a fresh in-memory build."""
    folder = folder or config.settings().spacy_model
    if is_current(facts, folder):
        return spacy.load(folder)
    return build(facts)


RECENT_DOCS = 64


def _beside_a_recording(doc: Doc, start: int, end: int) -> bool:
    before, after = PRONOUN_REACH
    near = doc[max(0, start - before) : start].text + " " + doc[end : end + after].text
    return bool(_RECORDING.search(near))


def _staff_recorded(doc: Doc, start: int, pronouns_need_a_recording: bool) -> bool:
    """Whether the one word at ``start`` that reads as staff being recorded says so where it stands."""
    word = doc[start].lower_
    if word == "staff":  # "staff-side query", "staff side": a union's word for the staff's representatives
        after = "".join(t.text for t in doc[start + 1 : start + 3]).lower()
        return not after.startswith(("-side", "side"))
    return not (pronouns_need_a_recording and word in PRONOUNS) or _beside_a_recording(doc, start, start + 1)


def _negated(doc: Doc, start: int) -> bool:
    """A negation just before the phrase; a phrase that holds its own ("not happy being filmed") starts at it."""
    return any(t.lower_ in NEGATIONS for t in doc[max(0, start - NEGATION_REACH) : start])


class FactExtractor:
    """Finds every fact mention, overlapping ones included (the ruler keeps one per span)."""

    skip_negated = True  # bench/tune_matching.py --keep-negated measures it off
    pronouns_need_a_recording = True  # bench/tune_matching.py --loose-pronouns measures it off

    def __init__(self, nlp: Language):
        self.nlp = nlp
        self.recent: Recent[Doc] = Recent(RECENT_DOCS)
        self.matcher = Matcher(nlp.vocab)
        ruler: Any = nlp.get_pipe("entity_ruler")
        grouped: dict[str, list] = defaultdict(list)
        for p in ruler.patterns:
            grouped[f"{p['label']}={p['id']}"].append(p["pattern"])
        for key, pats in grouped.items():
            self.matcher.add(key, pats)

    def doc(self, text: str) -> Doc:
        """The parsed text; the last few are kept, as one answer reads the same text several times
        (classifier lemmas, facts, a long message's sentences). Callers only read the Doc."""
        return self.recent.get(text, self._parse)

    def _parse(self, text: str) -> Doc:
        # The entity ruler's own pass is skipped: facts come from self.matcher, which
        # sees every overlapping match, and nothing here reads doc.ents.
        return self.nlp(text, disable=["entity_ruler"])

    def facts(self, doc: Doc) -> dict[str, list[str]]:
        """fact -> canonical values, in order of first mention."""
        found: dict[str, list[str]] = defaultdict(list)
        matches = sorted(self.matcher(doc), key=lambda m: m[1])
        keys = [self.nlp.vocab.strings[m[0]] for m in matches]
        # "the patient's aunt": the patient only names whose aunt it is, the aunt is the one acting
        person_starts = {m[1] for m, k in zip(matches, keys) if k.startswith("who=") and k != "who=patient"}
        spans = [(k.split("=", 1)[0], m[1], m[2]) for m, k in zip(matches, keys)]
        for (_match_id, start, end), key in zip(matches, keys):
            fact, value = key.split("=", 1)
            # "mother-in-law" is not a "mother": a longer phrase of the same fact wins
            if any(f == fact and s <= start and end <= e and (s, e) != (start, end) for f, s, e in spans):
                continue
            if (
                key == "who=patient"
                and end < len(doc)
                and doc[end].text in POSSESSIVE
                and person_starts & {end + 1, end + 2}
            ):
                continue
            if self.skip_negated and _negated(doc, start):
                continue
            if (
                key == "what=staff"
                and end - start == 1
                and not _staff_recorded(doc, start, self.pronouns_need_a_recording)
            ):
                continue
            if value not in found[fact]:
                found[fact].append(value)
        return dict(found)

    def lemmas(self, doc: Doc) -> str:
        return " ".join(t.lemma_.lower() if t.lemma_ else t.lower_ for t in doc if not t.is_space)
