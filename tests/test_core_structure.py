"""The core's shape: no import cycle, no module named like a standard-library one, no framework in sight.

Imports are read from the source (module level and inside functions; ``if TYPE_CHECKING:`` blocks
excluded), so a cycle held together by function-level imports fails too.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "attribkit"
#: Folders installed inside the attribkit package (pyproject.toml's package-dir).
INSTALLED = {"attribkit": CORE, "attribkit.backends": ROOT / "backends", "attribkit.renderers": ROOT / "renderers"}
FRAMEWORKS = ("torch", "tensorflow", "tf_keras", "keras", "captum", "alibi", "transformers")


def module_names(package: str, folder: Path) -> Dict[str, Path]:
    names = {}
    for path in folder.rglob("*.py"):
        parts = path.relative_to(folder).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join((package, *parts))] = path
    return names


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(path: Path, module: str, is_package: bool) -> Set[str]:
    """Every module ``module`` imports (absolute names), wherever in the file, outside TYPE_CHECKING blocks."""
    names: Set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names.update(f"{source}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def core_graph() -> Dict[str, Set[str]]:
    """``module -> core modules it imports``; importing ``a.b.c`` also runs the packages ``a.b``."""
    modules = module_names("attribkit", CORE)
    graph: Dict[str, Set[str]] = {}
    for module, path in modules.items():
        edges = set()
        for name in imported(path, module, path.name == "__init__.py"):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            parts = name.split(".") if name else []
            for depth in range(2, len(parts) + 1):  # the subpackages on the way (not the root package)
                prefix = ".".join(parts[:depth])
                if prefix in modules and prefix != module and not module.startswith(prefix + "."):
                    edges.add(prefix)
            if name == "attribkit" and module != "attribkit":
                edges.add(name)
        graph[module] = edges
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_core_has_no_import_cycle():
    cycle = find_cycle(core_graph())
    assert not cycle, "import cycle in the core: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_the_result_types_are_a_leaf():
    graph = core_graph()
    assert graph["attribkit.results"] <= {"attribkit._schema", "attribkit._version", "attribkit.errors"}, (
        graph["attribkit.results"])


@pytest.mark.parametrize("package, folder", sorted(INSTALLED.items()))
def test_no_module_is_named_like_a_standard_library_module(package, folder):
    clashes = sorted(name for name in module_names(package, folder)
                     if name.rsplit(".", 1)[-1] in sys.stdlib_module_names)
    assert not clashes, f"modules named like standard-library ones: {clashes}"


def strings(path: Path) -> Set[str]:
    """The string constants of a file's code (docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}


def test_the_core_names_no_framework():
    """Core code imports no framework, not even inside a function, and picks no backend by name:
    the backends are plugins (the list of built-in plugins names their modules, once)."""
    offenders = []
    for module, path in module_names("attribkit", CORE).items():
        names = imported(path, module, path.name == "__init__.py")
        offenders += [f"{module} imports {name}" for name in names if name.split(".")[0] in FRAMEWORKS]
        constants = strings(path)
        offenders += [f"{module} names {value!r}" for value in constants
                      if value in ("torch", "tf", "tensorflow", "USE_TF") and module != "attribkit.plugins"]
    assert not offenders, offenders
