"""The shape of every knowledge and policy file, as pydantic (v1) models.

The models check shape only: which keys exist, their types, required fields and
closed vocabularies (status, effect, strength, legal words). Cross-references
(citations exist, facts and values exist, successors, a press report never
leads) need the whole knowledge base and stay in ``loading.py``.

Every model forbids unknown keys, so a misspelt key ("caveat" for "caveats") is
reported instead of silently ignored. :func:`validate` turns pydantic's errors
into the loader's ``Problem(file, entry, field, message)`` lines.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterator
from typing import Any, get_args

from pydantic import BaseModel, Extra, ValidationError, root_validator, validator
from pydantic.fields import ModelField

from bot.knowledge.models import Problem

SOURCE_STATUSES = ("current", "superseded", "secondary", "press")
RULE_EFFECTS = ("permit", "restrict", "forbid")
STRENGTHS = ("must", "should", "may", "info")
# Legal words a clause may declare in `legal` (the wording check in safety.py keys on these).
LEGAL_WORDS = (
    "unlawful",
    "illegal",
    "offence",
    "liable",
    "liability",
    "criminal",
    "civil wrong",
    "breach",
    "lawful",
    "lawfully",
)
BASES = ("practice",)


# --- field types: each gives the loader's own message on failure ----------------------------------


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "text", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def _clean(value: Any, blank_ok: bool) -> str | None:
    if isinstance(value, bool):
        raise ValueError(f"must be text, found {_kind(value)}")
    if isinstance(value, (int, float)):
        # a section like 5.10 read as a float would silently become 5.1
        raise ValueError(f"must be quoted text, found the number {value!r}")
    if not isinstance(value, str):
        raise ValueError(f"must be text, found {_kind(value)}")
    text = " ".join(value.split())
    if not text:
        if blank_ok:
            return None
        raise ValueError("must not be empty")
    return text


class Text(str):
    """Required, non-empty text; whitespace collapsed; a bare number is refused."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        yield lambda v: _clean(v, blank_ok=False)


class LooseText(str):
    """Optional text: blank counts as absent."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        yield lambda v: _clean(v, blank_ok=True)


class Version(str):
    """A version label; YAML may read an unquoted 1.0 as a number, which is harmless here."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        def check(v: Any) -> str:
            if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                return str(v).strip()
            raise ValueError(f"must be text, found {_kind(v)}")

        yield check


class TextList(list):
    """A list of non-empty text items; a single text is taken as a one-item list."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        def check(v: Any) -> list[str]:
            items = [v] if isinstance(v, str) else v
            if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                raise ValueError("must be a list of non-empty text items")
            return [" ".join(i.split()) for i in items]

        yield check


class IsoDate(dt.date):
    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        def check(v: Any) -> dt.date:
            if isinstance(v, dt.datetime):
                return v.date()
            if isinstance(v, dt.date):
                return v
            if isinstance(v, str):
                try:
                    return dt.date.fromisoformat(v.strip())
                except ValueError:
                    pass
            raise ValueError(f"bad date {v!r} (use YYYY-MM-DD)")

        yield check


class FactMap(dict):
    """``fact -> [values]``; a single value or YAML's true/false (an unquoted yes/no) is accepted.
    Whether the facts and values exist is checked against facts.yml by the loader."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        def check(v: Any) -> dict[str, list[str]]:
            if not isinstance(v, dict):
                raise ValueError(f"must be a mapping of fact -> values, found {_kind(v)}")
            out: dict[str, list[str]] = {}
            for fact, values in v.items():
                if isinstance(values, (str, bool)):
                    values = [values]
                if values is None:
                    values = []
                if not isinstance(values, list) or not all(isinstance(x, (str, bool)) for x in values):
                    raise ValueError(f"fact '{fact}' must have a list of values")
                out[str(fact)] = ["yes" if x is True else "no" if x is False else x for x in values]
            return out

        yield check


