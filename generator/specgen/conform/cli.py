"""``specgen conform`` arguments (the runner lives beside this file)."""

from __future__ import annotations

import argparse
from typing import Any


def add_conform_parser(sub: Any) -> None:
    p = sub.add_parser("conform", help="check every declaration of the specs against loopback fakes")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--specs", help="specs folder (default: ./specs, else the built-in specs)")
    p.add_argument("--mode", help="only this mode")
    p.add_argument("--json", help="write one JSON record per check to this file")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from specgen.conform.runner import main

    result: int = main(args)
    return result
