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
import unicodedata
from typing import Iterable, List, Optional, Tuple

import regex
from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    DateRecognizer,
    EmailRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
)

__all__ = [
    "PLACEHOLDERS",
    "RedactingFilter",
    "install_log_redaction",
    "redact",
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

Span = Tuple[int, int, str]

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

    def validate_result(self, pattern_text: str) -> Optional[bool]:
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
                Pattern("6+ digits", r"\b\d{6,}+\b", 0.6),
                Pattern("letters+digits", r"\b[A-Z]{1,4}-?\d{6,}+[A-Z]?\b", 0.6),
            ],
        )

    def validate_result(self, pattern_text: str) -> Optional[bool]:
        if pattern_text[:1].isdigit() and (" " in pattern_text or "-" in pattern_text):
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
                r"(?<=\b(?:(?:MRN|M\.R\.N\.?|CRN)(?:[ \t]*(?:no\.?|num(?:ber)?|#|id))?"
                r"|(?:hosp(?:ital)?\.?|unit|case|patient|pt|RIS|PAS|NHS|accession|record"
                r"|reference|ref)[ \t]*(?:no\.?|num(?:ber)?|#|id|:))"
                r"[ \t]*(?:is|:|#|-|=)?[ \t]*)"
                r"[A-Z0-9]*\d[A-Z0-9]*(?:[ \-/][A-Z0-9]*\d[A-Z0-9]*)*+(?![.,]\d)",
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
                    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?[ \t]?\d"
                    r"[ABD-HJLNP-UW-Z]{2})\b",
                    0.6,
                )
            ],
        )

    def invalidate_result(self, pattern_text: str) -> Optional[bool]:
        # "b12 2nd" in lower case is vitamin B12 and an ordinal, not SW1A 1AA.
        tail = pattern_text[-3:]
        return pattern_text.islower() and tail[1:] in {"st", "nd", "rd", "th"}


def _extra_date_recognizer() -> PatternRecognizer:
    """Written dates ("12th March 1985", "March 12", "DOB 3/85") Presidio lacks."""
    sep = r"[ \t]*[\-/.,]?[ \t]*"
    patterns = [
        Pattern("d month y", rf"\b{_DAY}(?:[ \t]+of)?{sep}{_MONTHS}\.?(?:{sep}\d{{4}}|{sep}'?\d{{2}})?\b", 0.6),
        Pattern("month d y", rf"\b{_MONTHS}\.?[ \t]+{_DAY}(?:,?[ \t]*\d{{4}})?\b", 0.6),
        Pattern("month y", rf"\b{_MONTHS}\.?,?[ \t]+(?:19|20)\d{{2}}\b", 0.6),
        Pattern("d m y spaced", r"\b(?:0?[1-9]|[12]\d|3[01])[ \t](?:0?[1-9]|1[0-2])[ \t](?:19|20)\d{2}\b", 0.6),
        Pattern(
            "cued date",
            r"(?<=\b(?i:d\.?o\.?b\.?|date[ \t]+of[ \t]+birth|born(?:[ \t]+(?:on|in))?"
            r"|birthday(?:[ \t]+is)?|dated?)[ \t]*(?::|-|is|=)?[ \t]*)"
            r"\d{1,4}(?:[ \t]*[/.\-][ \t]*\d{1,4}){0,2}\b",
            0.6,
        ),
    ]
    # No IGNORECASE: the month pattern handles case itself (see "May").
    return PatternRecognizer(
        supported_entity="DATE_TIME",
        name="ExtraDateRecognizer",
        patterns=patterns,
        global_regex_flags=regex.DOTALL | regex.MULTILINE,
    )


def _phone_cue_recognizer() -> PatternRecognizer:
    """Short or oddly written numbers after a phone cue ("tel: 496 0000")."""
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="CuedPhoneRecognizer",
        patterns=[
            Pattern(
                "cued phone",
                r"(?<=\b(?:tel|telephone|phone|mobile|mob|landline|contact|ring|call"
                r"|text|whatsapp)\.?(?:[ \t]+(?:no\.?|number|on))?[ \t]*(?::|-|is|#)?[ \t]*)"
                r"\+?\(?\d[\d \-()]{4,}\d",
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
                Pattern("uk shape", r"\b0\d{2,4}+(?:[ \-]?\d{2,4}+){1,3}+\b", 0.5),
                Pattern("intl shape", r"\+\d{1,3}[ \-]?(?:\(0\)[ \-]?)?\d(?:[ \-]?\d){6,}+\b", 0.5),
            ],
        )

    def validate_result(self, pattern_text: str) -> Optional[bool]:
        digits = sum(c.isdigit() for c in pattern_text)
        return None if 10 <= digits <= 15 else False


