"""The two cell-file readers, Python's (safetwin.cellfile, tomllib) and C++'s (battery/cell_file.hpp,
toml++, bound as load_cell_file_cpp), on the same good and bad files: equal values on every good
file (every surface compared point by point over and beyond its grid), the same refusal, word for
word, on every bad one (for a TOML syntax error only the file's prefix: the two parsers word
their errors differently)."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from safetwin import _core
from safetwin.cellfile import CellFileError, load_cell_named, shipped_cell_path

ROOT = Path(__file__).resolve().parents[1]
GOOD_FILES = [shipped_cell_path("ref_cell_1"), shipped_cell_path("lfp_a123_26650"),
              ROOT / "tests" / "data" / "fit" / "fitted_2rc.toml",
              ROOT / "tests" / "data" / "fit" / "fitted_2rc_charge_transfer.toml"]

ONE_RC = (Path(__file__).parent / "data" / "cells" / "one_rc.toml").read_text()

# Every optional part of the format at once: tables for R and tau (shared and not), charge sides,
# three pairs, entropic coefficient, hysteresis, integers where floats are expected.
TABLES = """
[cell]
capacity_ah = 4
[ocv]
soc = [0, 0.5, 1]
voltage_v = [3.0, 3.7, 4.2]
entropic_v_per_k = [0.0001, -0.0002, 0.00005]
[resistance]
r0_ohm = { soc = [0.0, 1.0], temperature_c = [0.0, 25.0, 40.0], values = [[0.03, 0.02, 0.015], [0.028, 0.019, 0.014]] }
r0_charge_ohm = 0.022
arrhenius_k = 2500
exchange_current_a = { soc = [0.0, 0.5, 1.0], temperature_c = [25.0], values = [[1.5], [3.0], [2.0]] }
rc_pairs = [
  { r_ohm = { soc = [0.2, 0.8], temperature_c = [10.0, 30.0], values = [[0.01, 0.008], [0.009, 0.007]] }, tau_s = { soc = [0.2, 0.8], temperature_c = [10.0, 30.0], values = [[12.0, 11.0], [10.0, 9.0]] } },
  { r_ohm = 0.02, tau_s = { soc = [0.0, 1.0], temperature_c = [25.0], values = [[90.0], [120.0]] }, r_charge_ohm = 0.025 },
  { r_ohm = { soc = [0.5], temperature_c = [25.0], values = [[0.004]] }, tau_s = 900 },
]
[hysteresis]
gamma = 80
m_v = 0.01
[thermal]
heat_capacity_j_per_k = 60
heat_transfer_w_per_k = 0
ambient_c = -5
[limits]
voltage_min_v = 2.8
voltage_max_v = 4.25
temperature_min_c = -10.0
temperature_max_c = 50
charge_current_max_a = 8
discharge_current_max_a = 12
"""

SURFACES = ("r0_ohm", "r1_ohm", "c1_f", "r2_ohm", "c2_f", "r3_ohm", "c3_f")
OPTIONAL_SURFACES = ("r0_charge_ohm", "r1_charge_ohm", "r2_charge_ohm", "r3_charge_ohm", "entropic_v_per_k",
                     "exchange_current_a")
SCALARS = ("capacity_ah", "coulombic_efficiency", "rc_pairs", "arrhenius_k", "heat_capacity_j_per_k",
           "heat_transfer_w_per_k", "ambient_temp_k")
LIMITS = ("voltage_min_v", "voltage_max_v", "temp_min_k", "temp_max_k", "charge_current_max_a",
          "discharge_current_max_a")
# SOC -0.1..1.1 and -30..70 degC: the grid points of every table above, between them and beyond.
POINTS = list(itertools.product(np.linspace(-0.1, 1.1, 25), np.linspace(243.15, 343.15, 21)))


def both(path):
    return load_cell_named(path), _core.load_cell_file_cpp(str(path))


def assert_same_cell(py, cpp):
    (py_name, p), (cpp_name, c) = py, cpp
    assert py_name == cpp_name
    for k in SCALARS:
        assert getattr(p, k) == getattr(c, k), k
    for k in LIMITS:
        assert getattr(p.limits, k) == getattr(c.limits, k), k
    np.testing.assert_array_equal(p.ocv.soc, c.ocv.soc)
    np.testing.assert_array_equal(p.ocv.ocv_v, c.ocv.ocv_v)
    for k in SURFACES + OPTIONAL_SURFACES:
        a, b = getattr(p, k), getattr(c, k)
        assert (a is None) == (b is None), k
        if a is not None:
            assert a.is_constant == b.is_constant, k
            va = [a.at(s, t) for s, t in POINTS]
            assert va == [b.at(s, t) for s, t in POINTS], k
    assert (p.hysteresis is None) == (c.hysteresis is None)
    if p.hysteresis is not None:
        assert (p.hysteresis.gamma, p.hysteresis.m_v, p.hysteresis.m0_v) == \
            (c.hysteresis.gamma, c.hysteresis.m_v, c.hysteresis.m0_v)


def test_the_cpp_reader_is_built():
    assert _core.cell_file_cpp_supported()  # run_tests.sh installs libtomlplusplus-dev


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda p: Path(p).name)
def test_shipped_and_fitted_files_read_the_same(path):
    assert_same_cell(*both(path))


@pytest.mark.parametrize("text", [ONE_RC, TABLES], ids=["one_rc", "every_option"])
def test_written_files_read_the_same(tmp_path, text):
    path = tmp_path / "cell.toml"
    path.write_text(text)
    py, cpp = both(path)
    assert_same_cell(py, cpp)
    if text is TABLES:  # the file's stem when it has no name; every option really set
        assert py[0] == "cell" and cpp[1].rc_pairs == 3 and cpp[1].hysteresis.m0_v == 0.0
        assert cpp[1].r1_charge_ohm is None and cpp[1].r2_charge_ohm is not None
        assert cpp[1].c1_f.at(0.2, 283.15) == pytest.approx(12.0 / 0.01, rel=1e-15)
        assert cpp[1].exchange_current_a.at(0.5, 298.15) == py[1].exchange_current_a.at(0.5, 298.15) == 3.0
    else:  # absent: no charge transfer in either reader
        assert py[1].exchange_current_a is None and cpp[1].exchange_current_a is None


def _sub(old, new):
    def edit(t):
        assert old in t, old
        return t.replace(old, new, 1)
    return edit


BAD = {
    "negative capacity": _sub("capacity_ah = 3.0", "capacity_ah = -3.0"),
    "capacity int": _sub("capacity_ah = 3.0", "capacity_ah = 0"),
    "capacity string": _sub("capacity_ah = 3.0", 'capacity_ah = "3 Ah"'),
    "capacity bool": _sub("capacity_ah = 3.0", "capacity_ah = true"),
    "capacity inf": _sub("capacity_ah = 3.0", "capacity_ah = inf"),
    "capacity nan": _sub("capacity_ah = 3.0", "capacity_ah = nan"),
    "efficiency above 1": _sub("coulombic_efficiency = 0.99", "coulombic_efficiency = 1.01"),
    "name not a string": _sub('name = "one RC"', "name = 5"),
    "soc not increasing": _sub("soc = [0.0, 0.25, 0.5, 0.75, 1.0]", "soc = [0.0, 0.5, 0.25, 0.75, 1.0]"),
    "soc repeated": _sub("soc = [0.0, 0.25, 0.5, 0.75, 1.0]", "soc = [0.0, 0.25, 0.25, 0.75, 1.0]"),
    "one ocv point": _sub("soc = [0.0, 0.25, 0.5, 0.75, 1.0]", "soc = [0.5]"),
    "voltage length": _sub("voltage_v = [3.0, 3.45, 3.62, 3.85, 4.15]", "voltage_v = [3.0, 3.45]"),
    "voltage not numbers": _sub("voltage_v = [3.0, 3.45, 3.62, 3.85, 4.15]", 'voltage_v = [3.0, "x", 3.62, 3.85, 4.15]'),
    "voltage nan": _sub("voltage_v = [3.0, 3.45, 3.62, 3.85, 4.15]", "voltage_v = [3.0, nan, 3.62, 3.85, 4.15]"),
    "ocv missing": _sub("voltage_v = [3.0, 3.45, 3.62, 3.85, 4.15]", ""),
    "entropic too large": _sub("[resistance]", "entropic_v_per_k = [0.0, 0.02, 0.0, 0.0, 0.0]\n[resistance]"),
    "entropic length": _sub("[resistance]", "entropic_v_per_k = [0.0, 0.0]\n[resistance]"),
    "no pairs": _sub("rc_pairs = [{ r_ohm = 0.011, tau_s = 25.0 }]", "rc_pairs = []"),
    "four pairs": _sub("rc_pairs = [{ r_ohm = 0.011, tau_s = 25.0 }]", "rc_pairs = [" + ", ".join(
        ["{ r_ohm = 0.011, tau_s = 25.0 }"] * 4) + "]"),
    "pairs missing": _sub("rc_pairs = [{ r_ohm = 0.011, tau_s = 25.0 }]", ""),
    "pair not a table": _sub("rc_pairs = [{ r_ohm = 0.011, tau_s = 25.0 }]", "rc_pairs = [0.011]"),
    "pair unknown key": _sub("tau_s = 25.0 }", "tau_s = 25.0, c_f = 2.0 }"),
    "pair without tau": _sub("{ r_ohm = 0.011, tau_s = 25.0 }", "{ r_ohm = 0.011 }"),
    "zero tau": _sub("tau_s = 25.0", "tau_s = 0.0"),
    "negative r0": _sub("r0_ohm = 0.018", "r0_ohm = -0.018"),
    "r0 missing": _sub("r0_ohm = 0.018", ""),
    "r0 string": _sub("r0_ohm = 0.018", 'r0_ohm = "low"'),
    "r0 unknown key": _sub("r0_ohm = 0.018", "r0_ohms = 0.018"),
    "r0 table unknown key": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0], temperature_c = [25.0], values = [[0.02]], "
                                                   "t = 1 }"),
    "r0 table missing values": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0], temperature_c = [25.0] }"),
    "r0 table rows": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0, 1.0], temperature_c = [25.0], values = [[0.02]] }"),
    "r0 table short row": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0], temperature_c = [0.0, 25.0], "
                                                 "values = [[0.02]] }"),
    "r0 table long row": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0], temperature_c = [25.0], "
                                                "values = [[0.02, 0.03]] }"),
    "r0 table ragged": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0, 1.0], temperature_c = [25.0], "
                                              "values = [[0.02], [0.02, 0.03]] }"),  # numpy raised its own error
    "r0 table zero": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0, 1.0], temperature_c = [25.0], "
                                            "values = [[0.02], [0.0]] }"),
    "r0 table temperature order": _sub("r0_ohm = 0.018", "r0_ohm = { soc = [0.0], temperature_c = [25.0, 0.0], "
                                                         "values = [[0.02, 0.03]] }"),
    "tables not shared": _sub("{ r_ohm = 0.011, tau_s = 25.0 }", "{ r_ohm = { soc = [0.0, 1.0], temperature_c = [25.0], "
                              "values = [[0.01], [0.01]] }, tau_s = { soc = [0.0, 0.9], temperature_c = [25.0], "
                              "values = [[20.0], [20.0]] } }"),
    "negative arrhenius": _sub("arrhenius_k = 1800.0", "arrhenius_k = -1.0"),
    "zero exchange current": _sub("arrhenius_k = 1800.0", "arrhenius_k = 1800.0\nexchange_current_a = 0.0"),
    "negative exchange current": _sub("arrhenius_k = 1800.0", "arrhenius_k = 1800.0\nexchange_current_a = -2"),
    "exchange current above its limit": _sub("arrhenius_k = 1800.0", "arrhenius_k = 1800.0\nexchange_current_a = 2e4"),
    "exchange current string": _sub("arrhenius_k = 1800.0", 'arrhenius_k = 1800.0\nexchange_current_a = "1 A"'),
    "exchange current nan": _sub("arrhenius_k = 1800.0", "arrhenius_k = 1800.0\nexchange_current_a = nan"),
    "exchange current table above its limit": _sub("arrhenius_k = 1800.0", "arrhenius_k = 1800.0\nexchange_current_a = "
                                                   "{ soc = [0.0, 1.0], temperature_c = [25.0], values = [[2.0], [3e4]] }"),
    "exchange current table zero": _sub("arrhenius_k = 1800.0", "arrhenius_k = 1800.0\nexchange_current_a = "
                                        "{ soc = [0.0, 1.0], temperature_c = [25.0], values = [[2.0], [0.0]] }"),
    "zero heat capacity": _sub("heat_capacity_j_per_k = 40.0", "heat_capacity_j_per_k = 0.0"),
    "ambient below 0 K": _sub("ambient_c = 20.0", "ambient_c = -300.0"),
    "ambient string": _sub("ambient_c = 20.0", 'ambient_c = "warm"'),
    "heat transfer missing": _sub("heat_transfer_w_per_k = 0.4", ""),
    "v max under v min": _sub("voltage_max_v = 4.2", "voltage_max_v = 2.0"),
    "v min negative": _sub("voltage_min_v = 2.5", "voltage_min_v = -0.1"),
    "t max under t min": _sub("temperature_max_c = 60.0", "temperature_max_c = -25.0"),
    "t max under a given t min": _sub("temperature_max_c = 60.0", "temperature_max_c = -5.0\ntemperature_min_c = -5.0"),
    "negative charge current": _sub("charge_current_max_a = 10.0", "charge_current_max_a = -1.0"),
    "unknown section": _sub("[thermal]", "[thermals]"),
    "missing section": _sub("[limits]", "[limit]"),
    "section not a table": lambda t: "hysteresis = 5\n" + t,
    "unknown limit key": _sub("voltage_min_v = 2.5", "voltage_min_v = 2.5\nvoltage_mid_v = 3.0"),
    "hysteresis m above 1": lambda t: t + "[hysteresis]\ngamma = 1.0\nm_v = 2.0\n",
    "hysteresis gamma missing": lambda t: t + "[hysteresis]\nm_v = 0.01\n",
    "hysteresis unknown key": lambda t: t + "[hysteresis]\ngamma = 1.0\nm_v = 0.01\nm1_v = 0.0\n",
    "fit unknown key": lambda t: t + "[fit]\nstructure = '2rc'\nseed = 1\n",
    "two unknown keys, first in the file": _sub("ambient_c = 20.0", "zz = 1\nambient_c = 20.0\naa = 2"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_files_are_refused_alike(tmp_path, name):
    path = tmp_path / "bad.toml"
    path.write_text(BAD[name](ONE_RC))
    with pytest.raises(CellFileError) as py_err:
        load_cell_named(path)
    with pytest.raises(ValueError) as cpp_err:
        _core.load_cell_file_cpp(str(path))
    assert str(cpp_err.value) == str(py_err.value)
    assert str(py_err.value).startswith(f"{path}: ")


@pytest.mark.parametrize("text", ["[cell\ncapacity_ah = 1", "[cell]\ncapacity_ah = = 1\n", "a = [1, 2\n"])
def test_toml_syntax_errors_name_the_file_in_both(tmp_path, text):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(CellFileError, match="not valid TOML"):
        load_cell_named(path)
    with pytest.raises(ValueError) as e:
        _core.load_cell_file_cpp(str(path))
    assert str(e.value).startswith(f"{path}: not valid TOML: ") and "line" in str(e.value)


def test_a_missing_file_is_refused_alike(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(CellFileError) as py_err:
        load_cell_named(path)
    with pytest.raises(ValueError) as cpp_err:
        _core.load_cell_file_cpp(str(path))
    assert str(cpp_err.value) == str(py_err.value) == f"{path}: no such file"
