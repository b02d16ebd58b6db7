"""The ``specgen`` command line.

One module (about 600 lines) on purpose: the argparse tree, every command's help text and exit
codes, and one thin ``cmd_*`` per command that imports its layer only when the command runs;
it is the only module that may import every layer (see ARCHITECTURE.md).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from specgen.resources import CONFORM_CACHE, builtin_specs_dir, schema_path
from specgen.spec.errors import SpecErrors, github_annotation

#: 0 ok; 1 a committed output is stale (build --check, audit --check, conform --oracle --check);
#: 2 an input is unusable (an invalid spec or transcripts file, a missing extra, a bad command line);
#: 3 a conformance check failed
EXIT_OK, EXIT_STALE, EXIT_SPEC, EXIT_CONFORM = 0, 1, 2, 3
ERROR_FORMATS = ("text", "github")


def _default_specs() -> Path:
    local = Path("specs")
    return local if local.is_dir() and any(local.glob("*.yaml")) else builtin_specs_dir()


def _default_out() -> Path:
    return Path("generated") / "specgen_providers"


def _relative(path: Path) -> str | None:
    """``path`` relative to the working directory (what GitHub annotations want), if it lies below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _file_for(specs_dir: Path) -> Callable[[str], str]:
    """Maps how errors name a file (``specs/x.yaml``: its folder's name and its own) to its path
    from the working directory: in ``specs_dir``, else among the built-in specs."""

    def file_for(display: str) -> str:
        head, _, rest = display.partition("/")
        candidates = [specs_dir / rest] if rest and head == specs_dir.name else []
        if rest:
            candidates.append(builtin_specs_dir() / rest)
        for path in candidates:
            if path.is_file():
                return _relative(path) or display
        return display

    return file_for


def _report(errors: SpecErrors, error_format: str = "text", specs_dir: Path | None = None, *, writes: bool = True) -> int:
    file_for = _file_for(specs_dir or _default_specs())
    for err in errors.errors:
        if error_format == "github":
            loc = err.location
            print(github_annotation(err.message, file=file_for(loc.file), line=loc.line, col=loc.column))
        else:
            print(str(err), file=sys.stderr)
    n = len(errors.errors)
    tail = "; nothing was written" if writes else ""
    print(f"specgen: {n} error{'s' if n != 1 else ''}{tail}", file=sys.stderr)
    return EXIT_SPEC


_FILE_MESSAGE = re.compile(r"^(\S+\.ya?ml): (.*)$", re.S)


def _report_file_error(message: str, error_format: str, specs_dir: Path) -> int:
    """A transcripts or verdicts file that cannot be used (its message starts with the file)."""
    if error_format == "github":
        for one in message.splitlines():  # a transcripts file may report several problems
            at = _FILE_LINE_MESSAGE.match(one)
            m = _FILE_MESSAGE.match(one)
            if at:
                print(github_annotation(at.group(4), file=_file_for(specs_dir)(at.group(1)), line=int(at.group(2)), col=int(at.group(3))))
            elif m:
                print(github_annotation(m.group(2), file=_file_for(specs_dir)(m.group(1))))
            else:
                print(github_annotation(one))
    print(f"specgen: {message}", file=sys.stderr)
    return EXIT_SPEC


_FILE_LINE_MESSAGE = re.compile(r"^(\S+\.ya?ml):(\d+):(\d+): (.*)$")
_DIFF_FROM = re.compile(r"^--- (?P<name>.+) \(on disk\)$")
_DIFF_GONE = re.compile(r"^--- (?P<name>.+) has no spec any more$")
_HUNK = re.compile(r"^@@ -(?P<line>\d+)")


def _stale_files(diff: str, out: Path) -> list[tuple[Path, int | None, str]]:
    """The files ``build --check`` found stale, each with the first line that differs, from its diff."""
    found: list[tuple[Path, int | None, str]] = []
    lines = diff.splitlines()
    for i, text in enumerate(lines):
        gone = _DIFF_GONE.match(text)
        if gone:
            name = gone["name"].partition("/")[2]
            found.append((out / name, None, "has no spec any more; `specgen build` removes it"))
            continue
        m = _DIFF_FROM.match(text)
        if not m:
            continue
        name = m["name"].partition("/")[2]
        line: int | None = None
        for j in range(i + 1, len(lines)):
            hunk = _HUNK.match(lines[j])
            if hunk:
                line = int(hunk["line"])
                for body in lines[j + 1 :]:
                    if not body.startswith(" "):
                        break
                    line += 1
                break
            if _DIFF_FROM.match(lines[j]):
                break
        found.append((out / name, max(line or 1, 1), "is stale or was edited by hand; run `specgen build`"))
    return found


