"""The code's shape a newcomer relies on: layers without import circles, the core free
of Rasa, and every setting documented in the README."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml
from conftest import REPO

BOT = REPO / "bot"
LAYERS = ("understanding", "answering", "knowledge", "redaction", "records", "serving")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path = BOT) -> dict[str, Path]:
    return {_module_name(p): p for p in root.rglob("*.py")}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every bot module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from bot.answering import quiz" depends on the module bot.answering.quiz;
            # "from bot.knowledge import load" on the package itself
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph(root: Path = BOT) -> dict[str, set[str]]:
    mods = _modules(root)
    return {name: _imports(path, set(mods)) - {name} for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_bot_has_no_import_circles():
    assert find_cycle(import_graph()) is None, f"import circle: {' -> '.join(find_cycle(import_graph()) or [])}"


def test_the_cycle_finder_finds_a_planted_circle(tmp_path):
    pkg = tmp_path / "bot"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from bot import b\n")  # a function-level import counts too
    (pkg / "b.py").write_text("from bot.a import f\n")
    graph = {name.replace(str(tmp_path.name) + ".", ""): deps for name, deps in _planted_graph(pkg).items()}
    assert find_cycle(graph) in (["bot.a", "bot.b", "bot.a"], ["bot.b", "bot.a", "bot.b"])


def _planted_graph(pkg: Path) -> dict[str, set[str]]:
    mods = {".".join(p.relative_to(pkg.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in pkg.rglob("*.py")}
    return {name: _imports(path, set(mods)) - {name} for name, path in mods.items()}


def test_core_never_imports_rasa():
    offenders = [name for name, path in _modules().items()
                 if re.search(r"^\s*(from|import)\s+rasa(_sdk)?\b", path.read_text(encoding="utf-8"), re.M)]
    assert offenders == []


def test_bot_is_split_into_the_documented_layers():
    packages = {p.name for p in BOT.iterdir() if (p / "__init__.py").is_file()}
    assert set(LAYERS) <= packages
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for layer in LAYERS:
        assert f"`bot/{layer}/`" in readme, f"README's layout table does not describe bot/{layer}/"


def test_every_setting_is_in_the_readme_configuration_table():
    from bot.config import env_names

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", readme, re.M))
    assert set(env_names()) - table == set(), "settings missing from the README's configuration table"


def test_every_fact_is_an_entity_rasa_keeps_and_extracts():
    # a clarifying button sends /inform{"<fact>": "<value>"}: Rasa must know the fact as an entity
    facts = set(yaml.safe_load((REPO / "knowledge" / "facts.yml").read_text(encoding="utf-8"))["facts"])
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    entities = {e if isinstance(e, str) else next(iter(e)) for e in domain["entities"]}
    config = yaml.safe_load((REPO / "config.yml").read_text(encoding="utf-8"))
    extractor = next(c for c in config["pipeline"] if c["name"] == "SpacyEntityExtractor")
    assert facts <= entities
    assert facts == set(extractor["dimensions"])
