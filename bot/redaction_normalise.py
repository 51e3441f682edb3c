"""The text the identifier patterns see, and a map back to the text as typed.

Identifiers hide from regular expressions behind characters a reader does not
notice: repeated or exotic spaces and line breaks between digits, zero-width
and direction marks (Unicode category Cf), full-width, circled or non-Latin
digits, Cyrillic or Greek letters that look like Latin ones ("Мr"), and, in
log lines, JSON or Python escapes (``\\u00a0``, ``\\t``, ``\\u2019``).

``normalise_for_redaction`` undoes all of these for matching:

* every run of whitespace, line/paragraph separators, format and control
  characters becomes one space if it holds any space-like character, and
  nothing otherwise (a zero-width space inside ``john\\u200b@example.com``
  must not split the address);
* ``\\uXXXX``/``\\xXX``/``\\t``-style escapes count as the character they
  stand for;
* every other character is folded one-for-one: any digit to ASCII, dashes to
  ``-``, look-alike letters to Latin, and compatibility forms (full-width,
  mathematical letters) to their plain character.

The fold never changes what is stored: :class:`Normalised` maps a span found
in the normalised text back to the characters as typed, and only those are
replaced.  So newlines in a traceback or Cyrillic words in a message survive,
while an identifier written with any of the tricks above is removed whole.
The cost is linear: one regular-expression scan, one ``str.translate`` and,
only for text that needs it, one pass over the odd runs.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right

import regex

__all__ = ["Normalised", "normalise", "normalise_for_redaction"]

# Plain text (printable ASCII, single spaces, no backslash) needs no work.
_NEEDS_WORK_RE = regex.compile(r"[^\x21-\x7e ]|  |\\")
# Characters that separate nothing a reader sees.
_GAP = r"[\s\p{Z}\p{Cf}\p{Cc}\p{Cs}]"
# A run of them, but not a lone plain space (the common case stays fast).
_GAP_RE = regex.compile(rf"(?! (?!{_GAP})){_GAP}+|(?<=\p{{N}})\p{{M}}+")
_ESCAPE = r"\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[tnrfvb])"
# With escapes about, lone spaces are matched too, so "943 \u00a0476" merges.
_GAP_OR_ESCAPE_RE = regex.compile(rf"(?P<esc>{_ESCAPE})|(?P<gap>{_GAP}+|(?<=\p{{N}})\p{{M}}+)")
_SPACE_RE = regex.compile(r"[\s\p{Z}]")
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v", "b": "\b"}

# Letters from other scripts drawn like Latin ones; enough for the cue words
# ("Mr", "Mrs", "DOB", "NHS", "MRN", "patient") and the names after them.
_CONFUSABLES = dict(
    zip(
        "АВЕЅІЈКМНОРСТХУаеіјорсухѕԁһԛԝѵӏѡ"  # Cyrillic
        "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοινρυκ"  # Greek
        "ıɑɡօսⅰⅼⅽⅾⅿ",  # Latin, Armenian, Roman-numeral letters
        "ABESIJKMHOPCTXYaeijopcyxsdhqwvlwABEZHIKMNOPTYXoivpukiagouilcdm",
    )
)
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2043"
_DOTS = "\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff0e\u3002"
_SLASHES = "\u2044\u2215\u29f8\uff0f"


def _fold_char(c: str) -> str:
    """One character as the patterns should see it (always one character)."""
    d = unicodedata.digit(c, None)
    if d is not None:
        return str(d)  # Arabic-Indic, full-width, superscript, circled …
    if c in _CONFUSABLES:
        return _CONFUSABLES[c]
    if c in _DASHES:
        return "-"
    if c in _DOTS:
        return "."
    if c in _SLASHES:
        return "/"
    folded = unicodedata.normalize("NFKC", c)
    if len(folded) == 1 and not _SPACE_RE.match(folded):
        return _CONFUSABLES.get(folded, folded)
    return c


class _Fold(dict):
    """``str.translate`` table computed on first sight of each character."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_char(chr(codepoint))
        self[codepoint] = folded
        return folded


