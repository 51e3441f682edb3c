"""Synthetic staff questions laced with patient identifiers.

``make_corpus(n, seed)`` returns ``[(text, [identifier, ...]), ...]``.  The
identifiers are given in plain form (ASCII digits, normal spaces) even when
the text writes them oddly (full-width digits, non-breaking or zero-width
spaces), so a scanner can look for what would be stored if redaction failed.
All values are fake: NHS numbers are synthetic with a valid mod-11 check digit,
phone numbers come from Ofcom's drama ranges, e-mail domains are example.*.
Reusable by the live-chat tests.

``make_hard_corpus()`` adds the forms the security review of 2026-11-23 found
kept (digits split by dots, slashes, line separators or invisible characters,
dotted dates of birth, surnames that are also words, look-alike letters …);
``make_full_corpus()`` is both, 500+ messages.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable

FIRST_NAMES = [
    "Olwen", "Tamsin", "Bartholomew", "Ifeoma", "Radomir", "Zoë", "Anwen", "Perpetua",
    "Gwilym", "Oluwaseun", "Ptolemy", "Siobhan", "Ezekiel", "Morwenna", "Thaddeus", "José",
]
SURNAMES = [
    "Quackenbush", "Featherstone", "Okonkwo-Bright", "Wojciechowski", "Abernethy",
    "MacGillivray", "O'Shaughnessy", "Pennyfeather", "Oyelaran", "Thistlewood",
    "Zbyszewski", "Cattermole", "Higginbottom", "Nwachukwu", "Ravenscroft", "Vanderpump",
]
# Surnames that are also words: caught after a title whatever the word.  The
# scanner looks for them capitalised only, as "ward 7" or "bay 3" elsewhere in
# the corpus is clinical text that must survive.
TITLED_SURNAMES = ["Ward", "May", "Still", "Bay", "Marsh", "Booth", "Frost", "Hall"]
WORD_SURNAMES = frozenset(TITLED_SURNAMES + ["Rose"])
MONTHS = ["January", "February", "March", "April", "June", "July", "August",
          "September", "October", "November", "December", "May"]
OUTWARDS = ["SW1A", "M1", "B33", "CR2", "DN55", "LS11", "EH1", "CF10", "BT7", "NE4", "G12", "PL4"]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

TEMPLATES = [
    "Mrs {surname}'s husband is filming the CT scan, NHS number {nhs}, what do I do?",
    "pt {first} {surname} DOB {dob} wants to record her mammogram on her phone",
    "A relative of patient called {first_l} {surname_l} recorded audio in MRI, MRN {mrn}",
    "Dad is videoing the 20 week scan for Mr {surname}, contact {phone}",
    "Patient {nhs} (born {dob}) posted a photo of the X-ray room online, see SoR-2019 5.10",
    "Can Ms {first} {surname} at {postcode} share the ultrasound video? email {email}",
    "Staff member filmed Mr {surname} in bay 3, hospital number {mrn}, DOB {dob}",
    "Husband of Mrs {surname} ({phone}) recorded the radiotherapy planning session",
    "Wife {first} keeps photographing the screen during CXR, NHS no {nhs}",
    "patient called {first} {surname}, {postcode}, wants a copy of the recording",
    "Is it OK for Dr {surname} to email {email} the image of pt with MRN {mrn}?",
    "The son of pt {first} {surname} live-streamed from ward 7, tel {phone}",
    "Mother of baby born {dob} wants to record in room 2, her number is {phone}",
    "nhs {nhs} and {nhs2}: two patients filmed each other in the waiting area",
    "Miss {surname} from {postcode} says her DOB is {dob}, can she film? SCoR point vi",
    "Patient {first} {surname} NHS {nhs_invalid} emailed me at {email}",
    "name: {surname}, {first}; MRN {mrn}; recorded audio of consent discussion",
    "Mr {surname_upper} rang {phone} after recording his scan, date of birth {dob}",
]


def nhs_check_digit(nine: str) -> int:
    """Mod-11 check digit; 10 means the nine digits cannot form a number."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
    check = 11 - total % 11
    return 0 if check == 11 else check


