"""The package's imports follow the pipeline, and nothing imports upwards or in a circle.

Every import is counted, including those inside functions: an import hidden in a
function is still a dependency. Stages, from the bottom:

    errors, version, budget,   what every module may use
    messages
    expr, printer, convert     the expression model and its text forms
    syntax                     text -> expressions (builds expr objects)
    layers                     layer declarations, port types, shape rules, numerics
    graph                      containers on networkx, inference, editing
    runtime                    plans, evaluation, initialisation, training
    formats                    net files and exchange formats (safetensors, ONNX, ...)
    builtins                   the Wolfram-facing functions
    evaluator, session, ...    evaluation and the Python face
    cli, repl, check, ...      the programs people run

A module may import from its own stage or any stage below it; never from above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import netdsl

ROOT = Path(netdsl.__file__).parent

STAGES: list[tuple[str, ...]] = [
    ("netdsl.errors", "netdsl.version", "netdsl.budget", "netdsl.messages"),
    ("netdsl.expr", "netdsl.printer", "netdsl.convert", "netdsl.patterns", "netdsl.textforms",
     "netdsl.contexts"),
    ("netdsl.syntax", "netdsl.grammar"),
    ("netdsl.layers",),
    ("netdsl.graph",),
    ("netdsl.runtime",),
    ("netdsl.formats",),
    ("netdsl.builtins",),
    ("netdsl.evaluator", "netdsl.definitions", "netdsl.session", "netdsl.reference", "netdsl.torch"),
    ("netdsl.check", "netdsl.cli", "netdsl.repl", "netdsl.lsp", "netdsl.notebook", "netdsl.help",
     "netdsl.__main__", "netdsl"),
]


def stage_of(module: str) -> int:
    best, rank = -1, None
    for i, prefixes in enumerate(STAGES):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    assert rank is not None, f"{module} has no stage: add it to STAGES"
    return rank


def modules() -> dict[str, Path]:
    """Every module by its dotted name, found on disk (pkgutil.walk_packages would import
    the packages, and netdsl.torch refuses to import without PyTorch)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("netdsl",) + parts)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """Imports under ``if TYPE_CHECKING:``: never executed, so not dependencies."""
    skip: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for inner in node.body:
                skip.update(ast.walk(inner))
    return skip


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The netdsl modules ``name`` imports, anywhere in its code (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod
                       for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:       # `import netdsl.x.y` names a module or its parent
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def import_graph() -> nx.DiGraph:
    mods = modules()
    g = nx.DiGraph()
    for name, path in mods.items():
        g.add_node(name)
        for target in imports_of(name, path, set(mods)):
            g.add_edge(name, target)
    return g


def test_every_module_has_a_stage():
    for name in modules():
        stage_of(name)


def test_no_upward_imports():
    g = import_graph()
    upward = [f"{a} (stage {stage_of(a)}) imports {b} (stage {stage_of(b)})"
              for a, b in g.edges if stage_of(b) > stage_of(a)]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    g = import_graph()
    # a package's __init__ re-exporting its own modules is not a cycle of dependencies
    for a, b in list(g.edges):
        if b.startswith(a + "."):
            g.remove_edge(a, b)
    cycles = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)
