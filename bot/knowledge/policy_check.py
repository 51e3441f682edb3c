"""``python -m bot policy check PATH``: a department policy read against the
national guidance, for the people who write and review it.

Coverage is judged clause by clause: the guidance expects a policy to deal
with SoR-2019 5.2-5.16 and the six SCoR-2014 advice points. A rule deals with
a clause when it names it in ``implements`` (a 2014 point also counts as
covered when its 2019 successor is).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot import config
from bot.knowledge import layers, safety
from bot.knowledge import loading as knowledge
from bot.knowledge.models import KnowledgeBase, Policy, Problem, Rule

EXPECTED = [f"SoR-2019 5.{i}" for i in range(2, 17)] + [f"SCoR-2014 ({n})" for n in ("i", "ii", "iii", "iv", "v", "vi")]
REFUSE_CARE = re.compile(r"\b(refuse|decline|stop|end|cancel)\w*\b.{0,40}\b(treat|scan|examin|care|appointment)", re.I)
NEEDED_CONTACT_HINTS = ("duty", "senior", "superintendent", "manager", "lead", "charge")


@dataclass
class PolicyReport:
    path: Path
    policy: Policy | None
    problems: list[str] = field(default_factory=list)
    covered: dict[str, list[str]] = field(default_factory=dict)  # clause -> rule ids
    missing: list[str] = field(default_factory=list)
    contradictions: list[str] = field(default_factory=list)
    departures: list[str] = field(default_factory=list)
    contact_gaps: list[str] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)
    review_note: str = ""
    past_review: bool = False
    layer_note: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.past_review


def _contradictions(rule: Rule) -> list[str]:
    found = []
    how, who = set(rule.applies_to.get("how", ())), set(rule.applies_to.get("who", ()))
    if rule.effect == "forbid" and "audio" in how and (not who or "patient" in who):
        found.append(
            f"{rule.cite} forbids patients audio-recording: SoR-2019 5.1 treats a patient's recording of "
            "their own consultation as note-taking that needs no permission."
        )
    if REFUSE_CARE.search(rule.text) and "not" not in rule.text.lower().split():
        found.append(
            f"{rule.cite} lets staff refuse or stop care because of a recording: MDU-2019 and "
            "SoR-2019 2.11 say refusing to go on treating is not justified."
        )
    if rule.effect == "forbid" and not rule.applies_to:
        found.append(
            f"{rule.cite} forbids all recording everywhere: SoR-2019 5.1 and 4.1 recognise good reasons "
            "for patients to record."
        )
    return found


def _about_the_same_thing(a: Rule, b: Rule) -> bool:
    """True when both rules speak to the same fact with a value in common, and no shared fact keeps them
    apart. Rules on different facts (audio permitted; nothing during an exposure) combine, so they are
    not reported."""
    shared = set(a.applies_to) & set(b.applies_to)
    return bool(shared) and all(set(a.applies_to[f]) & set(b.applies_to[f]) for f in shared)


def overlapping_rules(policy: Policy) -> list[str]:
    """Rules with different effects that can match the same situation, where neither text names the other
    (saying which one decides). Staff shown both cannot tell which wins (hazard HAZ-04)."""
    rules = list(policy.rules.values())
    found = []
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if a.effect == b.effect or not _about_the_same_thing(a, b):
                continue
            if re.search(rf"\b{re.escape(b.id)}\b", a.text) or re.search(rf"\b{re.escape(a.id)}\b", b.text):
                continue
            shared = sorted(set(a.applies_to) & set(b.applies_to))
            found.append(
                f"{a.cite} ({a.effect}) and {b.cite} ({b.effect}) can both match one situation "
                f"(both cover {', '.join(shared)}) and neither text says which decides"
            )
    return found


def trust_for(path: Path) -> Path | None:
    """The trust-wide file a department's file sits under (``<dir>/departments/<id>.yml`` -> ``<dir>/trust.yml``)."""
    if path.parent.name != knowledge.DEPARTMENTS_DIR:
        return None
    trust = path.parent.parent / knowledge.TRUST_FILE
    return trust if trust.is_file() else None


