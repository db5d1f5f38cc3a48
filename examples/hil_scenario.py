"""Run a bench author's HIL scenario (docs/hil-scenario.md): the firmware's C++ control cycle in
lockstep with the battery plant over the CAN link, reports to hil_out/, exit status = verdict."""
from __future__ import annotations

import sys
from pathlib import Path

from safetwin.cli import main

SCENARIO = Path(__file__).resolve().parent / "hil_scenario" / "hot_charge.toml"

if __name__ == "__main__":
    sys.exit(main(["hil", "run", "--lockstep", str(SCENARIO), "-o", "hil_out", "--no-plots"]))
