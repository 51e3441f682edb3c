"""Cleaning what staff type, and telling whether it is about a recording at all."""

from __future__ import annotations

import re
import unicodedata

from bot.redaction import PLACEHOLDERS

MAX_CHARS = 2000
# Only this much of a message is ever cleaned or redacted: enough for any text
# that cleans down to MAX_CHARS (repeated spaces collapse), and a 1 MB paste
# costs no more than a long question.
READ_CHARS = 4 * MAX_CHARS
RECORDING_WORDS = re.compile(
    r"\b(record\w*|film\w*|video\w*|vid|photo\w*|pics?|pictures?|snap\w*|camera|phones?|mobiles?|tiktok|"
    r"insta\w*|facebook|youtube|twitter|social|online|post\w*|stream\w*|live|facetime|voice|tape\w*|captur\w*|"
    r"footage|clips?|lens|camcorder|selfie|screenshot\w*|blog\w*|vlog\w*|upload\w*|shar\w*|policy|policies|sop|signage|gdpr|"
    r"data protection|journalist|media|tv|newspaper|press|teaching|poster|presentation|consent|filmed|image\w*|"
    r"scan pic\w*|print\w*|screen)\b",
    re.I,
)
# facts that only come up when someone records something
RECORDING_FACTS = frozenset({"how", "covert", "staff_objection"})


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


def about_recording(text: str, facts: dict[str, list[str]]) -> bool:
    return bool(RECORDING_WORDS.search(text) or RECORDING_FACTS & set(facts))


# How a question opens: 166 of the 167 training rule questions open this way or carry a "?"
QUESTION_OPENING = re.compile(
    r"^\W*(is|are|am|can|could|may|might|must|should|shall|would|will|do|does|did|has|have|what|what's|whats|"
    r"which|who|whose|whom|when|where|why|how|any|in general|in principle|in theory|as a rule|generally)\b",
    re.I,
)


def is_question(text: str) -> bool:
    return "?" in text or bool(QUESTION_OPENING.search(text))
