"""Sensor node backed by a real TPM 2.0 through tpm2-pytss (ESAPI).

In tests the TPM is Debian's swtpm on loopback (:class:`safetwin.trust.swtpm.Swtpm`); on a bench
the same class takes ``tcti="device"`` and ``tcti_config="/dev/tpmrm0"``. The attestation key is a
primary restricted ECDSA P-256 signing key created under the **endorsement** hierarchy: under the
owner hierarchy the TPM XORs resetCount, restartCount and firmwareVersion with a key-specific
mask, which makes replay/rollback checks meaningless (the verifier flags such a signer).

Quotes come out as the TPM produced them: the TPMS_ATTEST bytes and the TPMT_SIGNATURE, exactly
the :class:`~safetwin.trust.attestation.Quote` the software node produces.
"""
from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from . import tpm_wire as wire
from .attestation import Enrollment, Quote
from .software_node import DEFAULT_PCRS, golden_pcrs, reference_boot_log

_HIERARCHIES = {"endorsement": wire.TPM_RH_ENDORSEMENT, "owner": wire.TPM_RH_OWNER}


class TpmNode:
    """A node whose PCRs, clock and AK live in a TPM. ``measure_boot`` extends the boot log into
    the PCRs (the TPM must be fresh, PCRs all zero, for the golden values to match)."""

    def __init__(self, node_id: str, tcti: str = "swtpm", tcti_config: str | None = None,
                 hierarchy: str = "endorsement", pcrs: Sequence[int] = DEFAULT_PCRS,
                 boot_log: Sequence[tuple[int, bytes]] | None = None, measure_boot: bool = True) -> None:
        # Imported here so that the package (and the software backend) works without tpm2-pytss.
        from tpm2_pytss import ESAPI, TCTILdr
        from tpm2_pytss.constants import ESYS_TR
        from tpm2_pytss.types import TPM2B_PUBLIC

        if hierarchy not in _HIERARCHIES:
            raise ValueError(f"hierarchy = {hierarchy!r}: one of {sorted(_HIERARCHIES)}")
        self.node_id = node_id
        self.hierarchy = hierarchy
        self.pcrs = tuple(sorted(pcrs))
        self._tcti = TCTILdr(tcti, tcti_config)
        self._esapi = ESAPI(self._tcti)
        self._selection = "sha256:" + ",".join(str(p) for p in self.pcrs)
        template = wire.ecc_ak_public()
        in_public, _ = TPM2B_PUBLIC.unmarshal(struct.pack(">H", len(template)) + template)
        parent = ESYS_TR.ENDORSEMENT if hierarchy == "endorsement" else ESYS_TR.OWNER
        self._ak, out_public, _, _, _ = self._esapi.create_primary(None, in_public, primary_handle=parent)
        self._public = out_public.publicArea.marshal()
        if measure_boot:
            log = boot_log if boot_log is not None else reference_boot_log(node_id)
            for idx, image in log:
                self.extend(idx, hashlib.sha256(image).digest())

    @property
    def ak_public(self) -> bytes:
        return self._public

    def enrollment(self, golden: dict | None = None, **kwargs) -> Enrollment:
        """Enrolment with golden values from the reference boot log. The AK must be enrolled as an
        endorsement-hierarchy key whatever this node claims (that is what the verifier expects)."""
        if golden is None:
            golden = golden_pcrs(reference_boot_log(self.node_id), self.pcrs)
        return Enrollment(self.node_id, self._public, golden, hierarchy=wire.TPM_RH_ENDORSEMENT, **kwargs)

    def extend(self, pcr: int, digest: bytes) -> None:
        from tpm2_pytss.constants import ESYS_TR
        from tpm2_pytss.types import TPML_DIGEST_VALUES

        if len(digest) != wire.SHA256_SIZE:
            raise ValueError(f"digest has {len(digest)} bytes: a SHA-256 extend takes 32")
        handle = ESYS_TR.parse(f"pcr{pcr}")
        # TPML_DIGEST_VALUES with one TPMT_HA (count, hashAlg, digest) in wire format.
        values, _ = TPML_DIGEST_VALUES.unmarshal(struct.pack(">IH", 1, wire.TPM_ALG_SHA256) + digest)
        self._esapi.pcr_extend(handle, values)

    def pcr_value(self, pcr: int) -> bytes:
        _, _, values = self._esapi.pcr_read(f"sha256:{pcr}")
        return bytes(values.digests[0])

    def quote(self, nonce: bytes) -> Quote:
        quoted, signature = self._esapi.quote(self._ak, self._selection, bytes(nonce))
        # TPM2B_ATTEST.marshal() is size (u16) + the TPMS_ATTEST bytes the TPM signed.
        return Quote(quoted.marshal()[2:], signature.marshal())

    def close(self) -> None:
        if self._esapi is not None:
            try:
                self._esapi.flush_context(self._ak)
            finally:
                self._esapi.close()
                self._tcti.close() if hasattr(self._tcti, "close") else None
                self._esapi = None

    def __enter__(self) -> TpmNode:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
