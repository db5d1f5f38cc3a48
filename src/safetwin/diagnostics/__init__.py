"""Diagnostics and prognostics: the online anomaly score and its calibration, the ageing model,
the Bayesian degradation-rate model and the remaining useful life.

- ``safetwin.diagnostics.ageing``: calendar + cycle ageing (Schmalstieg 2014) in C++, vectorised.
- ``safetwin.diagnostics.prognostics``: degradation-rate posterior and RUL distribution.
- ``safetwin.diagnostics.calibration``: the anomaly threshold from simulated nominal hours.
- ``safetwin.diagnostics.synthetic``: fleets with known truth to test the prognostics on.
- ``safetwin.diagnostics.isolation``: fault isolation on pack logs (sensor, connection resistance,
  internal short, cooling loss) and the single-cell estimates of ``safetwin diagnose``.
- ``safetwin.diagnostics.fault_campaign``: closed-loop runs with known injected faults, the
  confusion table and the ageing-interval coverage.
- ``AnomalyScore``/``score_replay``: the C++ score (``safetwin::diagnostics``).
"""
from safetwin._core import MAX_SCORE_WINDOW, AnomalyScore, AnomalyScoreConfig, score_replay  # noqa: F401
from safetwin.diagnostics.ageing import AgeingModel, AgeingParams, AgeingState, AgeingStress, age  # noqa: F401
from safetwin.diagnostics.prognostics import DegradationModel, DegradationPrior, RulResult  # noqa: F401