_FOLD = _Fold({c: c for c in range(128)})


_GAP_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc", "Cs"})


def _is_gap_char(c: str) -> bool:
    return c.isspace() or unicodedata.category(c) in _GAP_CATEGORIES


class Normalised:
    """Normalised text plus the map from its positions to the original's.

    Only the stretches whose length changed are kept (as parallel lists); a
    position between them is an offset from the stretch before it.
    """

    __slots__ = ("text", "_norm_starts", "_orig_starts", "_norm_lens", "_orig_lens")

    def __init__(self, text: str, segments: list[tuple[int, int, int, int]] | None = None) -> None:
        self.text = text
        segs = segments or []
        self._norm_starts = [s[0] for s in segs]
        self._orig_starts = [s[1] for s in segs]
        self._norm_lens = [s[2] for s in segs]
        self._orig_lens = [s[3] for s in segs]

    def _after(self, i: int, pos: int) -> int:
        end_norm = self._norm_starts[i] + self._norm_lens[i]
        return self._orig_starts[i] + self._orig_lens[i] + (pos - end_norm)

    def start(self, pos: int) -> int:
        """Original index where a span starting at ``pos`` starts."""
        i = bisect_right(self._norm_starts, pos) - 1
        if i < 0:
            return pos
        if pos < self._norm_starts[i] + self._norm_lens[i]:
            return self._orig_starts[i]  # inside a changed stretch: take all of it
        return self._after(i, pos)

    def end(self, pos: int) -> int:
        """Original index where a span ending at ``pos`` (exclusive) ends."""
        i = bisect_left(self._norm_starts, pos) - 1
        if i < 0:
            return pos
        if pos <= self._norm_starts[i] + self._norm_lens[i]:
            return self._orig_starts[i] + self._orig_lens[i]
        return self._after(i, pos)


def normalise(text: str) -> Normalised:
    """``text`` as the patterns see it, with the map back (see the module doc)."""
    if not _NEEDS_WORK_RE.search(text):
        return Normalised(text)
    escapes = "\\" in text
    pattern = _GAP_OR_ESCAPE_RE if escapes else _GAP_RE
    parts: list[str] = []
    segments: list[tuple[int, int, int, int]] = []
    pos = npos = 0  # consumed so far in the original / in the output
    gap_start = gap_end = -1
    gap_space = False

    def emit(start: int, end: int, replacement: str) -> None:
        nonlocal pos, npos
        parts.append(text[pos:start])
        npos += start - pos
        if text[start:end] != replacement:
            segments.append((npos, start, len(replacement), end - start))
        parts.append(replacement)
        npos += len(replacement)
        pos = end

    def flush_gap() -> None:
        nonlocal gap_start
        if gap_start >= 0:
            emit(gap_start, gap_end, " " if gap_space else "")
            gap_start = -1

    for m in pattern.finditer(text):
        start, end = m.span()
        if escapes and m.lastgroup == "esc":
            esc = m.group()
            char = _SIMPLE_ESCAPES.get(esc[1]) or chr(min(int(esc[2:], 16), 0x10FFFF))
            if not _is_gap_char(char):
                flush_gap()
                emit(start, end, char)  # folded with the rest below
                continue
            space = bool(_SPACE_RE.match(char))
        else:
            space = bool(_SPACE_RE.search(m.group()))
        if gap_start >= 0 and start == gap_end:
            gap_end, gap_space = end, gap_space or space
        else:
            flush_gap()
            gap_start, gap_end, gap_space = start, end, space
    flush_gap()
    parts.append(text[pos:])
    return Normalised("".join(parts).translate(_FOLD), segments)


def normalise_for_redaction(text: str) -> str:
    """The text every recogniser matches against (identifiers in plain form)."""
    return normalise(text).text
