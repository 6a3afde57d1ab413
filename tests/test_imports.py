"""Imports run one way: no cycle among nabiz modules, and the model's layers import downward only.

The graph is read from the source (every ``import`` statement, those inside functions too: a
deferred import is still a dependency), not from what a test run happens to import. Imports
under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]


def package_folder(package: str) -> Path:
    """Where a listed package's files are, following pyproject's package-dir mapping."""
    mapping = SETUPTOOLS["package-dir"]
    root = max(
        (name for name in mapping if package == name or package.startswith(name + ".")), key=len
    )
    rest = package[len(root) :].lstrip(".")
    return REPO / mapping[root] / Path(*rest.split(".")) if rest else REPO / mapping[root]


def nabiz_modules() -> dict[str, Path]:
    """Every module of every listed package, by import name (a package by its own name)."""
    modules = {}
    for package in SETUPTOOLS["packages"]:
        for path in package_folder(package).glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST):
    """Import statements, not descending into ``if TYPE_CHECKING:`` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _known_prefix(dotted: str, known: set[str]) -> str | None:
    """The longest leading part of ``dotted`` that is a nabiz module."""
    while dotted and dotted not in known:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The nabiz modules that module ``name`` imports (``from pkg import mod`` is ``pkg.mod``)."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    targets = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found = [_known_prefix(alias.name, known) for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found = [
                f"{base}.{alias.name}"
                if f"{base}.{alias.name}" in known
                else _known_prefix(base, known)
                for alias in node.names
            ]
        targets.update(module for module in found if module and module != name)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = nabiz_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that starts and ends at the same module, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_every_package():
    graph = import_graph()
    assert {
        "nabiz.cli",
        "nabiz.model.loading",
        "nabiz.serving.app",
        "nabiz.training.pipeline",
    } <= set(graph)
    assert "nabiz.model.mixture" in graph["nabiz.model.loading"]
    assert "nabiz.model.predictor" in graph["nabiz.serving.batching"]
    # a deferred import inside a function counts
    assert "nabiz.model.loading" in graph["nabiz.cli"]


def test_no_import_cycle_among_nabiz_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"b2"}, "b2": {"b"}}, ["b", "b2", "b"]),
        ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, None),
    ],
)
def test_the_cycle_finder_finds_cycles_and_only_cycles(graph, expected):
    assert find_cycle(graph) == expected


def test_a_deferred_import_back_is_seen(tmp_path):
    (tmp_path / "low.py").write_text("def f():\n    from nabiz.x import high\n", encoding="utf-8")
    (tmp_path / "high.py").write_text("from nabiz.x.low import f\n", encoding="utf-8")
    known = {"nabiz.x", "nabiz.x.low", "nabiz.x.high"}
    graph = {
        name: imported_modules(name, tmp_path / f"{name.rpartition('.')[2]}.py", known)
        for name in ("nabiz.x.low", "nabiz.x.high")
    }
    assert find_cycle(graph) == ["nabiz.x.high", "nabiz.x.low", "nabiz.x.high"]


def test_an_import_only_for_type_checking_is_not_a_dependency(tmp_path):
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nabiz.x import b\n"
    (tmp_path / "a.py").write_text(source, encoding="utf-8")
    assert imported_modules("nabiz.x.a", tmp_path / "a.py", {"nabiz.x.a", "nabiz.x.b"}) == set()


# The model's order: base types and the abstract Predictor → the two implementations → the
# mixture and the int8 recheck → loading (and the plain-path reference, beside it). A module may
# import its own layer's neighbours only where listed together below, and never a later layer.
MODEL_LAYERS = [
    {
        "nabiz.model.schema",
        "nabiz.model.tokenize",
        "nabiz.model.network",
        "nabiz.model.bert",
        "nabiz.model.precision_plan",
        "nabiz.model.margins",
    },
    {"nabiz.model.predictor", "nabiz.model.runtime", "nabiz.model.quantize"},
    {"nabiz.model.transformer", "nabiz.model.onnx_predictor", "nabiz.model.baseline"},
    {"nabiz.model.mixture", "nabiz.model.recheck", "nabiz.model.onnx_export"},
    {"nabiz.model.loading", "nabiz.model.reference"},
]


def test_the_model_imports_downward_only():
    graph = import_graph()
    for depth, layer in enumerate(MODEL_LAYERS):
        later = set().union(*MODEL_LAYERS[depth + 1 :])
        for module in layer:
            assert not graph[module] & later, f"{module} imports {graph[module] & later}"
    assert "nabiz.model.baseline" not in graph["nabiz.model.transformer"]
    assert "nabiz.model.transformer" not in graph["nabiz.model.baseline"]
    assert "nabiz.model.transformer" not in graph["nabiz.model.onnx_predictor"]
    assert not graph["nabiz.model.mixture"] & MODEL_LAYERS[2]
