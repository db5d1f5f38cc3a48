"""Sensor node backed by a real TPM 2.0 through tpm2-pytss (ESAPI).

In tests the TPM is Debian's swtpm on loopback (:class:`safetwin.trust.swtpm.Swtpm`); on a bench
the same class takes ``tcti="device"`` and ``tcti_config="/dev/tpmrm0"``. The attestation key is a
restricted signing key (ECDSA P-256, or RSA-2048 with RSASSA or RSAPSS) in the **endorsement**
hierarchy: under the owner hierarchy the TPM XORs resetCount, restartCount and firmwareVersion
with a key-specific mask, which makes replay/rollback checks meaningless (the verifier flags such
a signer). With ``ak_parent="hierarchy"`` it is a primary key of that hierarchy; with
``ak_parent="ek"`` it is a child of the TCG-profile endorsement key (RSA-2048 or ECC P-256
template, as ``tpm2_createek`` makes it), created and loaded as ``tpm2_createak`` does (the EK is
used through a PolicySecret(TPM_RH_ENDORSEMENT) session, its template's policy), and
:meth:`TpmNode.activate_credential` answers the verifier's TPM2_MakeCredential challenge.

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
_AK_TEMPLATES = {"ecc": wire.ecc_ak_public, "rsassa": lambda: wire.rsa_ak_public(scheme=wire.TPM_ALG_RSASSA),
                 "rsapss": lambda: wire.rsa_ak_public(scheme=wire.TPM_ALG_RSAPSS)}
_EK_TEMPLATES = ("rsa", "ecc")


class TpmNode:
    """A node whose PCRs, clock and AK live in a TPM. ``measure_boot`` extends the boot log into
    the PCRs (the TPM must be fresh, PCRs all zero, for the golden values to match)."""

    def __init__(self, node_id: str, tcti: str = "swtpm", tcti_config: str | None = None,
                 hierarchy: str = "endorsement", pcrs: Sequence[int] = DEFAULT_PCRS,
                 boot_log: Sequence[tuple[int, bytes]] | None = None, measure_boot: bool = True,
                 ak: str = "ecc", ak_parent: str = "hierarchy", ek: str = "rsa") -> None:
        # Imported here so that the package (and the software backend) works without tpm2-pytss.
        from tpm2_pytss import ESAPI, TCTILdr
        from tpm2_pytss.constants import ESYS_TR
        from tpm2_pytss.types import TPM2B_PUBLIC

        if hierarchy not in _HIERARCHIES:
            raise ValueError(f"hierarchy = {hierarchy!r}: one of {sorted(_HIERARCHIES)}")
        if ak not in _AK_TEMPLATES:
            raise ValueError(f"ak = {ak!r}: one of {sorted(_AK_TEMPLATES)}")
        if ak_parent not in ("hierarchy", "ek"):
            raise ValueError(f"ak_parent = {ak_parent!r}: 'hierarchy' or 'ek'")
        if ek not in _EK_TEMPLATES:
            raise ValueError(f"ek = {ek!r}: one of {list(_EK_TEMPLATES)}")
        if ak_parent == "ek" and hierarchy != "endorsement":
            raise ValueError(f"hierarchy = {hierarchy!r}: an EK child lives in the endorsement hierarchy")
        self.node_id = node_id
        self.hierarchy = hierarchy
        self.pcrs = tuple(sorted(pcrs))
        self._tcti = TCTILdr(tcti, tcti_config)
        self._esapi = ESAPI(self._tcti)
        self._selection = "sha256:" + ",".join(str(p) for p in self.pcrs)
        template = _AK_TEMPLATES[ak]()
        in_public, _ = TPM2B_PUBLIC.unmarshal(struct.pack(">H", len(template)) + template)
        self._ek = None
        self._ek_public = None
        self._ek_kind = ek
        self._ak_template = in_public
        self._ak_blob = None  # (TPM2B_PRIVATE, TPM2B_PUBLIC) of an EK child, to load it again
        if ak_parent == "ek":
            self._ek, self._ek_public = self._create_ek(ek)
            private, public, _, _, _ = self._esapi.create(self._ek, None, in_public,
                                                          session1=self._ek_session())
            self._ak_blob = (private, public)
            self._ak = self._esapi.load(self._ek, private, public, session1=self._ek_session())
            self._public = public.publicArea.marshal()
        else:
            parent = ESYS_TR.ENDORSEMENT if hierarchy == "endorsement" else ESYS_TR.OWNER
            self._ak, out_public, _, _, _ = self._esapi.create_primary(None, in_public, primary_handle=parent)
            self._public = out_public.publicArea.marshal()
        if measure_boot:
            log = boot_log if boot_log is not None else reference_boot_log(node_id)
            for idx, image in log:
                self.extend(idx, hashlib.sha256(image).digest())

    def _create_ek(self, kind: str):
        """The TCG EK Credential Profile's low-range EK (what ``tpm2_createek -G rsa|ecc`` makes)."""
        from tpm2_pytss.constants import ESYS_TR
        from tpm2_pytss.internal.templates import ek_ecc256, ek_rsa2048

        template = (ek_rsa2048 if kind == "rsa" else ek_ecc256).template
        handle, out_public, _, _, _ = self._esapi.create_primary(None, template, primary_handle=ESYS_TR.ENDORSEMENT)
        return handle, out_public.publicArea.marshal()

    def _ek_session(self):
        """A policy session satisfying the EK's authPolicy, PolicySecret(TPM_RH_ENDORSEMENT);
        one per command (it is flushed when the command completes)."""
        from tpm2_pytss.constants import ESYS_TR, TPM2_ALG, TPM2_SE, TPMA_SESSION
        from tpm2_pytss.types import TPMT_SYM_DEF

        session = self._esapi.start_auth_session(ESYS_TR.NONE, ESYS_TR.NONE, TPM2_SE.POLICY,
                                                 TPMT_SYM_DEF(algorithm=TPM2_ALG.NULL), TPM2_ALG.SHA256)
        self._esapi.trsess_set_attributes(session, TPMA_SESSION.CONTINUESESSION, TPMA_SESSION.CONTINUESESSION)
        self._esapi.policy_secret(ESYS_TR.ENDORSEMENT, session, b"", b"", b"", 0)
        self._esapi.trsess_set_attributes(session, 0, TPMA_SESSION.CONTINUESESSION)  # flushed after use
        return session

    @property
    def ak_public(self) -> bytes:
        return self._public

    @property
    def ek_public(self) -> bytes | None:
        """TPMT_PUBLIC of the EK this node's AK is a child of (None for a primary AK)."""
        return self._ek_public

    def enrollment(self, golden: dict | None = None, **kwargs) -> Enrollment:
        """Enrolment with golden values from the reference boot log. The AK must be enrolled as an
        endorsement-hierarchy key whatever this node claims (that is what the verifier expects);
        an EK-child AK carries its EK public area (enrol it with credential activation)."""
        if golden is None:
            golden = golden_pcrs(reference_boot_log(self.node_id), self.pcrs)
        kwargs.setdefault("ek_public", self._ek_public)
        return Enrollment(self.node_id, self._public, golden, hierarchy=wire.TPM_RH_ENDORSEMENT, **kwargs)

    def activate_credential(self, credential_blob: bytes, encrypted_secret: bytes) -> bytes:
        """TPM2_ActivateCredential in this TPM: the secret of a credential made for this node's
        AK Name under its EK (wire-format TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET)."""
        from tpm2_pytss.constants import ESYS_TR
        from tpm2_pytss.types import TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT

        if self._ek is None:
            raise ValueError("activate_credential: this node's AK is not a child of an EK (ak_parent='ek')")
        blob, _ = TPM2B_ID_OBJECT.unmarshal(bytes(credential_blob))
        secret, _ = TPM2B_ENCRYPTED_SECRET.unmarshal(bytes(encrypted_secret))
        out = self._esapi.activate_credential(self._ak, self._ek, blob, secret,
                                              session1=ESYS_TR.PASSWORD, session2=self._ek_session())
        return bytes(out)

    def clear(self) -> None:
        """TPM2_Clear with the (empty) lockout authorisation: resetCount, restartCount and the
        clock go back to 0 and transient objects are flushed. The endorsement primary seed is
        kept, so the same EK and a primary AK are derived again (the enrolled AK is unchanged:
        the operator re-enrols it with :meth:`Verifier.accept_clear`). TPM2_Clear also changes
        ehProof, after which an EK child's blob no longer loads (swtpm answers TPM_RC_INTEGRITY):
        such a node gets a new AK, which needs a new enrolment by credential activation."""
        from tpm2_pytss.constants import ESYS_TR

        self._esapi.clear(ESYS_TR.LOCKOUT)
        if self._ak_blob is not None:
            self._ek, ek_public = self._create_ek(self._ek_kind)
            if ek_public != self._ek_public:
                raise RuntimeError("TPM2_Clear changed the EK: the endorsement seed must survive it")
            private, public, _, _, _ = self._esapi.create(self._ek, None, self._ak_template,
                                                          session1=self._ek_session())
            self._ak_blob = (private, public)
            self._ak = self._esapi.load(self._ek, private, public, session1=self._ek_session())
            self._public = public.publicArea.marshal()
        else:
            parent = ESYS_TR.ENDORSEMENT if self.hierarchy == "endorsement" else ESYS_TR.OWNER
            self._ak, out_public, _, _, _ = self._esapi.create_primary(None, self._ak_template, primary_handle=parent)
            if out_public.publicArea.marshal() != self._public:
                raise RuntimeError("TPM2_Clear changed the primary AK: the endorsement seed must survive it")

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
                if self._ek is not None:
                    self._esapi.flush_context(self._ek)
            finally:
                self._esapi.close()
                self._tcti.close() if hasattr(self._tcti, "close") else None
                self._esapi = None

    def __enter__(self) -> TpmNode:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
