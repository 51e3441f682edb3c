"""Policies in layers: the trust-wide policy, and each department's own file on top of it.

A department rule either *adds* to the trust's rules or *overrides* one: by
reusing its id, or by naming it in ``overrides``. A department rule that speaks
to the same facts as a trust rule with a different effect, without declaring
the override, is a conflict: staff would be shown two rules that disagree
and could not tell which wins (hazard HAZ-04), so it is refused.

"Same facts" means one rule names no fact the other does not (one's facts are
a subset of the other's) and every fact they share has a value in common: then
whenever the narrower rule applies, so does the broader one.
"""

from __future__ import annotations

import dataclasses
import re

from bot.knowledge.models import KnowledgeBase, Policy, Problem, Rule


def same_facts(a: Rule, b: Rule) -> bool:
    ka, kb_ = set(a.applies_to), set(b.applies_to)
    if not ka or not kb_ or not (ka <= kb_ or kb_ <= ka):
        return False
    return all(set(a.applies_to[f]) & set(b.applies_to[f]) for f in ka & kb_)


def replaced(dept: Policy) -> set[str]:
    """Trust rule ids the department's rules replace (same id, or named in ``overrides``)."""
    out: set[str] = set()
    for rule in dept.rules.values():
        out.add(rule.id)
        out.update(rule.overrides)
    return out


def layer_problems(trust: Policy, dept: Policy) -> list[Problem]:
    """Unknown overrides, and undeclared conflicts with the trust's rules."""
    problems = []
    for rule in dept.rules.values():
        for target in rule.overrides:
            if target not in trust.rules:
                problems.append(
                    Problem(dept.file, rule.id, "overrides", f"unknown trust rule '{target}' (not in {trust.file})")
                )
        declared = {rule.id, *rule.overrides}
        for t in trust.rules.values():
            if t.id in declared or t.effect == rule.effect or not same_facts(rule, t):
                continue
            shared = ", ".join(sorted(set(rule.applies_to) & set(t.applies_to)))
            problems.append(
                Problem(
                    dept.file,
                    rule.id,
                    "overrides",
                    f"conflicts with trust rule {t.id} in {trust.file}: {rule.effect} here, {t.effect} there, on the "
                    f"same facts ({shared}). Add 'overrides: {t.id}' if this department means to replace it, or "
                    "narrow applies_to",
                )
            )
    return problems


def effective(trust: Policy, dept: Policy) -> Policy:
    """The policy a department works under: its own rules first, then the trust's it does not replace."""
    gone = replaced(dept)
    rules = dict(dept.rules)
    rules.update({rid: r for rid, r in trust.rules.items() if rid not in gone and rid not in rules})
    return dataclasses.replace(
        dept,
        contacts={**trust.contacts, **dept.contacts},
        rules=rules,
        incident_system=dept.incident_system or trust.incident_system,
        statements=trust.statements + dept.statements,
        layers=(dept, trust),
    )


DEPARTMENT_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def for_department(kb: KnowledgeBase, department: str | None) -> tuple[KnowledgeBase, str | None]:
    """The knowledge base as one department sees it (its effective policy in ``policy``), and a warning when
    the department is missing or unknown and the trust's policy alone is used. The caller caches it."""
    key = (department or "").strip() or None
    return _view(kb, key)


def _view(kb: KnowledgeBase, department: str | None) -> tuple[KnowledgeBase, str | None]:
    if department in kb.departments and kb.policy is not None:
        return dataclasses.replace(kb, policy=effective(kb.policy, kb.departments[department])), None
    if not kb.departments:
        return kb, None  # one policy for everyone: nothing to fall back from
    name = kb.policy.department if kb.policy else "the trust"
    known = ", ".join(sorted(kb.departments))
    if department is None:
        return kb, (
            f"no department was given, so only the trust-wide policy ({name}) is used; your department "
            f"may have its own rules (departments: {known})."
        )
    # an unknown id is echoed only when it looks like an id (it came from a link or a message)
    shown = f"'{department}'" if len(department) <= 40 and DEPARTMENT_ID.match(department) else "given"
    return kb, (
        f"the department {shown} is not known, so only the trust-wide policy ({name}) is used (departments: {known})."
    )
