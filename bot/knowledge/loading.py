"""Loading and validating the knowledge base under ``knowledge/``.

Every problem is reported with the file, the entry and the field, and all of
them are collected before refusing, so one run shows everything to fix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from bot import config
from bot.knowledge import review as review_trail
from bot.knowledge import safety, schemas, yaml_safe
from bot.knowledge.layers import layer_problems
from bot.knowledge.models import (
    Clause,
    Contact,
    FactSpec,
    FactValue,
    KnowledgeBase,
    KnowledgeError,
    Line,
    Point,
    Policy,
    Problem,
    Review,
    Rule,
    Scenario,
    Source,
    Statement,
    Variant,
    scenario_lines,
)

S = TypeVar("S", bound=BaseModel)

SCENARIO_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _yaml_files(root: Path, folder: str, problems: list[Problem]) -> Iterator[tuple[Path, str, Any]]:
    """Each readable YAML file in a knowledge folder, in name order; unreadable ones become problems."""
    for path in sorted((root / folder).glob("*.yml")):
        data = _read_yaml(path, root, problems)
        if data is not None:
            yield path, _rel(path, root), data


def _read_yaml(path: Path, root: Path, problems: list[Problem]) -> Any:
    """The parsed file, or None with one problem saying why it cannot be used (never a traceback)."""
    try:
        return yaml_safe.read(path)
    except yaml_safe.YamlRefused as exc:
        problems.append(Problem(_rel(path, root), "", "", str(exc)))
        return None


def _rel(path: Path, root: Path) -> str:
    try:
        return f"{root.name}/{path.relative_to(root)}"
    except ValueError:
        return str(path)


def _check(model: type[S], data: Any, rel: str, entry: str, problems: list[Problem], prefix: str = "") -> S | None:
    doc, found = schemas.validate(model, data, rel, entry, prefix)
    problems += found
    return doc  # type: ignore[return-value]


def _items(data: Any, key: str) -> list[Any]:
    """The list under ``key`` of a file's top-level mapping (the file's own problems are reported by its schema)."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _entry_name(item: Any, key: str, fallback: str) -> str:
    raw = item.get(key) if isinstance(item, dict) else None
    return str(raw) if isinstance(raw, (str, int, float)) and str(raw).strip() else fallback


