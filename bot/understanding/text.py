"""Cleaning what staff type, and telling whether it is about a recording at all."""

from __future__ import annotations

import re
import unicodedata

from bot.redaction import PLACEHOLDERS
from bot.understanding.spelling import one_edit

MAX_CHARS = 2000
# Only this much of a message is ever cleaned or redacted: enough for any text
# that cleans down to MAX_CHARS (repeated spaces collapse), and a 1 MB paste
# costs no more than a long question.
READ_CHARS = 4 * MAX_CHARS
RECORDING_WORDS = re.compile(
    r"\b(record\w*|film\w*|video\w*|vids?|vidd(?:ed|ing)|photo(?!ns?\b)\w*|pics?|pictures?|snap\w*|camera|phones?|mobiles?|tiktok|"
    r"insta\w*|facebook|youtube|twitter|social|online|post\w*|stream\w*|livestream\w*|live|facetim\w*|voice|"
    r"tap(?:e\w*|ing)|captur\w*|documentary|sex of (?:the )?baby|baby'?s sex|gender|"
    r"footage|clips?|lens|camcorder|selfie|screenshot\w*|blog\w*|vlog\w*|upload\w*|shar\w*|policy|policies|sop|signage|gdpr|"
    r"data protection|journalist|media|tv|newspaper|press|teaching|poster|presentation|consent|filmed|image\w*|"
    r"scan pic\w*|print\w*|screen)\b",
    re.I,
)
# facts that only come up when someone records something ("how": video, photo, audio ...)
RECORDING_FACTS = frozenset({"covert", "staff_objection"})
# radiography's own uses of the words, which are not recordings ("GP plain films", "film badge",
# "record and verify", "screening time"); the fact extractor reads "film" in them as a video
_NOT_RECORDING = re.compile(
    r"\b(?:plain[- ]?films?|film (?:badges?|printers?|processors?)|dry film|record (?:and|&) verify|"
    r"record[- ]?keeping|screening (?:times?|programmes?|programs?|service)|breast screen(?:ing)?)\b",
    re.I,
)
# a recording word mistyped ("recrding", "fiming", "reocrd"): one edit from one of these
_MISTYPED = ("record", "recording", "recorded", "filming", "filmed", "video", "videoing", "photo", "photos", "camera")
_WORD = re.compile(r"\b[a-z]{5,11}\b")
# real words one edit from those (found with spacy-lookups-data's English lemma table)
_NOT_MISTYPED = frozenset(
    [
        "filed",
        "filing",
        "filled",
        "filling",
        "firmed",
        "firming",
        "phono",
        "phonos",
        "photon",
        "photons",
        "recoded",
        "recoding",
        "reword",
        "reworded",
    ]
)


def clean(text: str) -> str:
    """Normalise odd encodings and invisible characters; keep the words.

    Format characters (zero-width space, direction marks) are deleted, not
    made spaces: "john\u200b@example.com" is one address, not "john" and
    "@example.com" (the redaction would then keep "john").
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch if ch.isprintable() or ch in "\n\t" else "" if unicodedata.category(ch) == "Cf" else " " for ch in text
    )
    return " ".join(text.split())


# What redaction leaves in place of an identifier says nothing about the situation, and its words
# would read as one ("[NAME]": names on a screen, other patients'; "[DATE]": when it happened).
# The title or cue just before one goes too: "Mr", "MRN" and "DOB" are no part of what happened,
# and "MRN" reads like "MRI" to the character n-grams.
_CUE = (
    r"(?:\b(?:mr|mrs|ms|miss|mx|nhs(?:\s*(?:no|number|num))?|d\.?o\.?b|date of birth|born|mrn|"
    r"hosp(?:ital)?\s*(?:no|number|num)|unit\s*(?:no|number)|id)\b[\s.:#=-]*)?"
)
_IDENTIFIER = re.compile(
    _CUE + "(?:" + "|".join(re.escape(placeholder) for placeholder, _ in PLACEHOLDERS.values()) + ")", re.I
)


def without_identifiers(text: str) -> str:
    """The redacted text without its placeholders, for understanding it (never for showing it)."""
    return " ".join(_IDENTIFIER.sub(" ", text).split()) if "[" in text else text


def _mistyped_recording(text: str) -> bool:
    words = set(_WORD.findall(text.lower())) - _NOT_MISTYPED
    return any(one_edit(w, t) for w in words for t in _MISTYPED)


def about_recording(text: str, facts: dict[str, list[str]]) -> bool:
    plain = _NOT_RECORDING.sub(" ", text)
    if RECORDING_WORDS.search(plain) or RECORDING_FACTS & set(facts):
        return True
    # "how" read from a film badge or plain film is no recording
    return ("how" in facts and plain == text) or _mistyped_recording(plain)


# How a question opens: 166 of the 167 training rule questions open this way or carry a "?"
QUESTION_OPENING = re.compile(
    r"^\W*(is|are|am|can|could|may|might|must|should|shall|would|will|do|does|did|has|have|what|what's|whats|"
    r"which|who|whose|whom|when|where|why|how|any|in general|in principle|in theory|as a rule|generally)\b",
    re.I,
)


def is_question(text: str) -> bool:
    return "?" in text or bool(QUESTION_OPENING.search(text))
