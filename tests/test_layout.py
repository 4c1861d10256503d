"""The layout rules of docs/architecture.md, checked on the source (AST, no imports run).

- Each stage of ``cmp_edge`` imports only earlier stages, plus ``errors``, ``_native``
  and ``_safe``; ``runtime`` composes the stages; the interfaces (``cli``, ``serve``)
  sit on top.
- No import cycle between modules, counting imports inside functions and
  ``TYPE_CHECKING`` blocks.
- ``train`` never imports ``export``; ``cmp_edge`` never imports ``train``, ``export``
  or torch.
- No module longer than 500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cmp_edge", "train", "export")

#: Rank of each part of cmp_edge: a module may import parts of lower rank, its own
#: part, and the rank-0 plumbing.
RANKS = {
    "errors": 0,
    "_native": 0,
    "_safe": 0,
    "limits": 0,
    "audio": 1,
    "features": 2,
    "model": 3,
    "facemodel": 4,
    "output": 5,
    "metrics": 6,
    "fitting": 6,
    "runtime": 7,
    "serve": 8,
    "cli": 9,
    "__init__": 10,
    "__main__": 10,
}
MAX_LINES = 500
#: Compiled extension modules (not .py files) that ``from package import name`` may name.
EXTENSIONS = {"cmp_edge._C"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(path: Path, name: str) -> set[str]:
    """Every module ``name`` imports, at any depth of the file (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                out.add(sub if sub in MODULES or sub in EXTENSIONS else module)
    return out


GRAPH = {name: _imports(path, name) for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _own(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def test_the_checker_sees_the_whole_tree() -> None:
    assert "cmp_edge.runtime.reconstructor" in MODULES
    assert "cmp_edge.model.session" in GRAPH["cmp_edge.runtime.reconstructor"]
    # a function-level import is seen
    assert any("cmp_edge.facemodel.formats.npz" in deps for deps in GRAPH.values())


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("cmp_edge.")))
def test_stages_import_only_earlier_stages(module: str) -> None:
    part = _part(module)
    assert part in RANKS, f"{module}: new part {part!r}; give it a rank in RANKS and the docs"
    rank = RANKS[part]
    for dep in sorted(GRAPH[module]):
        if not dep.startswith("cmp_edge.") or _part(dep) in ("_C", part):
            continue
        dep_rank = RANKS.get(_part(dep))
        assert dep_rank is not None, f"{module} imports unknown part {dep}"
        assert dep_rank == 0 or dep_rank < rank, (
            f"{module} (stage {part}, rank {rank}) imports {dep} (rank {dep_rank}); "
            "a stage may use only earlier stages"
        )


def test_runtime_package_never_imports_training_code() -> None:
    for module, deps in GRAPH.items():
        if module.startswith("cmp_edge"):
            bad = {d for d in deps if d.split(".")[0] in ("train", "export", "torch")}
            assert not bad, f"{module} imports {sorted(bad)}"


def test_train_never_imports_export() -> None:
    for module, deps in GRAPH.items():
        if module.split(".")[0] == "train":
            bad = {d for d in deps if d.split(".")[0] == "export"}
            assert not bad, f"{module} imports {sorted(bad)}"


def _find_cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(GRAPH.get(node, ())):
            if dep not in GRAPH or dep == node:
                continue
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles() -> None:
    cycle = _find_cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAPH, "cmp_edge.errors", {"cmp_edge.runtime.reconstructor"})
    assert _find_cycle() is not None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_small(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by job"