def _fact_map(
    fmap: dict[str, list[str]], rel: str, entry: str, name: str, facts: dict[str, FactSpec], problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    """Check every fact and value of a ``fact -> [values]`` mapping exists in facts.yml."""
    out: dict[str, tuple[str, ...]] = {}
    for fact, values in fmap.items():
        if fact not in facts:
            problems.append(Problem(rel, entry, f"{name}.{fact}", f"unknown fact '{fact}' (known: {', '.join(facts)})"))
            continue
        bad = [v for v in values if v not in facts[fact].values]
        if bad or not values:
            problems.append(
                Problem(
                    rel,
                    entry,
                    f"{name}.{fact}",
                    f"unknown value(s) {bad or 'none given'} (known: {', '.join(facts[fact].values)})",
                )
            )
            continue
        out[fact] = tuple(values)
    return out


def _review(doc: schemas.Reviewed | None) -> Review | None:
    return Review(doc.date, doc.by_role, tuple(doc.against)) if doc else None


def _line(doc: schemas.Line | None) -> Line | None:
    return Line(doc.text, tuple(doc.cite or ()), doc.basis) if doc else None


def _load_facts(root: Path, problems: list[Problem]) -> dict[str, FactSpec]:
    path = root / "facts.yml"
    data = _read_yaml(path, root, problems)
    rel = _rel(path, root)
    if data is None:
        return {}
    top = _check(schemas.FactsFile, data, rel, "", problems)
    facts: dict[str, FactSpec] = {}
    for name, spec in (top.facts if top else {}).items():
        doc = _check(schemas.FactDoc, spec, rel, str(name), problems)
        if doc is None:
            continue
        values: dict[str, FactValue] = {}
        for value, vspec in doc.values.items():
            value = "yes" if value is True else "no" if value is False else str(value)
            vdoc = _check(schemas.FactValueDoc, vspec, rel, f"{name}.{value}", problems)
            if vdoc:
                values[value] = FactValue(value, vdoc.label or value, tuple(vdoc.phrases))
        facts[str(name)] = FactSpec(str(name), doc.label or str(name), doc.question, values)
    return facts


def _load_sources(root: Path, problems: list[Problem]) -> dict[str, Source]:
    path = root / "sources.yml"
    rel = _rel(path, root)
    data = _read_yaml(path, root, problems)
    if data is None:
        return {}
    if _check(schemas.SourcesFile, data, rel, "", problems) is None:
        return {}
    sources: dict[str, Source] = {}
    for i, item in enumerate(_items(data, "documents")):
        doc = _check(schemas.SourceDoc, item, rel, _entry_name(item, "key", f"documents[{i + 1}]"), problems)
        if doc is None:
            continue
        if doc.key in sources:
            problems.append(Problem(rel, doc.key, "key", f"duplicate id '{doc.key}'"))
            continue
        sources[doc.key] = Source(
            key=doc.key,
            title=doc.title,
            publisher=doc.publisher,
            edition=doc.edition or "",
            date=doc.date,
            status=doc.status,
            kind=doc.kind,
            where=doc.where,
            superseded_by=doc.superseded_by,
            sections=doc.sections or "numbered",
            changed=doc.changed,
        )
    for src in sources.values():
        if src.superseded_by and src.superseded_by not in sources:
            problems.append(Problem(rel, src.key, "superseded_by", f"unknown document '{src.superseded_by}'"))
    return sources


def _check_against(
    review: Review | None, sources: dict[str, Source], rel: str, entry: str, problems: list[Problem]
) -> None:
    for key in review.against if review else ():
        if sources and key not in sources:
            problems.append(Problem(rel, entry, "reviewed.against", f"unknown document '{key}' (not in sources.yml)"))


def _load_clauses(
    root: Path, sources: dict[str, Source], problems: list[Problem]
) -> tuple[dict[str, Clause], set[str]]:
    """The clauses, and the ids of clauses that failed their schema (kept as stubs so citations still resolve)."""
    clauses: dict[str, Clause] = {}
    broken: set[str] = set()
    for _path, rel, data in _yaml_files(root, "clauses", problems):
        if _check(schemas.ClausesFile, data, rel, "", problems) is None:
            continue
        for i, item in enumerate(_items(data, "clauses")):
            entry = _entry_name(item, "id", f"#{i + 1}")
            doc = _check(schemas.ClauseDoc, item, rel, entry, problems)
            if doc is None:
                # Keep a stub under its id, so cards citing it are not also reported as citing nothing.
                if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] not in clauses:
                    clauses[item["id"]] = Clause(item["id"], str(item.get("source", "")), None, "", "", "", (), rel)
                    broken.add(item["id"])
                continue
            cid, source, section = doc.id, doc.source, doc.section
            if source not in sources:
                problems.append(Problem(rel, entry, "source", f"unknown document '{source}' (not in sources.yml)"))
            expected = f"{source} {section}" if section else source
            if cid != expected:
                problems.append(Problem(rel, entry, "id", f"id must be '{expected}' (KEY SECTION), found '{cid}'"))
            if cid in clauses:
                problems.append(Problem(rel, entry, "id", f"duplicate id '{cid}' (also in {clauses[cid].file})"))
                continue
            review = _review(doc.reviewed)
            _check_against(review, sources, rel, entry, problems)
            clauses[cid] = Clause(
                id=cid,
                source=source,
                section=section,
                heading=doc.heading or "",
                summary=doc.summary,
                text=doc.text,
                topics=tuple(doc.topics),
                file=rel,
                aliases=tuple(doc.aliases),
                successor=tuple(doc.successor),
                change=doc.change or "",
                secondary=doc.secondary,
                strength=doc.strength,
                legal=tuple(doc.legal),
                reviewed=review,
            )
    for clause in clauses.values():
        if clause.id in broken:
            continue
        for succ in clause.successor:
            if succ not in clauses:
                problems.append(Problem(clause.file, clause.id, "successor", f"unknown citation '{succ}'"))
        if clause.source == "SCoR-2014" and not clause.successor:
            problems.append(
                Problem(
                    clause.file,
                    clause.id,
                    "successor",
                    "missing field (the SoR-2019 paragraph that kept or replaced it)",
                )
            )
    return clauses, broken


