"""The ``safetwin`` command line: one subcommand per module in ``safetwin.commands``."""
from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines register(subparsers) and sets a ``func`` default that runs the command.
COMMANDS = [
    "safetwin.commands.simulate",
    "safetwin.commands.estimate",
    "safetwin.commands.charge",
    "safetwin.commands.monitor",
    "safetwin.commands.attack_demo",
    "safetwin.commands.demo",
    "safetwin.commands.hil",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safetwin",
        description="Control stack for battery digital twins: simulate, estimate, control, "
        "guard and bench-test a battery from one command line.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"safetwin {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
