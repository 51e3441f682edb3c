"""How fast is ``redact``?  It runs on every message, so it must stay cheap.

    .venv/bin/python bench/bench_redaction.py [--n 2000] [--repeat 5]

Prints messages/second for the identifier-laced test corpus and for plain
clinical questions (the common case), then the time for 100 KB of each
adversarial input from the security review (these were quadratic once: a
100 KB "a...a @" took 35 s).  No pass/fail threshold.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]  # spaCy's thinc would load it

from identifier_corpus import make_corpus  # noqa: E402

from bot.redaction import redact  # noqa: E402

ADVERSARIAL = {
    "a...a @": "a" * 100_000 + " @",
    "1.1.1.": "1." * 50_000,
    "Mr Mr Mr": "Mr " * 33_000,
    "1 1 1 (spaced digits)": "1 " * 50_000,
    "1/1/1/": "1/" * 50_000,
    "DOB 3.DOB 3.": "DOB 3." * 16_000,
    "9\\u00a09\\u00a0 (escapes)": "9\\u00a0" * 14_000,
    "clinical text": ("A relative is filming the scan in room 2, SoR-2019 5.10. " * 1800)[:100_000],
}

PLAIN = [
    "Can a relative film the 20 week scan?",
    "A patient is recording audio of the consultation in CT, what do I say?",
    "Someone posted a video of the X-ray room on social media, SoR-2019 5.10?",
    "Is covert recording by a patient lawful in radiotherapy? SCoR point vi",
    "Dad wants to take a photo of the ultrasound screen in room 2",
]


def rate(messages: list[str], repeat: int) -> tuple[float, float]:
    """Median and best messages/second over ``repeat`` passes."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for text in messages:
            redact(text)
        rates.append(len(messages) / (time.perf_counter() - start))
    return statistics.median(rates), max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="corpus size")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    corpus = [text for text, _ in make_corpus(args.n, seed=1)]
    plain = (PLAIN * (args.n // len(PLAIN) + 1))[: args.n]
    start = time.perf_counter()
    redact("warm up: build the recognisers once")
    print(f"first call (builds recognisers): {1000 * (time.perf_counter() - start):.0f} ms")
    for label, messages in (("identifier-laced corpus", corpus), ("plain clinical questions", plain)):
        median, best = rate(messages, args.repeat)
        mean_len = sum(map(len, messages)) / len(messages)
        print(f"{label:26s} {median:8.0f} msg/s median, {best:8.0f} best "
              f"({1000 / median:.2f} ms/msg, {mean_len:.0f} chars avg, n={len(messages)})")
    for label, text in ADVERSARIAL.items():
        start = time.perf_counter()
        redact(text)
        print(f"100 KB {label:26s} {time.perf_counter() - start:8.3f} s ({len(text):,} chars)")


if __name__ == "__main__":
    main()
