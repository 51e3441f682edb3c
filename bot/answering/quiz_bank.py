"""The teaching material that sits beside the guidance: each card's ``quiz:``
mapping (vignettes), ``misconceptions.yml`` (wrong beliefs with the clauses
that refute them, and short edition statements) and ``member_positions.yml``
(the usual verdict on a member's position, for union representatives).

The knowledge loader treats ``quiz:`` as opaque; this module validates all of
it with strict pydantic models and cross-checks every id against the
knowledge base, reporting problems as ``file: entry 'id': field 'x': message``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Extra, ValidationError, conlist, constr, validator

from bot import config
from bot.knowledge.models import KnowledgeBase, Problem

Topic = Literal["consent", "sharing", "safety", "records", "local"]
TOPICS: dict[str, str] = {
    "consent": "Consent and permission",
    "sharing": "Sharing and social media",
    "safety": "Safety during exposure",
    "records": "Records",
    "local": "Local policy",
}
VERDICTS = ("Supported", "Not supported", "Depends on local policy")
_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Line = constr(strip_whitespace=True, min_length=10, max_length=300)


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True


class CardQuiz(_Strict):
    topic: Topic
    vignettes: conlist(Line, min_items=1, max_items=3)  # type: ignore[valid-type]
    record: Line | None = None  # type: ignore[valid-type]

    @validator("vignettes", each_item=True)
    def _not_a_summary(cls, v: str) -> str:  # noqa: N805 (pydantic validator)
        if v.lower().startswith("use when"):
            raise ValueError("a vignette is a scene, not the card's 'Use when ...' summary")
        return v


class Misconception(_Strict):
    id: constr(regex=_ID)  # type: ignore[valid-type]
    kind: Literal["action", "note"]
    option: Line  # type: ignore[valid-type]
    belief: Line  # type: ignore[valid-type]
    refuted_by: conlist(str, min_items=1)  # type: ignore[valid-type]
    why_wrong: constr(strip_whitespace=True, min_length=20, max_length=600)  # type: ignore[valid-type]
    topic: Topic
    fits: conlist(str, min_items=1)  # type: ignore[valid-type]
    spotted_by: list[str] = []

    @validator("why_wrong", "option", "belief")
    def _one_line(cls, v: str) -> str:  # noqa: N805
        return " ".join(v.split())

    @validator("spotted_by", each_item=True)
    def _compiles(cls, v: str) -> str:  # noqa: N805
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"bad regular expression: {e}") from None
        return v


class EditionEntry(_Strict):
    clause: str
    line: Line  # type: ignore[valid-type]
    only_2014: list[Line] = []  # type: ignore[valid-type]
    only_2019: list[Line] = []  # type: ignore[valid-type]
    both: list[Line] = []  # type: ignore[valid-type]


class Position(_Strict):
    scenario: str
    verdict: Literal["Supported", "Not supported", "Depends on local policy"]
    reason: constr(strip_whitespace=True, min_length=20, max_length=240)  # type: ignore[valid-type]
    keep: Line | None = None  # type: ignore[valid-type]
    route: Line | None = None  # type: ignore[valid-type]


@dataclass(frozen=True)
class QuizBank:
    cards: dict[str, CardQuiz]
    misconceptions: dict[str, Misconception]
    editions: dict[str, EditionEntry]
    positions: dict[str, Position]

    def fitting(self, card_id: str, kind: str) -> list[Misconception]:
        return [m for m in self.misconceptions.values() if m.kind == kind and card_id in m.fits]


class QuizBankError(ValueError):
    """The quiz bank is broken; ``problems`` lists every fault."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"quiz bank refused ({len(problems)} problem(s)):\n{lines}")


def _field(loc: tuple[Any, ...], prefix: str) -> str:
    out = prefix
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _parse(model: type[BaseModel], data: Any, file: str, entry: str, prefix: str, problems: list[Problem]) -> Any:
    if not isinstance(data, dict):
        problems.append(Problem(file, entry, prefix, "must be a mapping"))
        return None
    try:
        return model.parse_obj(data)
    except ValidationError as e:
        for err in e.errors():
            problems.append(Problem(file, entry, _field(err["loc"], prefix), err["msg"]))
        return None


