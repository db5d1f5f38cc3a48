"""Drawing samples: each sample's randomness from (campaign seed, stage, sample index) alone.

Sample i of stage s draws its variables from ``Philox(SeedSequence(seed, spawn_key=(s, i, 0)))``
and its exogenous randomness (noise, spread, the faulty group) from ``spawn_key=(s, i, 1)``, so a
sample is the same whichever worker runs it, in whatever order, in whatever batch.

A stage's proposal is a defensive mixture (Hesterberg 1995): with probability ``defensive`` the
sample comes from the nominal distribution p, otherwise from the tilted one q_ce (independent
variables, each from its CE-fitted distribution). Its density is
q = defensive * p + (1 - defensive) * q_ce, so every weight p/q is at most 1/defensive: the
estimate's variance stays bounded and its normal interval honest even where the tilted family
cannot take the shape of the failure region. Crude Monte Carlo is the proposal with defensive = 1.
The record keeps log p and log q; their difference is the log of the importance weight.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetwin.campaign import distributions

VARIABLE_STREAM, EXOGENOUS_STREAM = 0, 1


def generator(seed: int, stage: int, index: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(np.random.SeedSequence(seed, spawn_key=(stage, index, stream))))


@dataclass(frozen=True)
class Proposal:
    nominal: dict          # name -> distribution (p)
    tilted: dict           # name -> distribution (q_ce)
    defensive: float = 1.0

    def params(self) -> dict:
        return {"defensive": self.defensive, "tilted": {k: d.params() for k, d in self.tilted.items()}}

    @classmethod
    def from_params(cls, nominal: dict, params: dict) -> Proposal:
        return cls(nominal, {k: distributions.from_params(p) for k, p in params["tilted"].items()},
                   float(params["defensive"]))

    def draw(self, seed: int, stage: int, indices) -> dict:
        """The variables of the given samples: name -> array (one value per index)."""
        cols: dict = {name: [] for name in self.nominal}
        for i in indices:
            rng = generator(seed, stage, int(i), VARIABLE_STREAM)
            source = self.nominal if self.defensive >= 1.0 or rng.random() < self.defensive else self.tilted
            for name in self.nominal:
                cols[name].append(source[name].sample(rng))
        return {name: (np.asarray(v, dtype=object) if self.nominal[name].kind == "categorical"
                       else np.asarray(v, dtype=float)) for name, v in cols.items()}

    def log_densities(self, values: dict) -> tuple[np.ndarray, np.ndarray]:
        """log p and log q of every sample."""
        log_p = distributions.joint_logpdf(self.nominal, values)
        if self.defensive >= 1.0:
            return log_p, log_p
        log_t = distributions.joint_logpdf(self.tilted, values)
        with np.errstate(divide="ignore"):
            log_q = np.logaddexp(np.log(self.defensive) + log_p, np.log1p(-self.defensive) + log_t)
        return log_p, log_q
