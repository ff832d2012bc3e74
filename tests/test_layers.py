"""The layering of docs/architecture.md, read from the source (imports inside functions too).

Three rules, checked over every module of the package with ``ast``:

* no module imports another module's private (``_name``) name, nor reaches one through an
  imported module (``frames._column_order``);
* no import cycle between modules;
* no module imports a module of a layer above its own (the ranks below are the table in
  docs/architecture.md).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = "lsq_analysis"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# The import order of docs/architecture.md, lowest first: a module may import its own layer
# and the layers below it. The first matching prefix wins.
RANKS: list[tuple[str, int]] = [
    ("lsq_analysis.errors", 0),
    ("lsq_analysis.config", 0),
    ("lsq_analysis.vocabulary", 0),
    ("lsq_analysis.frames", 1),
    ("lsq_analysis.api.fake", 3),
    ("lsq_analysis.api", 2),
    ("lsq_analysis.samples", 3),
    ("lsq_analysis.store", 4),
    ("lsq_analysis.fetch", 5),
    ("lsq_analysis.leads", 5),
    ("lsq_analysis.events", 5),
    ("lsq_analysis.analysis", 6),
    ("lsq_analysis.charts", 7),
    ("lsq_analysis.widgets", 8),
    ("lsq_analysis.report", 9),
    ("lsq_analysis.cli", 10),
    ("lsq_analysis.__main__", 11),
]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (resolved to its dotted name)
    name: str | None  # the name taken from it (``from target import name``), if any
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(module: str) -> bool:
    return (ROOT.parent / module.replace(".", "/") / "__init__.py").exists()


def is_module(module: str) -> bool:
    path = ROOT.parent / module.replace(".", "/")
    return (
        is_package(module)
        or path.with_suffix(".py").exists()
        or any(path.parent.glob(path.name + ".*.so"))
    )


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def resolve(module: str, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


@cache
def sources() -> dict[str, str]:
    return {module: path.read_text() for module, path in modules().items()}


def collect(texts: dict[str, str]) -> list[Import]:
    found: list[Import] = []
    for module, text in texts.items():
        for node in ast.walk(ast.parse(text, module)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(PACKAGE):
                        found.append(Import(module, alias.name, None, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                target = resolve(module, node.level, node.module)
                if not target.startswith(PACKAGE):
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if is_module(submodule):
                        found.append(Import(module, submodule, None, node.lineno))
                    else:
                        found.append(Import(module, target, alias.name, node.lineno))
    return found


@cache
def imports() -> tuple[Import, ...]:
    return tuple(collect(sources()))


def rank(module: str) -> int | None:
    for prefix, value in RANKS:
        if module == prefix or module.startswith(prefix + "."):
            return value
    return None


def test_the_walk_sees_imports_inside_functions() -> None:
    # guards the test itself: samples imports the frames inside a function
    assert any(
        i.module == "lsq_analysis.samples" and i.target == "lsq_analysis.frames" for i in imports()
    )
    assert len(modules()) > 20


def test_every_module_has_a_layer() -> None:
    missing = [m for m in modules() if m != PACKAGE and rank(m) is None]
    assert not missing, f"give these a rank here and in docs/architecture.md: {missing}"


def private_uses(texts: dict[str, str]) -> list[str]:
    bad = []
    for i in collect(texts):
        if i.name is not None and i.name.startswith("_") and not i.name.startswith("__"):
            bad.append(f"{i.module}:{i.line} imports {i.target}.{i.name}")
        last = i.target.rsplit(".", 1)[-1]
        private_module = i.name is None and last.startswith("_") and not last.startswith("__")
        # a private module (the C parser) is its own package's business
        if private_module and i.target.rsplit(".", 1)[0] != i.module.rsplit(".", 1)[0]:
            bad.append(f"{i.module}:{i.line} imports the private module {i.target}")
    for module, text in texts.items():
        tree = ast.parse(text, module)
        bound = {
            (alias.asname or alias.name).split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and resolve(module, node.level, node.module).startswith(PACKAGE)
            for alias in node.names
            if is_module(f"{resolve(module, node.level, node.module)}.{alias.name}")
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                bad.append(f"{module}:{node.lineno} reads {node.value.id}.{node.attr}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"getattr", "hasattr"}
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in bound
                and isinstance(node.args[1], ast.Constant)
                and str(node.args[1].value).startswith("_")
            ):
                bad.append(f"{module}:{node.lineno} probes {node.args[0].id}.{node.args[1].value}")
    return bad


def test_no_module_imports_another_modules_private_name() -> None:
    bad = private_uses(sources())
    assert not bad, "private names used across modules:\n" + "\n".join(bad)


def test_the_top_level_package_is_imported_only_for_its_dunders() -> None:
    bad = [
        f"{i.module}:{i.line} imports {i.name or i.target} from the top-level package"
        for i in imports()
        if i.target == PACKAGE and not (i.name or "").startswith("__")
    ]
    assert not bad, "\n".join(bad)


def upward_imports(found: Sequence[Import]) -> list[str]:
    bad = []
    for i in found:
        if i.target == PACKAGE:
            continue
        mine, theirs = rank(i.module), rank(i.target)
        if mine is not None and theirs is not None and theirs > mine:
            bad.append(f"{i.module}:{i.line} (layer {mine}) imports {i.target} (layer {theirs})")
    return bad


def test_no_layer_imports_a_layer_above_it() -> None:
    bad = upward_imports(imports())
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def cycles(texts: dict[str, str]) -> list[list[str]]:
    graph: dict[str, set[str]] = {m: set() for m in texts}
    for i in collect(texts):
        if i.target in graph and i.target != i.module and i.target != PACKAGE:
            graph[i.module].add(i.target)
    # a package's __init__ importing its own submodules is how re-exports work: a
    # submodule importing its own package back is what makes that a cycle
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    found = cycles(sources())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_rules_catch_what_they_are_for() -> None:
    # each rule reports a planted bad import (imports inside a function included)
    planted = dict(sources())
    planted["lsq_analysis.frames.views"] += (
        "\n\ndef planted():\n"
        "    from ..charts import timeline\n"
        "    from ..vocabulary import _gone\n"
    )
    planted["lsq_analysis.vocabulary"] += "\n\ndef planted():\n    from .errors import x\n"
    planted["lsq_analysis.errors"] += "\n\ndef planted():\n    from .vocabulary import y\n"
    assert any("charts" in b for b in upward_imports(collect(planted)))
    assert any("_gone" in b for b in private_uses(planted))
    assert any(
        set(c) >= {"lsq_analysis.errors", "lsq_analysis.vocabulary"} for c in cycles(planted)
    )


def test_no_module_is_much_over_600_lines() -> None:
    # one idea per module (issue #12): "about 600" leaves room to finish a thought
    long = {m: n for m, text in sources().items() if (n := text.count("\n")) > 700}
    assert not long, f"split these into modules of one idea each: {long}"
