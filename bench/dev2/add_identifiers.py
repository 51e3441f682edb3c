"""Write the development situations again with a patient identifier typed in, as staff do:
a title and surname with an NHS, hospital or MRN number or a date of birth, put before the
message, after "the patient", or at the end. Seeded, so the file is the same every time.

    .venv/bin/python bench/dev2/add_identifiers.py /tmp/with_ids.yml
    .venv/bin/python -m bot eval /tmp/with_ids.yml
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TITLES = ["Mrs", "Mr", "Ms", "Miss"]
SURNAMES = ["Patel", "Jones", "Okafor", "Nowak", "Campbell", "Hughes", "Begum", "Kowalski"]
NUMBERS = ["NHS 943 476 5919", "nhs no 9434765919", "DOB 12/03/1956", "dob 3.4.87", "hosp no RX1234567", "MRN K123456"]
PATIENT = re.compile(r"\b(the patient|the pt|patient|pt)\b", re.I)


def with_identifier(text: str, rng: random.Random) -> str:
    name = f"{rng.choice(TITLES)} {rng.choice(SURNAMES)}"
    where = rng.randrange(3)
    m = PATIENT.search(text)
    if where == 0 and m:
        return f"{text[: m.start()]}{m.group(0)} {name} ({rng.choice(NUMBERS)}){text[m.end() :]}"
    if where == 1:
        return f"Re {name}, {rng.choice(NUMBERS)} - {text}"
    return f"{text.rstrip()} (pt is {name}, {rng.choice(NUMBERS)})"


def main(out: Path) -> None:
    rng = random.Random(1)
    cases = []
    for name in ("situations_a.yml", "situations_b.yml", "hard.yml"):
        for e in yaml.safe_load((HERE / name).read_text(encoding="utf-8"))["situations"]:
            cases.append({"text": with_identifier(e["text"], rng), "scenario": e["scenario"], "class": e["class"]})
    out.write_text(yaml.safe_dump({"situations": cases}, sort_keys=False, width=300, allow_unicode=True), encoding="utf-8")
    print(f"{len(cases)} situations written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
