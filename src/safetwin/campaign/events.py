"""Failure events: a Boolean combination of threshold conditions on a sample's record.

An event is written as an expression, for example::

    robust_voltage_max_v < 0 and detect_delay_s > 60
    (max_cell_temp_c > 45 or robust_voltage_min_v < 0) and not safe_stop

It is parsed with Python's ``ast`` (only names, numbers, comparisons, and/or/not, parentheses) and
evaluated with the quantitative semantics of signal temporal logic, which gives the
cross-entropy method a continuous score: each comparison has a margin (``x < c`` -> ``x - c``,
``x > c`` -> ``c - x``), ``and`` is the max of its margins, ``or`` the min, ``not`` the
negation; a Boolean field counts as -1 when true and +1 when false. The event holds exactly when
the score is < 0, so an intersection (the case a union bound or a per-limit estimate gets
wrong) is estimated as one event, not as a combination of estimates.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Event:
    text: str
    tree: ast.Expression
    names: tuple

    def score(self, columns: dict) -> np.ndarray:
        """The margin of every sample (< 0: the event holds); columns: name -> array."""
        return np.asarray(_score(self.tree.body, columns), dtype=float)

    def holds(self, columns: dict) -> np.ndarray:
        return self.score(columns) < 0


def parse(text: str, known: set | None = None, where: str = "event") -> Event:
    """Parses and checks the expression; ``known``: the record fields it may name."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where} = {text!r}: must be a non-empty expression")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{where} = {text!r}: not an expression ({exc.msg})") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ValueError(f"{where} = {text!r}: constant {node.value!r} must be a number")
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                raise ValueError(f"{where} = {text!r}: comparisons are one of <, <=, >, >= between a field and a number")
            sides = (node.left, node.comparators[0])
            kinds = sorted(type(s).__name__ for s in sides)
            if kinds != ["Constant", "Name"] and not (kinds == ["Constant", "UnaryOp"]
                                                      or kinds == ["Name", "UnaryOp"]):
                raise ValueError(f"{where} = {text!r}: a comparison is between one field and one number")
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
                continue
            if not isinstance(node.op, ast.Not):
                raise ValueError(f"{where} = {text!r}: only 'not' and a negative number are allowed as unary operators")
        elif not isinstance(node, (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.Not, ast.Load,
                                   ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.USub)):
            raise ValueError(f"{where} = {text!r}: {type(node).__name__} is not allowed "
                             "(names, numbers, <, <=, >, >=, and, or, not, parentheses)")
    if known is not None:
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"{where} = {text!r}: unknown fields {unknown} (known: {sorted(known)})")
    return Event(text, tree, tuple(dict.fromkeys(names)))


def _number(node) -> float | None:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -float(node.operand.value)
    return None


def _field(node, columns) -> np.ndarray:
    v = np.asarray(columns[node.id])
    if v.dtype == bool:
        return np.where(v, 1.0, 0.0)
    # A missing value (NaN, e.g. a fault never detected) compares as +inf: "never".
    v = v.astype(float)
    return np.where(np.isnan(v), np.inf, v)


def _score(node, columns):
    if isinstance(node, ast.BoolOp):
        parts = [_score(v, columns) for v in node.values]
        return np.maximum.reduce(parts) if isinstance(node.op, ast.And) else np.minimum.reduce(parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return -_score(node.operand, columns)
    if isinstance(node, ast.Name):  # a Boolean field on its own: true -> -1 (holds), false -> +1
        v = np.asarray(columns[node.id]).astype(bool)
        return np.where(v, -1.0, 1.0)
    if isinstance(node, ast.Compare):
        left, right, op = node.left, node.comparators[0], node.ops[0]
        c = _number(right)
        if c is not None:
            x = _field(left, columns)
        else:  # number on the left: mirror the comparison
            c, x = _number(left), _field(right, columns)
            op = {ast.Lt: ast.Gt(), ast.LtE: ast.GtE(), ast.Gt: ast.Lt(), ast.GtE: ast.LtE()}[type(op)]
        with np.errstate(invalid="ignore"):
            if isinstance(op, (ast.Lt, ast.LtE)):
                m = x - c
            else:
                m = c - x
        m = np.where(np.isnan(m), np.inf, m)
        if isinstance(op, (ast.LtE, ast.GtE)):
            # x <= c holds at m == 0: shift by one ulp so that "holds" stays "score < 0"
            m = np.where(m == 0, -np.finfo(float).tiny, m)
        return m
    raise ValueError(f"cannot evaluate {ast.dump(node)}")  # pragma: no cover - parse() refuses it
