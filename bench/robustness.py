"""Does the answer survive the ways staff really type? A metamorphic check on the development sets.

Each development situation that is answered right as written is rewritten in ways that keep its
situation (issue 17's classes): wrapped in worry, framed by a union rep, with other family words,
in ward shorthand, with typos, and padded with a long preamble. A robust assistant gives the same
right answer to the rewrite. Nothing in tests/data is read; these sets are never trained on.

    .venv/bin/python bench/robustness.py                 # counts per rewrite
    .venv/bin/python bench/robustness.py --misses FILE   # and every broken case, original and rewrite
    .venv/bin/python bench/robustness.py --reported 0.3 0.5 0.8
        # the fact weight for a rep's member advice: rep rewrites, and tests/data/rep_questions.yml's verdicts

Seeded: the same rewrites every run.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answering import member_advice  # noqa: E402
from bot.answering.engine import Assistant  # noqa: E402
from bot.evaluation import Case, evaluate  # noqa: E402

HERE = Path(__file__).resolve().parent
DEV_FILES = [
    "dev2/situations_a.yml",
    "dev2/situations_b.yml",
    "dev3/situations.yml",
    "dev4/situations.yml",
    "dev5/situations.yml",
]

WORRY_BEFORE = [
    "I feel awful about this and I keep going over it.",
    "Sorry if this is a stupid question, I'm quite shaken.",
    "Honestly I'm so anxious about this, I've been up half the night.",
    "I'm new and really worried I handled this badly.",
]
WORRY_AFTER = [
    "I can't stop thinking about where it will end up.",
    "I just want to know I haven't done something wrong.",
    "Please tell me what I should have done, I'm really upset.",
    "My manager is off today and I don't know who else to ask.",
]
REP_FRAMES = [
    ("One of my members has come to me about this: ", " What is her position?"),
    ("I'm the union rep. A member told me ", " Can you set out her rights and duties?"),
    ("Staff-side query from a member: ", ""),
]
PREAMBLES = [
    "It was a really busy list this morning, two staff off sick and we were running an hour late. ",
    "Quick one from the CT department on a late shift, we had a trauma in and everything was backed up. ",
]
FAMILY = {
    "mum": "nan",
    "mother": "aunt",
    "dad": "stepdad",
    "father": "stepdad",
    "husband": "partner",
    "wife": "partner",
    "daughter": "niece",
    "son": "grandson",
    "sister": "cousin",
    "brother": "brother-in-law",
    "grandmother": "great-aunt",
    "grandad": "uncle",
    "granddaughter": "niece",
}
SHORTHAND = [
    (r"\bpatients\b", "pts"),
    (r"\bpatient\b", "pt"),
    (r"\bx-?rays?\b", "xr"),
    (r"\bdepartment\b", "dept"),
    (r"\bwith\b", "w/"),
    (r"\bbecause\b", "bc"),
    (r"\bultrasound\b", "US"),
    (r"\bradiographer\b", "rad"),
    (r"\bmobile phone\b", "mob"),
    (r"\bbefore\b", "b4"),
    (r"\band\b", "&"),
    (r"\bsomeone\b", "some1"),
]


def worried(text: str, rng: random.Random) -> str:
    return f"{rng.choice(WORRY_BEFORE)} {text} {rng.choice(WORRY_AFTER)}"


def rep(text: str, rng: random.Random) -> str:
    before, after = rng.choice(REP_FRAMES)
    return f"{before}{text}{after}"


def family(text: str, rng: random.Random) -> str | None:
    pattern = re.compile(r"\b(" + "|".join(FAMILY) + r")\b", re.I)
    if not pattern.search(text):
        return None
    return pattern.sub(lambda m: FAMILY[m.group(1).lower()], text)


def shorthand(text: str, rng: random.Random) -> str | None:
    out = text
    for pattern, short in SHORTHAND:
        out = re.sub(pattern, short, out, flags=re.I)
    out = out.lower().replace(", ", " ").rstrip(".")
    return out if out != text else None


def typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    for i in rng.sample(long, min(2, len(long))):
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
    return " ".join(words)


def padded(text: str, rng: random.Random) -> str:
    return rng.choice(PREAMBLES) + text


REWRITES: dict[str, Callable[[str, random.Random], str | None]] = {
    "worried": worried,
    "rep": rep,
    "family": family,
    "shorthand": shorthand,
    "typos": typos,
    "padded": padded,
}


def load_cases() -> list[Case]:
    cases = []
    for name in DEV_FILES:
        for e in yaml.safe_load((HERE / name).read_text(encoding="utf-8"))["situations"]:
            cases.append(Case(e["text"], e["scenario"], "situations", klass=e.get("class") or "situations"))
    return cases


def judged(assistant: Assistant, case: Case) -> tuple[bool, str, str]:
    """(right, expected, got) as `python -m bot eval` judges the one case."""
    errors = evaluate(assistant, [case]).errors
    return (True, "", "") if not errors else (False, errors[0]["expected"], errors[0]["got"])


def compare_reported(assistant: Assistant, cases: list[Case], weights: list[float]) -> None:
    questions = yaml.safe_load((HERE.parent / "tests/data/rep_questions.yml").read_text(encoding="utf-8"))["questions"]
    rng = random.Random(7)
    rewrites = [Case(rep(c.text, rng), c.scenario, "situations", klass="rep") for c in cases]
    for weight in weights:
        member_advice.REPORTED_FACT_WEIGHT = weight  # imported there by name, so set where it is read
        kept = sum(judged(assistant, c)[0] for c in rewrites)
        verdicts = 0
        for q in questions:
            a = assistant.ask(q["text"])
            verdicts += a.text.startswith(q["verdict"] + ": ") and all(c in a.citations for c in q["must_cite"])
        print(
            f"  reported {weight}: rep rewrites right {kept}/{len(rewrites)}; "
            f"rep questions with the expected verdict and clauses {verdicts}/{len(questions)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", type=Path, help="write every broken case here")
    parser.add_argument("--only", nargs="*", default=list(REWRITES), choices=list(REWRITES))
    parser.add_argument("--reported", type=float, nargs="+", help="member advice's fact weights to compare")
    parser.add_argument("--no-spelling", action="store_true", help="read messages as typed (no spelling step)")
    args = parser.parse_args()
    assistant = Assistant()
    if args.no_spelling:
        assistant.analyser.speller.correct = lambda text: text  # type: ignore[method-assign]
    cases = load_cases()
    if args.reported:
        compare_reported(assistant, cases, args.reported)
        return
    right = [c for c in cases if judged(assistant, c)[0]]
    print(f"development situations right as written: {len(right)}/{len(cases)}")
    misses: list[str] = []
    for name in args.only:
        rng = random.Random(7)
        kept = tried = 0
        for case in right:
            new = REWRITES[name](case.text, rng)
            if new is None:
                continue
            klass = "rep" if name == "rep" else case.klass
            tried += 1
            ok, expected, got = judged(assistant, Case(new, case.scenario, "situations", klass=klass))
            kept += ok
            if not ok:
                misses.append(f"[{name}] {expected} <- {got}\n    was: {case.text}\n    now: {new}")
        print(f"  {name:10} still right {kept}/{tried} ({100 * kept / max(tried, 1):.1f} %)")
    if args.misses:
        args.misses.write_text("\n".join(misses) + "\n", encoding="utf-8")
        print(f"{len(misses)} broken cases written to {args.misses}")


if __name__ == "__main__":
    main()
