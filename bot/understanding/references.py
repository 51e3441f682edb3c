"""Clause references named in text: "5.7", "SCoR point vi", "GMC 8", "NHS Protect"."""

from __future__ import annotations

import re
from collections import defaultdict

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


def only_bare_names(text: str) -> bool:
    """The text names a source only by a bare name ("HCPC", "NHS Protect"), with no clause number or year."""
    if any(p.search(text) for p in (_NUMBERED, _ROMAN, _GMC)):
        return False
    names = [m.group(0) for p in _KEY_ALONE.values() for m in p.finditer(text)]
    return bool(names) and not any(ch.isdigit() for name in names for ch in name)


def unknown_references(text: str, kb: KnowledgeBase) -> list[str]:
    """Numbered references that look like clauses but do not exist (e.g. "5.30")."""
    return [
        f"SoR-2019 {m.group(1)}.{int(m.group(2))}"
        for m in _NUMBERED.finditer(text)
        if kb.clause(f"SoR-2019 {m.group(1)}.{int(m.group(2))}") is None
    ]


_ACRONYM = re.compile(r"\b[A-Z][A-Za-z]{0,4}[A-Z]\b")
# what a question asks of a body: "what does NICE say", "the MPS view on", "GMC's position"
_ASKS_VIEW = re.compile(
    r"\b(say|says|said|saying|advi[cs]e\w*|recommend\w*|position|views?|stance|line|guidance|think|stand)\b", re.I
)

OPENING_WORDS = 2  # "the MPS view on ...": how far in a body's name still opens the text


class Bodies:
    """The bodies the knowledge names (NICE, the MPS, the GMC ...) and the clauses that come from or name each."""

    def __init__(self, kb: KnowledgeBase):
        named: dict[str, list[str]] = defaultdict(list)
        for c in kb.clauses.values():
            for acronym in sorted(set(_ACRONYM.findall(f"{c.text} {c.summary}"))):
                named[acronym.lower()].append(c.id)
        for source in kb.sources.values():
            prefix = source.key.split("-")[0]
            initials = "".join(w[0] for w in source.publisher.split() if w[0].isupper())
            # a key's prefix is a name staff use only if the texts use it or it is the publisher's initials
            names = [source.publisher.lower()] + (
                [prefix.lower()] if prefix.lower() in named or prefix == initials else []
            )
            own = [c.id for c in kb.clauses.values() if c.source == source.key]
            for name in names:
                named[name] += [i for i in own if i not in named[name]]
        self.clauses = dict(named)
        alternatives = "|".join(re.escape(n) for n in sorted(self.clauses, key=len, reverse=True))
        self.pattern = re.compile(rf"\b({alternatives})\b", re.I)

    def asked(self, text: str, opening: bool = False) -> list[str]:
        """Ids of the clauses from the bodies whose view a question asks for, in order of naming.

        With ``opening`` the text is not put as a question, so the body must open it ("MPS view
        on ..."): a report that a relative "says the NHS allows it" asks nothing of the NHS.
        """
        if not _ASKS_VIEW.search(text):
            return []
        out: list[str] = []
        for m in self.pattern.finditer(text):
            if opening and len(text[: m.start()].split()) > OPENING_WORDS:
                continue
            out += [i for i in self.clauses[m.group(1).lower()] if i not in out]
        return out

    def without_names(self, text: str) -> str:
        """The text with the bodies' names taken out: naming the body must not pull in every clause citing it."""
        return self.pattern.sub(" ", text)