def _load_policy(
    path: Path,
    root: Path,
    facts: dict[str, FactSpec],
    problems: list[Problem],
    layer: str = "trust",
    trust: Policy | None = None,
) -> Policy | None:
    """One policy file. ``layer="department"``: a department's file, whose rules may name the ``trust``'s
    contacts and override the trust's rules (checked in layers.py)."""
    rel = _rel(path, root)
    data = _read_yaml(path, root, problems)
    if data is None:
        return None
    header = _check(schemas.PolicyFile, data, rel, "", problems)
    if not isinstance(data, dict):
        return None
    contacts: dict[str, Contact] = {}
    for i, item in enumerate(_items(data, "contacts")):
        doc = _check(schemas.ContactDoc, item, rel, f"contacts[{i + 1}]", problems)
        if doc is None:
            continue
        if doc.role in contacts:
            problems.append(Problem(rel, f"contacts[{i + 1}]", "role", f"contact role '{doc.role}' used twice"))
            continue
        contacts[doc.role] = Contact(doc.role, doc.title or doc.role, doc.how or "", doc.when or "")
    if isinstance(data.get("contacts"), list) and not contacts:
        problems.append(Problem(rel, "", "contacts", "missing field (at least one escalation contact by role)"))
    raw_rules = data.get("rules")
    if isinstance(raw_rules, list) and not raw_rules:
        problems.append(Problem(rel, "", "rules", "missing field (a list of rules)"))
    rules: dict[str, Rule] = {}
    for i, item in enumerate(_items(data, "rules")):
        entry = _entry_name(item, "id", f"rules[{i + 1}]")
        doc = _check(schemas.RuleDoc, item, rel, entry, problems)
        if doc is None:
            continue
        if doc.id in rules:
            problems.append(Problem(rel, entry, "id", f"rule id '{doc.id}' used twice"))
            continue
        if doc.contact and doc.contact not in contacts and not (trust and doc.contact in trust.contacts):
            problems.append(Problem(rel, entry, "contact", f"unknown contact role '{doc.contact}'"))
        if doc.overrides and layer != "department":
            problems.append(
                Problem(rel, entry, "overrides", "only a department's policy file overrides rules (this is the trust)")
            )
        rules[doc.id] = Rule(
            id=doc.id,
            title=doc.title,
            effect=doc.effect,
            applies_to=_fact_map(doc.applies_to, rel, entry, "applies_to", facts, problems),
            conditions=tuple(doc.conditions),
            text=doc.text,
            implements=tuple(doc.implements),
            departs_from_national=doc.departs_from_national,
            contact=doc.contact,
            layer=layer,
            source=(header.department or header.trust or "") if header else "",
            overrides=tuple(doc.overrides),
        )
    statements = []
    for i, item in enumerate(_items(data, "statements")):
        doc = _check(schemas.StatementDoc, item, rel, f"statements[{i + 1}]", problems)
        if doc:
            statements.append(Statement(doc.id, doc.text, tuple(doc.implements)))
    if header is None:
        return None
    if header.review < header.approved:
        problems.append(
            Problem(rel, "", "review", f"review date {header.review} is before the approval date {header.approved}")
        )
    return Policy(
        department=header.department or header.trust or "",
        owner=header.owner,
        version=header.version or "",
        approved=header.approved,
        review=header.review,
        incident_system=header.incident_system or "",
        contacts=contacts,
        rules=rules,
        file=rel,
        statements=tuple(statements),
        layer=layer,
        department_id=path.stem if layer == "department" else None,
    )


