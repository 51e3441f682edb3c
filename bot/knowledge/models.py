"""The knowledge base as typed objects: sources, clauses, scenario cards, facts and local policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

LOCAL_PREFIX = "LOCAL "


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.entry:
            where += f": entry '{self.entry}'"
        if self.field:
            where += f": field '{self.field}'"
        return f"{where}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base is broken; ``problems`` lists every fault found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"knowledge base refused ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class Review:
    """Who checked an item against which sources, and when (a role, never a name)."""

    date: dt.date
    by_role: str
    against: tuple[str, ...]


@dataclass(frozen=True)
class Line:
    """One sentence shown to staff and where it comes from: clauses it rests on, or general practice."""

    text: str
    cite: tuple[str, ...] = ()
    basis: str | None = None  # "practice": general safety or local practice, no clause behind it

    @property
    def kind(self) -> str:
        """guidance | local | practice: what the page tags the line with."""
        if self.basis:
            return self.basis
        return "local" if any(c.startswith(LOCAL_PREFIX) for c in self.cite) else "guidance"


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    publisher: str
    edition: str
    date: dt.date
    status: str
    kind: str
    where: str
    superseded_by: str | None = None
    sections: str = "numbered"
    changed: dt.date | None = None  # when our copy of the source last changed (defaults to `date`)

    @property
    def last_changed(self) -> dt.date:
        return self.changed or self.date

    @property
    def cited_title(self) -> str:
        """How an answer names the document: title, then edition and year."""
        edition = f"{self.edition}, {self.date.year}" if self.edition else str(self.date.year)
        return f"{self.title} ({edition})"


@dataclass(frozen=True)
class Clause:
    id: str
    source: str
    section: str | None
    heading: str
    summary: str
    text: str
    topics: tuple[str, ...]
    file: str
    aliases: tuple[str, ...] = ()
    successor: tuple[str, ...] = ()
    change: str = ""
    secondary: bool = False
    strength: str = "info"  # must | should | may | info: the strongest obligation its source uses
    legal: tuple[str, ...] = ()  # legal words its source itself uses
    reviewed: Review | None = None


@dataclass(frozen=True)
class Point:
    cite: str
    point: str


@dataclass(frozen=True)
class Variant:
    when: dict[str, str]
    do_now_first: tuple[str, ...] = ()
    note: str = ""
    do_now_first_lines: tuple[Line, ...] = ()
    note_line: Line | None = None


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    summary: str
    facts: dict[str, tuple[str, ...]]
    deciding: tuple[str, ...]
    do_now: tuple[str, ...]
    say: str | None
    why: tuple[Point, ...]
    record: tuple[str, ...]
    escalate: str | None
    caveats: tuple[str, ...]
    variants: tuple[Variant, ...]
    file: str
    record_none_reason: str | None = None
    # the same sentences as do_now/say/caveats, each with its provenance
    do_now_lines: tuple[Line, ...] = ()
    say_line: Line | None = None
    caveat_lines: tuple[Line, ...] = ()
    reviewed: Review | None = None
    notes: tuple[str, ...] = ()
    quiz: dict[str, Any] | None = None  # quiz vignettes, validated by the quiz module

    @property
    def citations(self) -> list[str]:
        return list(dict.fromkeys(p.cite for p in self.why))


@dataclass(frozen=True)
class FactValue:
    value: str
    label: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class FactSpec:
    name: str
    label: str
    question: str
    values: dict[str, FactValue]


@dataclass(frozen=True)
class Contact:
    role: str
    title: str
    how: str
    when: str


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    effect: str
    applies_to: dict[str, tuple[str, ...]]
    conditions: tuple[str, ...]
    text: str
    implements: tuple[str, ...]
    departs_from_national: str | None
    contact: str | None
    layer: str = "trust"  # trust | department: which policy file it comes from
    source: str = ""  # that file's name for itself ("Radiotherapy", "Example NHS Trust")
    overrides: tuple[str, ...] = ()  # trust rules this department rule replaces

    @property
    def cite(self) -> str:
        return LOCAL_PREFIX + self.id

    @property
    def layer_label(self) -> str:
        """How an answer names where the rule comes from: "Radiotherapy (department policy)"."""
        return f"{self.source} ({self.layer} policy)" if self.source else f"{self.layer} policy"


@dataclass(frozen=True)
class Statement:
    """A governance commitment in a policy (review cycle, data protection sign-off), not a recording rule."""

    id: str
    text: str
    implements: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    department: str
    owner: str
    version: str
    approved: dt.date
    review: dt.date
    incident_system: str
    contacts: dict[str, Contact]
    rules: dict[str, Rule]
    file: str
    statements: tuple[Statement, ...] = ()
    layer: str = "trust"  # trust | department
    department_id: str | None = None  # a department file's id (its file name)
    layers: tuple[Policy, ...] = ()  # an effective policy: the files it was built from, department first

    @property
    def files(self) -> tuple[Policy, ...]:
        """The policy files behind this policy (itself, when it is a single file)."""
        return self.layers or (self,)

    def is_past_review(self, today: dt.date | None = None) -> bool:
        return (today or dt.date.today()) > self.review


@dataclass
class KnowledgeBase:
    sources: dict[str, Source]
    clauses: dict[str, Clause]
    scenarios: dict[str, Scenario]
    facts: dict[str, FactSpec]
    policy: Policy | None
    version: str
    aliases: dict[str, str] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # worth a look, not a reason to refuse
    departments: dict[str, Policy] = field(default_factory=dict)  # department id -> its own layer only

    def clause(self, cite: str) -> Clause | None:
        return self.clauses.get(cite) or self.clauses.get(self.aliases.get(cite, ""))

    def is_citable(self, cite: str) -> bool:
        if cite.startswith(LOCAL_PREFIX):
            return self.policy is not None and cite[len(LOCAL_PREFIX) :] in self.policy.rules
        return self.clause(cite) is not None


def scenario_lines(s: Scenario) -> Iterator[tuple[str, Line]]:
    """Every sentence a card shows staff, with its field path, in the card's order."""
    for i, line in enumerate(s.do_now_lines):
        yield f"answer.do_now[{i + 1}]", line
    if s.say_line:
        yield "answer.say", s.say_line
    for i, line in enumerate(s.caveat_lines):
        yield f"answer.caveats[{i + 1}]", line
    for j, v in enumerate(s.variants):
        for i, line in enumerate(v.do_now_first_lines):
            yield f"variants[{j + 1}].do_now_first[{i + 1}]", line
        if v.note_line:
            yield f"variants[{j + 1}].note", v.note_line
