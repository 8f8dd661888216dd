"""No import cycle between mmreason's modules: the sft <-> trainer kind (a module imports one that imports it,
even inside a function) and the kind that only shows through a package's __init__ (importing a.b.c runs
a/__init__ and a/b/__init__ first, which may import back).

Every `import` statement of every module counts, at top level or inside a function (not those under
`if TYPE_CHECKING:`, which never run); importing X.Y.Z is an edge to X.Y.Z and to each package on its path
that the importer is not itself inside.
"""

import ast
from pathlib import Path

PACKAGES = Path(__file__).resolve().parents[1] / "packages"


def modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGES.glob("*/mmreason/**/*.py"):
        name = ".".join(f.relative_to(PACKAGES).parts[1:])[: -len(".py")]
        out[name.removesuffix(".__init__")] = f
    return out


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        package = m if f.name == "__init__.py" else m.rpartition(".")[0]
        tree = ast.parse(f.read_text(), str(f))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parent + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                parts = t.split(".")
                for i in range(2, len(parts) + 1):  # the module and the packages on its path
                    dep = ".".join(parts[:i])
                    if dep in mods and dep != m and not m.startswith(dep + "."):
                        edges[m].add(dep)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_both_kinds_of_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "stage" / "mmreason" / "stage"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")  # inside a function
    (pkg / "b.py").write_text("from . import a\n")
    (pkg / "sub" / "__init__.py").write_text("from .leaf import x\n")
    (pkg / "sub" / "leaf.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..conf import y\nx = 1\n")
    (pkg / "conf.py").write_text("from .sub import leaf\n")
    (pkg / "sub" / "user.py").write_text("from ..conf import y\n")
    (pkg / "sub" / "__init__.py").write_text("from .leaf import x\nfrom .user import z\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGES", tmp_path)
    found = cycles(import_graph(modules()))
    # a <-> b through a function-level import; conf -> sub/__init__ -> sub.user -> conf through the package;
    # leaf's import of conf is for type checkers only and never runs, so leaf is in no cycle
    assert sorted(found) == [["mmreason.stage.a", "mmreason.stage.b"],
                             ["mmreason.stage.conf", "mmreason.stage.sub", "mmreason.stage.sub.user"]]


def test_no_import_cycles():
    mods = modules()
    assert {"mmreason.train.trainer", "mmreason.train.sft", "mmreason.core.config"} <= set(mods)
    assert cycles(import_graph(mods)) == []
