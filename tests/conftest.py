"""Fixtures shared by the attestation tests: a simulated clock the verifier reads, a verifier on it
and a software node enrolled with it."""
import pytest

from safetwin.trust import SoftwareNode, Verifier


class SimClock:
    """The verifier's time source, advanced by hand (s)."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock():
    return SimClock()


@pytest.fixture
def verifier(clock):
    return Verifier(nonce_lifetime_s=2.0, now_s=clock)


@pytest.fixture
def node(verifier):
    n = SoftwareNode("cell_mon")
    verifier.enroll(n.enrollment())
    return n
