"""Interop with the reference tools: tpm2-tools 5.x (Debian ``tpm2-tools``) against swtpm.

- quotes that ``tpm2_createek`` / ``tpm2_createak`` / ``tpm2_quote`` make (ECC and RSA AKs, the
  AK a child of the EK) pass our Verifier, once the AK is enrolled by our TPM2_MakeCredential and
  the tools' ``tpm2_activatecredential``;
- our quotes (TPM backend and software backend) pass ``tpm2_checkquote``, and a changed one fails
  both it and us (RSAPSS: ``tpm2_verifysignature`` in the TPM, since tpm2_checkquote 5.4 rejects
  every RSAPSS quote, tpm2_quote's own too: tpm2-tools issue #3283).
One swtpm for the module; the tools run without a resource manager, so every call is followed by
``tpm2_flushcontext -t`` (transient objects would otherwise fill the TPM's object slots).
"""
import os
import shutil
import subprocess

import pytest
from tpm2_pytss.types import TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT
from tpm2_pytss.utils import credential_to_tools

from safetwin.trust import Check, Quote, Reason, SoftwareNode, Verifier, golden_pcrs, reference_boot_log
from safetwin.trust import tpm_wire as wire
from safetwin.trust.attestation import Enrollment
from safetwin.trust.swtpm import Swtpm
from safetwin.trust.tpm_node import TpmNode

NODE = "pack_v"
PCRS = "sha256:0,1,2,7"


@pytest.fixture(scope="module")
def tpm(tmp_path_factory):
    assert shutil.which("tpm2_quote"), "tpm2-tools missing: run_tests.sh installs it (DEBS)"
    with Swtpm() as t:
        env = dict(os.environ, TPM2TOOLS_TCTI=f"swtpm:{t.tcti_config}")
        work = tmp_path_factory.mktemp("tools")

        def run(*args, check=True):
            out = subprocess.run(list(args), cwd=work, env=env, capture_output=True, text=True)
            subprocess.run(["tpm2_flushcontext", "-t"], cwd=work, env=env, capture_output=True)
            if check and out.returncode != 0:
                raise AssertionError(f"{args[0]} failed ({out.returncode}): {out.stderr}")
            return out

        # The reference boot, measured with the tools: each image's SHA-256 extended into its PCR.
        import hashlib
        for idx, image in reference_boot_log(NODE):
            run("tpm2_pcrextend", f"{idx}:sha256={hashlib.sha256(image).hexdigest()}")
        t.run, t.work = run, work
        yield t


def tools_ak(tpm, alg: str, scheme: str, tag: str):
    """tpm2_createek + tpm2_createak; returns (ek_public, ak_public) TPMT_PUBLIC bytes."""
    tpm.run("tpm2_createek", "-c", f"ek_{tag}.ctx", "-G", "rsa", "-u", f"ek_{tag}.pub")
    tpm.run("tpm2_createak", "-C", f"ek_{tag}.ctx", "-c", f"ak_{tag}.ctx", "-G", alg, "-g", "sha256",
            "-s", scheme, "-u", f"ak_{tag}.pub", "-n", f"ak_{tag}.name")
    ek = (tpm.work / f"ek_{tag}.pub").read_bytes()[2:]  # TPM2B_PUBLIC: drop the size
    ak = (tpm.work / f"ak_{tag}.pub").read_bytes()[2:]
    assert (tpm.work / f"ak_{tag}.name").read_bytes() == wire.object_name(ak)
    return ek, ak


def tools_activate(tpm, tag: str, blob: bytes, secret: bytes) -> bytes:
    """tpm2_activatecredential with the EK's PolicySecret(endorsement) session, as its man page does."""
    b, _ = TPM2B_ID_OBJECT.unmarshal(blob)
    s, _ = TPM2B_ENCRYPTED_SECRET.unmarshal(secret)
    (tpm.work / f"cred_{tag}.in").write_bytes(credential_to_tools(b, s))
    script = (f"tpm2_startauthsession --policy-session -S s_{tag}.ctx && "
              f"tpm2_policysecret -S s_{tag}.ctx -c e && "
              f"tpm2_activatecredential -c ak_{tag}.ctx -C ek_{tag}.ctx -i cred_{tag}.in -o cert_{tag}.out "
              f"-P session:s_{tag}.ctx && tpm2_flushcontext s_{tag}.ctx")
    tpm.run("sh", "-c", script)
    return (tpm.work / f"cert_{tag}.out").read_bytes()


def tools_quote(tpm, tag: str, nonce: bytes, scheme: str = "ecdsa") -> Quote:
    # tpm2_quote signs RSA keys with RSASSA unless told the key's scheme (the TPM refuses a mismatch)
    tpm.run("tpm2_quote", "-c", f"ak_{tag}.ctx", "-l", PCRS, "-q", nonce.hex(), "-m", f"q_{tag}.msg",
            "-s", f"q_{tag}.sig", "-o", f"q_{tag}.pcrs", "-g", "sha256", "--scheme", scheme)
    return Quote((tpm.work / f"q_{tag}.msg").read_bytes(), (tpm.work / f"q_{tag}.sig").read_bytes())


