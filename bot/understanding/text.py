"""Cleaning what staff type, and telling whether it is about a recording at all."""

from __future__ import annotations

import re
import unicodedata

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
