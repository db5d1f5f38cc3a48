"""Every Python example runs as a user would run it (the C++ examples are built and run by
run_tests.sh against the installed core), so the guides in docs/ cannot rot."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script, tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip(), "an example says what it did"


def test_python_law_example_prints_both_controllers():
    r = subprocess.run([sys.executable, str(EXAMPLES / "python_law.py")], capture_output=True, text=True, check=True)
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    t79_law, t79_mpc = int(rows["python"][2]), int(rows["MPC"][2])
    assert t79_mpc < t79_law  # the MPC uses the thermal headroom a 2C CC-CV law leaves