def _read(path: Path, rel: str, problems: list[Problem]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        problems.append(Problem(rel, "", "", f"cannot read: {e}"))
        return None


def _list(data: Any, key: str, rel: str, problems: list[Problem]) -> list[Any]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        problems.append(Problem(rel, "", key, "missing field (a list)"))
        return []
    return items


def load(kb: KnowledgeBase, root: Path | None = None) -> QuizBank:
    """Read and check everything; raise :class:`QuizBankError` listing every problem."""
    root = Path(root or config.settings().knowledge_dir)
    problems: list[Problem] = []
    cards: dict[str, CardQuiz] = {}
    for path in sorted((root / "scenarios").glob("*.yml")):
        rel = f"knowledge/scenarios/{path.name}"
        data = _read(path, rel, problems)
        sid = str(data.get("id") or path.stem) if isinstance(data, dict) else path.stem
        if not isinstance(data, dict) or "quiz" not in data:
            problems.append(Problem(rel, sid, "quiz", "missing field (topic and 1-3 vignettes)"))
            continue
        card = _parse(CardQuiz, data["quiz"], rel, sid, "quiz", problems)
        if card is None:
            continue
        scenario = kb.scenarios.get(sid)
        for j, v in enumerate(card.vignettes):
            if scenario and " ".join(v.split()) == " ".join(scenario.summary.split()):
                problems.append(Problem(rel, sid, f"quiz.vignettes[{j + 1}]", "repeats the card's summary"))
        cards[sid] = card

    rel = "knowledge/misconceptions.yml"
    data = _read(root / "misconceptions.yml", rel, problems)
    misconceptions: dict[str, Misconception] = {}
    for j, item in enumerate(_list(data, "misconceptions", rel, problems)):
        entry = str(item.get("id")) if isinstance(item, dict) and item.get("id") else f"misconceptions[{j + 1}]"
        m = _parse(Misconception, item, rel, entry, "", problems)
        if m is None:
            continue
        if m.id in misconceptions:
            problems.append(Problem(rel, m.id, "id", "duplicate id"))
        for k, cite in enumerate(m.refuted_by):
            if not kb.is_citable(cite):
                problems.append(Problem(rel, m.id, f"refuted_by[{k + 1}]", f"unknown clause '{cite}'"))
            elif cite not in m.why_wrong:
                problems.append(Problem(rel, m.id, f"refuted_by[{k + 1}]", f"'{cite}' is not cited in why_wrong"))
        for k, sid in enumerate(m.fits):
            if sid not in kb.scenarios:
                problems.append(Problem(rel, m.id, f"fits[{k + 1}]", f"unknown scenario '{sid}'"))
        misconceptions[m.id] = m
    editions: dict[str, EditionEntry] = {}
    for j, item in enumerate(_list(data, "editions", rel, problems)):
        entry = str(item.get("clause")) if isinstance(item, dict) and item.get("clause") else f"editions[{j + 1}]"
        e = _parse(EditionEntry, item, rel, entry, "", problems)
        if e is None:
            continue
        clause = kb.clause(e.clause)
        if clause is None or clause.source != "SCoR-2014":
            problems.append(Problem(rel, entry, "clause", f"'{e.clause}' is not a SCoR-2014 clause"))
        elif not clause.change:
            problems.append(Problem(rel, entry, "clause", f"'{e.clause}' has no change note to check against"))
        editions[e.clause] = e

    rel = "knowledge/member_positions.yml"
    data = _read(root / "member_positions.yml", rel, problems)
    positions: dict[str, Position] = {}
    for j, item in enumerate(_list(data, "positions", rel, problems)):
        entry = str(item.get("scenario")) if isinstance(item, dict) and item.get("scenario") else f"positions[{j + 1}]"
        p = _parse(Position, item, rel, entry, "", problems)
        if p is None:
            continue
        if p.scenario not in kb.scenarios:
            problems.append(Problem(rel, entry, "scenario", f"unknown scenario '{p.scenario}'"))
        positions[p.scenario] = p
    for sid in kb.scenarios:
        if sid not in positions:
            problems.append(Problem(rel, sid, "positions", "no member position for this scenario"))
    if problems:
        raise QuizBankError(problems)
    return QuizBank(cards, misconceptions, editions, positions)


_cache: dict[tuple[str, str], QuizBank] = {}


def bank_for(kb: KnowledgeBase, root: Path | None = None) -> QuizBank:
    """Loaded once per knowledge version (lazily: only quiz and member advice need it)."""
    key = (str(root or config.settings().knowledge_dir), kb.version)
    if key not in _cache:
        _cache[key] = load(kb, root)
    return _cache[key]
