"""Clause references named in text: "5.7", "SCoR point vi", "GMC 8", "NHS Protect"."""

from __future__ import annotations

import re

from bot.knowledge.models import KnowledgeBase

ROMAN = ("i", "ii", "iii", "iv", "v", "vi")
_NUMBERED = re.compile(r"(?<![\d.])([1-5])\s*\.\s*(\d{1,2})(?![\d.]*\d)")
_ROMAN = re.compile(
    r"(?:\(\s*(vi|iv|v|i{1,3})\s*\)|\b(?:point|item|para(?:graph)?|no\.?|number|advice)\s+(vi|iv|v|i{1,3})\b"
    r"|\bscor(?:[- ]?2014)?\s+(vi|iv|v|i{1,3})\b)",
    re.I,
)
_GMC = re.compile(r"\bgmc(?:[- ]?2011)?\s*(?:para(?:graph)?\s*)?(\d{1,2})\b", re.I)
_KEY_ALONE = {
    "MPS-2013": re.compile(r"\b(?:mps[- ]?2013|medical protection society(?:'s)? hot topic|hot topic)\b", re.I),
    "MPS-2018": re.compile(r"\b(?:mps[- ]?2018|digital dilemmas)\b", re.I),
    "NEWS-2025": re.compile(r"\b(?:news[- ]?2025|independent|press report|news (?:story|report|article))\b", re.I),
    "NHSP-2016": re.compile(r"\b(?:nhsp[- ]?2016|nhs protect)\b", re.I),
    "MDU-2019": re.compile(r"\b(?:mdu(?:[- ]?2019)?|medical defence union)\b", re.I),
    "HCPC-2024": re.compile(r"\b(?:hcpc(?:[- ]?2024)?)\b", re.I),
}
_ISAS = re.compile(r"\b(?:isas|accreditation)\b", re.I)
_SCOR = re.compile(r"\b(?:scor|2014|first edition|1st edition|old guidance)\b", re.I)


def references(text: str, kb: KnowledgeBase) -> list[str]:
    """Clause ids named in the text, in order, that exist in the knowledge base."""
    found: list[str] = []
    lowered = text.lower()
    for m in _NUMBERED.finditer(text):
        found.append(f"SoR-2019 {m.group(1)}.{int(m.group(2))}")
    for m in _ROMAN.finditer(text):
        numeral = next(g for g in m.groups() if g).lower()
        if m.group(1) and not _SCOR.search(lowered) and numeral in ("i", "v"):
            continue  # "(i)" alone is too common to mean SCoR-2014 without a hint
        found.append(f"SCoR-2014 ({numeral})")
    if _SCOR.search(lowered) and "scope" in lowered:
        found.append("SCoR-2014 scope")
    for m in _GMC.finditer(text):
        found.append(f"GMC-2011 {int(m.group(1))}")
    for key, pattern in _KEY_ALONE.items():
        if pattern.search(text):
            found.append(key)
    if _ISAS.search(text):
        found.append("SoR-2019 ISAS")
    out: list[str] = []
    for cite in found:
        clause = kb.clause(cite)
        if clause and clause.id not in out:
            out.append(clause.id)
    return out


def unknown_references(text: str, kb: KnowledgeBase) -> list[str]:
    """Numbered references that look like clauses but do not exist (e.g. "5.30")."""
    return [
        f"SoR-2019 {m.group(1)}.{int(m.group(2))}"
        for m in _NUMBERED.finditer(text)
        if kb.clause(f"SoR-2019 {m.group(1)}.{int(m.group(2))}") is None
    ]
