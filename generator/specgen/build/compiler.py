"""Render resolved specs into adapter modules: atomic, deterministic, incremental, checkable."""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from specgen.build.ir import build_ir, value_expression
from specgen.build.literals import LiteralError, comment, dotted, ident, lit
from specgen.build.manifest import (
    HEADER_PREFIX,
    MANIFEST,
    generated_modules,
    generator_fingerprint,
    init_record,
    manifest_text,
    read_manifest,
    sha,
    source_hash,
)
from specgen.resources import templates_dir
from specgen.spec.errors import Location, SpecError, SpecErrors
from specgen.spec.resolve import ResolvedSpec, load_specs

__all__ = ["HEADER_PREFIX", "MANIFEST", "BuildResult", "build", "generator_fingerprint", "render_all"]

INIT_TEMPLATE = "init.py.j2"
INDEX_TEMPLATE = "index.py.j2"
INDEX = "_index.py"  # what completion() resolves models with: prefixes and known ids, no adapter imported
MODULE_TEMPLATE = "module.py.j2"


def make_env(extra_templates: Path | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if extra_templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(extra_templates)))  # override one template at a time
    loaders.append(jinja2.FileSystemLoader(str(templates_dir())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["lit"] = lit
    env.filters["ident"] = ident
    env.filters["dotted"] = dotted
    env.filters["value_expr"] = lambda v: value_expression(str(v))[0]
    env.filters["comment"] = comment
    env.filters["block"] = _block
    env.filters["casefold"] = lambda v: str(v).casefold()
    env.filters["tuple"] = lambda v: tuple(tuple(x) if isinstance(x, list) else x for x in v)
    return env


def _block(text: str) -> str:
    """A macro's lines without the final newline (the call's own line ends them); drop blank ones."""
    return "\n".join(line for line in str(text).splitlines() if line.strip())


def input_hash(spec: ResolvedSpec, specs_dir: Path, fingerprint: str) -> str:
    return source_hash(spec.sources, specs_dir, fingerprint)


def render_module(env: jinja2.Environment, spec: ResolvedSpec) -> str:
    ir = build_ir(spec)
    from specgen.build.wiretypes import wire_types

    ir.wire_types = wire_types(spec)
    try:
        text = env.get_template(MODULE_TEMPLATE).render(p=ir)
    except LiteralError as exc:
        raise SpecError(spec.data.loc, f"cannot render: {exc}") from None
    # whether it parses is checked by ``ruff format`` (format_python), which every build runs
    return _tidy(text)


def _tidy(text: str) -> str:
    """At most two blank lines in a row, no trailing spaces, one final newline."""
    out: list[str] = []
    blank = 0
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            blank += 1
            if blank > 2:
                continue
        else:
            blank = 0
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def render_init(env: jinja2.Environment, names: Iterable[str], aliases: dict[str, str] | None = None) -> str:
    """The package's ``__init__``: the provider names and each alias's provider (nothing imported)."""
    return _tidy(
        env.get_template(INIT_TEMPLATE).render(providers=sorted(set(names)), aliases=dict(sorted((aliases or {}).items())))
    )


def index_facts(spec: ResolvedSpec) -> dict[str, object]:
    """What the package index needs of one spec (kept in the manifest, so ``--only`` builds keep
    the other providers' facts): its naming prefix and its known model ids."""
    naming = spec.data.get("model_naming")
    prefix = str(naming).split("<model>", 1)[0] if naming else None
    known = (spec.data.get("models") or {}).get("known") or ()
    return {"prefix": prefix or None, "models": sorted({str(m["id"]) for m in known if m.get("id")})}


def render_index(env: jinja2.Environment, records: dict[str, dict[str, object]]) -> str:
    """The package's ``_index.py``: naming prefix, name and alias → module; known id → modules."""
    prefixes: dict[str, str] = {}
    model_prefixes: dict[str, str | None] = {}
    known: dict[str, list[str]] = {}
    roots = {n for n, rec in records.items() if not rec.get("extends")}  # specs that extend no other
    for name in sorted(records):
        rec = records[name]
        facts = rec.get("index")
        facts = facts if isinstance(facts, dict) else {}
        prefix = facts.get("prefix")
        model_prefixes[name] = prefix if isinstance(prefix, str) else None
        aliases = rec.get("aliases")
        slugs = [name, *(aliases if isinstance(aliases, list) else ())]
        if isinstance(prefix, str) and prefix.endswith("/"):
            slugs.append(prefix[:-1])
        for slug in slugs:
            prefixes.setdefault(str(slug), name)
        for model in facts.get("models") or ():
            known.setdefault(str(model), []).append(name)
    return _tidy(
        env.get_template(INDEX_TEMPLATE).render(
            prefixes=dict(sorted(prefixes.items())),
            model_prefixes=model_prefixes,
            known={m: tuple(n) for m, n in sorted(known.items())},
            origins={
                m: own[0]
                for m, n in sorted(known.items())
                if len(n) > 1 and len(own := [x for x in n if x in roots]) == 1
            },
        )
    )


def render_all(specs: list[ResolvedSpec], env: jinja2.Environment) -> dict[str, str]:
    files: dict[str, str] = {}
    errors: list[SpecError] = []
    for spec in specs:
        try:
            files[f"{spec.name}.py"] = render_module(env, spec)
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise SpecErrors(errors)
    return files


#: the formatter's settings, fixed here so that the output is the same whatever configuration the
#: folder it is built in has (ruff's version is pinned by the compiler's dependencies)
RUFF_FORMAT = ("format", "--isolated", "--line-length", "100", "--target-version", "py311", "--quiet", "--no-cache")


def format_python(texts: dict[str, str]) -> dict[str, str]:
    """The modules formatted by ``ruff format``, in one run over a temporary folder, so that
    generated code reads like code a person formatted (``ruff format --check`` passes on it)."""
    import subprocess
    import tempfile

    from ruff.__main__ import find_ruff_bin

    py = {n: t for n, t in texts.items() if n.endswith(".py")}
    if not py:
        return texts
    with tempfile.TemporaryDirectory(prefix="specgen-format-") as tmp:
        for name, text in py.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8", newline="\n")
        proc = subprocess.run([find_ruff_bin(), *RUFF_FORMAT, tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            # a template bug, never a spec's doing: rendered code that does not parse
            raise RuntimeError(f"internal error: generated code does not parse (ruff format): {proc.stderr.strip()[:500]}")
        return {**texts, **{name: (Path(tmp) / name).read_text(encoding="utf-8") for name in py}}


@dataclass
class BuildResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stale_diff: str = ""

    @property
    def stale(self) -> bool:
        return bool(self.stale_diff)


def build(
    specs_dir: Path,
    out: Path,
    *,
    only: list[str] | None = None,
    check: bool = False,
    templates: Path | None = None,
    force: bool = False,
) -> BuildResult:
    """Validate and render; write atomically (or, with ``check``, only compare)."""
    specs = load_specs(specs_dir, only=only)
    env = make_env(templates)
    fingerprint = generator_fingerprint(templates)
    manifest_path = out / MANIFEST
    old = read_manifest(out).get("modules")
    old_modules: dict[str, dict[str, object]] = old if isinstance(old, dict) else {}
    existing = generated_modules(out)
    result = BuildResult()

    wanted: dict[str, str] = {}
    new_modules: dict[str, dict[str, object]] = {} if only is None else dict(old_modules)
    errors: list[SpecError] = []
    for spec in specs:
        name = f"{spec.name}.py"
        ihash = input_hash(spec, specs_dir, fingerprint)
        extends = [src.stem for src in spec.sources[1:]]  # the no-op check follows these names
        target = out / name
        record = old_modules.get(spec.name)
        if not check and not force and record and record.get("input") == ihash and target.is_file():
            current = target.read_text(encoding="utf-8")
            if sha(current) == record.get("output"):
                result.unchanged.append(name)
                new_modules[spec.name] = {"input": ihash, "output": record["output"], "extends": extends}
                if spec.aliases:
                    new_modules[spec.name]["aliases"] = spec.aliases
                new_modules[spec.name]["index"] = index_facts(spec)
                continue
        try:
            text = render_module(env, spec)
        except SpecError as exc:
            errors.append(exc)
            continue
        wanted[name] = text
        new_modules[spec.name] = {"input": ihash, "output": "", "extends": extends}
        if spec.aliases:
            new_modules[spec.name]["aliases"] = spec.aliases
        new_modules[spec.name]["index"] = index_facts(spec)
    if errors:
        raise SpecErrors(errors)

    names = {s.name for s in specs} | (set(existing) if only else set())
    aliases = {a: n for n, rec in new_modules.items() if n in names for a in rec.get("aliases") or ()}  # type: ignore[attr-defined]
    wanted["__init__.py"] = render_init(env, names, aliases)
    wanted[INDEX] = render_index(env, {n: rec for n, rec in new_modules.items() if n in names})
    wanted = format_python(wanted)
    for name, text in wanted.items():
        if name[:-3] in new_modules and not new_modules[name[:-3]]["output"]:
            new_modules[name[:-3]]["output"] = sha(text)
    wanted["py.typed"] = ""
    removals = [] if only else sorted(set(existing) - {s.name for s in specs})

    if check:
        diffs: list[str] = []
        for name, text in sorted(wanted.items()):
            path = out / name
            current = path.read_text(encoding="utf-8") if path.is_file() else ""
            if current != text:
                diffs.extend(
                    difflib.unified_diff(
                        current.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        fromfile=f"{out.name}/{name} (on disk)",
                        tofile=f"{out.name}/{name} (from specs)",
                    )
                )
        for stem in removals:
            diffs.append(f"--- {out.name}/{stem}.py has no spec any more\n")
        # the manifest too: a clean checkout plus `specgen build` must leave nothing to commit
        manifest = manifest_text(new_modules, init_record(wanted["__init__.py"] + wanted[INDEX], names))
        on_disk = manifest_path.read_text(encoding="utf-8") if manifest_path.is_file() else ""
        if on_disk != manifest:
            diffs.extend(
                difflib.unified_diff(
                    on_disk.splitlines(keepends=True),
                    manifest.splitlines(keepends=True),
                    fromfile=f"{out.name}/{MANIFEST} (on disk)",
                    tofile=f"{out.name}/{MANIFEST} (from specs and specgen)",
                )
            )
        result.stale_diff = "".join(diffs)
        return result

    changes: dict[Path, str | None] = {}
    for name, text in wanted.items():
        path = out / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            if name.endswith(".py") and not name.startswith("_"):
                result.unchanged.append(name)
            continue
        changes[path] = text
        result.written.append(name)
    for stem in removals:
        changes[existing[stem]] = None
        result.removed.append(f"{stem}.py")
    new_manifest = manifest_text(new_modules, init_record(wanted["__init__.py"] + wanted[INDEX], names))
    if not manifest_path.is_file() or manifest_path.read_text(encoding="utf-8") != new_manifest:
        changes[manifest_path] = new_manifest
    _commit(out, changes)
    result.unchanged.sort()
    return result


def _commit(out: Path, changes: dict[Path, str | None]) -> None:
    """Stage every new file beside its target, then swap them in; on failure nothing changes."""
    if not changes:
        return
    out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in changes.items():
            if text is None:
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=out)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            staged.append((tmp, path))
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    for path, text in changes.items():
        if text is None:
            path.unlink(missing_ok=True)


def location_error(message: str, file: str = "specgen") -> SpecError:
    return SpecError(Location(file, 1, 1), message)