class OpaqueMapping(dict):
    """A mapping whose contents another module validates (the quiz's vignettes)."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        def check(v: Any) -> dict[str, Any]:
            if not isinstance(v, dict):
                raise ValueError(f"must be a mapping, found {_kind(v)}")
            return v

        yield check


def _one_of(name: str, allowed: tuple[str, ...]):  # noqa: ANN202 (a pydantic validator factory)
    def check(cls: type, v: str | None) -> str | None:  # noqa: ARG001
        if v is not None and v not in allowed:
            raise ValueError(f"unknown {name} '{v}' (use {', '.join(allowed)})")
        return v

    return check


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid


# --- sources.yml ------------------------------------------------------------------------------------


class SourcesFile(Strict):
    documents: list


class SourceDoc(Strict):
    key: Text
    title: Text
    publisher: Text
    edition: LooseText | None = None
    date: IsoDate
    changed: IsoDate | None = None  # when our copy of the source (seed or SOURCES.md facts) last changed
    date_note: LooseText | None = None
    status: Text
    superseded_by: LooseText | None = None
    kind: Text
    where: Text
    seed: LooseText | None = None
    sections: LooseText | None = None

    _status = validator("status", allow_reuse=True)(_one_of("status", SOURCE_STATUSES))


# --- shared -----------------------------------------------------------------------------------------


class Reviewed(Strict):
    date: IsoDate
    by_role: Text
    against: TextList

    @validator("against")
    def _some(cls, v: list[str]) -> list[str]:  # noqa: N805
        if not v:
            raise ValueError("name the source keys the item was read against")
        return v


# --- clauses/*.yml ----------------------------------------------------------------------------------


class ClausesFile(Strict):
    clauses: list


class ClauseDoc(Strict):
    id: Text
    source: Text
    section: LooseText | None = None
    heading: LooseText | None = None
    summary: Text
    text: Text
    topics: TextList
    aliases: TextList = []
    successor: TextList = []
    change: LooseText | None = None
    secondary: bool = False
    strength: Text
    legal: TextList = []
    reviewed: Reviewed | None = ...  # type: ignore[assignment]  # required key; null = awaiting review

    _strength = validator("strength", allow_reuse=True)(_one_of("strength", STRENGTHS))

    @validator("legal")
    def _legal(cls, v: list[str]) -> list[str]:  # noqa: N805
        for word in v:
            if word not in LEGAL_WORDS:
                raise ValueError(f"unknown legal word '{word}' (use {', '.join(LEGAL_WORDS)})")
        return v


# --- scenarios/*.yml --------------------------------------------------------------------------------


class Line(Strict):
    """One sentence shown to staff, with where it comes from: clauses, or general practice."""

    text: Text
    cite: TextList | None = None
    basis: Text | None = None

    _basis = validator("basis", allow_reuse=True)(_one_of("basis", BASES))

    @root_validator(skip_on_failure=True)
    def _one_provenance(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        cite, basis = values.get("cite"), values.get("basis")
        if cite and basis:
            raise ValueError("give 'cite' or 'basis', not both")
        if not cite and not basis:
            raise ValueError("say where this comes from: 'cite: [clause ids]' or 'basis: practice'")
        return values


class WhyDoc(Strict):
    cite: Text
    point: Text


class AnswerDoc(Strict):
    do_now: list[Line]
    say: Line | None = None
    why: list[WhyDoc] = []
    record: TextList = []
    record_none_reason: LooseText | None = None
    escalate: LooseText | None = None
    caveats: list[Line] = []

    @validator("do_now")
    def _steps(cls, v: list[Line]) -> list[Line]:  # noqa: N805
        if not v:
            raise ValueError("must not be empty")
        return v


class VariantDoc(Strict):
    when: FactMap
    do_now_first: list[Line] = []
    note: Line | None = None


class ScenarioDoc(Strict):
    id: Text
    title: Text
    summary: Text
    facts: FactMap = FactMap()
    deciding: TextList = []
    answer: AnswerDoc
    variants: list[VariantDoc] = []
    notes: TextList = []  # reviewer's notes: the source phrase behind a questioned line
    reviewed: Reviewed | None = ...  # type: ignore[assignment]  # required key; null = awaiting review
    quiz: OpaqueMapping | None = None  # quiz vignettes: validated by the quiz module, not here


# --- facts.yml --------------------------------------------------------------------------------------


class FactsFile(Strict):
    facts: dict


class FactValueDoc(Strict):
    label: LooseText | None = None
    phrases: TextList


class FactDoc(Strict):
    label: LooseText | None = None
    question: Text
    values: dict


# --- policy/*.yml -----------------------------------------------------------------------------------


class PolicyFile(Strict):
    """One policy layer: the trust-wide file names its ``trust``, a department's file its ``department``
    (a single ``POLICY_FILE`` may use either)."""

    department: Text | None = None
    trust: Text | None = None
    owner: Text
    version: Version | None = None
    approved: IsoDate
    review: IsoDate
    incident_system: LooseText | None = None
    contacts: list
    rules: list
    statements: list = []

    @root_validator(skip_on_failure=True)
    def _named(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if not values.get("department") and not values.get("trust"):
            raise ValueError(
                "missing field 'department' (or 'trust' for the trust-wide file): the name shown in answers"
            )
        if values.get("department") and values.get("trust"):
            raise ValueError("give 'department' or 'trust', not both")
        return values


class ContactDoc(Strict):
    role: Text
    title: LooseText | None = None
    how: LooseText | None = None
    when: LooseText | None = None


class RuleDoc(Strict):
    id: Text
    title: Text
    effect: Text
    applies_to: FactMap = FactMap()
    conditions: TextList = []
    text: Text
    implements: TextList = []
    departs_from_national: LooseText | None = None
    contact: LooseText | None = None
    overrides: TextList = []  # department files only: the trust rule(s) this rule replaces

    _effect = validator("effect", allow_reuse=True)(_one_of("effect", RULE_EFFECTS))


class StatementDoc(Strict):
    id: Text
    text: Text
    implements: TextList = []


# --- pydantic errors -> Problem lines -----------------------------------------------------------------


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if part == "__root__":
            continue
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_of(field: ModelField | None) -> type[BaseModel] | None:
    """The model a field holds (pydantic's ``type_`` is the item type of a list or an Optional)."""
    tp = field.type_ if field else None
    if isinstance(tp, type) and not get_args(tp) and issubclass(tp, BaseModel):
        return tp
    return None


def _walk(model: type[BaseModel], data: Any, loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, Any]:
    """The model and the raw value at ``loc`` (None where the path leaves the models)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
        if isinstance(part, int) or current is None:
            continue
        field: ModelField | None = current.__fields__.get(part)
        current = _model_of(field)
    return current, data


def _message(model: type[BaseModel], data: Any, err: dict[str, Any]) -> str:
    loc, kind = tuple(err["loc"]), err["type"]
    if kind == "value_error.missing":
        return "missing field"
    if kind == "value_error.extra":
        parent, _ = _walk(model, data, loc[:-1])
        known = list(parent.__fields__) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        return f"unknown key (did you mean '{close[0]}'?)" if close else f"unknown key (known: {', '.join(known)})"
    here, value = _walk(model, data, loc)
    if kind in ("type_error.dict", "type_error") and here is Line:
        return f"must be a mapping {{text, cite: [...]}} or {{text, basis: practice}}, found {_kind(value)}"
    if kind.startswith("type_error.dict") or (kind == "type_error" and here is not None):
        return f"must be a mapping, found {_kind(value)}"
    if kind.startswith("type_error.list"):
        return f"must be a list, found {_kind(value)}"
    if kind == "type_error.none.not_allowed":
        return "must not be empty"
    if kind.startswith("type_error.bool"):
        return f"must be true or false, found {value!r}"
    return err["msg"]


def validate(
    model: type[BaseModel], data: Any, file: str, entry: str, prefix: str = ""
) -> tuple[BaseModel | None, list[Problem]]:
    """Check ``data`` against ``model``; return the parsed model, or None and one Problem per faulty field."""
    if not isinstance(data, dict):
        where = prefix.rstrip(".")
        return None, [Problem(file, entry, where, f"expected a mapping, found {_kind(data)}")]
    try:
        return model.parse_obj(data), []
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: set[str] = set()
        for err in exc.errors():
            path = prefix + _field_path(tuple(err["loc"]))
            if path in seen:  # a union reports once per alternative: one line per field is enough
                continue
            seen.add(path)
            problems.append(Problem(file, entry, path.rstrip("."), _message(model, data, err)))
        return None, problems


def known_keys(model: type[BaseModel]) -> list[str]:
    return list(model.__fields__)


__all__ = [
    "AnswerDoc",
    "ClauseDoc",
    "ClausesFile",
    "ContactDoc",
    "FactDoc",
    "FactValueDoc",
    "FactsFile",
    "Line",
    "PolicyFile",
    "Reviewed",
    "RuleDoc",
    "ScenarioDoc",
    "SourceDoc",
    "SourcesFile",
    "StatementDoc",
    "VariantDoc",
    "WhyDoc",
    "validate",
    "BASES",
    "LEGAL_WORDS",
    "RULE_EFFECTS",
    "SOURCE_STATUSES",
    "STRENGTHS",
]
