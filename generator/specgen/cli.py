"""The ``specgen`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from specgen.resources import builtin_specs_dir, schema_path
from specgen.spec.errors import SpecErrors

EXIT_OK, EXIT_STALE, EXIT_SPEC = 0, 1, 2


def _default_specs() -> Path:
    local = Path("specs")
    return local if local.is_dir() and any(local.glob("*.yaml")) else builtin_specs_dir()


def _default_out() -> Path:
    return Path("generated") / "specgen_providers"


def _report(errors: SpecErrors) -> int:
    for err in errors.errors:
        print(str(err), file=sys.stderr)
    n = len(errors.errors)
    print(f"specgen: {n} error{'s' if n != 1 else ''}; nothing was written", file=sys.stderr)
    return EXIT_SPEC


def cmd_validate(args: argparse.Namespace) -> int:
    from specgen.spec.resolve import load_specs

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    files = [Path(f) for f in args.files] or None
    if files:
        specs_dir = files[0].parent
    try:
        specs = load_specs(specs_dir, files=files)
    except SpecErrors as errors:
        return _report(errors)
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
        return _report(errors)
    if args.check:
        if result.stale:
            sys.stdout.write(result.stale_diff)
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
    from specgen.conform.transcripts import TranscriptError

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    folder = Path(args.out)
    target = folder / ORACLE_FILE
    if (args.names or args.mode) and not args.check:
        print("specgen: --oracle with NAME or --mode writes nothing (a partial run); use --check or no filter", file=sys.stderr)
    try:
        verdicts = load_verdicts(folder / VERDICTS_FILE, str(folder / VERDICTS_FILE))
        result = run_oracle(specs_dir, args.names or None, mode=args.mode, examples=args.examples)
    except LiteLLMMissingError as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return EXIT_SPEC
    except SpecErrors as errors:
        return _report(errors)
    except (TranscriptError, VerdictError) as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return EXIT_SPEC
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


def cmd_conform(args: argparse.Namespace) -> int:
    if args.oracle:
        return cmd_oracle(args)
    from specgen.conform.report import summary, write_json
    from specgen.conform.runner import conform
    from specgen.conform.transcripts import TranscriptError

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    try:
        report = conform(specs_dir, args.names or None, mode=args.mode)
    except SpecErrors as errors:
        return _report(errors)
    except TranscriptError as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return EXIT_SPEC
    summary(report, sys.stdout, verbose=args.verbose)
    if args.json:
        write_json(report, Path(args.json))
    return EXIT_STALE if report.failed else EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    import json

    from specgen.audit.checklist import audit, stale, write
    from specgen.audit.oracle import ORACLE_FILE
    from specgen.audit.verdicts import VERDICTS_FILE, VerdictError, load_verdicts
    from specgen.conform.runner import conform
    from specgen.conform.transcripts import TranscriptError
    from specgen.spec.resolve import load_specs

    specs_dir = Path(args.specs) if args.specs else _default_specs()
    folder = Path(args.out)
    ref_path = Path(args.reference) if args.reference else folder / "litellm_reference.json"
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
        report = conform(specs_dir)
    except SpecErrors as errors:
        return _report(errors)
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


def cmd_schema(args: argparse.Namespace) -> int:
    print(schema_path().read_text(encoding="utf-8"), end="")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="specgen", description="Compile ProviderSpec YAML into LLM provider adapters.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check specs (schema + semantic checks)")
    p.add_argument("files", nargs="*", help="spec files (default: every spec in --specs)")
    p.add_argument("--specs", help="specs folder (default: ./specs, else the built-in specs)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("build", help="render specs into adapter modules")
    p.add_argument("--specs", help="specs folder (default: ./specs, else the built-in specs)")
    p.add_argument("--out", help="output package folder (default: generated/specgen_providers)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="build only these providers")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if the output is stale")
    p.add_argument("--templates", help="a folder of templates overriding the built-in ones, one file at a time")
    p.add_argument("--force", action="store_true", help="re-render even unchanged inputs")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("conform", help="check every declaration against a loopback fake of the provider")
    p.add_argument("names", nargs="*", metavar="NAME", help="providers to check (default: all)")
    p.add_argument("--specs", help="specs folder (default: ./specs, else the built-in specs)")
    p.add_argument("--mode", help="check only this mode (chat, embeddings, ...)")
    p.add_argument("--json", metavar="PATH", help="also write one record per check to PATH")
    p.add_argument("-v", "--verbose", action="store_true", help="list unverified declarations too")
    p.add_argument("--oracle", choices=["litellm"], help="instead: the differential oracle against LiteLLM (needs specgen[reference]); writes <out>/oracle.json")
    p.add_argument("--examples", type=int, default=25, help="oracle: generated requests per provider and mode (default: 25)")
    p.add_argument("--out", default="checklist", help="oracle: the checklist folder (default: checklist)")
    p.add_argument("--check", action="store_true", help="oracle: write nothing; exit 1 if <out>/oracle.json differs from this run")
    p.set_defaults(func=cmd_conform)

    p = sub.add_parser("audit", help="write the LiteLLM parity checklist (specs × conformance × LiteLLM reference)")
    p.add_argument("--specs", help="specs folder (default: ./specs, else the built-in specs)")
    p.add_argument("--out", default="checklist", help="checklist folder (default: checklist)")
    p.add_argument("--reference", help="LiteLLM reference snapshot (default: <out>/litellm_reference.json)")
    p.add_argument("--json", action="store_true", help="also print parity.json to stdout")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the committed checklist is stale")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("schema", help="print the ProviderSpec JSON Schema")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("reference", help="the LiteLLM reference snapshot (needs specgen[reference])")
    p.add_argument("action", choices=["sync"], help="sync: write the snapshot from the installed litellm, offline")
    p.add_argument("--out", help="output file (default: checklist/litellm_reference.json)")
    p.set_defaults(func=cmd_reference)

    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