def _load_scenarios(
    root: Path, facts: dict[str, FactSpec], sources: dict[str, Source], problems: list[Problem]
) -> dict[str, Scenario]:
    scenarios: dict[str, Scenario] = {}
    for path, rel, data in _yaml_files(root, "scenarios", problems):
        entry = _entry_name(data, "id", path.stem)
        doc = _check(schemas.ScenarioDoc, data, rel, entry, problems)
        if doc is None:
            continue
        sid = doc.id
        if not SCENARIO_ID.match(sid):
            problems.append(Problem(rel, sid, "id", f"'{sid}' must be lower-case words joined by hyphens"))
        if sid != path.stem:
            problems.append(Problem(rel, sid, "id", f"id '{sid}' must equal the file name '{path.stem}'"))
        if sid in scenarios:
            problems.append(Problem(rel, sid, "id", f"duplicate id '{sid}' (also in {scenarios[sid].file})"))
            continue
        ans = doc.answer
        variants = []
        for j, v in enumerate(doc.variants):
            when = {
                k: vals[0]
                for k, vals in _fact_map(v.when, rel, sid, f"variants[{j + 1}].when", facts, problems).items()
            }
            if not when and not v.when:
                problems.append(
                    Problem(rel, sid, f"variants[{j + 1}].when", "missing field (the fact values this variant needs)")
                )
            lines = tuple(_line(x) for x in v.do_now_first)
            note = _line(v.note)
            variants.append(Variant(when, tuple(x.text for x in lines), note.text if note else "", lines, note))
        for fact in doc.deciding:
            if fact not in facts:
                problems.append(Problem(rel, sid, "deciding", f"unknown fact '{fact}'"))
        do_now = tuple(_line(x) for x in ans.do_now)
        say = _line(ans.say)
        caveats = tuple(_line(x) for x in ans.caveats)
        review = _review(doc.reviewed)
        _check_against(review, sources, rel, sid, problems)
        scenario = Scenario(
            id=sid,
            title=doc.title,
            summary=doc.summary,
            facts=_fact_map(doc.facts, rel, sid, "facts", facts, problems),
            deciding=tuple(doc.deciding),
            do_now=tuple(x.text for x in do_now),
            say=say.text if say else None,
            why=tuple(Point(p.cite, p.point) for p in ans.why),
            record=tuple(ans.record),
            escalate=ans.escalate,
            caveats=tuple(x.text for x in caveats),
            variants=tuple(variants),
            file=rel,
            record_none_reason=ans.record_none_reason,
            do_now_lines=do_now,
            say_line=say,
            caveat_lines=caveats,
            reviewed=review,
            notes=tuple(doc.notes),
            quiz=doc.quiz,
        )
        if not scenario.record and not scenario.record_none_reason:
            problems.append(
                Problem(rel, sid, "answer.record", "empty: give a record template, or say why in record_none_reason")
            )
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
            problems.append(
                Problem(
                    s.file,
                    s.id,
                    "answer.why[1].cite",
                    f"'{lead.id}' is a press report: lead with the guidance and cite it later",
                )
            )
        for where, line in scenario_lines(s):
            for cite in line.cite:
                if not kb.is_citable(cite):
                    problems.append(Problem(s.file, s.id, f"{where}.cite", f"unknown citation '{cite}'"))
    for pol in ([kb.policy] if kb.policy else []) + list(kb.departments.values()):
        for rule in pol.rules.values():
            for cite in rule.implements:
                if not kb.is_citable(cite):
                    problems.append(Problem(pol.file, rule.id, "implements", f"unknown citation '{cite}'"))


