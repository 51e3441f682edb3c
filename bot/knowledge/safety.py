"""Clinical-safety wording checks (hazards HAZ-02 and HAZ-07).

1. Modal fidelity: a sentence may be as strong as the clause it rests on and no
   stronger. Obligation words ("must", "never", "not allowed" ...) need a
   ``must`` clause; "should"/"ought" need ``should`` or ``must``; a ``may`` or
   ``info`` clause supports neither.
2. Legal words (offence, liable, unlawful ...) appear only where the cited
   clause's own ``legal`` list has them, and then with a hedge ("may",
   "could", "can be") in the same sentence.
3. No card line tells staff to take or search a phone, delete a patient's
   recording, or refuse or stop care (rebooking on safety grounds and other
   patients' details excepted).

The word checks are small pure functions; :func:`check_wording` applies them to
the whole knowledge base and returns Problem lines naming file, entry, field and
clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bot.knowledge.models import LOCAL_PREFIX, KnowledgeBase, Problem, Rule, scenario_lines

STRENGTH_ORDER = {"info": 0, "may": 1, "should": 2, "must": 3}

_OBLIGATION = [
    r"must(?:\s+not|n['’]t)?",
    r"never",
    r"always",
    r"required",
    r"not\s+allowed",
    r"not\s+permitted",
    r"forbidden",
    r"prohibited",
    r"cannot",
    r"can['’]t",
    r"can\s+not",
]
_SHOULD = [r"should(?:\s+not|n['’]t)?", r"ought(?:\s+to)?"]
OBLIGATION = re.compile(r"\b(" + "|".join(_OBLIGATION) + r")\b", re.I)
SHOULD = re.compile(r"\b(" + "|".join(_SHOULD) + r")\b", re.I)
# A negated obligation ("not required", "not always") is weaker, not stronger.
_NEGATED = re.compile(r"\b(not|no|n['’]t|isn['’]t)\s+(?:\w+\s+)?$", re.I)
# "can't be checked", "cannot be removed", "we usually can't add", "not just what they can't.": statements of
# what is possible, not obligations.
_CAPABILITY = re.compile(
    r"^(?:\s+(?:\w+ly\s+)?(?:be\s+\w+(?:ed|en|wn)\b|tell\b|see\b|know\b|concentrate\b|guarantee\b)"
    r"|\s*(?:[,.;:!?]|$))",
    re.I,
)
_FREQUENCY = re.compile(r"\b(usually|often|sometimes|rarely|generally)\s+$", re.I)

LEGAL = re.compile(
    r"\b(unlawful(?:ly)?|illegal(?:ly)?|offences?|liable|liability|criminal|civil\s+wrongs?|"
    r"breach(?:es|ed|ing)?|lawful(?:ly)?)\b",
    re.I,
)
# "can breach", "can be an offence": a possibility, as the sources put it ("can't" is no hedge).
HEDGE = re.compile(r"\b(may|might|could|can(?!['’]t|not))\b", re.I)
# "breached local policy", "not treated as a breach of this rule": the department's rules, not the law.
_POLICY = re.compile(r"\b(polic\w*|rules?)\b", re.I)
_LAW = re.compile(r"\b(law|legal\w*|data[- ]protection|GDPR|criminal|civil)\b", re.I)

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _legal_word(match: str) -> str:
    w = " ".join(match.lower().split())
    for base in ("unlawful", "illegal", "offence", "liable", "liability", "criminal", "civil wrong", "breach"):
        if w.startswith(base):
            return base
    return "lawfully" if w == "lawfully" else "lawful"


def strong_words(text: str, strength: str) -> list[str]:
    """Words in ``text`` stronger than a clause of this strength allows (empty when the text is faithful)."""
    found: list[str] = []
    level = STRENGTH_ORDER.get(strength, 0)
    if level < STRENGTH_ORDER["must"]:
        for m in OBLIGATION.finditer(text):
            word = " ".join(m.group(1).lower().split())
            if word in ("required", "always") and _NEGATED.search(text[: m.start()]):
                continue
            if word in ("cannot", "can't", "can’t", "can not") and (
                _CAPABILITY.match(text[m.end() :]) or _FREQUENCY.search(text[: m.start()])
            ):
                continue
            found.append(word)
    if level < STRENGTH_ORDER["should"]:
        found += [" ".join(m.group(1).lower().split()) for m in SHOULD.finditer(text)]
    return list(dict.fromkeys(found))


def legal_faults(text: str, allowed: Iterable[str]) -> list[str]:
    """Legal words used without support: not in ``allowed``, or without a hedge in their sentence."""
    allowed = set(allowed)
    faults: list[str] = []
    for sentence in _SENTENCE.split(text):
        for m in LEGAL.finditer(sentence):
            word = _legal_word(m.group(1))
            if word == "breach" and _POLICY.search(sentence) and not _LAW.search(sentence):
                continue
            if word not in allowed:
                faults.append(f"'{m.group(1)}' (its clause does not use it)")
            elif not HEDGE.search(sentence):
                faults.append(f"'{m.group(1)}' without a hedge such as 'may' in the same sentence")
    return list(dict.fromkeys(faults))


# --- instructions the guidance contradicts ----------------------------------------------------------

_NEGATOR = re.compile(
    r"\b(don['’]t|do\s+not|never|not|no|nobody|no\s+one|without|rather\s+than|instead\s+of|"
    r"isn['’]t|nor|cannot|can['’]t|neither)\b",
    re.I,
)
_OBJECT = r"(?:\s+(?:the|their|his|her|your|a|an|this|that|any|patient['’]s|person['’]s))*\s+"
_CARE = r"(car(?:e|ing)|treat(?:ment|ing)?|scan(?:s|ning)?|examination|exam|appointment|procedure)\b"
HARMFUL = {
    "takes or searches the device": re.compile(
        r"\b(take|taking|takes|took|confiscat\w*|seiz\w*|grab\w*|snatch\w*|search\w*|hand\w*\s+over|"
        r"hold\s+on\s+to)\b" + _OBJECT + r"(phones?|devices?|cameras?|mobiles?|tablets?)\b",
        re.I,
    ),
    "asks for a patient's recording to be deleted": re.compile(
        r"\b(delet\w*|eras\w*|wipe[sd]?|wiping|destroy\w*)\b", re.I
    ),
    "refuses or stops care": re.compile(
        r"\b(refus\w*|declin\w*|stop(?:s|ped|ping)?|end(?:s|ed|ing)?|cancel\w*|withh[eo]ld\w*|abandon\w*|"
        r"rebook\w*|postpon\w*)\b(?:\s+to\s+(?:go\s+on|carry\s+on|continue|proceed\s+with))?" + _OBJECT + _CARE,
        re.I,
    ),
}
# Where the guidance itself supports the step: safety grounds, parts showing other patients (local policy),
# and images staff took on their own devices (GMC-2011, HCPC-2024).
_ALLOWED = {
    "asks for a patient's recording to be deleted": re.compile(
        r"\bother\s+patients?\b|\banother\s+patient\b|\bshowing\s+others\b|\bpersonal\s+device\b|"
        r"\b(?:the|a)\s+(?:student|colleague|member\s+of\s+staff)\s+to\s+delete\b",
        re.I,
    ),
    "refuses or stops care": re.compile(r"\bsafety\b|\bonly\s+if\s+it\s+is\s+safe\b", re.I),
}


def harmful_instructions(text: str) -> list[str]:
    """What a line tells staff to do that the guidance contradicts (unless the line negates it)."""
    found = []
    for sentence in re.split(r"(?<=[.!?;:])\s+", text):
        for name, pattern in HARMFUL.items():
            for m in pattern.finditer(sentence):
                if _NEGATOR.search(sentence[: m.start()]):
                    continue
                allow = _ALLOWED.get(name)
                if allow and allow.search(text):
                    continue
                found.append(f"{name} ('{m.group(0)}')")
    return list(dict.fromkeys(found))


# --- applying the checks to the knowledge base -------------------------------------------------------


def _basis(kb: KnowledgeBase, cites: Iterable[str]) -> tuple[str, str, set[str]]:
    """(strongest strength, the clause that gives it, union of legal words) for a set of citations.
    A local rule is the department's own instruction, so it counts as ``must``; it carries no legal words."""
    best, best_cite, legal = "info", "", set()
    for cite in cites:
        if cite.startswith(LOCAL_PREFIX):
            strength = "must" if kb.is_citable(cite) else "info"
        else:
            clause = kb.clause(cite)
            if clause is None:
                continue
            strength = clause.strength
            legal |= set(clause.legal)
        if STRENGTH_ORDER.get(strength, 0) > STRENGTH_ORDER[best] or not best_cite:
            best, best_cite = strength, cite
    return best, best_cite, legal


