"""The store's API is its public methods: no other stage reaches into its engine or private parts."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "pms_bridge"


def _modules(stage: str) -> list[Path]:
    return sorted((SRC / stage).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_nothing_outside_the_store_uses_its_engine_or_private_methods() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent.name == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            named_store = (isinstance(owner, ast.Attribute) and owner.attr == "store") or (
                isinstance(owner, ast.Name) and owner.id == "store")
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if named_store and (node.attr == "engine" or private):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} store.{node.attr}")
    assert offenders == []


def test_the_store_imports_nothing_from_the_mapping_stage() -> None:
    offenders = {str(p.relative_to(SRC)): sorted(m for m in _imports(p) if m.startswith("pms_bridge.mapping"))
                 for p in _modules("store")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_rules_never_import_the_store() -> None:
    offenders = {str(p.relative_to(SRC)): sorted(m for m in _imports(p) if m.startswith("pms_bridge.store"))
                 for p in _modules("rules")}
    assert {k: v for k, v in offenders.items() if v} == {}
