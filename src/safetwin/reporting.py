"""Self-triggered reporting: the safe horizon in C++ (cpp/include/safetwin/safety/safe_horizon.hpp).

``SafeHorizon(config).compute(x, P, plan_a, twin)`` returns how long the twin can go without a new
measurement: the longest time (up to ``config.max_horizon_s``) for which the uncertainty tube of
voltage, temperature and SOC under the planned currents stays inside every limit, never below
``config.min_interval_s`` except by an explicit event (``result.event``), with the tube's stated
probability ``result.probability`` (1 - 3 erfc(kappa / sqrt 2), pointwise in time).
"""
from __future__ import annotations

from safetwin._core import (  # noqa: F401  (re-exported API)
    HorizonLimit,
    ReportingConfig,
    ReportingMode,
    SafeHorizon,
    SafeHorizonConfig,
    SafeHorizonResult,
    TwinEstimate,
)

__all__ = ["HorizonLimit", "ReportingConfig", "ReportingMode", "SafeHorizon", "SafeHorizonConfig", "SafeHorizonResult", "TwinEstimate"]
