"""The tree stays readable: small modules and functions, `ingest` independent of `ui`, no import cycle.

Everything is read from the source with `ast` (nothing is imported), so the whole file runs in a blink.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Module:
    name: str  # dotted: sightline.ingest.vectors.base (a package is named by its __init__)
    path: Path
    tree: ast.Module
    lines: int

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


@cache
def modules() -> dict[str, Module]:
    found = {}
    for path in sorted((SRC / "sightline").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        text = path.read_text(encoding="utf-8")
        found[name] = Module(name, path, ast.parse(text, str(path)), len(text.splitlines()))
    return found


def where(module: Module, line: int | None = None) -> str:
    place = str(module.path.relative_to(SRC.parent))
    return f"{place}:{line}" if line else place


def imported_modules(module: Module, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules of this tree (or outside names, as written) that one import statement loads."""
    if isinstance(node, ast.Import):
        return [known_prefix(alias.name) for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.package.split(".")
        anchor = ".".join(package[: len(package) - node.level + 1])
        base = f"{anchor}.{base}" if base else anchor
    targets = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules()]
    return targets if len(targets) == len(node.names) else [*targets, known_prefix(base)]


def known_prefix(name: str) -> str:
    """`name`, or its longest prefix that is a module of this tree (`import a.b.func` loads `a.b`)."""
    parts = name.split(".")
    while len(parts) > 1 and ".".join(parts) not in modules():
        parts.pop()
    return ".".join(parts)


def is_type_checking(node: ast.stmt) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def top_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads: its body, including `try` / `if` blocks but not `if TYPE_CHECKING`."""
    found = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, (ast.If, ast.Try, ast.With)) and not is_type_checking(node):
            for block in ("body", "orelse", "finalbody"):
                found += top_level_imports(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                found += top_level_imports(handler.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """sightline module → the sightline modules it imports when it loads, with the packages around each one that
    it enters from outside (importing `a.pkg.mod` runs `a.pkg`'s `__init__` first)."""
    graph = {}
    for name, module in modules().items():
        targets = {t for node in top_level_imports(module.tree.body) for t in imported_modules(module, node)}
        targets |= {package for target in targets for package in entered_packages(name, target)}
        graph[name] = {target for target in targets if target in modules() and target != name}
    return graph


def entered_packages(importer: str, target: str) -> list[str]:
    """The packages above `target` whose `__init__` runs when `importer` (outside them) imports it."""
    parts = target.split(".")
    packages = [".".join(parts[:end]) for end in range(2, len(parts))]
    return [package for package in packages if not (importer == package or importer.startswith(package + "."))]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                on_stack.discard(member)
                component.append(member)
            on_stack.discard(node)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# ---- the checks of the helpers themselves ------------------------------------------------------------------


def test_cycle_finder_finds_cycles_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": set(), "f": {"g"}, "g": {"f"}}
    assert cycles(graph) == [["a", "b", "c"], ["f", "g"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_resolve_to_modules_of_the_tree() -> None:
    vectors = modules()["sightline.ingest.vectors"]
    parse = ast.parse(
        "from . import base\nfrom .base import VectorStore\nimport sightline.errors\nfrom .. import jobdb\n"
        "from sightline.ingest import vectors\nimport httpx\n"
    )
    resolved = [imported_modules(vectors, node) for node in parse.body]
    assert resolved == [
        ["sightline.ingest.vectors.base"],
        ["sightline.ingest.vectors.base"],
        ["sightline.errors"],
        ["sightline.ingest.jobdb"],
        ["sightline.ingest.vectors"],
        ["httpx"],
    ]


def test_type_checking_imports_do_not_count() -> None:
    body = ast.parse("import a\nif TYPE_CHECKING:\n    import b\ntry:\n    import c\nexcept ImportError:\n"
                     "    import d\ndef f():\n    import e\n").body
    assert [alias.name for node in top_level_imports(body) for alias in node.names] == ["a", "c", "d"]


# ---- the rules ---------------------------------------------------------------------------------------------


def test_no_module_over_the_line_limit() -> None:
    too_long = [f"{where(m)}: {m.lines} lines" for m in modules().values() if m.lines > MAX_MODULE_LINES]
    assert too_long == [], f"modules over {MAX_MODULE_LINES} lines"


def test_no_function_over_the_line_limit() -> None:
    too_long = [
        f"{where(module, node.lineno)} {node.name}: {node.end_lineno - node.lineno + 1} lines"
        for module in modules().values()
        for node in ast.walk(module.tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert too_long == [], f"functions over {MAX_FUNCTION_LINES} lines"


def test_ingest_never_imports_ui() -> None:
    """Anywhere in the module, not only at the top: `ingest` works without the web UI."""
    offending = [
        f"{where(module, node.lineno)} imports {target}"
        for name, module in modules().items()
        if name == "sightline.ingest" or name.startswith("sightline.ingest.")
        for node in ast.walk(module.tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for target in imported_modules(module, node)
        if target == "sightline.ui" or target.startswith("sightline.ui.")
    ]
    assert offending == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []
