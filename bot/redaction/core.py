"""Remove patient identifiers from free text before it is kept or logged.

Presidio's offline pattern recognisers do the well-understood kinds (NHS
numbers with the mod-11 check, e-mail, phone numbers via ``phonenumbers``,
numeric dates); a few extra patterns cover what Presidio lacks for the UK
(postcodes, hospital/MRN numbers, written dates, names after a cue).  No NLP
engine or spaCy model is used, so nothing is downloaded.

Every span found by any recogniser is removed: overlapping spans are merged
and the merged span takes the most specific placeholder.  Erring towards
removal is deliberate: a lost digit in a question costs little, a kept NHS
number costs a lot.
"""

from __future__ import annotations

import logging
import threading
import traceback
import warnings
from collections.abc import Iterable
from typing import Any, TextIO

import regex
from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    DateRecognizer,
    EmailRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
)

from bot.redaction_normalise import normalise, normalise_for_redaction

__all__ = [
    "PLACEHOLDERS",
    "RedactingFilter",
    "install_log_redaction",
    "normalise_for_redaction",
    "redact",
    "redact_prefix",
    "uninstall_log_redaction",
]

# Presidio logs a timing line per pattern at DEBUG; it carries no user text
# but would flood debug logs (and re-enter the log redaction below).
logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)

# Presidio entity name -> (placeholder, priority when spans overlap).
PLACEHOLDERS = {
    "UK_NHS": ("[NHS-NUMBER]", 7),
    "EMAIL_ADDRESS": ("[EMAIL]", 6),
    "PHONE_NUMBER": ("[PHONE]", 5),
    "DATE_TIME": ("[DATE]", 4),
    "UK_POSTCODE": ("[POSTCODE]", 3),
    "PERSON": ("[NAME]", 2),
    "HOSPITAL_NUMBER": ("[HOSPITAL-NUMBER]", 1),
}

Span = tuple[int, int, str]

# Presidio gives its "mm/yy" pattern 0.1: "3/10" is more often a score than
# a date, so it is dropped; dates of birth with a cue are caught below.
_MIN_DATE_SCORE = 0.15

