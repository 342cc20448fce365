"""Each stage in dvc.yaml lists exactly the package files its command imports (read from the source, lazy
imports and packages' __init__ included), so a change to one of them reruns the stage and nothing else does."""
import ast
from pathlib import Path

import pytest
import yaml

from pipeline.cli import COMMANDS
from tests.conftest import REPO

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _file(module: str) -> Path | None:
    path = REPO / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path) -> set[str]:
    """Every pipeline module a file names in an import statement, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "pipeline"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def imported_files(module: str) -> set[str]:
    """The package files that running `python -m pipeline` with `module`'s command can import."""
    seen: set[Path] = set()
    todo = [module, "pipeline.__main__", "pipeline.cli"]
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            path = _file(".".join(parts[:i]))
            if path is not None and path not in seen:
                seen.add(path)
                todo.extend(_imported(path))
    return {path.relative_to(REPO).as_posix() for path in seen}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_depends_on_exactly_the_package_files_it_imports(stage):
    command = STAGES[stage]["cmd"].split()
    assert command[:3] == ["python", "-m", "pipeline"], command
    listed = {d for d in STAGES[stage]["deps"] if d.startswith("pipeline/")}
    assert listed == imported_files(COMMANDS[command[3]])


def test_the_import_walk_sees_lazy_imports_and_package_inits():
    files = imported_files(COMMANDS["evaluate"])
    assert "pipeline/tables.py" in files  # imported only inside bundle's functions
    assert "pipeline/stages/__init__.py" in files
    assert "pipeline/scoring/score.py" not in files