def _advice(strength: str) -> str:
    if strength == "should":
        return "use 'should', or cite a 'must' clause"
    return "state it plainly or with 'may'/'can', or cite a stronger clause"


def _text_problems(
    file: str, entry: str, field: str, text: str, strength: str, cite: str, legal: set[str], label: str
) -> Iterator[Problem]:
    words = strong_words(text, strength)
    if words:
        said = ", ".join(f"'{w}'" for w in words)
        yield Problem(
            file, entry, field, f"says {said} but {label} {cite} is a '{strength}' clause ({_advice(strength)})"
        )
    for fault in legal_faults(text, legal):
        yield Problem(
            file,
            entry,
            field,
            f"legal word {fault}; the clauses cited list {', '.join(sorted(legal)) or 'no legal words'}",
        )


def check_wording(kb: KnowledgeBase, skip: set[str] = frozenset()) -> list[Problem]:  # type: ignore[assignment]
    """Every wording fault in clauses, cards and local rules. ``skip``: clause ids that failed their schema."""

    problems: list[Problem] = []
    for c in kb.clauses.values():
        if c.id in skip:
            continue
        for name in ("summary", "text"):
            problems += _text_problems(
                c.file, c.id, name, getattr(c, name), c.strength, c.id, set(c.legal), "the clause"
            )
    for s in kb.scenarios.values():
        for j, p in enumerate(s.why):
            if p.cite in skip or not kb.is_citable(p.cite):
                continue
            strength, cite, legal = _basis(kb, [p.cite])
            problems += _text_problems(
                s.file, s.id, f"answer.why[{j + 1}].point", p.point, strength, cite, legal, "its clause"
            )
        for where, line in scenario_lines(s):
            for fault in harmful_instructions(line.text):
                problems.append(
                    Problem(s.file, s.id, where, f"tells staff something the guidance contradicts: {fault}")
                )
            if any(c in skip for c in line.cite):
                continue  # a clause that failed its schema: its own problem is reported, not this knock-on
            cites = [c for c in line.cite if kb.is_citable(c)]
            if line.basis or not cites:
                if line.basis:
                    for fault in legal_faults(line.text, ()):
                        problems.append(
                            Problem(
                                s.file,
                                s.id,
                                where,
                                f"legal word {fault}: a practice line makes no legal claim; cite the clause that does",
                            )
                        )
                continue
            strength, cite, legal = _basis(kb, cites)
            problems += _text_problems(s.file, s.id, where, line.text, strength, cite, legal, "its strongest clause")
    for pol in ([kb.policy] if kb.policy else []) + list(kb.departments.values()):
        for rule in pol.rules.values():
            problems += rule_problems(kb, rule, pol.file)
    return problems


def rule_problems(kb: KnowledgeBase, rule: Rule, file: str) -> list[Problem]:
    """A local rule's text may be firmer than the clauses it implements only when it says so in
    ``departs_from_national``; it uses legal words only as those clauses do."""
    cites = [c for c in rule.implements if kb.clause(c)]
    strength, cite, legal = _basis(kb, cites)
    out: list[Problem] = []
    words = [] if rule.departs_from_national else strong_words(rule.text, strength)
    if words:
        said = ", ".join(f"'{w}'" for w in words)
        where = f"its strongest clause {cite} is a '{strength}' clause" if cite else "it implements no clause"
        out.append(
            Problem(
                file,
                rule.id,
                "text",
                f"says {said} but {where}: soften it, or say in departs_from_national how the department goes further",
            )
        )
    for fault in legal_faults(rule.text, legal):
        out.append(Problem(file, rule.id, "text", f"legal word {fault}"))
    return out