_MONTHS = (
    r"(?:(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?"
    r"|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
    r"|May|MAY)"  # lower-case "may" is usually the verb
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"


class _OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail pattern without its tldextract check.

    tldextract fetches the public-suffix list over the network on first use
    and rejects unknown suffixes (e.g. ``.local``); anything shaped like an
    address is treated as one.
    """

    def validate_result(self, pattern_text: str) -> bool | None:
        return None


class _HospitalNumberRecognizer(PatternRecognizer):
    """Long numbers: MRNs, unit numbers, NHS numbers failing the check digit."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="HOSPITAL_NUMBER",
            patterns=[
                # Digit groups split by single spaces/dashes, 8+ digits in all
                # (validated).  Possessive: long digit runs cannot backtrack.
                Pattern("grouped digits", r"\b\d++(?:[ \-]\d++)++\b", 0.5),
                # Dots, slashes, underscores ("943.476.5918"): three groups at
                # least, as "2019/2020" or "5.10" are years and clauses.
                Pattern("dotted digits", r"(?<![\d.])\d++(?:[./_]\d++){2,}+(?![\d]|[./_]\d)", 0.5),
                Pattern("6+ digits", r"\b\d{6,}+\b", 0.6),
                Pattern("letters+digits", r"\b[A-Z]{1,4}-?\d{6,}+[A-Z]?\b", 0.6),
            ],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        if pattern_text[:1].isdigit() and not pattern_text.isdigit():
            # "20 week", "2019 5" are counts and clauses, not identifiers.
            return None if sum(c.isdigit() for c in pattern_text) >= 8 else False
        return None


def _cued_number_recognizer() -> PatternRecognizer:
    """Anything with a digit after an explicit cue ("MRN: K1234", "unit no 12 34")."""
    return PatternRecognizer(
        supported_entity="HOSPITAL_NUMBER",
        name="CuedNumberRecognizer",
        patterns=[
            Pattern(
                "cued number",
                # The cue, then the number as group "id" (the span kept): a
                # look-behind would be tried at every character.
                r"\b(?:(?:MRN|M\.R\.N\.?|CRN)(?:[ \t]*(?:no\.?|num(?:ber)?|#|id))?"
                r"|(?:hosp(?:ital)?\.?|unit|case|patient|pt|RIS|PAS|NHS|accession|record"
                r"|reference|ref)[ \t]*(?:no\.?|num(?:ber)?|#|id|:))"
                r"[ \t]*(?:is|:|#|-|=)?[ \t]*"
                # Atomic: a failed look-ahead used to give back digits
                # ("943.476.5919" kept "3.476.5919").
                r"(?P<id>(?>[A-Z0-9]*\d[A-Z0-9]*(?:(?:[ ]?[\-/._][ ]?|[ ])[A-Z0-9]*\d[A-Z0-9]*)*))",
                0.6,
            )
        ],
    )


class _PostcodeRecognizer(PatternRecognizer):
    """Full UK postcodes (outward + inward), any case, space optional."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="UK_POSTCODE",
            patterns=[
                Pattern(
                    "uk postcode",
                    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?[ \t\-]?\d"
                    r"[ABD-HJLNP-UW-Z]{2})\b",
                    0.6,
                )
            ],
        )

    def invalidate_result(self, pattern_text: str) -> bool | None:
        # "b12 2nd" in lower case is vitamin B12 and an ordinal, not a postcode;
        # anything else ("pl4 9st", "m1 1st") is kept as one: missing a postcode
        # costs more than blanking a vitamin.
        if not pattern_text.islower():
            return False
        outward, _, inward = pattern_text.replace("\t", " ").replace("-", " ").partition(" ")
        if not inward:
            outward, inward = pattern_text[:-3], pattern_text[-3:]
        return outward in _VITAMINS and inward == _ordinal(int(inward[0]))


_VITAMINS = {"b1", "b2", "b3", "b5", "b6", "b7", "b9", "b12", "d2", "d3", "k1", "k2"}


def _ordinal(n: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n, "th")
    return f"{n}{suffix}"


def _extra_date_recognizer() -> PatternRecognizer:
    """Written dates ("12th March 1985", "March 12", "DOB 3/85") Presidio lacks."""
    sep = r"[ \t]*[\-/.,]?[ \t]*"
    patterns = [
        Pattern("d month y", rf"\b{_DAY}(?:[ \t]+of)?{sep}{_MONTHS}\.?(?:{sep}\d{{4}}|{sep}'?\d{{2}})?\b", 0.6),
        Pattern("month d y", rf"\b{_MONTHS}\.?[ \t]+{_DAY}(?:,?[ \t]*\d{{4}})?\b", 0.6),
        Pattern("month y", rf"\b{_MONTHS}\.?,?[ \t]+(?:19|20)\d{{2}}\b", 0.6),
        Pattern("d m y spaced", r"\b(?:0?[1-9]|[12]\d|3[01])[ \t](?:0?[1-9]|1[0-2])[ \t](?:19|20)\d{2}\b", 0.6),
    ]
    # No IGNORECASE: the month pattern handles case itself (see "May").
    return PatternRecognizer(
        supported_entity="DATE_TIME",
        name="ExtraDateRecognizer",
        patterns=patterns,
        global_regex_flags=regex.DOTALL | regex.MULTILINE,
    )


def _cued_date_recognizer() -> PatternRecognizer:
    """Anything date-like after a birth cue ("DOB 3.3.87", "born 1.2.03").

    Kept apart from the other dates because the clause-number exemption
    ("1.5.16" is a guideline's numbering) must never apply after a cue.
    """
    return PatternRecognizer(
        supported_entity="DATE_TIME",
        name="CuedDateRecognizer",
        patterns=[
            Pattern(
                "cued date",
                r"\b(?i:d\.?o\.?b\.?|date[ \t]+of[ \t]+birth|born(?:[ \t]+(?:on|in))?"
                r"|birthday(?:[ \t]+is)?|dated?)[ \t]*(?::|-|is|=)?[ \t]*"
                r"(?P<id>\d{1,4}(?:[ \t]*[/.\-_][ \t]*\d{1,4}){0,2}+(?!\d))",
                0.6,
            )
        ],
    )


def _phone_cue_recognizer() -> PatternRecognizer:
    """Short or oddly written numbers after a phone cue ("tel: 496 0000")."""
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="CuedPhoneRecognizer",
        patterns=[
            Pattern(
                "cued phone",
                r"\b(?:tel|telephone|phone|mobile|mob|landline|contact|ring|call"
                r"|text|whatsapp)\.?(?:[ \t]+(?:no\.?|number|on))?[ \t]*(?::|-|is|#)?[ \t]*"
                r"(?P<id>\+?\(?\d[\d \-()]{4,}\d)",
                0.6,
            )
        ],
    )


class _PhoneShapeRecognizer(PatternRecognizer):
    """UK- or "+"-shaped numbers that ``phonenumbers`` rejects as unassigned."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            patterns=[
                # Digit look-arounds, not \b: "+447700900123x" is still a number.
                Pattern("uk shape", r"(?<!\d)\(?0\d{2,4}+\)?(?:[ \-.]?\d{2,4}+){1,3}+(?!\d)", 0.5),
                Pattern("intl shape", r"\+\d{1,3}[ \-.]?(?:\(0\)[ \-.]?)?\d(?:[ \-.]?\d){6,}+(?!\d)", 0.5),
            ],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = sum(c.isdigit() for c in pattern_text)
        return None if 10 <= digits <= 15 else False


# --- names -----------------------------------------------------------------

# Words that follow a cue but are not names ("the patient called me").
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "so",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "into",
        "onto",
        "about",
        "over",
        "under",
        "after",
        "before",
        "again",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "it",
        "its",
        "he",
        "she",
        "they",
        "them",
        "him",
        "her",
        "his",
        "hers",
        "their",
        "we",
        "us",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "mine",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "who",
        "whom",
        "whose",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "some",
        "each",
        "every",
        "other",
        "another",
        "such",
        "own",
        "same",
        "than",
        "too",
        "very",
        "just",
        "also",
        "only",
        "even",
        "still",
        "back",
        "up",
        "down",
        "out",
        "off",
        "away",
        "said",
        "says",
        "say",
        "told",
        "tells",
        "asked",
        "asks",
        "wants",
        "wanted",
        "wanting",
        "wont",
        "won't",
        "can't",
        "cant",
        "don't",
        "dont",
        "didn't",
        "isn't",
        "wasn't",
        "keeps",
        "kept",
        "keeping",
        "is's",
        "filming",
        "filmed",
        "films",
        "recording",
        "recorded",
        "records",
        "record",
        "records",
        "photographing",
        "photographed",
        "photo",
        "photos",
        "photos",
        "video",
        "videos",
        "taking",
        "took",
        "takes",
        "take",
        "using",
        "used",
        "uses",
        "trying",
        "tried",
        "tries",
        "started",
        "starting",
        "start",
        "refused",
        "refuses",
        "refusing",
        "keeps",
        "came",
        "come",
        "comes",
        "went",
        "going",
        "gone",
        "got",
        "gets",
        "get",
        "getting",
        "security",
        "police",
        "staff",
        "radiographer",
        "radiographers",
        "doctor",
        "nurse",
        "consultant",
        "manager",
        "team",
        "department",
        "ward",
        "bay",
        "room",
        "reception",
        "in-patient",
        "outpatient",
        "patient",
        "patients",
        "relative",
        "relatives",
        "family",
        "member",
        "members",
        "visitor",
        "visitors",
        "someone",
        "somebody",
        "anyone",
        "anybody",
        "everyone",
        "nobody",
        "one",
        "two",
        "three",
        "because",
        "while",
        "during",
        "since",
        "until",
        "unless",
        "whether",
        "although",
        "though",
        "today",
        "tomorrow",
        "yesterday",
        "now",
        "then",
        "later",
        "earlier",
        "again",
        "ok",
        "okay",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "dear",
        "sir",
        "madam",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "advice",
        "transport",
        "information",
        "experience",
        "safety",
        "services",
        "service",
        "liaison",
        "leaflet",
        "group",
        "consent",
        "privacy",
        "identification",
        "care",
        "mobile",
        "phone",
        "camera",
        "radiology",
        "imaging",
        "ct",
        "mri",
        "ultrasound",
        "x-ray",
        "xray",
        "scan",
        "scans",
        "a&e",
        "ed",
        "emergency",
        "theatre",
        "pharmacy",
        "pals",
        "it",
        "ig",
        "caldicott",
        "guardian",
        "switchboard",
        "word",
        "teams",
        "forms",
        "office",
        "anything",
        "something",
        "nothing",
        "everything",
        "nor",
        "however",
        "yet",
        "meanwhile",
        "afterwards",
        "unfortunately",
        "apparently",
        "as",
        "online",
        "publicly",
        "internally",
        "externally",
        "openly",
        "scanner",
        "scanners",
        "conditional",
        "safe",
        "unsafe",
        "compatible",
        "lead",
        "leads",
        "unit",
        "units",
        "suite",
        "controlled",
        "area",
        "zone",
        "local",
        "rules",
        "responsible",
        "person",
        "safety",
        "physicist",
        "detector",
        "detectors",
        "plate",
        "panel",
        "rooms",
        "coil",
        "magnet",
        "table",
        "bore",
        "contrast",
        "environment",
        "screening",
        "screen",
        "image",
        "images",
        "guided",
        "procedure",
        "report",
        "reporting",
        "list",
        "lists",
        "clinic",
        "appointment",
        "machine",
        "equipment",
        "system",
    ]
)

