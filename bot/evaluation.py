"""``python -m bot eval FILE``: how well a held-out set is answered.

A situation counts as answered when the final answer names the expected
scenario and carries its two key citations (the card's first two). Where the
assistant asks its one clarifying question, the evaluation answers it as a
member of staff in that situation would (with the expected card's value), as
the chat would go.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.engine import Assistant


@dataclass(frozen=True)
class Case:
    text: str
    scenario: str | None  # None: out of scope


def load_heldout(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("expected a mapping with 'situations' and 'out_of_scope'")
    cases = [Case(str(i["text"]), str(i["scenario"])) for i in data.get("situations") or []]
    cases += [Case(str(t), None) for t in data.get("out_of_scope") or []]
    if not cases:
        raise ValueError("no cases found")
    return cases


@dataclass
class Report:
    situations: int = 0
    correct: int = 0
    clarified: int = 0
    not_sure: int = 0
    out_of_scope: int = 0
    declined: int = 0
    false_declines: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    per_scenario: Counter = field(default_factory=Counter)
    per_scenario_total: Counter = field(default_factory=Counter)

    @property
    def situation_accuracy(self) -> float:
        return self.correct / self.situations if self.situations else 1.0

    @property
    def decline_rate(self) -> float:
        return self.declined / self.out_of_scope if self.out_of_scope else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "situations": self.situations, "situations_correct": self.correct,
            "situation_accuracy": round(self.situation_accuracy, 4), "clarifying_questions": self.clarified,
            "not_sure": self.not_sure, "out_of_scope": self.out_of_scope, "declined": self.declined,
            "decline_rate": round(self.decline_rate, 4), "situations_wrongly_declined": self.false_declines,
            "errors": self.errors,
        }

    def text(self) -> str:
        lines = [
            f"situations: {self.correct}/{self.situations} answered with the right scenario and key citations "
            f"({self.situation_accuracy:.1%}); {self.clarified} needed one clarifying question, "
            f"{self.not_sure} got 'not sure', {self.false_declines} were wrongly declined",
            f"out of scope: {self.declined}/{self.out_of_scope} declined ({self.decline_rate:.1%})",
        ]
        for e in self.errors:
            lines.append(f"  MISS {e['expected'] or 'out_of_scope'} <- {e['got']}: {e['text']}")
        return "\n".join(lines)


def _follow_clarify(assistant: Assistant, case: Case, first) -> Any:
    card = assistant.kb.scenarios.get(case.scenario or "")
    fact = first.clarify_fact
    wanted = set(card.facts.get(fact, ())) if card else set()
    pick = next((o for o in first.options if o.value in wanted), first.options[0])
    facts = dict(first.facts)
    facts[fact] = [pick.value]
    return assistant.ask(case.text, facts=facts, allow_clarify=False)


def evaluate(assistant: Assistant, cases: list[Case]) -> Report:
    report = Report()
    for case in cases:
        answer = assistant.ask(case.text)
        if case.scenario is None:
            report.out_of_scope += 1
            if answer.out_of_scope:
                report.declined += 1
            else:
                report.errors.append({"text": case.text, "expected": None, "got": answer.scenario or answer.intent})
            continue
        report.situations += 1
        report.per_scenario_total[case.scenario] += 1
        if answer.kind == "clarify":
            report.clarified += 1
            answer = _follow_clarify(assistant, case, answer)
        if answer.kind == "not_sure":
            report.not_sure += 1
        if answer.out_of_scope:
            report.false_declines += 1
        card = assistant.kb.scenarios.get(case.scenario)
        key = card.citations[:2] if card else []
        if answer.kind == "answer" and answer.scenario == case.scenario and all(c in answer.citations for c in key):
            report.correct += 1
            report.per_scenario[case.scenario] += 1
        else:
            report.errors.append({"text": case.text, "expected": case.scenario,
                                  "got": answer.scenario if answer.kind == "answer" else f"{answer.kind}:{answer.intent}"})
    return report