def check(path: Path, kb: KnowledgeBase, today: dt.date | None = None) -> PolicyReport:
    """One policy file. A department's file is checked with the trust's beneath it: its own rules for
    wording, conflicts with the trust's and departures; coverage on the two together."""
    problems: list[Problem] = []
    trust_path = trust_for(path)
    if trust_path is None:
        own = policy = knowledge._load_policy(path, path.parent, kb.facts, problems)
    else:
        trust = knowledge._load_policy(trust_path, trust_path.parent, kb.facts, problems)
        own = knowledge._load_policy(path, path.parent.parent, kb.facts, problems, layer="department", trust=trust)
        if trust is not None and own is not None:
            problems += layers.layer_problems(trust, own)
            policy = layers.effective(trust, own)
        else:
            policy = None
    report = PolicyReport(path, policy, [str(p) for p in problems])
    if policy is None or own is None:  # unreadable or not YAML: the problems say why
        return report
    report.layer_note = (
        f"department '{own.department_id}' on top of {trust_path.name}: {len(own.rules)} own rules, "
        f"{len(layers.replaced(own) & set(policy.files[-1].rules))} trust rules overridden"
        if trust_path
        else ""
    )
    for rule in own.rules.values():
        report.problems += [
            f"{path.name}: entry '{rule.id}': field 'implements': unknown citation '{c}'"
            for c in rule.implements
            if not kb.is_citable(c)
        ]
    implemented: dict[str, list[str]] = {}
    for rule in policy.rules.values():
        for cite in rule.implements:
            implemented.setdefault(cite, []).append(rule.id)
    for st in policy.statements:
        for cite in st.implements:
            if not kb.is_citable(cite):
                report.problems.append(f"{path.name}: entry '{st.id}': field 'implements': unknown citation '{cite}'")
            implemented.setdefault(cite, []).append(st.id)
    for rule in own.rules.values():
        report.problems += [str(p) for p in safety.rule_problems(kb, rule, path.name)]
    for cite in EXPECTED:
        clause = kb.clause(cite)
        rules = list(implemented.get(cite, []))
        for succ in clause.successor if clause else ():
            rules += implemented.get(succ, [])
        if rules:
            report.covered[cite] = sorted(set(rules))
        else:
            report.missing.append(f"{cite}: {clause.summary if clause else ''}")
    for rule in own.rules.values():
        report.contradictions += _contradictions(rule)
        if rule.departs_from_national:
            report.departures.append(f"{rule.cite}: {rule.departs_from_national}")
    report.overlaps = overlapping_rules(policy)
    if not policy.contacts:
        report.contact_gaps.append("no escalation contacts at all")
    elif not any(h in (c.role + " " + c.title).lower() for c in policy.contacts.values() for h in NEEDED_CONTACT_HINTS):
        report.contact_gaps.append("no duty, senior or manager contact for when someone will not stop recording")
    for c in policy.contacts.values():
        if not c.how:
            report.contact_gaps.append(f"contact '{c.role}' has no way to reach them (field 'how')")
    if not policy.incident_system:
        report.contact_gaps.append("no incident reporting system named (field 'incident_system')")
    today = today or dt.date.today()
    if own.review != dt.date.min:
        report.past_review = own.review < today
        days = (own.review - today).days
        report.review_note = (
            f"PAST REVIEW: was due on {own.review} ({-days} days ago)"
            if report.past_review
            else f"review due {own.review} (in {days} days)"
        )
    return report


def policy_files(folder: Path) -> list[Path]:
    """The files of a layered policy folder (trust.yml first, then departments/*.yml), or its single file."""
    trust = folder / knowledge.TRUST_FILE
    if trust.is_file():
        return [trust, *sorted((folder / knowledge.DEPARTMENTS_DIR).glob("*.yml"))]
    return sorted(folder.glob("*.yml"))[:1]