# Unambiguous abbreviations: a lower-case word after these is still a name
# ("mrs smith").  Full words ("miss", "sister") need capitals both sides.
# Not in capitals: "MR", "DR", "MS", "MRS" are MR (magnetic resonance), digital
# radiography, multiple sclerosis and MR spectroscopy far more often.
_SHORT_TITLE = r"(?:Mr|mr|Mrs|mrs|Ms|ms|Mx|mx|Dr|dr|Prof|prof)"
_LONG_TITLE = r"(?:Miss|Mister|Doctor|Professor|Sir|Dame|Lady|Lord|Master|Rev|Revd|Fr|Sister|Nurse)"
_STRONG = (
    r"(?i:called|named|(?:(?:patient|pt\.?)(?:'s|’s)?[ \t]+)?name[ \t]+is|name's|name’s"
    r"|names?[ \t]*[:=]|names?[ \t]+[\-–]|surname[ \t]*[:=]?|forename[ \t]*[:=]?"
    r"|first[ \t]+name[ \t]*[:=]?|full[ \t]+name[ \t]*[:=]?|known[ \t]+as)"
)
_WEAK = (
    r"(?i:(?:patient|pt\.?)(?:'s|’s)?[ \t]+name|patient|pt\.?|mum|mother|dad|father|husband|wife"
    r"|partner|son|daughter|brother|relative|carer|grandson|granddaughter|grandmother|grandfather)"
)
# "patient: John Smith", "Name - John Smith", "patient John Smith".
_CUE_TAIL = r"(?:[ \t]*[:=][ \t]*|[ \t]+(?:[\-–][ \t]+)?)"
_CUE_RE = regex.compile(
    rf"\b(?:(?P<short>{_SHORT_TITLE})\.?[ \t]+|(?P<long>{_LONG_TITLE})\.?[ \t]+"
    # A zero-width space between title and name is deleted: "MrSmith".
    r"|(?P<glued>Mr|Mrs|Ms|Mx|Dr)\.?(?=\p{Lu}\p{Ll})"
    rf"|(?P<strong>{_STRONG})(?:(?<=[:=])|(?!\p{{L}}))[ \t]*|(?P<weak>{_WEAK}){_CUE_TAIL})"
)
# After a title a capitalised word is a surname even when it is also a word
# ("Mrs Ward", "Mr Still", "Mrs May"); only these never are.
_NOT_AFTER_TITLE = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "nor",
        "if",
        "so",
        "as",
        "of",
        "in",
        "on",
        "at",
        "to",
        "by",
        "for",
        "from",
        "with",
        "into",
        "is",
        "are",
        "was",
        "were",
        "be",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "must",
        "not",
        "who",
        "which",
        "that",
        "this",
        "these",
        "those",
        "there",
        "mr",
        "mrs",
        "ms",
        "mx",
        "miss",
        "mister",
        "dr",
        "doctor",
        "prof",
        "professor",
        "sir",
        "dame",
        "lady",
        "lord",
        "master",
        "rev",
        "revd",
        "fr",
        "sister",
        "nurse",
    ]
)
# An initial ("J." / "J") or a word with letters, hyphens and apostrophes.
_TOKEN_RE = regex.compile(r"(?P<initial>\p{Lu}\.?(?=[ \t]))|(?P<word>\p{L}[\p{L}'’\-]*)")
_SEP_RE = regex.compile(r"[ \t]+|,[ \t]*")
_MAX_NAME_WORDS = 3


