"""The errors of the core, one class per kind (the C++ ``Status`` of a refused call).

Raised by every binding whose core call returns a non-ok status, and by the core's construction-time
validation (a config field outside its limit is an :class:`InvalidArgumentError`). All derive from
:class:`SafetwinError` and, so that callers written when every refused call raised ``ValueError``
keep working, from ``ValueError``; the numerical and set-up errors are ``RuntimeError`` as well.

======================  ====================================================  ==============================
class                   core status                                           bases
======================  ====================================================  ==============================
InvalidArgumentError    ``invalid_argument`` (dt <= 0, size, index, a limit)  SafetwinError, ValueError
NonFiniteInputError     ``non_finite_input`` (NaN or infinity in an input)    InvalidArgumentError
NotInitialisedError     ``not_initialised``                                   SafetwinError, RuntimeError, ValueError
NumericalError          ``max_iterations``, ``primal_infeasible``,            SafetwinError, RuntimeError, ValueError
                        ``dual_infeasible``, ``numerical_error``
======================  ====================================================  ==============================

A decision (a fallback, a refusal, a missed deadline: ``safetwin.Decision``) is not an error: it comes
with ``Status.ok`` in the ``decision`` field of the verdict.

The exception's ``args[0]`` names the call and the status (``"Cell.step failed: non_finite_input"``).
"""
from safetwin._core import (
    InvalidArgumentError,
    NonFiniteInputError,
    NotInitialisedError,
    NumericalError,
    SafetwinError,
)

__all__ = [
    "InvalidArgumentError",
    "NonFiniteInputError",
    "NotInitialisedError",
    "NumericalError",
    "SafetwinError",
]
