"""The real-TPM backend: tpm2-pytss against Debian's swtpm, started here on loopback.

The TPM is an independent implementation of everything the software node simulates, so these
tests also check our wire format and extend arithmetic against it: its quotes must go through our
parser with the same fields tpm2-pytss unmarshals, its PCRs must equal our golden values, and
the software node's quotes must unmarshal and verify with tpm2-pytss's own code.
"""
import hashlib
import struct

import pytest
from tpm2_pytss.types import TPM2B_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE

from safetwin.trust import Check, Quote, SoftwareNode, Verifier, attest_node, golden_pcrs, reference_boot_log
from safetwin.trust import tpm_wire as wire
from safetwin.trust.swtpm import Swtpm
from safetwin.trust.tpm_node import TpmNode


@pytest.fixture
def tpm():
    # A fresh TPM per test: PCRs start at zero, so golden values from the boot log apply.
    with Swtpm() as t:
        yield t


def test_tpm_quote_verifies_and_parses_like_tpm2_pytss(tpm):
    with TpmNode("pack_v", tcti_config=tpm.tcti_config) as node:
        v = Verifier()
        v.enroll(node.enrollment())
        nonce = v.challenge("pack_v")
        q = node.quote(nonce)
        assert v.verify("pack_v", q).passed
        ours = wire.parse_attest(q.attest)
        theirs, used = TPMS_ATTEST.unmarshal(q.attest)
        assert used == len(q.attest)
        assert ours.magic == int(theirs.magic) == wire.TPM_GENERATED_VALUE
        assert ours.type == int(theirs.type) == wire.TPM_ST_ATTEST_QUOTE
        assert ours.extra_data == bytes(theirs.extraData) == nonce
        assert ours.qualified_signer == theirs.qualifiedSigner.marshal()[2:]
        assert ours.clock.clock_ms == int(theirs.clockInfo.clock)
        assert ours.clock.reset_count == int(theirs.clockInfo.resetCount)
        assert ours.clock.restart_count == int(theirs.clockInfo.restartCount)
        assert ours.clock.safe == bool(theirs.clockInfo.safe)
        assert ours.firmware_version == int(theirs.firmwareVersion)
        assert ours.pcr_digest == bytes(theirs.attested.quote.pcrDigest)
        assert ours.marshal() == q.attest  # our marshalling reproduces the TPM's bytes


def test_tpm_pcrs_equal_golden_values(tpm):
    with TpmNode("pack_v", tcti_config=tpm.tcti_config) as node:
        golden = golden_pcrs(reference_boot_log("pack_v"), node.pcrs)
        for idx in node.pcrs:
            assert node.pcr_value(idx) == golden[idx]


def test_tpm_ak_public_and_name_match_tpm2_pytss(tpm):
    with TpmNode("pack_v", tcti_config=tpm.tcti_config) as node:
        pub, _ = TPM2B_PUBLIC.unmarshal(struct.pack(">H", len(node.ak_public)) + node.ak_public)
        assert wire.object_name(node.ak_public) == pub.get_name().marshal()[2:]
        parsed = wire.parse_ecc_public(node.ak_public)
        assert parsed.x == int.from_bytes(bytes(pub.publicArea.unique.ecc.x), "big")


def test_tpm_compromised_node_and_replay(tpm):
    with TpmNode("pack_v", tcti_config=tpm.tcti_config) as node:
        v = Verifier()
        v.enroll(node.enrollment())
        first = node.quote(v.challenge("pack_v"))
        assert v.verify("pack_v", first).passed
        assert v.verify("pack_v", first).failures == {Check.NONCE_REPLAYED}
        node.extend(0, hashlib.sha256(b"implant").digest())
        assert attest_node(v, node).failures == {Check.PCR_DIGEST}
        q = node.quote(v.challenge("pack_v"))
        sig = wire.parse_signature(q.signature)
        forged = wire.EcdsaSignature(sig.hash_alg, sig.r ^ 1, sig.s).marshal()
        assert v.verify("pack_v", Quote(q.attest, forged)).failures == {Check.SIGNATURE, Check.PCR_DIGEST}


def test_owner_hierarchy_ak_has_obfuscated_counters_and_is_flagged(tpm):
    with TpmNode("e", tcti_config=tpm.tcti_config) as endorsed, \
            TpmNode("o", tcti_config=tpm.tcti_config, hierarchy="owner", measure_boot=False) as owned:
        v = Verifier()
        v.enroll(endorsed.enrollment(golden=golden_pcrs(reference_boot_log("e"), endorsed.pcrs)))
        v.enroll(owned.enrollment(golden=golden_pcrs(reference_boot_log("e"), owned.pcrs)))
        good = wire.parse_attest(endorsed.quote(v.challenge("e")).attest)
        q = owned.quote(v.challenge("o"))
        bad = wire.parse_attest(q.attest)
        # Same TPM, same moment: the endorsement key reports the true counters, the owner key
        # reports them XORed with its mask (and the firmware version too).
        # A fresh swtpm after startup-clear: one TPM Reset, no restart.
        assert (good.clock.reset_count, good.clock.restart_count) == (1, 0)
        assert (bad.clock.reset_count, bad.clock.restart_count) != (good.clock.reset_count, good.clock.restart_count)
        assert bad.firmware_version != good.firmware_version
        verdict = v.verify("o", q)
        assert verdict.failures == {Check.OWNER_HIERARCHY}
        assert "obfuscated" in verdict.detail


def test_software_quote_accepted_by_tpm2_pytss():
    """Our in-process quotes are valid TPM structures: tpm2-pytss unmarshals them and its own
    signature check accepts them under the AK public area."""
    node = SoftwareNode("cell_mon")
    q = node.quote(b"n" * 32)
    attest, used = TPMS_ATTEST.unmarshal(q.attest)
    assert used == len(q.attest) and bytes(attest.extraData) == b"n" * 32
    sig, _ = TPMT_SIGNATURE.unmarshal(q.signature)
    pub, _ = TPM2B_PUBLIC.unmarshal(struct.pack(">H", len(node.ak_public)) + node.ak_public)
    sig.verify_signature(pub, q.attest)  # raises InvalidSignature if not
    assert attest.qualifiedSigner.marshal()[2:] == wire.qualified_name(node.ak_public, wire.TPM_RH_ENDORSEMENT)


def test_both_backends_pass_the_same_verifier(tpm):
    with TpmNode("pack_v", tcti_config=tpm.tcti_config) as hw:
        sw = SoftwareNode("cell_mon")
        v = Verifier()
        v.enroll(hw.enrollment())
        v.enroll(sw.enrollment())
        for _ in range(5):
            assert attest_node(v, hw).passed and attest_node(v, sw).passed
