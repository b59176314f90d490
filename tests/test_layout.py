"""The package's shape: no import cycles inside ``near``, and ``import near`` keeps its public names."""

from __future__ import annotations

import ast
from pathlib import Path

import near

SRC = Path(near.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The ``near`` modules that ``path`` imports anywhere in its text (lazy imports inside functions too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the submodule sub; `from pkg import name` imports pkg
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in modules and target != name}
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(SRC.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "near.mlp.plots" in graph["near.mlp.sizing"]  # imported inside a function
    assert "near.score" in graph["near.mlp.selection"]  # `from ..score import score`
    assert "near.bench.ray_executor" in graph["near.bench.executors"]


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


PUBLIC = {
    "ArchitectureError", "DataError", "ExecutorError", "FitError", "InputError", "InsufficientSamplesError",
    "LayerScore", "LayerSizeEstimate", "ModelError", "NearError", "NearResult", "NearWarning",
    "NoScorableLayerError", "NonFiniteActivationError", "NonFiniteActivationWarning", "OptionError", "ProxyError",
    "ProxyNotApplicableError", "ReinitWarning", "RunInProgressError", "SampleReuseWarning", "SelectionResult",
    "SelectionRow", "SizingResult", "SizingWarning", "StoreConflictError", "TableWarning", "ZeroMatrixWarning",
    "effective_rank", "effective_ranks", "estimate_layer_sizes", "score", "select", "verify_sizes",
}  # fmt: skip


def test_public_names_are_kept():
    assert set(near.__all__) >= PUBLIC
    assert all(callable(getattr(near, name)) for name in PUBLIC)
    for lazy in ("bench", "metrics", "proxies", "report", "spaces", "mlp"):
        assert getattr(near, lazy).__name__ == f"near.{lazy}"
