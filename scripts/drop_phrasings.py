"""Drop training examples from data/nlu/ by a piece of their text, with their metadata.

For what tests/test_heldout_honesty.py flags: a freshly written phrasing that shares a
run of words with a held-out text. An example written with a ``metadata:`` block takes
that block with it (a block left behind repeats a key, which Rasa's loader refuses).

    .venv/bin/python scripts/drop_phrasings.py "a member was asked by" "if he can take a"

Each piece must match exactly one example, so nothing else goes by accident.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import NLU_DATA as NLU  # noqa: E402  (the folder the classifier trains from)


def _entry_end(lines: list[str], start: int) -> int:
    """The line after the example that starts at ``start`` (its metadata lines are indented deeper)."""
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and lines[end].strip() and len(lines[end]) - len(lines[end].lstrip()) > indent:
        end += 1
    return end


def drop(pieces: list[str]) -> list[str]:
    found: dict[str, list[tuple[Path, int]]] = {piece: [] for piece in pieces}
    files = {path: path.read_text(encoding="utf-8").split("\n") for path in sorted(NLU.rglob("*.yml"))}
    for path, lines in files.items():
        for n, line in enumerate(lines):
            if line.lstrip().startswith("- "):
                for piece in pieces:
                    if piece.lower() in line.lower():
                        found[piece].append((path, n))
    problems = [f"{piece!r} matches {len(hits)} examples" for piece, hits in found.items() if len(hits) != 1]
    if problems:
        raise SystemExit("nothing dropped: " + "; ".join(problems))
    dropped = []
    for path in {p for hits in found.values() for p, _ in hits}:
        lines = files[path]
        starts = sorted((n for hits in found.values() for p, n in hits if p == path), reverse=True)
        for start in starts:
            end = _entry_end(lines, start)
            dropped.append(f"{path.relative_to(NLU)}: {lines[start].strip()[:90]}")
            del lines[start:end]
        path.write_text("\n".join(lines), encoding="utf-8")
    return dropped


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for line in drop(sys.argv[1:]):
        print("dropped", line)
