"""Seed corpora for fuzz_parsers.py: the shipped scenario, campaign and cell files, and real quotes and
signatures of the software TPM node (safetwin.trust.SoftwareNode). Usage: make_seeds.py OUT_DIR."""
import shutil
import sys
from pathlib import Path

from safetwin.trust import SoftwareNode

root = Path(__file__).resolve().parents[2]
out = Path(sys.argv[1])
for name in ("scenario", "campaign", "quote", "cell"):
    (out / name).mkdir(parents=True, exist_ok=True)
for i, f in enumerate(sorted([*root.glob("hil/scenarios/*.toml"), *root.glob("examples/hil_scenario/*.toml")])):
    shutil.copy(f, out / "scenario" / f"seed_{i:03d}.toml")
for i, f in enumerate(sorted(root.glob("src/safetwin/data/campaigns/*.toml"))):
    shutil.copy(f, out / "campaign" / f"seed_{i:03d}.toml")
for i, f in enumerate(sorted(root.glob("src/safetwin/data/cells/*.toml"))):
    shutil.copy(f, out / "cell" / f"seed_{i:03d}.toml")
node = SoftwareNode("cell_mon")
for i in range(4):
    q = node.quote(bytes([i]) * 16)
    (out / "quote" / f"attest_{i}").write_bytes(q.attest)
    (out / "quote" / f"signature_{i}").write_bytes(q.signature)
print(f"python seeds in {out}")
