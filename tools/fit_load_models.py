"""Regenerates the shipped regime load models (src/safetwin/data/load_models/*.toml): one
semi-Markov regime model (safetwin.campaign.regime) per standard drive cycle, fitted to the cell
current that safetwin.drive_cycles.cell_current gives for it (the default vehicle on its 96s46p
pack of 5 Ah cells). tests/test_campaign_regime.py checks that the shipped files equal a refit.

    python tools/fit_load_models.py
"""
from __future__ import annotations

from pathlib import Path

from safetwin import drive_cycles
from safetwin.campaign import regime

OUT = Path(__file__).resolve().parent.parent / "src" / "safetwin" / "data" / "load_models"
CELL_CAPACITY_AH = 5.0  # the default Vehicle's cells (LG M50, 5 Ah nominal)


def fit_shipped(name: str) -> regime.RegimeModel:
    current = drive_cycles.cell_current(name, dt_s=1.0)
    return regime.fit([current], 1.0, regime.DEFAULT_LEVELS, capacity_ah=CELL_CAPACITY_AH, provenance={
        "source": f"safetwin.drive_cycles.cell_current({name!r}, dt_s=1.0): the {name} speed trace of "
                  "data/drive_cycles (NREL FASTSim 2.1.5 resources, see its SOURCE.md) through the default "
                  "road-load Vehicle, one cell of its 96s46p pack",
        "fitted_by": "tools/fit_load_models.py (safetwin.campaign.regime.fit, "
                     f"{regime.DEFAULT_LEVELS} k-means levels, censored negative binomial dwell MLE)"})


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in regime.SHIPPED:
        m = fit_shipped(name)
        (OUT / f"{name}.toml").write_text(m.to_toml())
        print(f"{name}: {m.k} levels, {m.provenance['segments']} segments, log-likelihood "
              f"{m.provenance['log_likelihood']:.2f}, mean current {m.mean_current_a():.4f} A "
              f"(data {m.provenance['data_mean_current_a']:.4f} A)")


if __name__ == "__main__":
    main()
