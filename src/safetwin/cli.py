"""The ``safetwin`` command line: one subcommand per module in ``safetwin.commands``."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from importlib import metadata

# Each module defines register(subparsers) and sets a ``func`` default that runs the command.
COMMANDS = [
    "safetwin.commands.simulate",
    "safetwin.commands.estimate",
    "safetwin.commands.charge",
    "safetwin.commands.monitor",
    "safetwin.commands.attack_demo",
    "safetwin.commands.demo",
    "safetwin.commands.hil",
    "safetwin.commands.firmware",
    "safetwin.commands.campaign",
    "safetwin.commands.diagnose",
    "safetwin.commands.fit",
    "safetwin.commands.design",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safetwin",
        description="Control stack for battery digital twins: simulate, estimate, control, "
        "guard and bench-test a battery from one command line.",
    )
    parser.add_argument("--version", action="version", version=f"safetwin {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    try:
        return metadata.version("safetwin")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return "unknown (not installed)"


def _error_text(exc: BaseException) -> str:
    """One line: our ValueErrors name option, value and limit already; an OSError gets its file."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _attach_negative_values(argv: list[str]) -> list[str]:
    """'--current -1e3' as '--current=-1e3': argparse takes '-1e3', '-inf' (unlike '-1000') for an
    option of its own and would refuse the command with a puzzle about missing arguments."""
    out: list[str] = []
    for word in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and word.startswith("-") and _is_number(word):
            out[-1] = f"{out[-1]}={word}"
        else:
            out.append(word)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["firmware"]:  # every argument, --help included, is firmware_sim's
        argv = argv[1:]
        command, run = "firmware", lambda: importlib.import_module("safetwin.commands.firmware").forward(argv)
    else:
        args = build_parser().parse_args(_attach_negative_values(argv))
        command, run = args.command, lambda: args.func(args)
    try:
        status = int(run() or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        # The reader went away (`safetwin hil list | head`): not an error. Point stdout at
        # /dev/null so that the interpreter's final flush does not complain either.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file descriptor (captured)
            pass
        return 0
    except KeyboardInterrupt:
        print(f"safetwin {command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:
        # bad input: one line naming the option or file, the value and the limit
        print(f"safetwin {command}: error: {_error_text(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a defect of ours: still one line, the traceback on request
        if os.environ.get("SAFETWIN_TRACEBACK"):
            raise
        print(f"safetwin {command}: internal error: {type(exc).__name__}: {_error_text(exc)} "
              "(SAFETWIN_TRACEBACK=1 shows the traceback; please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
