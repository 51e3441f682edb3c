"""How fast the core answers, and how long it takes to load.

    .venv/bin/python bench/bench_answers.py

Prints load time, and per-answer latency (median and 95th percentile) over the
held-out questions, each answered cold (no text remembered from a previous
answer). Figures only: nothing here is asserted by the tests.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answering.engine import Assistant  # noqa: E402
from bot.evaluation import load_heldout  # noqa: E402


def main() -> None:
    started = time.perf_counter()
    assistant = Assistant()
    loaded = time.perf_counter() - started
    cases = load_heldout(Path(__file__).resolve().parent.parent / "tests" / "data" / "heldout.yml")
    timings = []
    for _ in range(3):
        for case in cases:
            # every answer starts cold, as a new message does: the per-answer caches of parsed
            # texts and sentence vectors would otherwise serve the second and third passes
            assistant.analyser.extractor.recent.clear()
            assistant.analyser.encoder.recent.clear()
            t = time.perf_counter()
            assistant.ask(case.text)
            timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    print(
        f"load: {loaded:.2f} s; {len(timings)} answers: median {statistics.median(timings):.1f} ms, "
        f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