def golden():
    return golden_pcrs(reference_boot_log(NODE), (0, 1, 2, 7))


@pytest.mark.parametrize("alg,scheme,sig_alg", [("ecc", "ecdsa", wire.TPM_ALG_ECDSA),
                                                ("rsa", "rsassa", wire.TPM_ALG_RSASSA),
                                                ("rsa", "rsapss", wire.TPM_ALG_RSAPSS)])
def test_tpm2_tools_quotes_pass_verifier(tpm, alg, scheme, sig_alg):
    tag = f"{alg}_{scheme}"
    ek, ak = tools_ak(tpm, alg, scheme, tag)
    assert wire.parse_public(ak).object_attributes == wire.AK_OBJECT_ATTRIBUTES  # tpm2_createak's attributes
    v = Verifier()
    blob, secret = v.begin_enrollment(Enrollment(NODE, ak, golden(), ek_public=ek))
    v.complete_enrollment(NODE, tools_activate(tpm, tag, blob, secret))
    for _ in range(2):
        q = tools_quote(tpm, tag, v.challenge(NODE), scheme)
        assert wire.parse_signature(q.signature).sig_alg == sig_alg
        verdict = v.verify(NODE, q)
        assert verdict.passed, verdict
    assert v.verify(NODE, q).failures == {Check.NONCE_REPLAYED}
    # Enrolled without the EK (as a primary key of the endorsement hierarchy), the same AK's
    # qualified signer does not match: the EK child's residence is what the activation proved.
    plain = Verifier()
    plain.enroll(Enrollment(NODE, ak, golden()))
    assert plain.verify(NODE, tools_quote(tpm, tag, plain.challenge(NODE), scheme)).failures == {Check.SIGNER}


@pytest.mark.parametrize("alg,scheme", [("ecc", "ecdsa"), ("rsa", "rsassa"), ("rsa", "rsapss")])
def test_tpm2_tools_quotes_pass_the_firmware_verifier(tpm, alg, scheme):
    """The same tpm2_createak AK (a child of the EK; ECC P-256, or RSA-2048 signing RSASSA or
    RSAPSS) and tpm2_quote quotes through the firmware's C++ verifier (quote_verify), enrolled with
    the EK's Qualified Name as the AK's parent after our credential activation proved the AK's
    residence: they pass, a replay of one fails_replay, a changed byte fails_signature, and
    enrolled as a primary key instead the qualified signer does not match."""
    import time

    from safetwin.hil.quote_verify import FirmwareQuoteVerifier
    tag = f"fw_{alg}_{scheme}"
    ek, ak = tools_ak(tpm, alg, scheme, tag)
    v = Verifier()
    blob, secret = v.begin_enrollment(Enrollment(NODE, ak, golden(), ek_public=ek))
    v.complete_enrollment(NODE, tools_activate(tpm, tag, blob, secret))
    ek_qn = wire.qualified_name(ek, wire.TPM_RH_ENDORSEMENT)
    t0 = time.monotonic()

    def now_ms() -> int:
        return int((time.monotonic() - t0) * 1000)

    fw = FirmwareQuoteVerifier()
    try:
        fw.seed(17)
        fw.enroll(0, ak, golden(), parent_qualified_name=ek_qn)
        fw.enroll(1, ak, golden())  # the same AK, claimed to be a primary key
        for _ in range(2):
            q = tools_quote(tpm, tag, fw.challenge(0, now_ms()), scheme)
            assert wire.parse_signature(q.signature).sig_alg == \
                {"ecdsa": wire.TPM_ALG_ECDSA, "rsassa": wire.TPM_ALG_RSASSA, "rsapss": wire.TPM_ALG_RSAPSS}[scheme]
            changed = bytearray(q.attest)
            changed[-1] ^= 1  # the last byte of the PCR digest, as the TPM never signed it
            got = fw.verify(0, bytes(changed), q.signature, now_ms())
            assert (got.check, got.reason) == ("signature", "fail_signature")
            got = fw.verify(0, q.attest, q.signature, now_ms())
            assert (got.check, got.reason) == ("ok", "pass")
        fw.challenge(0, now_ms())
        got = fw.verify(0, q.attest, q.signature, now_ms())
        assert (got.check, got.reason) == ("nonce_unknown", "fail_replay")
        q = tools_quote(tpm, tag, fw.challenge(1, now_ms()), scheme)
        got = fw.verify(1, q.attest, q.signature, now_ms())
        assert got.check == "signer" and got.reason != "pass"
    finally:
        fw.close()


def test_tools_quote_with_changed_pcrs_fails_pcr(tpm):
    ek, ak = tools_ak(tpm, "ecc", "ecdsa", "pcr")
    v = Verifier()
    blob, secret = v.begin_enrollment(Enrollment(NODE, ak, golden(), ek_public=ek))
    v.complete_enrollment(NODE, tools_activate(tpm, "pcr", blob, secret))
    tpm.run("tpm2_pcrextend", "16:sha256=" + "ab" * 32)  # PCR 16 is not attested: still passes
    assert v.verify(NODE, tools_quote(tpm, "pcr", v.challenge(NODE))).passed
    q = tools_quote(tpm, "pcr", v.challenge(NODE))
    body = bytearray(q.attest)
    body[-1] ^= 1  # one bit of pcrDigest
    verdict = v.verify(NODE, Quote(bytes(body), q.signature))
    assert verdict.failures == {Check.SIGNATURE, Check.PCR_DIGEST} and verdict.reason is Reason.FAIL_SIGNATURE