def _version(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(root) if root in path.parents else path.name
        digest.update(str(name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


TRUST_FILE = "trust.yml"
DEPARTMENTS_DIR = "departments"


def policy_layout(
    root: Path, policy_file: Path | None = None, policy_dir: Path | None = None
) -> tuple[Path | None, list[Path]]:
    """(the trust-wide file, the department files). A single ``POLICY_FILE`` is the trust layer with no
    departments; otherwise ``POLICY_DIR`` (default knowledge/policy/) holds trust.yml and departments/*.yml.
    A folder with no trust.yml is read the old way: its first file is the one policy."""
    s = config.settings()
    chosen = policy_file or (None if policy_dir else s.policy_file)
    if chosen:
        return chosen, []
    folder = Path(policy_dir or s.policy_dir or root / "policy")
    if not (folder / TRUST_FILE).is_file():
        found = sorted(folder.glob("*.yml"))
        return (found[0] if found else None), []
    return folder / TRUST_FILE, sorted((folder / DEPARTMENTS_DIR).glob("*.yml"))


def _policy_root(path: Path, root: Path) -> Path:
    """What a policy file's name is given from: knowledge/, or for a policy kept elsewhere the folder above
    its own (so problems name "policy/trust.yml", not a long absolute path)."""
    if root in path.parents:
        return root
    return path.parent.parent if path.parent.name == DEPARTMENTS_DIR else path.parent


def policy_path(root: Path) -> Path | None:
    """The trust-wide (or only) policy file."""
    return policy_layout(root)[0]


def load_departments(
    paths: list[Path], root: Path, facts: dict[str, FactSpec], trust: Policy | None, problems: list[Problem]
) -> dict[str, Policy]:
    """Each department's own layer, checked against the trust's (overrides and conflicts), in name order."""
    out: dict[str, Policy] = {}
    for path in paths:
        base = _policy_root(path, root)
        rel = _rel(path, base)
        if not SCENARIO_ID.match(path.stem):
            problems.append(
                Problem(
                    rel,
                    "",
                    "",
                    f"department id '{path.stem}' (the file name) must be lower-case words joined by hyphens",
                )
            )
            continue
        if trust is None:
            if problems:  # the trust's file is broken: its own problems are reported, not this knock-on
                continue
            problems.append(
                Problem(
                    rel,
                    "",
                    "",
                    f"a department policy needs the trust-wide {TRUST_FILE} beside the {DEPARTMENTS_DIR}/ folder",
                )
            )
            continue
        dept = _load_policy(path, base, facts, problems, layer="department", trust=trust)
        if dept is not None:
            problems += layer_problems(trust, dept)
            out[path.stem] = dept
    # Staff look for their department by name, so every list of them is in name order.
    return dict(sorted(out.items(), key=lambda item: (item[1].department.casefold(), item[0])))


def load(root: Path | None = None, policy_file: Path | None = None, policy_dir: Path | None = None) -> KnowledgeBase:
    """Load and validate everything; raise :class:`KnowledgeError` listing every problem."""
    root = Path(root or config.settings().knowledge_dir)
    problems: list[Problem] = []
    facts = _load_facts(root, problems)
    sources = _load_sources(root, problems)
    clauses, broken = _load_clauses(root, sources, problems)
    scenarios = _load_scenarios(root, facts, sources, problems)
    pfile, dfiles = policy_layout(root, policy_file, policy_dir)
    policy = _load_policy(pfile, _policy_root(pfile, root), facts, problems) if pfile else None
    departments = load_departments(dfiles, root, facts, policy, problems)
    aliases = {f"{c.source} {a}": c.id for c in clauses.values() for a in c.aliases}
    kb = KnowledgeBase(sources, clauses, scenarios, facts, policy, "", aliases, departments=departments)
    _check_citations(kb, problems)
    problems += safety.check_wording(kb, skip=broken)
    if problems:
        raise KnowledgeError(problems)
    # A policy kept outside knowledge/ (POLICY_FILE, POLICY_DIR) shapes the answers too: part of the version.
    files = sorted(root.rglob("*.yml"))
    files += [p for p in ([pfile] if pfile else []) + dfiles if root not in p.parents]
    kb.version = _version(root, files)
    kb.warnings = review_trail.warnings(kb)
    return kb