def cmd_validate(args: argparse.Namespace) -> int:
    from specgen.spec.resolve import load_specs

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    files = [Path(f) for f in args.files] or None
    if files:
        specs_dir = files[0].parent
    try:
        specs = load_specs(specs_dir, files=files)
    except SpecErrors as errors:
        return _report(errors, args.error_format, specs_dir, writes=False)
    print(f"ok: {len(specs)} spec{'s' if len(specs) != 1 else ''} valid")
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    specs_dir = Path(args.specs) if args.specs else _default_specs()
    out = Path(args.out) if args.out else _default_out()
    templates = Path(args.templates) if args.templates else None
    if not args.check and not args.force:
        # nothing changed since the last build? the manifest says so without YAML, jinja2 or jsonschema
        from specgen.build.manifest import up_to_date

        unchanged = up_to_date(specs_dir, out, only=args.only or None, templates=templates)
        if unchanged is not None:
            print(f"0 written, {len(unchanged)} unchanged, 0 removed")
            return EXIT_OK
    from specgen.build.compiler import build

    try:
        result = build(
            specs_dir,
            out,
            only=args.only or None,
            check=args.check,
            templates=templates,
            force=args.force,
        )
    except SpecErrors as errors:
        return _report(errors, args.error_format, specs_dir)
    if args.check:
        if result.stale:
            sys.stdout.write(result.stale_diff)
            if args.error_format == "github":
                for path, line, what in _stale_files(result.stale_diff, out):
                    shown = _relative(path) or path.as_posix()
                    print(github_annotation(f"{shown} {what}", file=shown, line=line))
            print(f"specgen: {out} is stale or was edited by hand; run `specgen build`", file=sys.stderr)
            return EXIT_STALE
        print(f"ok: {out} matches the specs")
        return EXIT_OK
    for name in result.written:
        print(f"rebuilt {out / name}")
    for name in result.removed:
        print(f"removed {out / name} (its spec is gone)")
    print(f"{len(result.written)} written, {len(result.unchanged)} unchanged, {len(result.removed)} removed")
    return EXIT_OK


def cmd_oracle(args: argparse.Namespace) -> int:
    from specgen.audit import LiteLLMMissingError
    from specgen.audit.oracle import ORACLE_FILE, dumps, run_oracle, stale_report, summary
    from specgen.audit.verdicts import VERDICTS_FILE, VerdictError, load_verdicts
    from specgen.transcripts import TranscriptError

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    folder = Path(args.out)
    target = folder / ORACLE_FILE
    if (args.names or args.mode) and not args.check:
        print("specgen: --oracle with NAME or --mode writes nothing (a partial run); use --check or no filter", file=sys.stderr)
    try:
        verdicts = load_verdicts(folder / VERDICTS_FILE, str(folder / VERDICTS_FILE))
        kw = _conform_kwargs(args)
        result = run_oracle(
            specs_dir,
            args.names or None,
            mode=args.mode,
            examples=args.examples,
            jobs=kw["jobs"],
            cache_dir=None if kw["cache_dir"] is None else kw["cache_dir"].parent / "oracle",
            rerun=kw["rerun"],
        )
    except LiteLLMMissingError as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return EXIT_SPEC
    except SpecErrors as errors:
        return _report(errors, args.error_format, specs_dir)
    except (TranscriptError, VerdictError) as exc:
        return _report_file_error(str(exc), args.error_format, specs_dir)
    summary(result, verdicts, sys.stdout)
    text = dumps(result.to_dict())
    if args.check:
        if args.names or args.mode:
            print("specgen: --check compares a full run; drop NAME and --mode", file=sys.stderr)
            return EXIT_SPEC
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            for line in stale_report(target, result):
                print(line, file=sys.stderr)
            print(f"specgen: {target} is stale; run `specgen conform --oracle litellm`, then `specgen audit`", file=sys.stderr)
            return EXIT_STALE
        print(f"ok: {target} matches this run")
        return EXIT_OK
    if not (args.names or args.mode):
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}; run `specgen audit` to list the differences in the checklist")
    return EXIT_OK