def checkquote(tpm, tag: str, ak_public: bytes, q: Quote, nonce: bytes, pcrs_file: str | None = None):
    (tpm.work / f"cq_{tag}.pub").write_bytes(len(ak_public).to_bytes(2, "big") + ak_public)
    (tpm.work / f"cq_{tag}.msg").write_bytes(q.attest)
    (tpm.work / f"cq_{tag}.sig").write_bytes(q.signature)
    args = ["tpm2_checkquote", "-u", f"cq_{tag}.pub", "-m", f"cq_{tag}.msg", "-s", f"cq_{tag}.sig",
            "-g", "sha256", "-q", nonce.hex()]
    if pcrs_file:
        args += ["-f", pcrs_file]
    return tpm.run(*args, check=False).returncode


@pytest.mark.parametrize("ak", ["ecc", "rsassa", "rsapss"])
def test_safetwin_tpm_quotes_pass_tpm2_checkquote(tpm, ak):
    nonce = bytes(range(32))
    with TpmNode(NODE, tcti_config=tpm.tcti_config, measure_boot=False, ak=ak, ak_parent="ek") as node:
        q = node.quote(nonce)
        ak_public = node.ak_public
    # The node is closed before the tools run: their `tpm2_flushcontext -t` flushes every transient
    # object. The PCR values as the tools see them come from a tpm2_quote of their own (its -o
    # file); checkquote recomputes our quote's pcrDigest from them.
    body = bytearray(q.attest)
    body[-1] ^= 1
    if ak == "rsapss":
        # tpm2_checkquote 5.4 rejects every RSAPSS quote, also tpm2_quote's own (tpm2-tools issue
        # #3283, open); the tools' answer there is tpm2_verifysignature, done by the TPM itself.
        assert verifysignature(tpm, "tpm_rsapss", ak_public, q) == 0
        assert verifysignature(tpm, "tpm_rsapss_b", ak_public, Quote(bytes(body), q.signature)) != 0
        return
    tools_ak(tpm, "ecc", "ecdsa", f"pcrsrc_{ak}")
    tools_quote(tpm, f"pcrsrc_{ak}", b"\x00" * 20)
    assert checkquote(tpm, f"tpm_{ak}", ak_public, q, nonce, f"q_pcrsrc_{ak}.pcrs") == 0
    assert checkquote(tpm, f"tpm_{ak}_n", ak_public, q, b"\x01" + nonce[1:]) != 0  # another nonce
    assert checkquote(tpm, f"tpm_{ak}_b", ak_public, Quote(bytes(body), q.signature), nonce) != 0


def verifysignature(tpm, tag: str, ak_public: bytes, q: Quote) -> int:
    """tpm2_loadexternal of the AK's public area + tpm2_verifysignature over the quote, in the TPM."""
    (tpm.work / f"vs_{tag}.pub").write_bytes(len(ak_public).to_bytes(2, "big") + ak_public)
    (tpm.work / f"vs_{tag}.msg").write_bytes(q.attest)
    (tpm.work / f"vs_{tag}.sig").write_bytes(q.signature)
    script = (f"tpm2_loadexternal -C n -u vs_{tag}.pub -c vs_{tag}.ctx >/dev/null && "
              f"tpm2_verifysignature -c vs_{tag}.ctx -g sha256 -m vs_{tag}.msg -s vs_{tag}.sig")
    return tpm.run("sh", "-c", script, check=False).returncode


@pytest.mark.parametrize("key", ["ecc", "rsassa", "rsapss"])
def test_safetwin_software_quotes_pass_tpm2_checkquote(tpm, key):
    from cryptography.hazmat.primitives.asymmetric import rsa

    if key == "ecc":
        node = SoftwareNode("cell_mon")
    else:
        scheme = wire.TPM_ALG_RSASSA if key == "rsassa" else wire.TPM_ALG_RSAPSS
        node = SoftwareNode("cell_mon", key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                            rsa_scheme=scheme)
    nonce = b"safetwin-nonce-0123456789abcdef!"
    q = node.quote(nonce)
    forged = Quote(q.attest, node.sign_anything(b"not a quote"))
    if key == "rsapss":  # tpm2_checkquote cannot check RSAPSS (see above): the TPM verifies it
        assert verifysignature(tpm, "sw_rsapss", node.ak_public, q) == 0
        assert verifysignature(tpm, "sw_rsapss_f", node.ak_public, forged) != 0
        return
    assert checkquote(tpm, f"sw_{key}", node.ak_public, q, nonce) == 0
    assert checkquote(tpm, f"sw_{key}_f", node.ak_public, forged, nonce) != 0
