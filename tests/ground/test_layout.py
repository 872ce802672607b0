"""The house rules of ``utils/``: a ground floor that imports no wing, wings that import only lower floors, and
no import circle anywhere (imports inside functions included: a circle hidden in a function is still one)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"
# Lowest first: a module may import its own floor's modules and any lower floor's, never a higher one's.
FLOORS = ("ground", "media", "data", "models", "training", "evaluation", "video", "tools")


def module_name(path: Path) -> str:
    parts = path.relative_to(UTILS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in FLOORS) else "ground"


def imports_of(path: Path) -> dict[str, list[int]]:
    """utils module -> lines where ``path`` imports it (at any depth of the file)."""
    found: dict[str, list[int]] = {}
    modules = {module_name(p) for p in UTILS.rglob("*.py")}
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "utils":
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                     for alias in node.names]
        for name in names:
            if name.split(".")[0] == "utils" and name != "utils":
                found.setdefault(name, []).append(node.lineno)
    return found


def graph() -> dict[str, dict[str, list[int]]]:
    return {module_name(path): imports_of(path) for path in sorted(UTILS.rglob("*.py"))}


def find_cycle(edges: dict[str, dict[str, list[int]]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in edges.get(node, {}):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in edges:
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_every_wing_is_a_declared_floor():
    wings = {p.name for p in UTILS.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert wings == set(FLOORS[1:])


def test_no_import_circle():
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_no_import_against_the_floors():
    upward = [f"{importer} imports {imported} (line {lines[0]})"
              for importer, targets in graph().items() for imported, lines in targets.items()
              if FLOORS.index(floor(imported)) > FLOORS.index(floor(importer))]
    assert not upward, "\n".join(upward)


def test_the_checker_sees_circles_and_upward_imports():
    edges = {"utils.a": {"utils.b": [1]}, "utils.b": {"utils.c": [2]}, "utils.c": {"utils.a": [3]}}
    assert find_cycle(edges) == ["utils.a", "utils.b", "utils.c", "utils.a"]
    assert find_cycle({"utils.a": {"utils.b": [1]}, "utils.b": {}}) is None
    assert FLOORS.index(floor("utils.video.retime")) > FLOORS.index(floor("utils.models.unet"))
    assert floor("utils.paths") == "ground" and floor("utils.data") == "data"


def _says_why(lines: list[str], index: int) -> bool:
    """A '# deferred: ...' comment on the import's line, or above the block of imports it belongs to."""
    if "# deferred" in lines[index]:
        return True
    while index > 0 and lines[index - 1].strip().startswith(("import ", "from ")):
        index -= 1
        if "# deferred" in lines[index]:
            return True
    return index > 0 and lines[index - 1].strip().startswith("# deferred")


@pytest.mark.parametrize("path", sorted(UTILS.rglob("*.py")), ids=lambda p: module_name(p))
def test_imports_inside_functions_say_why(path):
    """An import inside a function is there to keep a command's --help or a notebook's first cell fast,
    and says so in a comment on its line or the line above."""
    lines = path.read_text().splitlines()
    silent = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    if not _says_why(lines, inner.lineno - 1):
                        silent.append(f"line {inner.lineno}: {lines[inner.lineno - 1].strip()}")
    assert not silent, "imports inside functions without a '# deferred: ...' reason:\n" + "\n".join(silent)

