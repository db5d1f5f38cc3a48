"""Atheris harnesses for the Python parsers of untrusted input, one per argument:

  scenario   HIL scenario files (safetwin.hil.scenario.load_scenario)
  campaign   campaign files (safetwin.campaign.spec.loads)
  quote      TPM quote structures (safetwin.trust.tpm_wire.parse_attest, parse_signature)
  cell       cell-parameter files (safetwin.cellfile.load_cell_named)

Property of every parser: any input is either accepted or refused with a ValueError whose message
names the file (ScenarioError, CampaignError, WireError and the campaign's distribution errors are
ValueErrors; the CLI prints them as one line) -- never another exception (a TypeError, KeyError,
IndexError ... is a bug that reaches the user as a traceback or as a one-line message that names
nothing). A parsed quote is a fixed point: re-marshalled
and parsed again it gives the same structure. An accepted cell file builds a cell whose open-circuit
terminal voltage is finite (what simulate and charge do with it first).

Usage: python fuzz_parsers.py {scenario|campaign|quote} [libFuzzer flags] [corpus dirs]
(fuzz/run_python.sh runs each for a fixed number of inputs from seeds of the shipped files)."""
import math
import os
import sys
import tempfile

import atheris

# Coverage instrumentation for the parsers only (numpy and the core they import stay native).
_PARSERS = ["safetwin.campaign.spec", "safetwin.campaign.distributions", "safetwin.campaign.events",
            "safetwin.hil.scenario", "safetwin.trust.tpm_wire", "safetwin.cellfile"]
with atheris.instrument_imports(include=_PARSERS):
    from safetwin import cellfile
    from safetwin.campaign import spec
    from safetwin.hil import scenario
    from safetwin.trust import tpm_wire
from safetwin import battery  # noqa: E402  (the core's face, not instrumented)

# One scratch file reused by every input (load_scenario reads a path).
_SCRATCH = os.path.join(tempfile.mkdtemp(prefix="safetwin-fuzz-"), "scenario.toml")


def _text(data: bytes) -> str:
    # Text parsers get text: a binary file is refused before them (the CLI names it as binary).
    return data.decode("utf-8", errors="replace")


def fuzz_scenario(data: bytes) -> None:
    with open(_SCRATCH, "w", encoding="utf-8") as f:
        f.write(_text(data))
    try:
        scenario.load_scenario(_SCRATCH)
    except ValueError as exc:
        assert str(exc).startswith(_SCRATCH), exc  # the message names the file


def fuzz_campaign(data: bytes) -> None:
    try:
        spec.loads(_text(data), "fuzz.toml")
    except ValueError as exc:
        assert "fuzz.toml" in str(exc), exc


def fuzz_quote(data: bytes) -> None:
    try:
        attest = tpm_wire.parse_attest(data)
    except tpm_wire.WireError:
        pass
    else:
        assert tpm_wire.parse_attest(attest.marshal()) == attest
    try:
        tpm_wire.parse_signature(data)
    except tpm_wire.WireError:
        pass


def fuzz_cell(data: bytes) -> None:
    with open(_SCRATCH, "w", encoding="utf-8") as f:
        f.write(_text(data))
    try:
        _name, params = cellfile.load_cell_named(_SCRATCH)
    except ValueError as exc:
        assert str(exc).startswith(_SCRATCH), exc
    else:
        assert math.isfinite(battery.Cell(params).voltage_v(0.0))


HARNESSES = {"scenario": fuzz_scenario, "campaign": fuzz_campaign, "quote": fuzz_quote, "cell": fuzz_cell}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in HARNESSES:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(HARNESSES)}}} [libFuzzer flags] [corpus dirs]")
    target = HARNESSES[sys.argv[1]]
    atheris.Setup([sys.argv[0]] + sys.argv[2:], target)
    atheris.Fuzz()
