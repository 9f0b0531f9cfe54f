"""The code's shape, read from its imports: no import circle, views import no flow, plugins stand alone.

Circles that existed when this test was written were listed in KNOWN_CIRCLES and have been taken apart;
the test fails on any new circle, and on a listed one that is gone (so the list only ever shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "plugins")

KNOWN_CIRCLES: set[frozenset[str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of ours that `name` imports, at the top or inside a function alike."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
                elif base in modules:
                    found.add(base)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = read_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == {frozenset({"a", "b", "c"})}


def test_no_new_import_circle_and_none_listed_that_is_gone() -> None:
    found = circles(import_graph())
    assert found - KNOWN_CIRCLES == set(), "new import circles"
    assert KNOWN_CIRCLES - found == set(), "circles taken apart: remove them from KNOWN_CIRCLES"


def test_views_import_no_flow() -> None:
    graph = import_graph()
    found = {
        (name, target)
        for name, targets in graph.items()
        if name.rpartition(".")[2].endswith("views")  # views.py, or report_views.py and its like
        for target in targets
        if target.rpartition(".")[2] == "flows"
    }
    assert found == set(), "a view imports a flow: put the type it shows in the capability's facts module"


def test_plugins_import_nothing_of_the_bot_and_plugin_packages_not_the_registry() -> None:
    graph = import_graph()
    into_bot = {(name, t) for name, targets in graph.items() if name.startswith("plugins") for t in targets}
    assert {(name, t) for name, t in into_bot if t.startswith("bot")} == set()
    assert {
        (name, t)
        for name, t in into_bot
        if name.count(".") >= 1 and t == "plugins.registry" and name != "plugins.registry"
    } == set()


def test_the_embedded_slack_stands_alone() -> None:
    """bot.sandbox.slack is Slack's side of the wire: it must not lean on the bot it is there to test."""
    graph = import_graph()
    leaning = {
        (name, target)
        for name, targets in graph.items()
        if name.startswith("bot.sandbox.slack")
        for target in targets
        if not target.startswith("bot.sandbox.slack")
    }
    assert leaning == set()
