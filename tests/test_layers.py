"""The layers and what each may import (ARCHITECTURE.md), checked on the source with ``ast``.

Every module of ``generator/specgen``, ``generated/specgen_runtime`` and
``generated/specgen_providers`` is parsed (nothing is imported).  The layer rules count every
import: at module level, inside a function, under ``if TYPE_CHECKING:``.  The runtime's cycle
check counts only the imports that run when a module is imported: not one inside a function (it
runs when the function is called, after every module has loaded; that is how ``http`` and
``transport`` refer to each other) nor one under ``if TYPE_CHECKING:`` (it never runs).

The last tests run the same checks on a small made-up tree with a forbidden import and a cycle,
so that a rule that could never fail would show.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "specgen": ROOT / "generator" / "specgen",
    "specgen_runtime": ROOT / "generated" / "specgen_runtime",
    "specgen_providers": ROOT / "generated" / "specgen_providers",
}

# --------------------------------------------------------------------------- the rules

RUNTIME = ("specgen_runtime",)
REGISTRIES = ("specgen_runtime.wires", "specgen_runtime.transforms", "specgen_runtime.errors")
LANGUAGE = ("specgen.spec", "specgen.resources", "specgen.plugins")
BUILD = ("specgen.build",)
SHARED = ("specgen.results", "specgen.transcripts", "specgen.adapters", "specgen.batch")
BELOW_COMMANDS = (*SHARED, *BUILD, *LANGUAGE, *RUNTIME)

#: a module's layer is the longest key that is its name or a package holding it; the value is
#: every first-party module (prefix) it may import. A module no key names belongs to no layer.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "specgen_runtime": RUNTIME,
    "specgen_providers": ("specgen_providers", *RUNTIME),
    "specgen.resources": (),
    "specgen.spec": ("specgen.spec", "specgen.resources", *REGISTRIES),
    "specgen.plugins": ("specgen_runtime.wires",),
    "specgen.runtime": RUNTIME,  # the alias package
    "specgen.build": (*BUILD, *LANGUAGE, *RUNTIME),
    "specgen.results": (),
    "specgen.transcripts": ("specgen.spec",),
    "specgen.adapters": (*BUILD, *LANGUAGE),
    "specgen.batch": (*LANGUAGE, *RUNTIME),
    "specgen.conform": ("specgen.conform", *BELOW_COMMANDS),
    "specgen.audit": ("specgen.audit", *BELOW_COMMANDS),
    "specgen.explain": BELOW_COMMANDS,
    "specgen.scaffold": BELOW_COMMANDS,
    "specgen.cli": ("specgen", *RUNTIME),
    "specgen.__main__": ("specgen.cli",),
}
FIRST_PARTY = tuple(PACKAGES)
#: never imported by the runtime, whatever the distribution's dependencies say
COMPILER_ONLY = ("yaml", "jinja2", "jsonschema", "datamodel_code_generator", "hypothesis", "litellm")


# --------------------------------------------------------------------------- reading the source


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the module imported (for ``from a import b``: ``a.b`` when that is a module)
    line: int
    at_import_time: bool  # module level, not under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.target}"


def modules(packages: dict[str, Path]) -> dict[str, Path]:
    """Every module of ``packages``, by dotted name (a package by its own name)."""
    out: dict[str, Path] = {}
    for name, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([name, *parts])] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, known: set[str]) -> list[Import]:
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, runs: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(name, alias.name, node.lineno, runs) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(name, sub if sub in known else base, node.lineno, runs))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for child in ast.iter_child_nodes(node):
                visit(child, False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, runs)
        else:
            for child in ast.iter_child_nodes(node):
                visit(child, runs)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), True)
    return found


def all_imports(packages: dict[str, Path]) -> list[Import]:
    mods = modules(packages)
    known = set(mods)
    return [imp for name, path in mods.items() for imp in imports_of(name, path, known)]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _first_party(name: str) -> bool:
    return any(_under(name, p) for p in FIRST_PARTY)


def layer_of(module: str) -> str | None:
    keys = [k for k in MAY_IMPORT if _under(module, k)]
    return max(keys, key=len) if keys else None


def distribution_dependencies(pyproject: Path) -> set[str]:
    """The import names of a distribution's declared dependencies (``httpx>=0.27`` → httpx)."""
    return distribution_dependencies_of(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])