def make_nhs(rng: random.Random) -> str:
    while True:
        nine = str(rng.choice([4, 6, 7, 9])) + "".join(str(rng.randrange(10)) for _ in range(8))
        check = nhs_check_digit(nine)
        if check != 10:
            return nine + str(check)


def make_invalid_nhs(rng: random.Random) -> str:
    valid = make_nhs(rng)
    wrong = (int(valid[-1]) + rng.randrange(1, 10)) % 10
    return valid[:-1] + str(wrong)


def _nhs_text(rng: random.Random, digits: str) -> str:
    """An NHS number as people type it, sometimes with odd characters."""
    style = rng.randrange(7)
    a, b, c = digits[:3], digits[3:6], digits[6:]
    if style == 0:
        return digits
    if style == 1:
        return f"{a}-{b}-{c}"
    if style == 2:
        return f"{a}\u00a0{b}\u00a0{c}"  # non-breaking spaces
    if style == 3:
        return "".join(chr(0xFF10 + int(d)) if d.isdigit() else d for d in f"{a} {b} {c}")
    if style == 4:
        return f"{a}\u200b{b}\u200b{c}"  # zero-width spaces
    return f"{a} {b} {c}"


def make_dob(rng: random.Random) -> str:
    y, m, d = rng.randrange(1930, 2024), rng.randrange(1, 13), rng.randrange(1, 29)
    month = MONTHS[m - 1] if m != 12 else "December"
    forms = [
        f"{d:02d}/{m:02d}/{y}", f"{d}/{m}/{y}", f"{d:02d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}",
        f"{d} {month} {y}", f"{d}th {month[:3]} {y}", f"{month} {d}, {y}", f"{d:02d}-{m:02d}-{y}",
        f"{d:02d}/{m:02d}/{y % 100:02d}",
    ]
    return rng.choice(forms)


def make_phone(rng: random.Random) -> str:
    n = f"{rng.randrange(1000):03d}"
    return rng.choice([
        f"07700 900{n}", f"07700900{n}", f"0161 496 0{n}", f"020 7946 0{n}",
        f"+44 7700 900{n}", f"0113 496 0{n}", f"(0117) 496 0{n}",
    ])


def make_postcode(rng: random.Random) -> str:
    inward = f"{rng.randrange(10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
    pc = f"{rng.choice(OUTWARDS)} {inward}"
    return pc.lower() if rng.random() < 0.2 else pc


def make_mrn(rng: random.Random) -> str:
    digits = lambda k: "".join(str(rng.randrange(10)) for _ in range(k))  # noqa: E731
    return rng.choice([f"RX{digits(7)}", f"K{digits(6)}", digits(8), f"H{digits(7)}A", digits(7)])


def make_email(rng: random.Random, first: str, surname: str) -> str:
    local = re.sub(r"[^a-z]", "", f"{first}.{surname}".lower().replace("ë", "e").replace("é", "e"))
    return f"{local[:8]}.{rng.randrange(100)}@example.{rng.choice(['org', 'com', 'nhs.uk', 'co.uk'])}"


def make_corpus(n: int = 200, seed: int = 1234) -> list[tuple[str, list[str]]]:
    """``n`` questions (cycling through every template) with their identifiers."""
    rng = random.Random(seed)
    corpus: list[tuple[str, list[str]]] = []
    for i in range(n):
        template = TEMPLATES[i % len(TEMPLATES)]
        first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        nhs, nhs2, bad = make_nhs(rng), make_nhs(rng), make_invalid_nhs(rng)
        values = {
            "first": first, "surname": surname, "first_l": first.lower(),
            "surname_l": surname.lower(), "surname_upper": surname.upper(),
            "nhs": _nhs_text(rng, nhs), "nhs2": _nhs_text(rng, nhs2),
            "nhs_invalid": f"{bad[:3]} {bad[3:6]} {bad[6:]}",
            "dob": make_dob(rng), "phone": make_phone(rng), "postcode": make_postcode(rng),
            "mrn": make_mrn(rng), "email": make_email(rng, first, surname),
        }
        plain = dict(values, nhs=nhs, nhs2=nhs2, nhs_invalid=bad)
        used = re.findall(r"{(\w+)}", template)
        text = template.format(**values)
        identifiers = []
        for key in used:
            if key in ("first_l", "surname_l", "surname_upper"):
                key = key.split("_")[0]
            identifiers.append(plain[key])
        corpus.append((text, sorted(set(identifiers))))
    return corpus