# --- names -----------------------------------------------------------------

# Words that follow a cue but are not names ("the patient called me").
_STOPWORDS = frozenset(
    """a an the and or but if so to of in on at by for from with without into
    onto about over under after before again is are was were be been being am
    has have had do does did can could will would shall should may might must
    not no yes it its he she they them him her his hers their we us our you
    your i me my mine this that these those there here who whom whose what
    which when where why how all any some each every other another such own
    same than too very just also only even still back up down out off away
    said says say told tells asked asks wants wanted wanting wont won't can't
    cant don't dont didn't isn't wasn't keeps kept keeping is's filming
    filmed films recording recorded records record records photographing
    photographed photo photos photos video videos taking took takes take
    using used uses trying tried tries started starting start refused refuses
    refusing keeps came come comes went going gone got gets get getting
    security police staff radiographer radiographers doctor nurse consultant
    manager team department ward bay room reception in-patient outpatient
    patient patients relative relatives family member members visitor
    visitors someone somebody anyone anybody everyone nobody one two three
    because while during since until unless whether although though
    today tomorrow yesterday now then later earlier again ok okay please
    thanks thank hi hello dear sir madam mr mrs ms miss dr
    advice transport information experience safety services service liaison
    leaflet group consent privacy identification care mobile phone camera
    radiology imaging ct mri ultrasound x-ray xray scan scans a&e ed
    emergency theatre pharmacy pals it ig caldicott guardian switchboard
    word teams forms office anything something nothing everything
    nor however yet meanwhile afterwards unfortunately apparently as online
    publicly internally externally openly
    scanner scanners conditional safe unsafe compatible lead leads unit units
    suite controlled area zone local rules responsible person safety
    physicist detector detectors plate panel rooms coil magnet table bore
    contrast environment screening screen image images guided procedure
    report reporting list lists clinic appointment machine equipment system
    """.split()
)

# Unambiguous abbreviations: a lower-case word after these is still a name
# ("mrs smith").  Full words ("miss", "sister") need capitals both sides.
# Not in capitals: "MR", "DR", "MS", "MRS" are MR (magnetic resonance), digital
# radiography, multiple sclerosis and MR spectroscopy far more often.
_SHORT_TITLE = r"(?:Mr|mr|Mrs|mrs|Ms|ms|Mx|mx|Dr|dr|Prof|prof)"
_LONG_TITLE = r"(?:Miss|Mister|Doctor|Professor|Sir|Dame|Lady|Lord|Master|Rev|Revd|Fr|Sister|Nurse)"
_STRONG = (
    r"(?i:called|named|name[ \t]+is|name's|names?[ \t]*:|surname[ \t]*:?|forename[ \t]*:?"
    r"|first[ \t]+name[ \t]*:?|full[ \t]+name[ \t]*:?|known[ \t]+as)"
)
_WEAK = (
    r"(?i:patient|pt\.?|mum|mother|dad|father|husband|wife|partner|son|daughter"
    r"|brother|relative|carer|grandson|granddaughter|grandmother|grandfather)"
)
_CUE_RE = regex.compile(
    rf"\b(?:(?P<short>{_SHORT_TITLE})\.?|(?P<long>{_LONG_TITLE})\.?"
    rf"|(?P<strong>{_STRONG})|(?P<weak>{_WEAK}))[ \t]+"
)
# An initial ("J." / "J") or a word with letters, hyphens and apostrophes.
_TOKEN_RE = regex.compile(r"(?P<initial>\p{Lu}\.?(?=[ \t]))|(?P<word>\p{L}[\p{L}'’\-]*)")
_SEP_RE = regex.compile(r"[ \t]+|,[ \t]*")
_MAX_NAME_WORDS = 3