def _conform_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="providers checked at once, each in its own process (default: the CPU count)")
    p.add_argument("--cache", metavar="DIR", default=str(CONFORM_CACHE), help=f"conformance results kept between runs (default: {CONFORM_CACHE})")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--all", dest="rerun", action="store_true", help="check every provider, even those whose inputs are unchanged since a passing run (and refresh the cache)")


def _conform_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"jobs": args.jobs, "cache_dir": None if args.no_cache else Path(args.cache), "rerun": args.rerun}


def cmd_conform(args: argparse.Namespace) -> int:
    if args.oracle:
        return cmd_oracle(args)
    from specgen.conform.report import summary, write_json
    from specgen.conform.runner import conform
    from specgen.transcripts import TranscriptError

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    try:
        report = conform(specs_dir, args.names or None, mode=args.mode, **_conform_kwargs(args))
    except SpecErrors as errors:
        return _report(errors, args.error_format, specs_dir)
    except TranscriptError as exc:
        return _report_file_error(str(exc), args.error_format, specs_dir)
    summary(report, sys.stdout, verbose=args.verbose, error_format=args.error_format, file_for=_file_for(specs_dir))
    if args.json:
        write_json(report, Path(args.json))
    return EXIT_CONFORM if report.failed else EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    import json

    from specgen.audit.checklist import audit, stale, write
    from specgen.audit.oracle import ORACLE_FILE
    from specgen.audit.verdicts import VERDICTS_FILE, VerdictError, load_verdicts
    from specgen.conform.runner import conform
    from specgen.spec.resolve import load_specs
    from specgen.transcripts import TranscriptError

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    folder = Path(args.out)
    # the snapshot in --out (this repo's checklist/), else the one shipped with specgen
    from specgen.resources import builtin_reference

    ref_path = Path(args.reference) if args.reference else folder / "litellm_reference.json"
    if not args.reference and not ref_path.is_file():
        ref_path = builtin_reference()
    try:
        reference = json.loads(ref_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"specgen: cannot read the LiteLLM reference {ref_path}: {exc}; run `specgen reference sync`", file=sys.stderr)
        return EXIT_SPEC
    oracle_path = folder / ORACLE_FILE
    try:
        oracle = json.loads(oracle_path.read_text(encoding="utf-8")) if oracle_path.is_file() else None
    except ValueError as exc:
        print(f"specgen: cannot read {oracle_path}: {exc}; run `specgen conform --oracle litellm`", file=sys.stderr)
        return EXIT_SPEC
    try:
        verdicts = load_verdicts(folder / VERDICTS_FILE, str(folder / VERDICTS_FILE))
        specs = load_specs(specs_dir)
        report = conform(specs_dir, **_conform_kwargs(args))
    except SpecErrors as errors:
        return _report(errors, specs_dir=specs_dir)
    except (TranscriptError, VerdictError) as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return EXIT_SPEC
    result = audit(specs, report.results, reference, oracle, verdicts)
    if args.json:
        print(json.dumps(result.parity, indent=1, ensure_ascii=False, sort_keys=True))
    if args.check:
        bad = stale(result, folder)
        if bad:
            print(f"specgen: {', '.join(str(folder / b) for b in bad)} stale; run `specgen audit`", file=sys.stderr)
            return EXIT_STALE
        print(f"ok: {folder} matches the specs, conformance and the reference")
        return EXIT_OK
    for path in write(result, folder):
        if not args.json:
            print(f"wrote {path}")
    return EXIT_OK