def distribution_dependencies_of(deps: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[(]", d, maxsplit=1)[0].lower().replace("-", "_") for d in deps}


# --------------------------------------------------------------------------- the checks


def layer_violations(imports: list[Import], module_names: set[str]) -> list[str]:
    out = [f"{m}: in no layer (add it to MAY_IMPORT here and to ARCHITECTURE.md)" for m in sorted(module_names) if layer_of(m) is None and m != "specgen"]
    for imp in imports:
        if not _first_party(imp.target):
            continue
        layer = "specgen" if imp.importer == "specgen" else layer_of(imp.importer)
        allowed = () if layer in (None, "specgen") else MAY_IMPORT[layer or ""]
        if not any(_under(imp.target, p) for p in allowed):
            out.append(f"{imp}: the {layer} layer may import only {', '.join(allowed) or 'no first-party module'}")
    return out


def third_party_violations(imports: list[Import], packages: tuple[str, ...], allowed: set[str]) -> list[str]:
    """Imports by ``packages`` of anything but the stdlib, ``allowed`` and the package itself."""
    out = []
    for imp in imports:
        if not any(_under(imp.importer, p) for p in packages):
            continue
        top = imp.target.split(".")[0]
        if top in COMPILER_ONLY or not (top in sys.stdlib_module_names or top in allowed or _first_party(imp.target)):
            out.append(f"{imp}: only the stdlib and {', '.join(sorted(allowed))} (the distribution's dependencies)")
    return out


def cycles(imports: list[Import], package: str) -> list[list[str]]:
    """Import cycles among ``package``'s modules, through the imports that run at import time.
    Importing ``a.b.c`` runs ``a.b``'s ``__init__`` too, unless the importer is inside ``a.b``."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.at_import_time or not _under(imp.importer, package) or not _under(imp.target, package):
            continue
        edges = graph.setdefault(imp.importer, set())
        edges.add(imp.target)
        parts = imp.target.split(".")
        for n in range(1, len(parts)):
            parent = ".".join(parts[:n])
            if not _under(imp.importer, parent):
                edges.add(parent)
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    return found


# --------------------------------------------------------------------------- the tests

IMPORTS = all_imports(PACKAGES)
MODULES = set(modules(PACKAGES))
ADAPTER_DEPENDENCIES = distribution_dependencies(ROOT / "generated" / "pyproject.toml")
#: the import names of the adapters' optional extras (a distribution's name when it is not its module's)
ADAPTER_EXTRAS = {
    {"google_auth": "google"}.get(name, name)
    for deps in tomllib.loads((ROOT / "generated" / "pyproject.toml").read_text(encoding="utf-8"))["project"].get("optional-dependencies", {}).values()
    for name in distribution_dependencies_of(deps)
}


def test_the_source_is_where_the_test_looks() -> None:
    assert {"specgen.cli", "specgen.conform.runner", "specgen.audit.oracle", "specgen_runtime.core", "specgen_runtime.wires"} <= MODULES
    assert len(IMPORTS) > 300
    assert "httpx" in ADAPTER_DEPENDENCIES


def test_runtime_imports_nothing_of_the_compiler() -> None:
    bad = [str(i) for i in IMPORTS if _under(i.importer, "specgen_runtime") and (_under(i.target, "specgen") or _under(i.target, "specgen_providers"))]
    assert not bad, "\n".join(bad)


def test_runtime_and_adapters_import_only_the_stdlib_and_their_dependencies() -> None:
    """An optional extra's library (botocore, google-auth) only when a call needs it: imported
    inside a function, never when the module is imported."""
    late = [i for i in IMPORTS if not i.at_import_time and i.target.split(".")[0] in ADAPTER_EXTRAS]
    bad = third_party_violations([i for i in IMPORTS if i not in late], ("specgen_runtime", "specgen_providers"), ADAPTER_DEPENDENCIES)
    assert not bad, "\n".join(bad)


def test_no_import_cycle_in_the_runtime() -> None:
    found = cycles(IMPORTS, "specgen_runtime")
    assert not found, "\n".join(" → ".join(c) for c in found)


def test_spec_takes_only_the_registries_from_the_runtime() -> None:
    bad = [str(i) for i in IMPORTS if _under(i.importer, "specgen.spec") and _under(i.target, "specgen_runtime") and not any(_under(i.target, r) for r in REGISTRIES)]
    assert not bad, "\n".join(bad)


def test_build_imports_neither_conform_nor_audit() -> None:
    bad = [str(i) for i in IMPORTS if _under(i.importer, "specgen.build") and any(_under(i.target, p) for p in ("specgen.conform", "specgen.audit", "specgen.cli"))]
    assert not bad, "\n".join(bad)


def test_audit_imports_nothing_of_conform() -> None:
    """What both need (results, transcripts, built adapters, stream accumulation) is shared."""
    bad = [str(i) for i in IMPORTS if _under(i.importer, "specgen.audit") and _under(i.target, "specgen.conform")]
    assert not bad, "\n".join(bad)


def test_only_the_cli_imports_the_cli() -> None:
    bad = [str(i) for i in IMPORTS if _under(i.target, "specgen.cli") and i.importer not in ("specgen.cli", "specgen.__main__")]
    assert not bad, "\n".join(bad)


def test_every_module_imports_only_what_its_layer_may() -> None:
    bad = layer_violations(IMPORTS, MODULES)
    assert not bad, "\n".join(bad)


# --------------------------------------------------------------------------- the checks can fail


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return {name: tmp_path / name for name in ("specgen", "specgen_runtime")}


def test_the_checks_catch_forbidden_imports_and_cycles(tmp_path: Path) -> None:
    packages = _tree(
        tmp_path,
        {
            "specgen/__init__.py": "",
            "specgen/audit/__init__.py": "",
            "specgen/audit/oracle.py": "from specgen.conform.runner import accumulate\n",
            "specgen/conform/__init__.py": "",
            "specgen/conform/runner.py": "def f():\n    from specgen.audit import oracle\n",
            "specgen/build/__init__.py": "from ..conform import runner\n",
            "specgen/spec/__init__.py": "from specgen_runtime import a\n",
            "specgen/stray.py": "",
            "specgen_runtime/__init__.py": "",
            "specgen_runtime/a.py": "import yaml\nfrom specgen_runtime import b\n",
            "specgen_runtime/b.py": "from typing import TYPE_CHECKING\nfrom specgen_runtime.a import x\nif TYPE_CHECKING:\n    from specgen_runtime import c\n",
            "specgen_runtime/c.py": "import specgen.cli\n\ndef g():\n    from specgen_runtime import b\n",
        },
    )
    imports = all_imports(packages)
    names = set(modules(packages))
    bad = layer_violations(imports, names)
    assert "specgen.stray: in no layer (add it to MAY_IMPORT here and to ARCHITECTURE.md)" in bad
    assert any(b.startswith("specgen.audit.oracle (line 1) imports specgen.conform.runner") for b in bad)
    assert any(b.startswith("specgen.conform.runner (line 2) imports specgen.audit.oracle") for b in bad)  # inside a function
    assert any(b.startswith("specgen.build (line 1) imports specgen.conform.runner") for b in bad)  # relative
    assert any(b.startswith("specgen.spec (line 1) imports specgen_runtime.a") for b in bad)
    assert any(b.startswith("specgen_runtime.c (line 1) imports specgen.cli") for b in bad)
    assert third_party_violations(imports, ("specgen_runtime",), {"httpx"}) == [
        "specgen_runtime.a (line 1) imports yaml: only the stdlib and httpx (the distribution's dependencies)"
    ]
    # a → b → a runs at import time; b → c (TYPE_CHECKING) and c → b (in a function) do not
    assert cycles(imports, "specgen_runtime") == [["specgen_runtime.a", "specgen_runtime.b", "specgen_runtime.a"]]


def test_importing_a_submodule_runs_its_package_first(tmp_path: Path) -> None:
    packages = _tree(
        tmp_path,
        {
            "specgen_runtime/__init__.py": "",
            "specgen_runtime/core.py": "from specgen_runtime.wires.openai import x\n",
            "specgen_runtime/wires/__init__.py": "from specgen_runtime import core\n",
            "specgen_runtime/wires/openai.py": "from specgen_runtime.wires import _common\n",
            "specgen_runtime/wires/_common.py": "",
            "specgen/__init__.py": "",
        },
    )
    # core → wires.openai needs wires/__init__ first, which imports core; wires.openai → wires is
    # its own package (already running), not a cycle
    assert cycles(all_imports(packages), "specgen_runtime") == [["specgen_runtime.core", "specgen_runtime.wires", "specgen_runtime.core"]]