def _is_capitalised(word: str) -> bool:
    # "Smith", "McDonald", "O'Brien", "Zoë"; not "CT" or "CXR".
    return word[0].isupper() and any(c.islower() for c in word)


def _is_stopword(word: str) -> bool:
    low = word.lower()
    if low.endswith(("'s", "’s")):  # "patient's" is "patient"; "Hess" stays "Hess"
        low = low[:-2]
    return low in _STOPWORDS


def _name_spans(text: str) -> List[Span]:
    """Names after a title, "called/named …" or "pt/patient/relative …"."""
    spans: List[Span] = []
    for cue in _CUE_RE.finditer(text):
        kind = cue.lastgroup
        start = pos = cue.end()
        end: Optional[int] = None  # end of the last name word taken
        words = 0
        while words < _MAX_NAME_WORDS:
            tok = _TOKEN_RE.match(text, pos)
            if tok is None:
                break
            word = tok.group()
            if tok.lastgroup == "word":
                if _is_stopword(word):
                    break
                if _is_capitalised(word):
                    pass
                elif word.isupper() and len(word) > 1 and kind != "weak" and (
                    words == 0 or text[start:end].isupper()
                ):
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

# Characters that hide an identifier from a regex: zero-width ones go,
# Unicode spaces become spaces, full-width ASCII (ＭＲＮ, ＠) becomes ASCII.
_TRANSLATE = {ord(c): None for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad"}
_TRANSLATE.update({c: " " for c in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)})
_TRANSLATE.update({c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})
_OTHER_DIGIT_RE = regex.compile(r"(?![0-9])\d")  # Arabic-Indic, Devanagari …
_DIGIT_DASH_RE = regex.compile(r"(?<=\d)[\u2010-\u2015\u2212\ufe63](?=\d)")
_CONTROL_RE = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL_TOKEN_RE = regex.compile(r"\S*@\S*")
_MAX_EMAIL_LEN = 254  # RFC 5321 limit; longer "@" tokens are removed whole
# "1.5.16" is a guideline clause far more often than a date (a date of birth
# is written 01.05.16); clause numbers are kept.
_CLAUSE_RE = regex.compile(r"\d\.\d{1,2}\.\d{1,2}(?!\d)")
_UUID_RE = regex.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b")
_WINDOW, _OVERLAP = 2000, 300  # long input is scanned in overlapping windows


def _normalise(text: str) -> str:
    """Make identifiers written with odd characters look like plain ones.

    Full-width or non-Latin digits, non-breaking and zero-width spaces, soft
    hyphens and Unicode dashes between digits are all ways an NHS number can
    slip past a regex.  Other text is left as typed.  Lone surrogates and NULs
    cannot be stored in PostgreSQL, so they go too.
    """
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8").translate(_TRANSLATE)
        text = _OTHER_DIGIT_RE.sub(lambda m: str(unicodedata.decimal(m.group(), 0)), text)
        text = _DIGIT_DASH_RE.sub("-", text)
    return _CONTROL_RE.sub("", text)


