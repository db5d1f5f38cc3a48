"""The trust state of the C++ core, from Python (re-exported from ``safetwin._core``).

- :class:`TrustConfig` / :class:`TrustState`: per-node probability of being uncompromised, a
  two-state hidden Markov filter updated once per cycle from the attestation verdict (strong
  evidence) and a CUSUM alarm on the node's normalised innovation (weak evidence); noise scale
  ``s = 1 / max(trust, trust_eps)``. See ``cpp/include/safetwin/trust/trust_state.hpp``.
- :class:`Cusum` / :class:`CusumConfig`: the two-sided CUSUM, its threshold set for a false-alarm
  rate per sample (``cusum_threshold``).
- :class:`EstimatorTrust` / :class:`ChannelNodes`: which node feeds which channel of the battery
  EKF; ``step(codes, ekf_or_pack)`` runs one trust cycle and writes the noise scales through
  ``BatteryEkf.set_noise_scale``.
- :func:`trusted_replay`: a whole single-cell log through BatteryEkf with trust, in C++.

Verdict codes (uint8, ``trust::Attestation``): 0 no attestation round this cycle, 1 pass, 2 fail
(reason unknown or generic), 3 fail_signature, 4 fail_pcr, 5 fail_replay, 6 fail_malformed,
7 timeout; each failure reason has its own likelihood pair in :class:`TrustConfig`
(:func:`verdict_codes` maps a :class:`~safetwin.trust.attestation.Verdict`'s reason to its code).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from safetwin._core import (  # noqa: F401  (re-exported API)
    Attestation,
    ChannelNodes,
    Cusum,
    CusumConfig,
    EstimatorTrust,
    NodeReport,
    ReasonLikelihood,
    TrustConfig,
    TrustState,
    cusum_arl_one_sided,
    cusum_threshold,
    noise_scale_from_trust,
    trusted_replay,
)

from .attestation import Verdict
from .scenario import CODE_FAIL, CODE_NONE, CODE_PASS  # noqa: F401


def verdict_codes(nodes: Sequence[str], verdicts: Mapping[str, Verdict | None] | Iterable[Verdict]) -> np.ndarray:
    """Codes for one cycle, in ``nodes`` order: a node without a verdict this cycle gets 0 (none);
    a verdict gets the code of its reason (:attr:`Verdict.reason`): 1 pass, and for one that did
    not pass 3 signature, 4 PCR, 5 replay, 6 malformed, 7 timeout / missing quote, 2 any other."""
    if not isinstance(verdicts, Mapping):
        verdicts = {v.node_id: v for v in verdicts}
    unknown = set(verdicts) - set(nodes)
    if unknown:
        raise ValueError(f"verdicts for unknown nodes {sorted(unknown)}: nodes are {list(nodes)}")
    out = np.zeros(len(nodes), dtype=np.uint8)
    for j, node in enumerate(nodes):
        v = verdicts.get(node)
        if v is not None:
            out[j] = v.reason.code
    return out
