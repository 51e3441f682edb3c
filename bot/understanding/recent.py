"""A small, bounded memory of recent results by text.

One answer reads the same text several times (the classifier's lemmas, the
facts, the sentence vector, a long message's sentences), so the last few
results are kept. Full, it is cleared rather than trimmed: cheap, bounded, and
the next answer refills it. In memory only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    def __init__(self, limit: int):
        self.limit = limit
        self._items: dict[str, V] = {}

    def get(self, text: str, make: Callable[[str], V]) -> V:
        """The remembered result for ``text``, else ``make(text)``, remembered."""
        value = self._items.get(text)
        if value is None:
            value = make(text)
            if len(self._items) >= self.limit:
                self._items.clear()
            self._items[text] = value
        return value

    def clear(self) -> None:
        self._items.clear()
