"""Enrolment rooted in the EK, RSA and ECC AKs, and TPM2_Clear, against a real TPM (swtpm).

The verifier's TPM2_MakeCredential is software (tpm2-pytss's ``make_credential`` on
``cryptography``); the TPM2_ActivateCredential that answers it is swtpm's, an independent
implementation, so a secret that comes back proves both sides agree (KDFa, seed encryption under
the EK, the AK Name binding). One swtpm serves the module; the clear test has its own.
"""
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from safetwin.trust import Check, Reason, Verifier, attest_node, golden_pcrs, reference_boot_log
from safetwin.trust import tpm_wire as wire
from safetwin.trust.attestation import Enrollment
from safetwin.trust.swtpm import Swtpm
from safetwin.trust.tpm_node import TpmNode

NODE = "pack_v"


@pytest.fixture(scope="module")
def tpm():
    with Swtpm() as t:
        # Measure the reference boot once into the fresh TPM; every node of the module shares it.
        with TpmNode(NODE, tcti_config=t.tcti_config) as first:
            assert all(first.pcr_value(i) == g for i, g in golden_pcrs(reference_boot_log(NODE), first.pcrs).items())
        yield t


def enrol(verifier, node):
    blob, secret = verifier.begin_enrollment(node.enrollment())
    verifier.complete_enrollment(node.node_id, node.activate_credential(blob, secret))


@pytest.mark.parametrize("ek", ["rsa", "ecc"])
@pytest.mark.parametrize("ak", ["ecc", "rsassa", "rsapss"])
def test_ek_child_ak_enrolled_by_credential_activation(tpm, ek, ak):
    with TpmNode(NODE, tcti_config=tpm.tcti_config, measure_boot=False, ak=ak, ak_parent="ek", ek=ek) as node:
        v = Verifier()
        pub = wire.parse_public(node.ak_public)
        assert pub.type == (wire.TPM_ALG_ECC if ak == "ecc" else wire.TPM_ALG_RSA)
        assert pub.key_bits == (0 if ak == "ecc" else 2048)
        assert wire.parse_public(node.ek_public).type == (wire.TPM_ALG_RSA if ek == "rsa" else wire.TPM_ALG_ECC)
        with pytest.raises(ValueError, match="not enrolled"):
            v.challenge(NODE)  # nothing is trusted before the credential comes back
        enrol(v, node)
        verdict = attest_node(v, node)
        assert verdict.passed, verdict
        q = node.quote(v.challenge(NODE))
        # The TPM wrote the EK child's qualified Name, H(QN(EK) || Name(AK)), which we compute.
        ek_qn = wire.qualified_name(node.ek_public, wire.TPM_RH_ENDORSEMENT)
        assert wire.parse_attest(q.attest).qualified_signer == wire.child_qualified_name(node.ak_public, ek_qn)
        assert wire.parse_signature(q.signature).sig_alg == \
            {"ecc": wire.TPM_ALG_ECDSA, "rsassa": wire.TPM_ALG_RSASSA, "rsapss": wire.TPM_ALG_RSAPSS}[ak]
        assert v.verify(NODE, q).passed


@pytest.mark.parametrize("ak", ["ecc", "rsassa", "rsapss"])
def test_tpm_quotes_pass_the_firmware_verifier(tpm, ak):
    """Quotes that swtpm signs through tpm2-pytss (an EK-child AK: ECDSA P-256, RSA-2048 RSASSA or
    RSAPSS, enrolled by credential activation in the Python verifier) pass the firmware's C++
    verifier (quote_verify, OpenSSL EVP) enrolled with the EK's Qualified Name; the Python verifier
    passes the same quotes; a changed byte is fail_signature in the firmware, a replay fail_replay."""
    from safetwin.hil.quote_verify import FirmwareQuoteVerifier
    with TpmNode(NODE, tcti_config=tpm.tcti_config, measure_boot=False, ak=ak, ak_parent="ek") as node, \
            FirmwareQuoteVerifier() as fw:
        v = Verifier()
        enrol(v, node)
        e = node.enrollment()
        fw.enroll(0, node.ak_public, e.golden_pcrs, parent_qualified_name=wire.qualified_name(
            node.ek_public, wire.TPM_RH_ENDORSEMENT))
        fw.seed(5)
        for i in range(2):
            nonce = fw.challenge(0, 1000 * i)
            q = node.quote(nonce)
            changed = bytearray(q.signature)
            changed[-1] ^= 1
            got = fw.verify(0, q.attest, bytes(changed), 1000 * i + 50)
            assert (got.check, got.reason) == ("signature", "fail_signature")
            got = fw.verify(0, q.attest, q.signature, 1000 * i + 50)
            assert (got.check, got.reason) == ("ok", "pass"), got
        assert fw.verify(0, q.attest, q.signature, 2100).reason == "fail_replay"
        q = node.quote(v.challenge(NODE))
        assert v.verify(NODE, q).passed


