"""Why an answer was "not helpful": the fixed choices the page offers.

Kept as plain strings (not a database enum) so a new choice needs no
migration; anything unrecognised is stored as ``other``.
"""

from __future__ import annotations

#: In the order the page shows them and the report lists them.
REASONS: tuple[str, ...] = ("wrong_situation", "unclear", "not_our_policy", "missing", "other")
#: What the page shows for each reason.
LABELS: dict[str, str] = {
    "wrong_situation": "Wrong situation",
    "unclear": "Advice unclear",
    "not_our_policy": "Not our policy",
    "missing": "Missing something",
    "other": "Other",
}
OTHER = "other"
MAX_COMMENT = 500  # characters, after redaction
MAX_REASON = 32  # column width


def normalise_reason(helpful: bool, reason: object) -> str | None:
    """The reason to store: ``None`` for a helpful vote or when none was given,
    ``other`` for anything not in :data:`REASONS`."""
    if helpful or reason is None:
        return None
    value = str(reason).strip().lower()
    if not value:
        return None
    return value if value in REASONS else OTHER


__all__ = ["LABELS", "MAX_COMMENT", "OTHER", "REASONS", "normalise_reason"]
