"""Sensor trust: TPM 2.0-style attestation of sensor nodes, Bayesian trust and attacks.

- :mod:`.tpm_wire` — TPM 2.0 wire format (TPMS_ATTEST quote, TPMT_PUBLIC, TPMT_SIGNATURE).
- :mod:`.attestation` — the verifier (:class:`Verifier`, :class:`Verdict`, :class:`Check`, :class:`Reason`).
- :mod:`.software_node` / :mod:`.tpm_node` — the two node backends (in-process, tpm2-pytss).
- :mod:`.trust` — the per-node trust state in the C++ core (``safetwin._core``).
- :mod:`.attacks` — attacks on sensor streams for tests and benches.

This module imports only the pure-Python attestation parts, so it works without the compiled core.
"""
from .attestation import Attestor, Check, Enrollment, Quote, Reason, Verdict, Verifier, attest_node  # noqa: F401
from .software_node import SoftwareNode, golden_pcrs, reference_boot_log  # noqa: F401
