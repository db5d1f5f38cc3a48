"""The closed-form test family: a campaign whose failure is defined by its sampled variables
alone, so that P(failure) is an integral computed exactly here -- the reference against which
the estimators' unbiasedness and interval coverage are tested.

The exact value needs an event that is an and/or tree of comparisons of one continuous variable
with a number, each variable appearing in one comparison (independent variables make the
probability of an intersection a product and of a union one minus the product of the
complements). Each comparison's probability is the nominal distribution's CDF from scipy.stats,
independent of the sampler and the estimators under test.
"""
from __future__ import annotations

import ast

from safetwin.campaign import distributions


def record(values: dict) -> dict:
    """A closed-form sample's record: nothing but its variables (they are added by the engine)."""
    return {}


def exact_probability(campaign) -> float:
    """P(event) under the campaign's nominal distribution, exactly."""
    seen: list[str] = []

    def prob(node) -> float:
        if isinstance(node, ast.BoolOp):
            parts = [prob(v) for v in node.values]
            out = 1.0
            if isinstance(node.op, ast.And):
                for p in parts:
                    out *= p
                return out
            for p in parts:
                out *= 1.0 - p
            return 1.0 - out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return 1.0 - prob(node.operand)
        if isinstance(node, ast.Compare):
            left, right, op = node.left, node.comparators[0], node.ops[0]
            if not (isinstance(left, ast.Name) and isinstance(right, ast.Constant)):
                raise ValueError("exact_probability: comparisons must read 'variable < number' or '>'")
            name = left.id
            if name in seen:
                raise ValueError(f"exact_probability: {name} appears twice (the comparisons must be independent)")
            seen.append(name)
            dist = campaign.variables.get(name)
            if dist is None or isinstance(dist, distributions.Categorical):
                raise ValueError(f"exact_probability: {name} must be a continuous sampled variable")
            cdf = float(dist.scipy().cdf(float(right.value)))
            return cdf if isinstance(op, (ast.Lt, ast.LtE)) else 1.0 - cdf
        raise ValueError(f"exact_probability: {type(node).__name__} is not supported")

    return prob(campaign.event.tree.body)