def test_wrong_secret_does_not_enrol(tpm):
    with TpmNode(NODE, tcti_config=tpm.tcti_config, measure_boot=False, ak_parent="ek") as node:
        v = Verifier()
        v.begin_enrollment(node.enrollment())
        with pytest.raises(ValueError, match="does not match the credential"):
            v.complete_enrollment(NODE, b"\x00" * 32)
        with pytest.raises(ValueError, match="no credential activation in progress"):
            v.complete_enrollment(NODE, b"\x00" * 32)
        assert v.nodes == ()


def test_credential_for_another_ak_or_ek_cannot_be_activated(tpm):
    from tpm2_pytss import TSS2_Exception

    # (one EK-child node open at a time: swtpm holds 3 loaded objects, each node keeps 2)
    with TpmNode(NODE, tcti_config=tpm.tcti_config, measure_boot=False, ak_parent="ek", ak="rsassa") as other:
        other_enrollment = other.enrollment()
    with TpmNode(NODE, tcti_config=tpm.tcti_config, measure_boot=False, ak_parent="ek") as node:
        v = Verifier()
        # A credential for the other AK's Name: this TPM's integrity check refuses it for our AK.
        blob, secret = v.begin_enrollment(other_enrollment)
        with pytest.raises(TSS2_Exception):
            node.activate_credential(blob, secret)
        # A credential under an EK this TPM does not hold (a software RSA key with the EK's attributes).
        fake_n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
        real = wire.parse_public(node.ek_public)
        fake_ek = node.ek_public[: len(node.ek_public) - 256] + fake_n.to_bytes(256, "big")
        assert wire.parse_public(fake_ek).object_attributes == real.object_attributes
        blob, secret = v.begin_enrollment(node.enrollment(ek_public=fake_ek))
        with pytest.raises(TSS2_Exception):
            node.activate_credential(blob, secret)
        assert v.nodes == ()


def test_enrolment_refuses_non_ak_and_non_ek(tpm):
    with TpmNode(NODE, tcti_config=tpm.tcti_config, measure_boot=False, ak_parent="ek") as node:
        v = Verifier()
        # The EK itself is a decryption key, not an AK.
        with pytest.raises(ValueError, match="ak_public.objectAttributes"):
            v.begin_enrollment(Enrollment(NODE, node.ek_public, {0: bytes(32)}, ek_public=node.ek_public))
        with pytest.raises(ValueError, match="ek_public.objectAttributes"):
            v.begin_enrollment(Enrollment(NODE, node.ak_public, {0: bytes(32)}, ek_public=node.ak_public))


def test_legitimate_clear_and_operator_reenrolment():
    """A primary AK of the endorsement hierarchy survives TPM2_Clear (derived again from the
    unchanged endorsement seed): its first quote after the clear is refused as a rollback until the
    operator calls accept_clear. An EK child does not survive (ehProof changes): the node has a new
    AK, whose quotes fail the old enrolment until it is enrolled again by credential activation."""
    with Swtpm() as t:
        with TpmNode(NODE, tcti_config=t.tcti_config) as node:
            v = Verifier()
            v.enroll(node.enrollment(ek_public=None))
            assert attest_node(v, node).passed
            node.clear()
            q = node.quote(v.challenge(NODE))
            clock = wire.parse_attest(q.attest).clock
            assert (clock.reset_count, clock.restart_count) == (0, 0)  # what TPM2_Clear leaves
            refused = v.verify(NODE, q)
            assert refused.failures == {Check.RESET_COUNT_ROLLBACK} and refused.reason is Reason.FAIL_REPLAY
            assert v.verify(NODE, q).failures == {Check.RESET_COUNT_ROLLBACK}  # never automatic
            assert v.accept_clear(NODE, q).passed  # the operator's call, same AK, authenticated
            assert attest_node(v, node).passed
            node.extend(0, hashlib.sha256(b"implant").digest())
            assert attest_node(v, node).reason is Reason.FAIL_PCR
        with TpmNode("ek_node", tcti_config=t.tcti_config, measure_boot=False, ak_parent="ek") as node:
            v = Verifier()
            golden = {i: node.pcr_value(i) for i in node.pcrs}  # PCR 0 carries the implant above
            blob, secret = v.begin_enrollment(node.enrollment(golden=golden))
            v.complete_enrollment("ek_node", node.activate_credential(blob, secret))
            assert attest_node(v, node).passed
            old_ak = node.ak_public
            node.clear()
            assert node.ak_public != old_ak
            assert attest_node(v, node).reason is Reason.FAIL_SIGNATURE  # new AK: not enrolled
            blob, secret = v.begin_enrollment(node.enrollment(golden=golden))
            v.complete_enrollment("ek_node", node.activate_credential(blob, secret))
            after = attest_node(v, node)
            assert after.passed, after
