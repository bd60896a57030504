"""The sample practice is test and demo tooling, kept apart from the engine.

Read with ``ast`` (nothing is imported): the engine reaches the sample only from the two commands that
write it (``pms-bridge demo`` and ``pms-bridge sample``), lazily, and the sample reads nothing of the
engine but the model and the owner-only file helpers (its exports hold patient-shaped rows, written
like every other file that may hold patient data).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pms_bridge

SRC = Path(pms_bridge.__file__).parent
SAMPLE = "pms_bridge.sample"
# Engine modules that may import the sample, and the function the import must sit in.
SAMPLE_USERS = {
    "pms_bridge.cli.demo": {"prepare_demo"},  # pms-bridge demo
    "pms_bridge.cli.main": {"sample"},  # pms-bridge sample: writes the same exports for trials and benchmarks
}
# What the sample may import from pms_bridge (besides itself).
SAMPLE_NEEDS = ("pms_bridge.model", "pms_bridge.private_files")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, enclosing top-level function or None, line) for every import in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

    def walk(node: ast.AST, function: str | None) -> Iterator[tuple[str, str | None, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, function, child.lineno
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:  # "from pms_bridge import sample" imports the sample too
                    yield (f"{base}.{alias.name}" if alias.name != "*" else base), function, child.lineno
            is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from walk(child, function or (child.name if is_function else None))

    yield from walk(tree, None)


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_the_walk_sees_the_demo_import() -> None:
    """The checks below would pass vacuously if the walk missed lazy imports."""
    demo = SRC / "cli" / "demo.py"
    assert any(_is_under(name, SAMPLE) and fn == "prepare_demo" for name, fn, _ in _imports(demo))


def test_only_the_demo_and_sample_commands_import_the_sample() -> None:
    wrong = []
    for path in _modules():
        module = _module_name(path)
        if _is_under(module, SAMPLE):
            continue
        for name, function, line in _imports(path):
            if _is_under(name, SAMPLE) and function not in SAMPLE_USERS.get(module, set()):
                where = f"in {function}()" if function else "at module level"
                wrong.append(f"{path.relative_to(SRC.parent)}:{line} imports {name} {where}")
    assert not wrong, "the engine must not depend on the sample practice:\n" + "\n".join(wrong)


def test_the_sample_imports_only_the_model_from_the_engine() -> None:
    wrong = []
    for path in _modules():
        if not _is_under(_module_name(path), SAMPLE):
            continue
        for name, _, line in _imports(path):
            engine = _is_under(name, "pms_bridge") and not _is_under(name, SAMPLE) and name != "pms_bridge"
            if engine and not any(_is_under(name, allowed) for allowed in SAMPLE_NEEDS):
                wrong.append(f"{path.relative_to(SRC.parent)}:{line} imports {name}")
    assert not wrong, "the sample may use only " + ", ".join(SAMPLE_NEEDS) + ":\n" + "\n".join(wrong)


def test_the_file_helpers_the_sample_uses_stand_alone() -> None:
    """private_files is allowed to the sample because it pulls in nothing of the engine."""
    path = SRC / "private_files.py"
    assert [name for name, _, _ in _imports(path) if _is_under(name, "pms_bridge")] == []
