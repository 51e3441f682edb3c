"""Reading knowledge and policy YAML without trusting it.

A department's policy file comes from outside the project, so reading it must
never expand an alias bomb ("billion laughs") or raise a traceback. Files are
size-limited, nesting depth is bounded, and the number of values the file
expands to (aliases counted in full) is capped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 2_000_000  # the largest real file is about 40 kB
MAX_DEPTH = 50  # real files nest about 6 deep
MAX_NODES = 200_000  # values after expanding aliases; the largest real file has about 5,000


class YamlRefused(ValueError):
    """The file cannot be used; the message says why in one line."""


# libyaml when present: the knowledge base is read on every start and in many tests.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_events(text: str) -> None:
    """Walk the parse events once: bound nesting, and count what aliases expand to.

    An alias costs the full size of the node it repeats, so "billion laughs"
    (each level repeating the one below ten times) is refused before anything
    is built; ordinary repeated values, as a YAML dumper writes them, cost little.
    """
    sizes: dict[str, int] = {}
    stack: list[list] = []  # [anchor, size so far] for each open mapping or sequence
    total = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep (line {event.start_mark.line + 1})")
            stack.append([event.anchor, 1])
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        else:
            continue
        if anchor:
            sizes[anchor] = size
        if stack:
            stack[-1][1] += size
        else:
            total += size
        if total > MAX_NODES or (stack and stack[-1][1] > MAX_NODES):
            raise YamlRefused(
                f"expands to more than {MAX_NODES} values after aliases (an alias bomb?) "
                f"at line {event.start_mark.line + 1}; write the values out"
            )


def loads(text: str) -> Any:
    """Parse YAML text safely; raise :class:`YamlRefused` with a one-line reason."""
    try:
        _check_events(text)
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader, after the checks above)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise YamlRefused(f"malformed YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep") from None


def read(path: Path) -> Any:
    """Read and parse one file; raise :class:`YamlRefused` for anything unusable."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise YamlRefused(f"file is too large ({size} bytes; the limit is {MAX_BYTES})")
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlRefused(f"cannot read file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlRefused(f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise YamlRefused("not a text file (it contains NUL bytes)")
    return loads(text)
