"""BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2 was trained with it.

Written out here (about fifty lines) rather than taken from a tokenizers package:
the vocabulary file ships with the model, and the rules are BERT's published ones.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

MAX_TOKENS = 256  # the model's own limit (sentence_bert_config.json)


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True  # BERT counts every ASCII symbol ("$", "^", "`") as punctuation
    return unicodedata.category(ch).startswith("P")


class WordPiece:
    """BERT's uncased tokenizer: clean, lower-case, strip accents, split punctuation,
    then greedy longest-match word pieces."""

    def __init__(self, vocab_file: Path):
        self.vocab = {w: i for i, w in enumerate(vocab_file.read_text(encoding="utf-8").splitlines())}
        self.unk, self.cls, self.sep = (self.vocab[t] for t in ("[UNK]", "[CLS]", "[SEP]"))

    def words(self, text: str) -> list[str]:
        kept = []
        for ch in unicodedata.normalize("NFD", text.lower()):
            cat = unicodedata.category(ch)
            if ch.isspace():
                kept.append(" ")
            elif cat == "Mn" or (cat.startswith("C") and ch not in "\t\n\r") or ch == "\ufffd":
                continue  # accents and control characters are dropped, as BERT does
            else:
                kept.append(ch)
        out: list[str] = []
        for chunk in "".join(kept).split():
            word = ""
            for ch in chunk:
                if _is_punctuation(ch):
                    if word:
                        out.append(word)
                        word = ""
                    out.append(ch)
                else:
                    word += ch
            if word:
                out.append(word)
        return out

    def pieces(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in self.words(text):
            ids.extend(self.pieces(word))
            if len(ids) >= MAX_TOKENS - 2:
                break  # the model reads at most 256 tokens; the rest costs nothing
        return [self.cls] + ids[: MAX_TOKENS - 2] + [self.sep]
