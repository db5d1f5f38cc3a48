"""The pytest plugin as a bench author uses it: the hil_bench fixture runs a scenario and writes
its reports."""
import pytest

pytest.importorskip("cantools")

from safetwin.hil.scenario import shipped_scenarios  # noqa: E402


def test_hil_bench_fixture_runs_a_shipped_scenario(hil_bench):
    path = next(p for p in shipped_scenarios() if p.stem == "plant_heartbeat_loss")
    result = hil_bench(path)
    hil_bench.assert_passed(result)
    assert (hil_bench.out_dir / "plant_heartbeat_loss.junit.xml").exists()
    assert any(e["event"] == "PLANT_HEARTBEAT_LOST" for e in result.events)


def test_assert_passed_names_the_failed_criterion(hil_bench, tmp_path):
    path = next(p for p in shipped_scenarios() if p.stem == "internal_short")
    text = path.read_text().replace("within_s = 180", "within_s = 1")
    bad = tmp_path / "internal_short_strict.toml"
    bad.write_text(text)
    result = hil_bench(bad, reports=False)
    with pytest.raises(AssertionError, match="CELL_IMBALANCE raised .* s after the fault at 60.0 s \\(within 1.0 s\\)"):
        hil_bench.assert_passed(result)