def _is_capitalised(word: str) -> bool:
    # "Smith", "McDonald", "O'Brien", "Zoë"; not "CT" or "CXR".
    return word[0].isupper() and any(c.islower() for c in word)


def _strip_possessive(word: str) -> str:
    low = word.lower()
    if low.endswith(("'s", "’s")):  # "patient's" is "patient"; "Hess" stays "Hess"
        low = low[:-2]
    return low


def _is_stopword(word: str) -> bool:
    return _strip_possessive(word) in _STOPWORDS


def _name_spans(text: str) -> list[Span]:
    """Names after a title, "called/named …" or "pt/patient/relative …"."""
    spans: list[Span] = []
    for cue in _CUE_RE.finditer(text):
        kind = "short" if cue.lastgroup == "glued" else cue.lastgroup
        titled = kind in ("short", "long")
        start = pos = cue.end()
        end: int | None = None  # end of the last name word taken
        words = 0
        while words < _MAX_NAME_WORDS:
            tok = _TOKEN_RE.match(text, pos)
            if tok is None:
                break
            word = tok.group()
            if tok.lastgroup == "word":
                if titled and _is_capitalised(word):
                    if _strip_possessive(word) in _NOT_AFTER_TITLE:
                        break
                elif _is_stopword(word):
                    break
                elif _is_capitalised(word):
                    pass
                elif word.isupper() and len(word) > 1 and kind != "weak" and (words == 0 or text[start:end].isupper()):
                    pass  # "Mr JOHN SMITH"; not "Mrs Smith NHS" nor "Mr CT" (stop-list)
                elif (
                    word.islower()
                    and (words == 0 or text[start:end].islower())
                    and (kind == "strong" or (kind == "short" and words < 2))
                ):
                    # Typed in lower case: "called john smith", "mrs ann smith";
                    # at most two words after a title, as verbs follow names.
                    pass
                else:
                    break
                words += 1
                end = tok.end()
            sep = _SEP_RE.match(text, tok.end())
            if sep is None or ("," in sep.group() and kind != "strong"):
                break
            pos = sep.end()
        if end is not None:  # initials alone ("Mr J") are left
            spans.append((start, end, "PERSON"))
    return spans


