"""Hurried typing put right before a message is read: "relative started filimng" -> "filming".

A word is corrected only when it is no English word and no word of the training data, and one
edit (a letter added, dropped, changed, or two neighbours swapped) turns it into a word of the
training data; the commonest such word wins. Real English words are never touched, so "filed"
stays "filed" though "filmed" is one edit away: the English list comes from spacy-lookups-data
when the speller is built, and only the real words near the training vocabulary are kept.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SHORTEST = 5  # shorter words are too often another real word, or shorthand, one edit away
_WORD = re.compile(r"[A-Za-z]+")
_TOKEN = re.compile(r"[a-z]+")
FORMAT = 1  # bump when what is saved changes
# The web's common misspellings sit just below this ("seperate" -12.5, "thier" -12.9, "recieved" -13.4)
# and real words people write just above ("filed" -12.3, "whilst" -11.2); rarer real words are in the
# lemma table when they inflect ("recoded", "firmed").
COMMON_LOG_PROB = -12.4


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def one_edit(word: str, target: str) -> bool:
    """Within one insertion, deletion, substitution or swap of two neighbours (and not equal)."""
    if abs(len(word) - len(target)) > 1 or word == target:
        return False
    i = 0
    while i < min(len(word), len(target)) and word[i] == target[i]:
        i += 1
    if len(word) == len(target):
        return word[i + 1 :] == target[i + 1 :] or (
            word[i : i + 2] == target[i : i + 2][::-1] and word[i + 2 :] == target[i + 2 :]
        )
    return word[i + 1 :] == target[i:] if len(word) > len(target) else word[i:] == target[i + 1 :]


def english_words(commoner_than: float = COMMON_LOG_PROB) -> set[str]:
    """English words from spacy-lookups-data (build time only): every word form in the lemma
    table, and every word commoner than ``commoner_than`` (natural log of its share of words in
    the web text behind the lexeme table). The lemma table alone lacks "whilst" and "although"."""
    import spacy_lookups_data
    import srsly

    data = Path(spacy_lookups_data.__file__).parent / "data"
    table = srsly.read_gzip_json(data / "en_lemma_lookup.json.gz")
    words = {w for pair in table.items() for w in pair}
    probs = srsly.read_gzip_json(data / "en_lexeme_prob.json.gz")
    words |= {w for w, p in probs.items() if p >= commoner_than}
    return {w for w in words if w.isalpha() and w.islower()}


class Speller:
    def __init__(self, counts: dict[str, int], protected: Iterable[str]):
        self.counts = counts
        self.protected = frozenset(protected)
        # SymSpell's trick: two words one edit apart share a deletion (or one is a deletion of the other)
        self._by_delete: dict[str, list[str]] = {}
        for word in counts:
            for d in _deletes(word) | {word}:
                self._by_delete.setdefault(d, []).append(word)

    @classmethod
    def from_texts(cls, texts: Iterable[str], english: set[str]) -> Speller:
        counts = Counter(w for t in texts for w in _TOKEN.findall(t.lower()) if len(w) >= SHORTEST - 1)
        speller = cls(dict(counts), ())
        # only the real words that would otherwise be "corrected" need keeping
        speller.protected = frozenset(
            w for w in english if len(w) >= SHORTEST and w not in counts and speller._candidates(w)
        )
        return speller

    def _candidates(self, word: str) -> list[str]:
        found = {c for d in _deletes(word) | {word} for c in self._by_delete.get(d, ())}
        return [c for c in found if one_edit(word, c)]

    def word(self, word: str) -> str:
        """The training word ``word`` was meant to be, or ``word`` itself."""
        low = word.lower()
        if len(low) < SHORTEST or low in self.counts or low in self.protected or (word.isupper() and len(word) > 1):
            return word
        candidates = self._candidates(low)
        if not candidates:
            return word
        best = max(candidates, key=lambda c: (self.counts[c], c))
        return best.capitalize() if word[0].isupper() else best

    def correct(self, text: str) -> str:
        return _WORD.sub(lambda m: self.word(m.group()), text)

    def save(self, path: Path, digest: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "digest": digest, "counts": self.counts, "protected": sorted(self.protected)}
        path.write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, digest: str) -> Speller | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("format") != FORMAT or data.get("digest") != digest:
            return None
        return cls(data["counts"], data["protected"])