class _Redactor:
    """Builds the recognisers once; ``redact`` runs on every message."""

    def __init__(self) -> None:
        self.nhs = NhsRecognizer()
        self.email = _OfflineEmailRecognizer()
        # "GB" is the phonenumbers region for the UK; "+"-prefixed numbers
        # from anywhere are still found.
        self.phone = PhoneRecognizer(supported_regions=("GB",), leniency=1)
        self.phone_cue = _phone_cue_recognizer()
        self.phone_shape = _PhoneShapeRecognizer()
        self.dates = DateRecognizer()
        self.extra_dates = _extra_date_recognizer()
        self.hospital = _HospitalNumberRecognizer()
        self.cued_number = _cued_number_recognizer()
        self.postcode = _PostcodeRecognizer()

    def spans(self, text: str) -> List[Span]:
        found: List[Span] = []
        if "@" in text:
            found.extend(self._email_spans(text))
        if len(text) <= _WINDOW:
            found.extend(self._window_spans(text))
            return found
        # Long input: overlapping windows keep the work linear (Presidio's
        # duplicate removal is quadratic in matches); any identifier shorter
        # than the overlap lies wholly inside one window.
        for offset in range(0, len(text), _WINDOW - _OVERLAP):
            chunk = text[offset : offset + _WINDOW]
            found.extend((s + offset, e + offset, t) for s, e, t in self._window_spans(chunk))
            if offset + _WINDOW >= len(text):
                break
        return found

    def _window_spans(self, text: str) -> List[Span]:
        found: List[Span] = []
        digits = sum(c.isdigit() for c in text)

        def run(recogniser, entity: str, min_score: float = 0.0) -> None:
            for r in recogniser.analyze(text, [entity], None):
                if r.score >= min_score and not _CLAUSE_RE.match(text, r.start, r.end):
                    found.append((r.start, r.end, r.entity_type))

        # Skip recognisers that cannot match: most questions have no digits.
        if digits >= 10:
            run(self.nhs, "UK_NHS")
        if digits >= 6:
            run(self.phone, "PHONE_NUMBER")
            run(self.phone_cue, "PHONE_NUMBER")
            run(self.phone_shape, "PHONE_NUMBER")
        if digits:
            run(self.dates, "DATE_TIME", _MIN_DATE_SCORE)
            run(self.hospital, "HOSPITAL_NUMBER")
            run(self.cued_number, "HOSPITAL_NUMBER")
            run(self.postcode, "UK_POSTCODE")
        run(self.extra_dates, "DATE_TIME")
        found.extend(_name_spans(text))
        return found

    def _email_spans(self, text: str) -> Iterable[Span]:
        # Run the e-mail pattern per "@" token: bounded work on long input.
        for tok in _EMAIL_TOKEN_RE.finditer(text):
            if len(tok.group()) > _MAX_EMAIL_LEN:
                yield (tok.start(), tok.end(), "EMAIL_ADDRESS")
                continue
            for r in self.email.analyze(tok.group(), ["EMAIL_ADDRESS"], None):
                yield (tok.start() + r.start, tok.start() + r.end, "EMAIL_ADDRESS")

    def redact(self, text: str) -> str:
        text = _normalise(text)
        spans = self.spans(text)
        if spans and "-" in text:
            # UUIDs (answer ids in slots and payloads) are ours, not a
            # patient's; an all-digit group in one looks like an MRN.
            ids = [m.span() for m in _UUID_RE.finditer(text)]
            spans = [sp for sp in spans if not any(a <= sp[0] and sp[1] <= b for a, b in ids)]
        if not spans:
            return text
        out, cursor = [], 0
        for start, end, entity in _merge(spans):
            out.append(text[cursor:start])
            out.append(PLACEHOLDERS[entity][0])
            cursor = end
        out.append(text[cursor:])
        return "".join(out)


def _merge(spans: List[Span]) -> List[Span]:
    """Union overlapping spans; the merged span keeps the top-priority type."""
    merged: List[List] = []
    for start, end, entity in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if PLACEHOLDERS[entity][1] > PLACEHOLDERS[last[2]][1]:
                last[2] = entity
        else:
            merged.append([start, end, entity])
    return [tuple(m) for m in merged]  # type: ignore[misc]


_REDACTOR: Optional[_Redactor] = None
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
_ORIGINAL_FACTORY: Optional[object] = None


def install_log_redaction(logger: Optional[logging.Logger] = None) -> None:
    """Redact all log output from now on.

    The filter goes on the given logger's (default: root) current handlers;
    the record factory is wrapped too, so handlers added later (Rasa sets up
    its own) and records on non-propagating loggers are also covered.
    Safe to call more than once.
    """
    global _ORIGINAL_FACTORY
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if _ORIGINAL_FACTORY is None:
        original = logging.getLogRecordFactory()
        _ORIGINAL_FACTORY = original

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = original(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)


def uninstall_log_redaction(logger: Optional[logging.Logger] = None) -> None:
    """Undo ``install_log_redaction`` (used by tests)."""
    global _ORIGINAL_FACTORY
    target = logger or logging.getLogger()
    for handler in target.handlers:
        handler.removeFilter(_FILTER)
    if _ORIGINAL_FACTORY is not None:
        logging.setLogRecordFactory(_ORIGINAL_FACTORY)  # type: ignore[arg-type]
        _ORIGINAL_FACTORY = None
