"""``safetwin firmware ARGS...``: the firmware simulator (firmware_sim) with ARGS, as installed.

firmware_sim is a C++ executable shipped inside the package (safetwin/hil/bin/firmware_sim), not
on PATH; this command finds it (safetwin.hil.firmware.find_firmware) and forwards every argument,
``--help`` included, so that ``safetwin firmware --help`` prints the firmware's own options.
"""
from __future__ import annotations

import argparse
import subprocess


def register(sub: argparse._SubParsersAction) -> None:
    # Only for the command list of `safetwin --help`: safetwin.cli.main forwards `firmware ...`
    # before argparse sees it, so that the firmware's own options (and --help) reach it unchanged.
    sub.add_parser("firmware", help="the firmware simulator firmware_sim (its --help lists its options)",
                   add_help=False)


def forward(argv: list[str]) -> int:
    from safetwin.hil.firmware import find_firmware

    exe = find_firmware()  # FileNotFoundError naming where it looked: exit 2 in safetwin.cli
    try:
        return subprocess.run([str(exe), *argv]).returncode
    except KeyboardInterrupt:  # firmware_sim stops on SIGINT too and writes its report
        return 130
