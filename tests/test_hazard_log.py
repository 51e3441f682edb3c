"""The hazard log's controls point at tests that exist, and none is still a to-do (DCB0129 hazard log)."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml
from conftest import REPO

LOG = REPO / "docs" / "clinical-safety" / "hazard-log.yml"


def _test_ids(path: Path) -> set[str]:
    """Node ids of the test functions in one file (module level and in Test classes), without parameters."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(REPO).as_posix()
    ids = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            ids.add(f"{rel}::{node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            ids |= {f"{rel}::{node.name}::{f.name}" for f in node.body
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name.startswith("test")}
    return ids


def _controls() -> list[tuple[str, dict]]:
    log = yaml.safe_load(LOG.read_text(encoding="utf-8"))
    return [(h["id"], c) for h in log["hazards"] for c in h["controls"]]


def test_every_test_a_control_names_exists():
    known = set().union(*(_test_ids(p) for p in (REPO / "tests").rglob("test_*.py")))
    missing = [(hid, t) for hid, c in _controls() for t in c.get("tests") or []
               if t.split("[", 1)[0] not in known]
    assert missing == []


def test_no_control_is_still_a_todo():
    todo = [(hid, c["description"][:60]) for hid, c in _controls() if c.get("todo")]
    assert todo == []


def test_every_code_control_has_a_test():
    untested = [(hid, c["description"][:60]) for hid, c in _controls() if c.get("kind") == "code" and not c.get("tests")]
    assert untested == []