# --- the engine --------------------------------------------------------------

# NUL and other controls cannot be stored in PostgreSQL (nor read in a log).
_CONTROL_RE = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_EMAIL_LEN = 254  # RFC 5321 limit; longer "@" tokens are removed whole
# "1.5.16" is a guideline clause far more often than a date (a date of birth
# is written 01.05.16); a span that is exactly a clause number is kept.
_CLAUSE_RE = regex.compile(r"\d\.\d{1,2}\.\d{1,2}")
_SHORT_CLAUSE_RE = regex.compile(r"\d\.\d{1,2}")  # "ref: 5.10" after a cue
_UUID_RE = regex.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b")
# A name before a possessive and a family word: "Daisy Brown's dad", "Olu's nan". The words that
# start a sentence or name a role are no name ("Patient's dad", "Baby's mum").
_KIN = (
    r"mum|mother|mam|mom|dad|father|husband|wife|partner|son|daughter|brother|sister|relative|carer|"
    r"grandson|granddaughter|grandmother|grandfather|grandma|grandpa|grandad|granddad|nan|nana|nanna|gran|granny|"
    r"aunt|auntie|aunty|uncle|niece|nephew|cousin|boyfriend|girlfriend|fianc[eé]e?|stepdad|stepmum|"
    r"stepfather|stepmother|stepson|stepdaughter|parents?|family|escort"
)
_POSSESSIVE_KIN_RE = regex.compile(
    # a name word may hold an apostrophe only before a capital (O'Brien), so "Brown's" ends at the "'s"
    r"(?<![\p{L}'’\-])(?P<name>(?:\p{Lu}[\p{L}\-]*+(?:['’]\p{Lu}[\p{L}\-]*+)?[ \t]+){0,2}"
    r"\p{Lu}[\p{L}\-]*+(?:['’]\p{Lu}[\p{L}\-]*+)?)(?:'s|’s|'|’)"
    rf"[ \t]+(?i:(?:{_KIN})(?:-in-law)?)\b"
)
_NOT_A_NAME = frozenset(
    [
        "baby",
        "child",
        "kid",
        "boy",
        "girl",
        "lady",
        "man",
        "woman",
        "gentleman",
        "gent",
        "toddler",
        "teenager",
        "student",
        "trainee",
        "member",
        "colleague",
        "everyone",
        "someone",
        "nobody",
        "client",
        "service",
        "user",
        "pt",
        "pts",
        "patient",
        "patients",
        "rep",
    ]
)


_WORD_RE = regex.compile(r"[^ \t]+")


def _possessive_kin_spans(text: str) -> list[Span]:
    """Names before a possessive and a family word ("Daisy Brown's dad")."""
    spans: list[Span] = []
    for m in _POSSESSIVE_KIN_RE.finditer(text):
        # the name is the words, from the right, that look like one: "Re Daisy Brown's" -> "Daisy Brown"
        start = None
        for word in reversed(list(_WORD_RE.finditer(text, m.start("name"), m.end("name")))):
            low = _strip_possessive(word.group()).rstrip("'’")
            if not _is_capitalised(word.group()) or low in _STOPWORDS or low in _NOT_AFTER_TITLE or low in _NOT_A_NAME:
                break
            start = word.start()
        if start is not None:
            spans.append((start, m.end("name"), "PERSON"))
    return spans


