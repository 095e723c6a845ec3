"""The layout holds: no import cycle inside the package, modules a reader can hold in mind, and
``--help`` without the heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import recommender

PACKAGE = Path(recommender.__file__).parent
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, modules: Collection[str]) -> set[str]:
    """Modules of this package imported at import time (not inside functions or
    ``if TYPE_CHECKING:`` blocks, which cannot form a cycle at run time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, ast.FunctionDef) else ():
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                if sub.module.startswith("recommender"):
                    # `from pkg import submodule` depends on the submodule, not on pkg's names
                    for alias in sub.names:
                        full = f"{sub.module}.{alias.name}"
                        found.add(full if full in modules else sub.module)
            elif isinstance(sub, ast.Import):
                found.update(a.name for a in sub.names if a.name.startswith("recommender"))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = {m for m in top_level_imports(path, modules) if m in modules}
        # importing a.b.c runs a/b/__init__ first: an edge to every package on the way, except
        # the importer's own packages (already running when it runs)
        own = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
        if path.name == "__init__.py":
            own.add(name)
        for target in list(found):
            parts = target.split(".")
            found.update(".".join(parts[:i]) for i in range(2, len(parts)))
        graph[name] = {m for m in found if m in modules and m != name and m not in own}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_inside_the_package() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_importing_a_submodule_runs_its_package_first() -> None:
    """server.app imports feedback.serving, which runs feedback/__init__ first: the graph has
    that edge, so a cycle through a package's __init__ (no module naming the other directly)
    is found too."""
    graph = import_graph()
    assert {"recommender.feedback", "recommender.feedback.serving"} <= graph[
        "recommender.server.app"
    ]
    assert "recommender.server" not in graph["recommender.server.app"]  # its own package


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_modules_stay_small() -> None:
    long = {
        module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split along a real seam: {long}"


def test_help_does_not_import_the_heavy_libraries() -> None:
    code = (
        "import sys, recommender.cli as c\n"
        "heavy = [m for m in ('numpy', 'faiss', 'torch', 'sentence_transformers', 'fastapi')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