# Up to three characters that hide nothing from a reader: punctuation, spaces
# and invisible characters, also as JSON or Python escapes ("\u2028", "\t").
_GAP = r"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\[tnrfvb]|[^A-Za-z0-9]){0,3}"
# Start of a word, also straight after an escape ("Mr\\nWard" in stored JSON).
_START = r"(?:(?<![A-Za-z0-9])|(?<=\\[tnrfvb])|(?<=\\u[0-9a-fA-F]{4})|(?<=\\x[0-9a-fA-F]{2}))"


def identifier_pattern(identifier: str) -> re.Pattern[str]:
    """Regex finding ``identifier`` as stored if redaction had failed.

    Case-insensitive, not inside a longer word or number, also as JSON would
    escape it; long numbers with any spacing, punctuation or escapes between
    digits, and followed by anything but a digit ("+447700900123x");
    postcodes with any gap between their halves.  ``WORD_SURNAMES`` match
    capitalised only.
    """
    forms = [re.escape(identifier)]
    escaped = identifier.encode("ascii", "backslashreplace").decode().replace("\\x", "\\u00")
    if escaped != identifier:
        forms.append(re.escape(escaped))
    plain = rf"{_START}(?<!\d\.)(?:{'|'.join(forms)})(?![A-Za-z0-9])(?!\.\d)"
    digits = re.sub(r"\D", "", identifier)
    if len(digits) >= 8 and not re.search(r"[A-Za-z]", identifier):
        plain += r"|(?<![0-9])(?<!\d\.)" + _GAP.join(digits) + r"(?![0-9])(?!\.\d)"
    postcode = re.fullmatch(r"([A-Za-z0-9]+) ([0-9][A-Za-z]{2})", identifier)
    if postcode:
        plain += rf"|{_START}{re.escape(postcode[1])}{_GAP}{re.escape(postcode[2])}(?![A-Za-z0-9])"
    return re.compile(plain, 0 if identifier in WORD_SURNAMES else re.IGNORECASE)


Scanner = Callable[[str], list[str]]


_STRIP_RE = re.compile(r"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\[tnrfvb]|[^A-Za-z0-9]")


def _needles(identifier: str) -> list[str]:
    """Strings one of which must be in the text (lower-cased, gaps stripped)
    wherever ``identifier_pattern`` matches: a cheap test before the regex."""
    escaped = identifier.encode("ascii", "backslashreplace").decode().replace("\\x", "\\u00")
    return sorted({_STRIP_RE.sub("", form).lower() for form in (identifier, escaped)} - {""})


def make_scanner(identifiers: list[str]) -> Scanner:
    """Function returning the identifiers found in a piece of text."""
    patterns = [(i, identifier_pattern(i), _needles(i)) for i in sorted(set(identifiers))]

    def scan(text: str) -> list[str]:
        stripped = _STRIP_RE.sub("", text).lower()
        return [i for i, p, needles in patterns
                if (not needles or any(n in stripped for n in needles)) and p.search(text)]

    return scan


# --- the review's forms, combinatorially -------------------------------------------------

# Frames avoid every word used as a surname below (the scanner ignores case).
HARD_FRAMES = [
    "{x} is filming the CT scan, what do I do?",
    "Relative of {x} recorded audio in MRI, SoR-2019 5.10",
    "Can I share the video? {x}",
    "Staff member photographed {x} in room 3 at 10:30",
    "A visitor posted a clip online: {x} (see 4.2)",
    "Husband keeps recording the ultrasound, {x}, dose 2.5 mGy",
    "{x}\nwants a copy of the footage from the radiotherapy planning session",
    "log line: {x}",
]
FIRST_FOR_CUES = ["Olwen", "Gwilym", "Tamsin", "Ezekiel"]
# What people (and copy-paste, and log encoders) put between digit groups.
DIGIT_SEPARATORS = [
    ".", "/", "_", "  ", "\t", "\n", "\r\n", "\u2028", "\u0085", "\u180e", "\u200e", "\u200f", "\u2063",
    "\u061c", "\u200b", "\u200d", "\ufeff", " . ", "\u00b7", " / ", "\u00a0\u00a0",
]


