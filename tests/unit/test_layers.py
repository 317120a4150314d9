"""The layers hold: each module imports only from its own layer or those below, siblings stay independent,
nothing imports the tests, and no two modules import each other at module level (directly or round a loop).

An AST check rather than import-linter: import-linter's graph builder (grimp) finds a package's modules under
the package's own folder, and newswatch maps the card's top-level folders (streams/, agents/, ...) into it.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

# Top layer first. A module may import from its own layer and any layer below; "a | b" are independent siblings.
LAYERS = [
    ["newswatch.cli", "newswatch.__main__"],
    ["newswatch.supervise"],
    # the worker's agents and the consumers of the alert contract (notify, console): independent of each other
    ["newswatch.agents", "newswatch.notify", "newswatch.console"],
    ["newswatch.streams"],
    ["newswatch.alerts"],
    ["newswatch.poller", "newswatch.fulltext", "newswatch.matcher"],  # independent of each other
    ["newswatch.local"],
    ["newswatch.core", "newswatch.config"],
]
INDEPENDENT = [
    ("newswatch.console", "newswatch.agents"),
    ("newswatch.console", "newswatch.notify"),
    ("newswatch.poller", "newswatch.matcher"),
    ("newswatch.poller", "newswatch.fulltext"),
    ("newswatch.fulltext", "newswatch.matcher"),
]
# alerts may read the matcher's output types (EventMatch, Hit, ...), nothing else of it
FORBIDDEN = {
    "newswatch.alerts": [
        "newswatch.poller",
        *(f"newswatch.matcher.{m}" for m in ("compile", "load", "reload", "cli", "examples")),
    ],
    # the console is a consumer of the alert contract: nothing of the worker, the pollers or the full-text stage;
    # of the matcher only the rule loader (the rules' descriptions on the detail page)
    "newswatch.console": [
        "newswatch.streams",
        "newswatch.agents",
        "newswatch.poller",
        "newswatch.fulltext",
        *(f"newswatch.matcher.{m}" for m in ("compile", "scan", "engine", "reload", "cli", "examples")),
    ],
    "newswatch": ["tests"],
    # notify reads the alert contract (config/schemas/alert.v1.json), nothing of the worker or the stages
    "newswatch.notify": [
        "newswatch.agents",
        "newswatch.streams",
        "newswatch.alerts",
        "newswatch.matcher",
        "newswatch.poller",
        "newswatch.fulltext",
    ],
}


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name, from pyproject's package-dir mapping."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = tool["package-dir"]
    found = {}
    for package in tool["packages"]:
        parent = max((p for p in mapping if within(package, p)), key=len)
        folder = (
            ROOT / mapping[parent] / Path(*package[len(parent) :].strip(".").split(".") if package != parent else ())
        )
        for path in folder.glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def imports(path: Path, *, module_level_only: bool = False) -> Iterator[tuple[str, int]]:
    """The absolute names a module imports (``from a.b import c`` gives ``a.b.c`` and ``a.b``), with lines."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def layer_of(name: str) -> int | None:
    for index, layer in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in layer):
            return index
    return None


def within(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def violations(found: dict[str, Path]) -> list[str]:
    """Every import that breaks a layer, an independence or a forbidden rule."""
    problems = []
    for name, path in sorted(found.items()):
        mine = layer_of(name)
        for target, line in imports(path):
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}: {name} imports {target}"
            theirs = layer_of(target)
            if mine is not None and theirs is not None and theirs < mine:
                problems.append(f"{where}, a higher layer ({' | '.join(LAYERS[theirs])})")
            for a, b in INDEPENDENT:
                if (within(name, a) and within(target, b)) or (within(name, b) and within(target, a)):
                    problems.append(f"{where}: {a} and {b} are independent")
            for source, banned in FORBIDDEN.items():
                if within(name, source) and any(within(target, b) for b in banned):
                    problems.append(f"{where}: forbidden for {source}")
    return problems


def cycles(found: dict[str, Path]) -> list[list[str]]:
    """Strongly connected groups of modules importing each other at module level (Tarjan)."""
    graph = {
        name: sorted({t for t, _ in imports(path, module_level_only=True) if t in found and t != name})
        for name, path in found.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            # a package's __init__ re-exporting its submodules is not a loop between modules
            real = [m for m in group if found[m].stem != "__init__"]
            if len(real) > 1:
                groups.append(sorted(group))

    for name in graph:
        if name not in index:
            visit(name)
    return groups


def test_every_import_respects_the_layers_and_the_forbidden_pairs() -> None:
    found = modules()
    assert {
        "newswatch.agents.route",
        "newswatch.poller.run",
        "newswatch.core.settings",
        "newswatch.console.app",
    } <= set(found)
    assert violations(found) == []


def test_no_modules_import_each_other_at_module_level() -> None:
    assert cycles(modules()) == []


def test_bench_and_scripts_use_the_package_never_the_tests() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line}: imports {target}"
        for folder in ("bench", "scripts")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for target, line in imports(path)
        if within(target, "tests")
    ]
    assert problems == []


def test_the_console_reaching_into_the_worker_is_caught(tmp_path: Path) -> None:
    """The console reads the alert contract, never the worker's internals."""
    bad = tmp_path / "app.py"
    bad.write_text("from newswatch.streams.worker import Worker\n")
    assert any("forbidden for newswatch.console" in p for p in violations({"newswatch.console.app": bad}))


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself: a core module importing the worker fails it."""
    bad = tmp_path / "settings.py"
    bad.write_text("from newswatch.agents import create_app\n")
    assert any("a higher layer" in p for p in violations({"newswatch.core.settings": bad}))
