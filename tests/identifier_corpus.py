"""Synthetic staff questions laced with patient identifiers.

``make_corpus(n, seed)`` returns ``[(text, [identifier, ...]), ...]``.  The
identifiers are given in plain form (ASCII digits, normal spaces) even when
the text writes them oddly (full-width digits, non-breaking or zero-width
spaces), so a scanner can look for what would be stored if redaction failed.
All values are fake: NHS numbers are synthetic with a valid mod-11 check digit,
phone numbers come from Ofcom's drama ranges, e-mail domains are example.*.
Reusable by the live-chat tests.
"""
from __future__ import annotations

import random
import re
from typing import Callable, List, Tuple

FIRST_NAMES = [
    "Olwen", "Tamsin", "Bartholomew", "Ifeoma", "Radomir", "Zoë", "Anwen", "Perpetua",
    "Gwilym", "Oluwaseun", "Ptolemy", "Siobhan", "Ezekiel", "Morwenna", "Thaddeus", "José",
]
SURNAMES = [
    "Quackenbush", "Featherstone", "Okonkwo-Bright", "Wojciechowski", "Abernethy",
    "MacGillivray", "O'Shaughnessy", "Pennyfeather", "Oyelaran", "Thistlewood",
    "Zbyszewski", "Cattermole", "Higginbottom", "Nwachukwu", "Ravenscroft", "Vanderpump",
]
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


def make_corpus(n: int = 200, seed: int = 1234) -> List[Tuple[str, List[str]]]:
    """``n`` questions (cycling through every template) with their identifiers."""
    rng = random.Random(seed)
    corpus: List[Tuple[str, List[str]]] = []
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


def identifier_pattern(identifier: str) -> "re.Pattern[str]":
    """Regex finding ``identifier`` as stored if redaction had failed.

    Case-insensitive, not inside a longer word or number, also as JSON would
    escape it, and long numbers with any spacing or punctuation between digits.
    """
    forms = [re.escape(identifier)]
    escaped = identifier.encode("ascii", "backslashreplace").decode().replace("\\x", "\\u00")
    if escaped != identifier:
        forms.append(re.escape(escaped))
    digits = re.sub(r"\D", "", identifier)
    if len(digits) >= 8 and not re.search(r"[A-Za-z]", identifier):
        forms.append(r"[^A-Za-z0-9]{0,3}".join(digits))
    if re.fullmatch(r"[A-Za-z0-9]+ [0-9][A-Za-z]{2}", identifier):  # postcode
        forms.append(re.escape(identifier.replace(" ", "")))
    return re.compile(
        rf"(?<![A-Za-z0-9])(?<!\d\.)(?:{'|'.join(forms)})(?![A-Za-z0-9])(?!\.\d)", re.IGNORECASE
    )


Scanner = Callable[[str], List[str]]


def make_scanner(identifiers: List[str]) -> Scanner:
    """Function returning the identifiers found in a piece of text."""
    patterns = [(i, identifier_pattern(i)) for i in sorted(set(identifiers))]
    return lambda text: [i for i, p in patterns if p.search(text)]
