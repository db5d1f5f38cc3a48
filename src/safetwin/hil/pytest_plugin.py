"""pytest plugin for HIL bench authors (registered as the ``safetwin_hil`` pytest11 entry point).

    def test_my_charge(hil_bench):
        result = hil_bench("benches/my_charge.toml")        # runs it, writes reports to tmp_path
        hil_bench.assert_passed(result)                      # fails with every failed criterion
        assert result.trace["cell_v_max"].max() < 4.2

``--hil-transport inprocess|udp|realtime`` picks the transport for every bench test of the session
(default inprocess: lockstep, the firmware's C++ code in the test process). Imports are lazy, so the
plugin costs nothing to sessions that do not use the fixture.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("safetwin-hil")
    group.addoption("--hil-transport", default="inprocess", choices=("inprocess", "udp", "realtime"),
                    help="transport of hil_bench runs (default inprocess)")


class HilBench:
    def __init__(self, transport: str, out_dir: Path) -> None:
        self.transport = transport
        self.out_dir = out_dir
        self.results: list[Any] = []

    def __call__(self, scenario: str | Path, transport: str | None = None, reports: bool = True, **kwargs: Any):
        from safetwin.hil.harness import Bench
        from safetwin.hil.report import write_all
        from safetwin.hil.scenario import Scenario, load_scenario
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        result = Bench(sc, transport=transport or self.transport, **kwargs).run()
        if reports:
            write_all(result, self.out_dir, plots=False)
        self.results.append(result)
        return result

    @staticmethod
    def assert_passed(result) -> None:
        failed = [c for c in result.criteria if not c["passed"]]
        if failed:
            raise AssertionError(f"scenario {result.scenario.name!r} failed: " + "; ".join(c["message"] for c in failed))


@pytest.fixture
def hil_bench(request: pytest.FixtureRequest, tmp_path: Path) -> HilBench:
    """Runs HIL scenarios; ``hil_bench(path, transport=None, **Bench kwargs) -> RunResult``."""
    return HilBench(request.config.getoption("--hil-transport"), tmp_path)
