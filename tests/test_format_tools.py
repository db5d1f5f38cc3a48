"""tools/check_format.sh and tools/format_cpp.sh on files outside the tree: the check lists a file
clang-format would change and exits 1, the format rewrites it to the style of .clang-format
(hand-written expectation), after which the check passes; the tree itself is not touched."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(tool, *files):
    return subprocess.run([str(ROOT / "tools" / tool), *map(str, files)], capture_output=True, text=True)


def test_check_lists_an_unformatted_file_and_format_fixes_it(tmp_path):
    bad = tmp_path / "bad.cpp"
    bad.write_text("int  f( int* x ){return *x;}\nint g(int & y) { if (y) return 1; return 0; }\n")
    good = tmp_path / "good.cpp"
    good.write_text("int h() { return 2; }\n")
    res = run("check_format.sh", bad, good)
    assert res.returncode == 1, res.stderr
    assert f"  {bad}" in res.stdout.splitlines() and str(good) not in res.stdout
    assert "1 of 2 files" in res.stdout
    assert run("format_cpp.sh", bad).returncode == 0
    # Google style, 120 columns, short functions and guards on one line, `T* p` / `T& r`.
    assert bad.read_text() == ("int f(int* x) { return *x; }\n"
                               "int g(int& y) {\n  if (y) return 1;\n  return 0;\n}\n")
    res = run("check_format.sh", bad, good)
    assert res.returncode == 0 and "2 files formatted" in res.stdout