def as_text(r: PolicyReport) -> str:
    p = r.policy
    lines = [f"Policy check: {r.path}"]
    if p:
        lines.append(f"  {p.department}, version {p.version}, owner {p.owner}; approved {p.approved}; {r.review_note}")
    if r.layer_note:
        lines.append(f"  {r.layer_note}")
    verdict = "INVALID" if r.problems else ("PAST REVIEW" if r.past_review else "valid")
    lines.append(f"  verdict: {verdict}")
    for title, items in (
        ("problems", r.problems),
        ("contradicts national guidance", r.contradictions),
        ("declared departures from national guidance", r.departures),
        ("not covered (national guidance expects it)", r.missing),
        ("contacts", r.contact_gaps),
        ("overlapping rules (say in one rule's text which decides)", r.overlaps),
    ):
        if items:
            lines.append(f"  {title} ({len(items)}):")
            lines += [f"    - {i}" for i in items]
    if r.covered:
        lines.append(f"  covered ({len(r.covered)} of {len(EXPECTED)}):")
        lines += [f"    - {c}: {', '.join('LOCAL ' + x for x in ids)}" for c, ids in r.covered.items()]
    return "\n".join(lines)


def as_html(r: PolicyReport) -> str:
    e = html.escape
    p = r.policy
    sections = []
    for title, items in (
        ("Problems", r.problems),
        ("Contradicts national guidance", r.contradictions),
        ("Declared departures", r.departures),
        ("Not covered", r.missing),
        ("Contacts", r.contact_gaps),
        ("Overlapping rules", r.overlaps),
        ("Covered", [f"{c}: {', '.join(ids)}" for c, ids in r.covered.items()]),
    ):
        if items:
            sections.append(
                f"<h2>{e(title)} ({len(items)})</h2><ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"
            )
    head = (
        f"<p>{e(p.department)}, version {e(p.version)}, owner {e(p.owner)}. Approved {p.approved}; "
        f"{e(r.review_note)}.</p>"
        if p
        else ""
    )
    verdict = "Invalid" if r.problems else ("Past review" if r.past_review else "Valid")
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Policy check</title>'
        "<style>body{font-family:Arial,sans-serif;max-width:50em;margin:2em auto;color:#212b32}"
        "h1{color:#005eb8}li{margin:.2em 0}</style>"
        f"<h1>Policy check: {e(r.path.name)}</h1>{head}<p><strong>Verdict: {verdict}</strong></p>"
        + "".join(sections)
        + "<p>Guidance, not legal advice.</p></html>\n"
    )


def run(path: Path | None, html_out: Path | None = None) -> int:
    """Check one file, or a folder (trust.yml and every departments/*.yml); no path: the configured policies."""
    try:
        kb = knowledge.load()
    except knowledge.KnowledgeError as exc:
        print(exc, file=sys.stderr)
        return 1
    if path is None:
        trust, departments = knowledge.policy_layout(config.settings().knowledge_dir)
        paths = ([trust] if trust else []) + departments
    elif path.is_dir():
        paths = policy_files(path)
    elif path.is_file():
        paths = [path]
    else:
        print(f"no policy file at {path}", file=sys.stderr)
        return 2
    if not paths:
        print(f"no policy file in {path or 'the configured policy folder'}", file=sys.stderr)
        return 2
    reports = [check(p, kb) for p in paths]
    print("\n".join(as_text(r) for r in reports))
    if html_out:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(as_html(reports[0]) if len(reports) == 1 else _many_html(reports), encoding="utf-8")
        print(f"  HTML report: {html_out}")
    return 0 if all(r.ok for r in reports) else 1


def _many_html(reports: list[PolicyReport]) -> str:
    """One page for a trust's files: each file's report body in turn."""
    bodies = []
    for r in reports:
        page = as_html(r)
        bodies.append(page[page.index("<h1>") : page.rindex("<p>Guidance, not legal advice.</p>")])
    head = as_html(reports[0])
    return head[: head.index("<h1>")] + "".join(bodies) + "<p>Guidance, not legal advice.</p></html>\n"