# Normalised text with none of these (nor a name cue) holds nothing any
# recogniser can find.
_TRIGGER_RE = regex.compile(r"[0-9@]")
# The same test on raw text, before any work: most log lines and questions
# fail it.  A superset of what normalisation could turn into a trigger or a
# cue: any digit, "@", escape or non-ASCII character, or a cue word's start.
_QUICK_RE = regex.compile(
    r"[0-9@\\\x80-\U0010ffff]|\b(?i:mr|ms|mx|dr|prof|miss|mister|doctor|sir|dame|lady|lord|master|rev|fr"
    r"|sister|nurse|call|name|surname|forename|first|full|known|patient|pt|mum|mother|dad|father"
    rf"|husband|wife|partner|son|daughter|brother|relative|carer|grand|{_KIN})"
)
_WINDOW, _OVERLAP = 2000, 300  # long input is scanned in overlapping windows
_DIGITS = "0123456789"


def _nhs_check_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    return check != 10 and (0 if check == 11 else check) == int(digits[9])


class _SeparatedNhsRecognizer(PatternRecognizer):
    """NHS numbers with any separator ("943.476.5919", "943/476/5919", "943_476_5919").

    Presidio's own recogniser knows only spaces and dashes.
    """

    def __init__(self) -> None:
        sep = r"(?:[ ]?[.\-/_][ ]?|[ ])"
        super().__init__(
            supported_entity="UK_NHS",
            patterns=[Pattern("separated nhs", rf"(?<!\d)\d{{3}}{sep}?\d{{3}}{sep}?\d{{4}}(?!\d)", 0.5)],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        return len(digits) == 10 and _nhs_check_ok(digits)


class _Redactor:
    """Builds the recognisers once; ``redact`` runs on every message."""

    def __init__(self) -> None:
        self.nhs = NhsRecognizer()
        self.nhs_separated = _SeparatedNhsRecognizer()
        self.email = _OfflineEmailRecognizer()
        # "GB" is the phonenumbers region for the UK; "+"-prefixed numbers
        # from anywhere are still found.
        self.phone = PhoneRecognizer(supported_regions=("GB",), leniency=1)
        self.phone_cue = _phone_cue_recognizer()
        self.phone_shape = _PhoneShapeRecognizer()
        self.dates = DateRecognizer()
        self.extra_dates = _extra_date_recognizer()
        self.cued_dates = _cued_date_recognizer()
        self.hospital = _HospitalNumberRecognizer()
        self.cued_number = _cued_number_recognizer()
        self.postcode = _PostcodeRecognizer()

    def spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        if "@" in text:
            found.extend(self._email_spans(text))
        if len(text) <= _WINDOW:
            found.extend(self._window_spans(text))
            return found
        # Long input: overlapping windows keep the work linear (Presidio's
        # duplicate removal is quadratic in matches, and no pattern can take
        # more than a window's worth of work); any identifier shorter than
        # the overlap lies wholly inside one window.
        for offset in range(0, len(text), _WINDOW - _OVERLAP):
            chunk = text[offset : offset + _WINDOW]
            found.extend((s + offset, e + offset, t) for s, e, t in self._window_spans(chunk))
            if offset + _WINDOW >= len(text):
                break
        return found

    def _window_spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        digits = sum(map(text.count, _DIGITS))  # normalised: every digit is ASCII

        def run(recogniser, entity: str, min_score: float = 0.0, keep=_CLAUSE_RE) -> None:
            if isinstance(recogniser, PatternRecognizer):
                results: Iterable[tuple[int, int, float]] = _pattern_matches(recogniser, text)
            else:
                results = ((r.start, r.end, r.score) for r in recogniser.analyze(text, [entity], None))
            for start, end, score in results:
                if score >= min_score and not (keep and keep.fullmatch(text, start, end)):
                    found.append((start, end, entity))

        # Skip recognisers that cannot match: most questions have no digits.
        if digits >= 10:
            run(self.nhs, "UK_NHS")
            run(self.nhs_separated, "UK_NHS")
        if digits >= 6:
            found.extend(self._phone_spans(text))
            run(self.phone_cue, "PHONE_NUMBER")
            run(self.phone_shape, "PHONE_NUMBER")
        if digits:
            run(self.dates, "DATE_TIME", _MIN_DATE_SCORE)
            run(self.cued_dates, "DATE_TIME", keep=None)  # "DOB 3.3.87" is no clause
            run(self.hospital, "HOSPITAL_NUMBER")
            run(self.cued_number, "HOSPITAL_NUMBER", keep=_SHORT_CLAUSE_RE)
            run(self.postcode, "UK_POSTCODE")
            run(self.extra_dates, "DATE_TIME")
        found.extend(_name_spans(text))
        found.extend(_possessive_kin_spans(text))
        return found

    def _phone_spans(self, text: str) -> Iterable[Span]:
        # ``phonenumbers`` costs about 0.1 ms a character on digit-and-slash
        # runs, so it sees only runs that could be one number (7-17 digits),
        # with a character either side for its own boundary checks.  Longer
        # runs are removed whole by the grouped-digit and shape patterns.
        for m in _PHONE_RUN_RE.finditer(text):
            run_text = m.group()
            if not 8 <= sum(map(run_text.count, _DIGITS)) <= 17:
                continue
            a, b = max(0, m.start() - 1), min(len(text), m.end() + 1)
            for r in self.phone.analyze(text[a:b], ["PHONE_NUMBER"], None):
                yield (a + r.start, a + r.end, "PHONE_NUMBER")

    def _email_spans(self, text: str) -> Iterable[Span]:
        # Run the e-mail pattern per "@" token: linear on any input (a
        # pattern like \S*@\S* restarts at every character of a long run).
        for tok in _TOKEN_SPLIT_RE.finditer(text):
            word = tok.group()
            if "@" not in word:
                continue
            if len(word) > _MAX_EMAIL_LEN:
                yield (tok.start(), tok.end(), "EMAIL_ADDRESS")
                continue
            for start, end, _score in _pattern_matches(self.email, word):
                yield (tok.start() + start, tok.start() + end, "EMAIL_ADDRESS")

    def redact(self, text: str) -> str:
        if not _QUICK_RE.search(text):
            return _storable(text)
        norm = normalise(text)
        matched = norm.text
        if not (_TRIGGER_RE.search(matched) or _CUE_RE.search(matched) or _POSSESSIVE_KIN_RE.search(matched)):
            return _storable(text)
        spans = self.spans(matched)
        if spans and "-" in matched:
            # UUIDs (answer ids in slots and payloads) are ours, not a
            # patient's; an all-digit group in one looks like an MRN.
            ids = [m.span() for m in _UUID_RE.finditer(matched)]
            spans = [sp for sp in spans if not any(a <= sp[0] and sp[1] <= b for a, b in ids)]
        if not spans:
            return _storable(text)
        # Replace the characters as typed: odd spaces, escapes and look-alike
        # letters inside an identifier go with it, the rest stays as it was.
        out, cursor = [], 0
        for start, end, entity in _merge(spans):
            start, end = max(norm.start(start), cursor), norm.end(end)
            out.append(text[cursor:start])
            out.append(PLACEHOLDERS[entity][0])
            cursor = end
        out.append(text[cursor:])
        return _storable("".join(out))


_TOKEN_SPLIT_RE = regex.compile(r"\S+")
_PHONE_RUN_RE = regex.compile(r"\+?\(?\d(?:[ \-.()/]{0,3}+\d)*+")
_COMPILED: dict = {}


def _pattern_matches(recogniser: PatternRecognizer, text: str) -> Iterable[tuple[int, int, float]]:
    """``(start, end, score)`` of a Presidio pattern recogniser's matches.

    What ``PatternRecognizer.analyze`` does (same flags, validation and
    invalidation; a group named "id" is the span reported), without its
    duplicate removal, which compares every
    match with every other (quadratic: 2.8 s for 24 KB of "DOB 3."), and
    without building explanation objects.  Overlaps are merged later anyway.
    """
    flags = recogniser.global_regex_flags
    for pattern in recogniser.patterns:
        key = (pattern.regex, flags)
        compiled = _COMPILED.get(key)
        if compiled is None:
            compiled = _COMPILED[key] = regex.compile(pattern.regex, flags=flags)
        named = "id" in compiled.groupindex  # cue-first patterns keep only the number
        for m in compiled.finditer(text):
            start, end = m.span("id") if named else m.span()
            if start == end:
                continue
            matched = text[start:end]
            score = pattern.score
            valid = recogniser.validate_result(matched)
            if valid is not None:
                score = 1.0 if valid else 0.0
            if recogniser.invalidate_result(matched):
                score = 0.0
            if score > 0.0:
                yield start, end, score


def _storable(text: str) -> str:
    """Lone surrogates and control characters removed: storable anywhere."""
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL_RE.sub("", text)


def _merge(spans: list[Span]) -> list[Span]:
    """Union overlapping spans; the merged span keeps the top-priority type."""
    merged: list[list] = []
    for start, end, entity in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if PLACEHOLDERS[entity][1] > PLACEHOLDERS[last[2]][1]:
                last[2] = entity
        else:
            merged.append([start, end, entity])
    return [tuple(m) for m in merged]  # type: ignore[misc]


_REDACTOR: _Redactor | None = None
_REDACTOR_LOCK = threading.Lock()


def _redactor() -> _Redactor:
    global _REDACTOR
    if _REDACTOR is None:
        with _REDACTOR_LOCK:
            if _REDACTOR is None:
                _REDACTOR = _Redactor()
    return _REDACTOR


def redact(text: str) -> str:
    """Return ``text`` with patient identifiers replaced by typed placeholders."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if not text:
        return text
    return _redactor().redact(text)


def redact_prefix(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``, redacted, reading only its head.

    For input that is capped anyway (a question, a feedback comment): the
    cost depends on ``limit``, not on the input.  When the input is longer
    than what is read, the last ``_OVERLAP`` characters read are dropped too,
    as they may hold an identifier cut in half and so not recognised.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    head = text[: limit + _OVERLAP]
    out = redact(head)
    if len(head) < len(text):
        out = out[: max(0, len(out) - _OVERLAP)]
    return out[:limit]


# --- logging -----------------------------------------------------------------

_IN_REDACTION = threading.local()


def _redact_record(record: logging.LogRecord) -> None:
    """Replace a record's message (and traceback) by its redacted rendering."""
    if getattr(record, "_redacted", False) or getattr(_IN_REDACTION, "on", False):
        return
    _IN_REDACTION.on = True
    try:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the log line
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._redacted = True  # type: ignore[attr-defined]
    finally:
        _IN_REDACTION.on = False


class RedactingFilter(logging.Filter):
    """Handler filter that redacts every record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_FILTER = RedactingFilter()
_ORIGINAL_FACTORY: object | None = None
_ORIGINAL_SHOWWARNING: Any | None = None


def _redacting_showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` that redacts: Rasa reports a "/intent{…}" it
    cannot parse with ``warnings.warn``, quoting the whole message."""
    text = redact(warnings.formatwarning(message, category, filename, lineno, line))
    if file is not None:
        try:
            file.write(text)
        except OSError:
            pass
        return
    # As logging.captureWarnings does: through the "py.warnings" logger, so
    # the same handlers (var/rasa.log) and filters apply.
    logging.getLogger("py.warnings").warning("%s", text.rstrip("\n"))


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Redact all log output from now on.

    The filter goes on the given logger's (default: root) current handlers;
    the record factory is wrapped too, so handlers added later (Rasa sets up
    its own) and records on non-propagating loggers are also covered.
    Warnings (``warnings.warn``) are routed through logging and redacted too.
    Safe to call more than once.
    """
    global _ORIGINAL_FACTORY, _ORIGINAL_SHOWWARNING
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if warnings.showwarning is not _redacting_showwarning:
        _ORIGINAL_SHOWWARNING = warnings.showwarning
        logging.captureWarnings(True)
        warnings.showwarning = _redacting_showwarning
    if _ORIGINAL_FACTORY is None:
        original = logging.getLogRecordFactory()
        _ORIGINAL_FACTORY = original

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = original(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)


def uninstall_log_redaction(logger: logging.Logger | None = None) -> None:
    """Undo ``install_log_redaction`` (used by tests)."""
    global _ORIGINAL_FACTORY, _ORIGINAL_SHOWWARNING
    target = logger or logging.getLogger()
    for handler in target.handlers:
        handler.removeFilter(_FILTER)
    if _ORIGINAL_SHOWWARNING is not None:
        logging.captureWarnings(False)
        warnings.showwarning = _ORIGINAL_SHOWWARNING
        _ORIGINAL_SHOWWARNING = None
    if _ORIGINAL_FACTORY is not None:
        logging.setLogRecordFactory(_ORIGINAL_FACTORY)  # type: ignore[arg-type]
        _ORIGINAL_FACTORY = None