def _hard_forms(rng: random.Random) -> list[tuple[str, list[str]]]:
    """One (text, identifiers) per identifier form; values drawn from ``rng``."""
    forms: list[tuple[str, list[str]]] = []
    for sep in DIGIT_SEPARATORS:
        nhs = make_nhs(rng)
        written = f"{nhs[:3]}{sep}{nhs[3:6]}{sep}{nhs[6:]}"
        forms += [(f"NHS {written}", [nhs]), (f"NHS no {written}", [nhs]), (written, [nhs])]
    for cue, number in [("MRN", "123.456.789"), ("MRN:", "1234.5678"), ("hospital no", "20.481.234"),
                        ("NHS no", None), ("unit no.", "2022/123/456")]:
        value = number or ".".join((lambda n: (n[:3], n[3:6], n[6:]))(make_nhs(rng)))
        forms.append((f"{cue} {value}", [value]))
    bad = make_invalid_nhs(rng)
    forms.append((f"NHS {bad[:3]}.{bad[3:6]}.{bad[6:]}", [bad]))
    for cue in ["DOB", "DOB:", "born", "d.o.b.", "date of birth"]:
        d, m, y = rng.randrange(1, 10), rng.randrange(1, 13), rng.randrange(100)
        value = f"{d}.{m}.{y:02d}"
        forms.append((f"{cue} {value}", [value]))
    for surname in TITLED_SURNAMES:
        forms += [(f"Mrs {surname}", [surname]), (f"Mr {surname}", [surname]),
                  (f"Mr\n{surname}", [surname]), (f"Mrs\u200b{surname}", [surname]),
                  (f"\u041crs {surname}", [surname]),  # Cyrillic Em
                  (f"\u039cr {surname}", [surname])]  # Greek Mu
    forms.append(("Mrs Rose Ward", ["Rose", "Ward"]))
    for first, surname in zip(FIRST_FOR_CUES, SURNAMES):
        forms += [(f"patient: {first} {surname}", [first, surname]), (f"Name - {first} {surname}", [first, surname]),
                  (f"Pt name {first} {surname}", [first, surname]), (f"name:{surname}", [surname])]
    n = f"{rng.randrange(1000):03d}"
    forms += [(f"07700.900.{n}", [f"07700900{n}"]), (f"+447700900{n}x", [f"447700900{n}"]),
              (f"tel 07700\u2028900\u2028{n}", [f"07700900{n}"])]
    for outward in ["SW1A", "M1", "CR2", "LS11"]:
        inward = f"{rng.randrange(10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
        forms += [(f"{outward}-{inward}", [f"{outward} {inward}"]),
                  (f"{outward.lower()}  {inward.lower()}", [f"{outward} {inward}"])]
    for user in ["john", "olwen.m", "t.okonkwo"]:
        forms += [(f"{user}\u200b@example.org", [f"{user}@example.org"]),
                  (f"{user}@exam\u2060ple.com", [f"{user}@example.com"])]
    return forms


def make_hard_corpus(seed: int = 4321, frames_per_form: int = 2) -> list[tuple[str, list[str]]]:
    """Every hard form in ``frames_per_form`` different sentences (300 messages)."""
    rng = random.Random(seed)
    corpus: list[tuple[str, list[str]]] = []
    for round_ in range(frames_per_form):
        for i, (form, ids) in enumerate(_hard_forms(rng)):
            frame = HARD_FRAMES[(i + round_ * 3) % len(HARD_FRAMES)]
            corpus.append((frame.format(x=form), sorted(set(ids))))
    return corpus


def make_full_corpus(seed: int = 20240605) -> list[tuple[str, list[str]]]:
    """The random corpus (240) and the review's hard forms: 500+ messages."""
    return make_corpus(240, seed=seed) + make_hard_corpus(seed + 1)
