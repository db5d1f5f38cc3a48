"""The committed type stubs of safetwin._core match the compiled module (regenerate with
python tools/gen_stubs.py after changing a binding)."""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_stubs", ROOT / "tools" / "gen_stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_the_module():
    gen = load_generator()
    fresh = gen.generate()
    committed = gen.TARGET.read_text()
    assert fresh == committed, "src/safetwin/_core.pyi is stale: run python tools/gen_stubs.py"


def test_stubs_describe_the_public_api():
    text = (ROOT / "src" / "safetwin" / "_core.pyi").read_text()
    for name in ("class Pack", "class BatteryEkf", "class BatteryMpc", "class ControlCycle", "class PackCycle",
                 "class InvariantMonitor", "class CbfFilter", "class TrustState"):
        assert name in text, name
    assert sys.version_info >= (3, 9)