def schema_with_names() -> str:
    """The ProviderSpec JSON Schema with the names a spec may use enumerated (wires, transforms,
    error classes: built-in and the plug-ins'), so that editors complete them."""
    import json

    from specgen_runtime import wires
    from specgen_runtime.errors import ERROR_CLASSES

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    defs = schema["$defs"]
    transforms = wires.transforms()
    names = wires.names()
    streaming = [w for w in names if wires.load(w).STREAMS]
    defs["mode"]["properties"]["format"] = {"enum": names, "description": "The wire this mode speaks."}
    defs["stream"]["properties"]["format"] = {"enum": streaming, "description": "Each event is a whole response object read by this wire."}
    defs["param"]["properties"]["transform"] = {"enum": sorted(t for t, d in transforms.items() if not d.messages)}
    msg = {"enum": sorted(t for t, d in transforms.items() if d.messages)}
    defs["mode"]["properties"]["messages_transform"] = {"oneOf": [msg, {"type": "array", "minItems": 1, "items": msg}]}
    defs["errorRow"]["properties"]["raise"] = {"enum": sorted(ERROR_CLASSES)}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def cmd_schema(args: argparse.Namespace) -> int:
    text = schema_with_names()
    if not args.write:
        print(text, end="")
        return EXIT_OK
    from specgen.scaffold import SCHEMA_FILE

    target = Path(args.write)
    if target.is_dir():
        target = target / SCHEMA_FILE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        print(f"specgen: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_SPEC
    print(f"wrote {target}")
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from specgen.scaffold import ScaffoldError, check_name, load_parent, scaffold, schema_ref

    specs_dir = Path(args.specs) if args.specs else Path("specs")
    try:
        check_name(args.name)
        try:
            parent = load_parent(args.extends, args.name, specs_dir) if args.extends else None
        except SpecErrors as errors:
            return _report(errors, specs_dir=specs_dir)
        written = scaffold(args.name, specs_dir, parent)
    except ScaffoldError as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return EXIT_SPEC
    for path in written:
        print(f"wrote {path}")
    schema, found = schema_ref(specs_dir)
    if not found:
        print(f"note: its $schema is {schema} beside it; `specgen schema --write {specs_dir / schema}` puts the schema there for editors")
    print(f"next: fill in the TODOs; `specgen validate {written[0]}`; record fixtures; `specgen conform {args.name}`; `specgen build`")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from specgen.explain import explain
    from specgen.spec.resolve import load_specs

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    try:
        (spec,) = load_specs(specs_dir, only=[args.provider])
    except SpecErrors as errors:
        return _report(errors, specs_dir=specs_dir, writes=False)
    for line in explain(spec, specs_dir, args.param):
        print(line)
    return EXIT_OK


def cmd_reference(args: argparse.Namespace) -> int:
    from specgen.audit import LiteLLMMissingError
    from specgen.audit.reference import DEFAULT_OUT, sync

    out = Path(args.out) if args.out else DEFAULT_OUT
    try:
        snapshot = sync(out)
    except LiteLLMMissingError as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return EXIT_SPEC
    summary = snapshot["summary"]
    print(
        f"wrote {out}: litellm {snapshot['litellm_version']}, "
        f"{summary['providers']} providers, {summary['models']} models"
    )
    return EXIT_OK


SPECS_HELP = "specs folder (default: ./specs, else the built-in specs)"
FORMAT_HELP = "text (default): errors as file:line:column; github: each spec error, stale file or conformance failure as a GitHub Actions annotation (::error file=…,line=…::…) on stdout"

EXIT_CODES = """\
exit codes (every command):
  0  ok
  1  a committed output is stale: build --check, audit --check, conform --oracle litellm --check
  2  an input is unusable: an invalid spec or transcripts file, a missing extra, a bad command line
  3  conform: a conformance check failed
"""

HELP: dict[str, tuple[str, str, str]] = {
    # command: (description, reads / writes, exit codes)
    "new": (
        "Scaffold a new provider: a spec that validates as written and the skeletons of its transcripts\n"
        "and sources, each with TODOs to fill in from the provider's docs.",
        "reads:   --extends PARENT's spec (in --specs, else among the built-in specs)\n"
        "writes:  <specs>/NAME.yaml, <specs>/fixtures/NAME/chat/transcripts.yaml, <specs>/fixtures/NAME/SOURCES.md;\n"
        "         with --extends, fixtures/NAME/MODE/transcripts.yaml for another mode whose inherited\n"
        "         requests name models under the parent's prefix (removed there); none when any exists",
        "exit codes:\n"
        "  0  written\n"
        "  2  refused: NAME is not ^[a-z][a-z0-9_]*$ (or is a Python keyword), a file exists,\n"
        "     PARENT is not found or is invalid; nothing was written",
    ),
    "validate": (
        "Check specs: the ProviderSpec JSON Schema, then the semantic checks (unknown transform, format or\n"
        "error class, a target written twice, a path variable with no source, an extends cycle, typos).",
        "reads:   FILE... (default: every *.yaml in --specs) and the specs they extend\n"
        "writes:  nothing; each error names file:line:column (see --error-format)",
        "exit codes:\n"
        "  0  every spec is valid\n"
        "  2  a spec is invalid",
    ),
    "build": (
        "Render each spec into a typed adapter module. Atomic (on any error nothing under --out changes),\n"
        "deterministic and incremental (unchanged inputs are not re-rendered).",
        "reads:   the specs in --specs and those they extend, the templates (--templates over the built-in\n"
        "         ones), <out>/.specgen-manifest.json\n"
        "writes:  <out>/NAME.py per spec, <out>/__init__.py, _index.py (what completion() resolves models\n"
        "         with), py.typed, .specgen-manifest.json; removes the\n"
        "         module of a spec that is gone. --check writes nothing: a unified diff on stdout",
        "exit codes:\n"
        "  0  built (--check: the output matches the specs)\n"
        "  1  --check: the output is stale or was edited by hand\n"
        "  2  a spec is invalid; nothing was written",
    ),
    "conform": (
        "Check every declaration of the specs against a loopback fake of each provider (real HTTP on\n"
        "127.0.0.1), driving the generated Client and AsyncClient: self-checks and recorded transcripts.\n"
        "With --oracle litellm: the differential oracle against LiteLLM instead (needs specgen[reference]).",
        "reads:   the specs (NAME..., default all) and those they extend, fixtures/NAME/MODE/ beside each\n"
        "         (transcripts.yaml and the wire files); --oracle: also <out>/oracle_verdicts.yaml\n"
        "writes:  --json PATH; the results of each provider with no failure in --cache (default\n"
        "         .specgen-cache/conform/), so that a later run re-checks only providers whose spec,\n"
        "         fixtures or specgen changed (--all checks every one); the adapters are built into a\n"
        "         temporary folder, removed after; --oracle: <out>/oracle.json (nothing with --check,\n"
        "         NAME or --mode)",
        "exit codes:\n"
        "  0  no check failed (unverified is not a failure); --oracle: ran (--check: oracle.json is current)\n"
        "  1  --oracle --check: <out>/oracle.json differs from this run\n"
        "  2  a spec, transcripts.yaml or the verdicts file is invalid; --oracle: LiteLLM is not installed\n"
        "  3  a conformance check failed (each failure names the spec line it checks)",
    ),
    "explain": (
        "Say, per mode, where each OpenAI param goes: its target path (or query parameter), transform,\n"
        "default, range or enum, alias, unsupported: drop | refuse, the model rules touching it, and the\n"
        "spec line it comes from (a declaration inherited through extends names the file that made it).\n"
        "With PARAM, that param alone, and what the mode's unsupported: policy does with it when it is\n"
        "not declared.",
        "reads:   PROVIDER's spec in --specs and the specs it extends, resolved as the build resolves it\n"
        "writes:  nothing",
        "exit codes:\n"
        "  0  explained (an undeclared PARAM too)\n"
        "  2  no such spec, or it is invalid",
    ),
    "audit": (
        "Write the LiteLLM parity checklist: specs x conformance x the LiteLLM reference snapshot x the\n"
        "differential oracle's differences and their verdicts.",
        "reads:   the specs and their fixtures (it runs conform), <out>/litellm_reference.json (or\n"
        "         --reference), <out>/oracle.json, <out>/oracle_verdicts.yaml\n"
        "writes:  <out>/LITELLM_PROVIDER_CHECKLIST.md (the summary), <out>/providers/NAME.md (one page per\n"
        "         provider; a page whose provider is gone is removed) and <out>/parity.json; --check writes nothing",
        "exit codes:\n"
        "  0  written (--check: the committed checklist is current)\n"
        "  1  --check: the checklist is stale\n"
        "  2  a spec, transcripts or verdicts file, the reference or oracle.json cannot be read",
    ),
    "schema": (
        "The ProviderSpec JSON Schema, for editors (# yaml-language-server: $schema=...) and other tools.",
        "reads:   the schema shipped with specgen\n"
        "writes:  stdout; with --write PATH that file (PATH a folder: PATH/providerspec.schema.json)",
        "exit codes:\n"
        "  0  printed or written\n"
        "  2  PATH cannot be written",
    ),
    "reference": (
        "sync: snapshot what the installed LiteLLM supports (providers, endpoints, params per mode),\n"
        "offline (every socket connect and DNS lookup is blocked). Needs specgen[reference].",
        "reads:   the installed litellm package\n"
        "writes:  --out (default: checklist/litellm_reference.json)",
        "exit codes:\n"
        "  0  written\n"
        "  2  LiteLLM is not installed",
    ),
}


def _sub(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str) -> argparse.ArgumentParser:
    description, files, codes = HELP[name]
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"{files}\n\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


PLUGIN_HELP = (
    "import MODULE first, a plug-in that registers wires and declares transforms (repeatable; "
    "added to [tool.specgen] plugins of the nearest pyproject.toml)"
)


def _plugins(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE", help=PLUGIN_HELP)


def _error_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--error-format", choices=ERROR_FORMATS, default="text", help=FORMAT_HELP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="specgen",
        description="Compile ProviderSpec YAML into LLM provider adapters. `specgen COMMAND --help` says\n"
        "what each command reads, what it writes and its exit codes.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = _sub(sub, "new", "scaffold a provider: its spec, transcripts and sources skeletons")
    p.add_argument("name", metavar="NAME", help="the provider's name: ^[a-z][a-z0-9_]*$, also its module's")
    p.add_argument("--extends", metavar="PARENT", help="start from this spec (extends: PARENT, a few lines) instead of a full skeleton")
    p.add_argument("--specs", help="specs folder to write into (default: ./specs)")
    p.set_defaults(func=cmd_new)

    p = _sub(sub, "validate", "check specs (schema + semantic checks)")
    p.add_argument("files", nargs="*", help="spec files (default: every spec in --specs)")
    p.add_argument("--specs", help=SPECS_HELP)
    _error_format(p)
    _plugins(p)
    p.set_defaults(func=cmd_validate)

    p = _sub(sub, "build", "render specs into adapter modules")
    p.add_argument("--specs", help=SPECS_HELP)
    p.add_argument("--out", help="output package folder (default: generated/specgen_providers)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="build only these providers")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if the output is stale")
    p.add_argument("--templates", help="a folder of templates overriding the built-in ones, one file at a time")
    p.add_argument("--force", action="store_true", help="re-render even unchanged inputs")
    _error_format(p)
    _plugins(p)
    p.set_defaults(func=cmd_build)

    p = _sub(sub, "conform", "check every declaration against a loopback fake of the provider")
    p.add_argument("names", nargs="*", metavar="NAME", help="providers to check (default: all)")
    p.add_argument("--specs", help=SPECS_HELP)
    p.add_argument("--mode", help="check only this mode (chat, embeddings, ...)")
    p.add_argument("--json", metavar="PATH", help="also write one record per check to PATH")
    p.add_argument("-v", "--verbose", action="store_true", help="list unverified declarations too")
    _conform_run_options(p)
    _error_format(p)
    p.add_argument("--oracle", choices=["litellm"], help="instead: the differential oracle against LiteLLM (needs specgen[reference]); writes <out>/oracle.json")
    p.add_argument("--examples", type=int, default=25, help="oracle: generated requests per provider and mode (default: 25)")
    p.add_argument("--out", default="checklist", help="oracle: the checklist folder (default: checklist)")
    p.add_argument("--check", action="store_true", help="oracle: write nothing; exit 1 if <out>/oracle.json differs from this run")
    _plugins(p)
    p.set_defaults(func=cmd_conform)

    p = _sub(sub, "explain", "where each OpenAI param goes, with the spec line it comes from")
    p.add_argument("provider", metavar="PROVIDER", help="the spec's name")
    p.add_argument("param", metavar="PARAM", nargs="?", help="one OpenAI param (default: every declared one)")
    p.add_argument("--specs", help=SPECS_HELP)
    _plugins(p)
    p.set_defaults(func=cmd_explain)

    p = _sub(sub, "audit", "write the LiteLLM parity checklist (specs × conformance × LiteLLM reference)")
    p.add_argument("--specs", help=SPECS_HELP)
    p.add_argument("--out", default="checklist", help="checklist folder (default: checklist)")
    p.add_argument("--reference", help="LiteLLM reference snapshot (default: <out>/litellm_reference.json)")
    p.add_argument("--json", action="store_true", help="also print parity.json to stdout")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the committed checklist is stale")
    _conform_run_options(p)
    _plugins(p)
    p.set_defaults(func=cmd_audit)

    p = _sub(sub, "schema", "print (or --write) the ProviderSpec JSON Schema")
    p.add_argument("--write", metavar="PATH", help="write the schema to PATH instead of printing it")
    _plugins(p)
    p.set_defaults(func=cmd_schema)

    p = _sub(sub, "reference", "the LiteLLM reference snapshot (needs specgen[reference])")
    p.add_argument("action", choices=["sync"], help="sync: write the snapshot from the installed litellm, offline")
    p.add_argument("--out", help="output file (default: checklist/litellm_reference.json)")
    p.set_defaults(func=cmd_reference)

    args = parser.parse_args(argv)
    if hasattr(args, "plugin"):
        from specgen.plugins import PluginError, load

        try:
            load(args.plugin)
        except PluginError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
