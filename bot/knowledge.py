"""Loading and validating the knowledge base under ``knowledge/``.

Every problem is reported with the file, the entry and the field, and all of
them are collected before refusing, so one run shows everything to fix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from bot import paths

LOCAL_PREFIX = "LOCAL "
SOURCE_STATUSES = {"current", "superseded", "secondary", "press"}
RULE_EFFECTS = {"permit", "restrict", "forbid"}
SCENARIO_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


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


@dataclass(frozen=True)
class Point:
    cite: str
    point: str


@dataclass(frozen=True)
class Variant:
    when: dict[str, str]
    do_now_first: tuple[str, ...] = ()
    note: str = ""


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

    @property
    def cite(self) -> str:
        return LOCAL_PREFIX + self.id


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

    def clause(self, cite: str) -> Clause | None:
        return self.clauses.get(cite) or self.clauses.get(self.aliases.get(cite, ""))

    def is_citable(self, cite: str) -> bool:
        if cite.startswith(LOCAL_PREFIX):
            return self.policy is not None and cite[len(LOCAL_PREFIX):] in self.policy.rules
        return self.clause(cite) is not None


class _Reader:
    """Typed access to one YAML mapping, recording problems instead of raising."""

    def __init__(self, problems: list[Problem], file: str, entry: str, data: Any, prefix: str = ""):
        self.problems, self.file, self.entry, self.prefix = problems, file, entry, prefix
        self.data = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            self.fail("", f"expected a mapping, found {type(data).__name__}")

    def fail(self, name: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.entry, self.prefix + name, message))

    def text(self, name: str, required: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "missing field" if name not in self.data else "must not be empty")
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # a section like 5.10 read as a float would silently become 5.1
            self.fail(name, f"must be quoted text, found the number {value!r}")
            return str(value)
        if not isinstance(value, str):
            self.fail(name, f"must be text, found {type(value).__name__}")
            return None
        return " ".join(value.split())

    def texts(self, name: str, required: bool = False) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "missing field")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(name, "must be a list of non-empty text items")
            return ()
        return tuple(" ".join(v.split()) for v in value)

    def date(self, name: str) -> dt.date:
        value = self.data.get(name)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.fail(name, "missing field" if value is None else f"bad date {value!r} (use YYYY-MM-DD)")
        return dt.date.min

    def mapping(self, name: str, required: bool = False) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "missing field")
            return {}
        if not isinstance(value, dict):
            self.fail(name, f"must be a mapping, found {type(value).__name__}")
            return {}
        return value


def _yaml_files(root: Path, folder: str, problems: list[Problem]) -> Iterator[tuple[Path, str, Any]]:
    """Each readable YAML file in a knowledge folder, in name order; unreadable ones become problems."""
    for path in sorted((root / folder).glob("*.yml")):
        data = _read_yaml(path, root, problems)
        if data is not None:
            yield path, _rel(path, root), data


def _read_yaml(path: Path, root: Path, problems: list[Problem]) -> Any:
    rel = _rel(path, root)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(rel, "", "", f"cannot read file: {exc.strerror}"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, "", "", f"not UTF-8 text (byte {exc.start})"))
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(Problem(rel, "", "", f"malformed YAML{where}: {getattr(exc, 'problem', exc)}"))
        return None


def _entries(problems: list[Problem], rel: str, items: list, key: str, label: str, seen: dict,
             duplicate: Callable[[str], str]) -> Iterator[tuple["_Reader", str]]:
    """Each list item with a new id, as (reader, id); missing and repeated ids are reported."""
    for i, item in enumerate(items):
        raw = item.get(key) if isinstance(item, dict) else None
        reader = _Reader(problems, rel, str(raw or f"{label}[{i + 1}]"), item)
        ident = reader.text(key)
        if ident is None:
            continue
        if ident in seen:
            reader.fail(key, duplicate(ident))
            continue
        yield reader, ident


def _rel(path: Path, root: Path) -> str:
    try:
        return f"{root.name}/{path.relative_to(root)}"
    except ValueError:
        return str(path)


def _fact_map(reader: _Reader, name: str, facts: dict[str, FactSpec]) -> dict[str, tuple[str, ...]]:
    """Read a ``fact -> [values]`` mapping and check every fact and value exists."""
    out: dict[str, tuple[str, ...]] = {}
    for fact, values in reader.mapping(name).items():
        if isinstance(values, (str, bool)):
            values = [values]
        values = ["yes" if v is True else "no" if v is False else v for v in values or []]
        if fact not in facts:
            reader.fail(f"{name}.{fact}", f"unknown fact '{fact}' (known: {', '.join(facts)})")
            continue
        bad = [v for v in values if v not in facts[fact].values]
        if bad or not values:
            reader.fail(f"{name}.{fact}", f"unknown value(s) {bad or 'none given'} "
                        f"(known: {', '.join(facts[fact].values)})")
            continue
        out[fact] = tuple(values)
    return out


def _load_facts(root: Path, problems: list[Problem]) -> dict[str, FactSpec]:
    path = root / "facts.yml"
    data = _read_yaml(path, root, problems)
    rel = _rel(path, root)
    if data is None:
        return {}
    facts: dict[str, FactSpec] = {}
    for name, spec in _Reader(problems, rel, "", data).mapping("facts", required=True).items():
        r = _Reader(problems, rel, name, spec)
        values: dict[str, FactValue] = {}
        for value, vspec in r.mapping("values", required=True).items():
            value = "yes" if value is True else "no" if value is False else str(value)
            vr = _Reader(problems, rel, f"{name}.{value}", vspec)
            values[value] = FactValue(value, vr.text("label") or value, vr.texts("phrases", required=True))
        facts[name] = FactSpec(name, r.text("label") or name, r.text("question") or "", values)
    return facts


def _load_sources(root: Path, problems: list[Problem]) -> dict[str, Source]:
    path = root / "sources.yml"
    rel = _rel(path, root)
    data = _read_yaml(path, root, problems)
    if data is None:
        return {}
    docs = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, list):
        problems.append(Problem(rel, "", "documents", "missing list of documents"))
        return {}
    sources: dict[str, Source] = {}
    for r, key in _entries(problems, rel, docs, "key", "documents", sources, lambda k: f"duplicate id '{k}'"):
        status = r.text("status") or ""
        if status and status not in SOURCE_STATUSES:
            r.fail("status", f"unknown status '{status}' (use {', '.join(sorted(SOURCE_STATUSES))})")
        sources[key] = Source(
            key=key, title=r.text("title") or "", publisher=r.text("publisher") or "",
            edition=r.text("edition", required=False) or "", date=r.date("date"), status=status,
            kind=r.text("kind") or "", where=r.text("where") or "",
            superseded_by=r.text("superseded_by", required=False),
            sections=r.text("sections", required=False) or "numbered",
        )
    for src in sources.values():
        if src.superseded_by and src.superseded_by not in sources:
            problems.append(Problem(rel, src.key, "superseded_by", f"unknown document '{src.superseded_by}'"))
    return sources


def _load_clauses(root: Path, sources: dict[str, Source], problems: list[Problem]) -> dict[str, Clause]:
    clauses: dict[str, Clause] = {}
    for path, rel, data in _yaml_files(root, "clauses", problems):
        items = data.get("clauses") if isinstance(data, dict) else None
        if not isinstance(items, list):
            problems.append(Problem(rel, "", "clauses", "missing list of clauses"))
            continue
        for i, item in enumerate(items):
            cid = item.get("id") if isinstance(item, dict) else None
            r = _Reader(problems, rel, str(cid or f"#{i + 1}"), item)
            cid = r.text("id")
            source = r.text("source")
            if cid is None or source is None:
                continue
            section = r.text("section", required=False)
            if source not in sources:
                r.fail("source", f"unknown document '{source}' (not in sources.yml)")
            expected = f"{source} {section}" if section else source
            if cid != expected:
                r.fail("id", f"id must be '{expected}' (KEY SECTION), found '{cid}'")
            if cid in clauses:
                r.fail("id", f"duplicate id '{cid}' (also in {clauses[cid].file})")
                continue
            clauses[cid] = Clause(
                id=cid, source=source, section=section, heading=r.text("heading", required=False) or "",
                summary=r.text("summary") or "", text=r.text("text") or "", topics=r.texts("topics", required=True),
                file=rel, aliases=r.texts("aliases"), successor=r.texts("successor"),
                change=r.text("change", required=False) or "", secondary=bool(r.data.get("secondary", False)),
            )
    for clause in clauses.values():
        for succ in clause.successor:
            if succ not in clauses:
                problems.append(Problem(clause.file, clause.id, "successor", f"unknown citation '{succ}'"))
        if clause.source == "SCoR-2014" and not clause.successor:
            problems.append(Problem(clause.file, clause.id, "successor",
                                    "missing field (the SoR-2019 paragraph that kept or replaced it)"))
    return clauses


def _load_policy(path: Path, root: Path, facts: dict[str, FactSpec], problems: list[Problem]) -> Policy | None:
    rel = _rel(path, root)
    data = _read_yaml(path, root, problems)
    if data is None:
        return None
    r = _Reader(problems, rel, "", data)
    contacts: dict[str, Contact] = {}
    for i, c in enumerate(r.data.get("contacts") or []):
        cr = _Reader(problems, rel, f"contacts[{i + 1}]", c)
        role = cr.text("role")
        if role:
            contacts[role] = Contact(role, cr.text("title") or role, cr.text("how", False) or "", cr.text("when", False) or "")
    if not contacts:
        r.fail("contacts", "missing field (at least one escalation contact by role)")
    rules: dict[str, Rule] = {}
    raw_rules = r.data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        r.fail("rules", "missing field (a list of rules)")
        raw_rules = []
    for rr, rid in _entries(problems, rel, raw_rules, "id", "rules", rules, lambda k: f"rule id '{k}' used twice"):
        effect = rr.text("effect") or ""
        if effect and effect not in RULE_EFFECTS:
            rr.fail("effect", f"unknown effect '{effect}' (use permit, restrict or forbid)")
        contact = rr.text("contact", required=False)
        if contact and contact not in contacts:
            rr.fail("contact", f"unknown contact role '{contact}'")
        rules[rid] = Rule(
            id=rid, title=rr.text("title") or "", effect=effect, applies_to=_fact_map(rr, "applies_to", facts),
            conditions=rr.texts("conditions"), text=rr.text("text") or "", implements=rr.texts("implements"),
            departs_from_national=rr.text("departs_from_national", required=False), contact=contact,
        )
    approved, review = r.date("approved"), r.date("review")
    if approved != dt.date.min and review != dt.date.min and review < approved:
        r.fail("review", f"review date {review} is before the approval date {approved}")
    return Policy(
        department=r.text("department") or "", owner=r.text("owner") or "", version=str(r.data.get("version", "")),
        approved=approved, review=review, incident_system=r.text("incident_system", required=False) or "",
        contacts=contacts, rules=rules, file=rel,
    )


def _load_scenarios(root: Path, facts: dict[str, FactSpec], problems: list[Problem]) -> dict[str, Scenario]:
    scenarios: dict[str, Scenario] = {}
    for path, rel, data in _yaml_files(root, "scenarios", problems):
        sid = data.get("id") if isinstance(data, dict) else None
        r = _Reader(problems, rel, str(sid or path.stem), data)
        sid = r.text("id")
        if sid is None:
            continue
        if not SCENARIO_ID.match(sid):
            r.fail("id", f"'{sid}' must be lower-case words joined by hyphens")
        if sid != path.stem:
            r.fail("id", f"id '{sid}' must equal the file name '{path.stem}'")
        if sid in scenarios:
            r.fail("id", f"duplicate id '{sid}' (also in {scenarios[sid].file})")
            continue
        ans = _Reader(problems, rel, sid, r.mapping("answer", required=True), prefix="answer.")
        why: list[Point] = []
        for j, item in enumerate(ans.data.get("why") or []):
            pr = _Reader(problems, rel, sid, item)
            cite, point = pr.data.get("cite"), pr.data.get("point")
            if not isinstance(cite, str) or not cite.strip():
                pr.fail(f"answer.why[{j + 1}].cite", "missing field")
                continue
            if not isinstance(point, str) or not point.strip():
                pr.fail(f"answer.why[{j + 1}].point", "missing field")
            why.append(Point(cite.strip(), " ".join(str(point or "").split())))
        variants = []
        for j, item in enumerate(r.data.get("variants") or []):
            vr = _Reader(problems, rel, sid, item)
            when = {k: v[0] for k, v in _fact_map(vr, "when", facts).items()}
            if not when:
                vr.fail(f"variants[{j + 1}].when", "missing field (the fact values this variant needs)")
            variants.append(Variant(when, vr.texts("do_now_first"), vr.text("note", required=False) or ""))
        deciding = r.texts("deciding")
        for fact in deciding:
            if fact not in facts:
                r.fail("deciding", f"unknown fact '{fact}'")
        scenario = Scenario(
            id=sid, title=r.text("title") or "", summary=r.text("summary") or "",
            facts=_fact_map(r, "facts", facts), deciding=deciding,
            do_now=ans.texts("do_now", required=True), say=ans.text("say", required=False), why=tuple(why),
            record=ans.texts("record"), escalate=ans.text("escalate", required=False),
            caveats=ans.texts("caveats"), variants=tuple(variants), file=rel,
            record_none_reason=ans.text("record_none_reason", required=False),
        )
        if not scenario.record and not scenario.record_none_reason:
            ans.fail("record", "empty: give a record template, or say why in record_none_reason")
        scenarios[sid] = scenario
    return scenarios


def _check_citations(kb: KnowledgeBase, problems: list[Problem]) -> None:
    for s in kb.scenarios.values():
        if not s.why:
            problems.append(Problem(s.file, s.id, "answer.why", "scenario cites nothing"))
        elif len(s.citations) < 2:
            problems.append(Problem(s.file, s.id, "answer.why", "scenario must cite at least two clauses"))
        for j, p in enumerate(s.why):
            if not kb.is_citable(p.cite):
                problems.append(Problem(s.file, s.id, f"answer.why[{j + 1}].cite", f"unknown citation '{p.cite}'"))
        lead = kb.clause(s.why[0].cite) if s.why else None
        if lead and lead.source in kb.sources and kb.sources[lead.source].status == "press":
            # A news story can illustrate a point but is not guidance, so it never leads.
            problems.append(Problem(s.file, s.id, "answer.why[1].cite",
                                    f"'{lead.id}' is a press report: lead with the guidance and cite it later"))
    if kb.policy:
        for rule in kb.policy.rules.values():
            for cite in rule.implements:
                if not kb.is_citable(cite):
                    problems.append(Problem(kb.policy.file, rule.id, "implements", f"unknown citation '{cite}'"))


def _version(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(root) if root in path.parents else path.name
        digest.update(str(name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def policy_path(root: Path) -> Path | None:
    """The local policy file: ``POLICY_FILE`` if set, else the one in knowledge/policy/."""
    chosen = os.environ.get("POLICY_FILE")
    if chosen:
        return Path(chosen)
    found = sorted((root / "policy").glob("*.yml"))
    return found[0] if found else None


def load(root: Path | None = None, policy_file: Path | None = None) -> KnowledgeBase:
    """Load and validate everything; raise :class:`KnowledgeError` listing every problem."""
    root = Path(root or paths.KNOWLEDGE)
    problems: list[Problem] = []
    facts = _load_facts(root, problems)
    sources = _load_sources(root, problems)
    clauses = _load_clauses(root, sources, problems)
    scenarios = _load_scenarios(root, facts, problems)
    pfile = policy_file or policy_path(root)
    policy = _load_policy(pfile, root, facts, problems) if pfile else None
    aliases = {f"{c.source} {a}": c.id for c in clauses.values() for a in c.aliases}
    kb = KnowledgeBase(sources, clauses, scenarios, facts, policy, "", aliases)
    _check_citations(kb, problems)
    if problems:
        raise KnowledgeError(problems)
    # A policy kept outside knowledge/ (POLICY_FILE) shapes the answers too, so it is part of the version.
    files = sorted(root.rglob("*.yml"))
    if pfile and root not in pfile.parents:
        files.append(pfile)
    kb.version = _version(root, files)
    return kb
