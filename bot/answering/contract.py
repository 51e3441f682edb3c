"""The answer contract shared by the CLI (``python -m bot ask --json``), the chat's
``custom`` payload and the web page.

Required fields: question, intent, confidence, scenario, out_of_scope, clarify,
do_now, say, record, escalate, citations (at most 8, most important first),
reply. The extra fields (kind, title, why, options, warnings, caveats, ...)
let the page lay the answer out without parsing ``reply``.

``provenance`` says where each sentence shown to staff comes from, aligned index
by index with ``do_now``, ``say`` (one entry when there is a say) and
``caveats``: ``{"cite": ["SoR-2019 5.6"], "basis": "guidance"}``, ``basis``
being ``guidance`` (national clauses), ``local`` (a local rule) or
``practice`` (general safety or local practice, no clause behind it; cite is
empty). The page tags practice lines so staff can tell them from guidance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_CITATIONS = 8


@dataclass
class WhyPoint:
    cite: str
    point: str
    summary: str = ""  # the clause's one-line summary, for the expandable panel
    source: str = ""  # the document's title and edition
    local: bool = False
    departs: str | None = None
    layer: str = ""  # a local rule's policy layer: "department" or "trust" (source names it)


@dataclass
class Option:
    """A button: either a fact value (answers a clarifying question) or a scenario."""

    label: str
    fact: str | None = None
    value: str | None = None
    scenario: str | None = None
    choice: int | None = None  # a numbered reply (quiz answers)


def _no_provenance() -> dict[str, list[dict[str, Any]]]:
    return {"do_now": [], "say": [], "caveats": []}


@dataclass
class Answer:
    question: str
    intent: str
    confidence: float
    kind: str = "answer"  # answer | clarify | not_sure | decline | info | clause | policy | rule | error
    scenario: str | None = None
    out_of_scope: bool = False
    clarify: str | None = None
    clarify_fact: str | None = None
    title: str | None = None
    do_now: list[str] = field(default_factory=list)
    say: str | None = None
    why: list[WhyPoint] = field(default_factory=list)
    record: list[str] = field(default_factory=list)
    escalate: str | None = None
    caveats: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    text: str | None = None  # the body for informational kinds (clause look-up, policy, help)
    facts: dict[str, list[str]] = field(default_factory=dict)
    knowledge_version: str = ""
    state: dict[str, Any] = field(default_factory=dict)  # conversation state for the next turn (quiz)
    copy_text: str | None = None  # paste-ready text (member advice) that already carries its citations
    provenance: dict[str, list[dict[str, Any]]] = field(default_factory=_no_provenance)
    department: str | None = None  # the (known) department whose policy applied; None: the trust's alone

    @property
    def citations(self) -> list[str]:
        return list(dict.fromkeys(w.cite for w in self.why))[:MAX_CITATIONS]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["confidence"] = round(max(0.0, min(1.0, self.confidence)), 3)
        data["citations"] = self.citations
        data["reply"] = render(self)
        return data


def _bullets(items: list[str], numbered: bool = False) -> list[str]:
    return [f"{i}. {x}" if numbered else f"- {x}" for i, x in enumerate(items, 1)]


def render(a: Answer) -> str:
    """The readable text the chat shows: short enough for a phone mid-shift."""
    lines: list[str] = [f"Warning: {w}" for w in a.warnings]
    if a.kind == "clarify":
        if a.text:
            lines.append(a.text)
        lines.append(a.clarify or "")
        lines += _bullets([o.label for o in a.options])
        return "\n".join(lines)
    if a.kind in ("not_sure", "decline", "info", "clause", "policy", "error", "quiz", "rule"):
        if a.title:
            lines.append(a.title)
        if a.text:
            lines.append(a.text)
        if a.why and a.kind in ("clause", "policy", "quiz", "rule") and not a.copy_text:
            lines += _bullets([f"{w.cite}: {w.point}" for w in a.why[:MAX_CITATIONS]])
        if a.record and a.kind == "rule":
            lines.append("Record:")
            lines += _bullets(a.record)
        if a.options and a.kind in ("not_sure", "quiz", "rule"):
            lines += _bullets([o.label for o in a.options])
        return "\n".join(lines)
    if a.title:
        lines.append(a.title)
    if a.do_now:
        lines.append("Do now:")
        lines += _bullets(a.do_now, numbered=True)
    if a.say:
        lines.append(f'Say: "{a.say}"')
    if a.why:
        lines.append("Why:")
        for w in a.why[:MAX_CITATIONS]:
            extra = f" (goes beyond national guidance: {w.departs})" if w.departs else ""
            where = f" [{w.source}]" if w.local and w.layer and w.source else ""
            lines.append(f"- {w.cite}{where}: {w.point}{extra}")
    if a.record:
        lines.append("Record:")
        lines += _bullets(a.record)
    if a.escalate:
        lines.append(f"Escalate: {a.escalate}")
    if a.caveats:
        lines.append(f"Note: {a.caveats[0]}")
    lines.append('Reply "clause 5.7" (any reference) for the full text, or "new situation" to start again.')
    return "\n".join(lines)
