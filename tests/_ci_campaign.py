"""The shipped off_nominal campaign cut to CI size (test_campaign_off_nominal, test_reporting_campaign):
n scenarios of duration_s, the fault onsets scaled with the run (60-1200 s of 1800 s -> 20-400 s of
600 s) so that every fault acts for at least a third of its run, as in the shipped file."""
import dataclasses
from importlib import resources

from safetwin.campaign import distributions, spec


def off_nominal_ci(n: int, duration_s: float):
    c = spec.load(resources.files("safetwin") / "data" / "campaigns" / "off_nominal.toml")
    onset = c.variables["onset_s"]
    scale = duration_s / c.duration_s
    variables = dict(c.variables)
    variables["onset_s"] = distributions.parse(
        "test: variables.onset_s", {"dist": "uniform", "low": onset.low * scale, "high": onset.high * scale})
    return dataclasses.replace(c, n=n, duration_s=duration_s, variables=variables,
                               digest=c.digest + f"+ci duration_s={duration_s}")
