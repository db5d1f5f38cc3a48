"""Inputs fuzz/fuzz_cell_file.cpp found, kept as regression tests of the C++ cell-file reader.

toml++ 3.3.0 reaches TOML_UNREACHABLE (undefined behaviour in a release build) on some non-ASCII
characters after a value, as a battery engineer may write them ("ambient_c = 25°"); the fuzzer's
input was "coulombic_efficiency = 1é". The C++ reader now refuses non-ASCII text before toml++
sees it, naming the file, the byte, the line and the column (upstream: marzer/tomlplusplus
issues 190 and 295, fixed after 3.3.0)."""
from __future__ import annotations

import pytest

from safetwin import _core, cellfile

pytestmark = pytest.mark.skipif(not _core.cell_file_cpp_supported(), reason="C++ reader not built (no toml++)")


@pytest.mark.parametrize("old, new, line_text", [
    ("ambient_c = 25.0", "ambient_c = 25\u00b0", "ambient_c"),            # the degree sign after a number
    ("coulombic_efficiency = 1.0", "coulombic_efficiency = 1\u00e9", "coulombic_efficiency"),  # the fuzzer's
])
def test_non_ascii_after_a_value_is_refused_naming_the_place(tmp_path, old, new, line_text):
    text = cellfile.shipped_cell_path("ref_cell_1").read_text()
    assert old in text
    path = tmp_path / "cell.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(k for k, s in enumerate(lines, 1) if s.startswith(line_text))
    column = lines[line - 1].index(new[-1]) + 1
    with pytest.raises(ValueError) as e:
        _core.load_cell_file_cpp(str(path))
    msg = str(e.value)
    assert msg.startswith(f"{path}: not valid for the C++ reader: a non-ASCII byte 0x")
    assert f"at line {line}, column {column}" in msg and "ASCII" in msg


def test_the_shipped_cells_are_ascii():
    for name in ("ref_cell_1", "lfp_a123_26650", "lfp_prada2013_2rc"):
        cellfile.shipped_cell_path(name).read_bytes().decode("ascii")
        _core.load_cell_file_cpp(str(cellfile.shipped_cell_path(name)))
