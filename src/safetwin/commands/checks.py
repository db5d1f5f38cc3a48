"""Checks of what a user types at the command line, shared by the subcommands.

Each check raises ``ValueError`` with one line naming the option (or file), the value and the
limit, so that ``safetwin.cli.main`` prints it and exits with status 2 before anything runs.
Values are checked where they enter, in the user's units (degC, s, A); the core sees SI only.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

ZERO_CELSIUS_K = 273.15
# A cell's temperature a user can mean: the operating window of Li-ion cells with margin.
TEMP_MIN_C, TEMP_MAX_C = -40.0, 120.0
# Of the memory available now, what one run may take for its traces (the rest is the OS's and
# the other programs').
MEMORY_SHARE = 0.5


def number(option: str, value: float, lo: float = -math.inf, hi: float = math.inf, unit: str = "",
           lo_open: bool = False, hi_open: bool = False, why: str = "") -> float:
    """``value`` finite and inside [lo, hi] (open ends with lo_open/hi_open); returns it."""
    u = f" {unit}" if unit else ""
    if not math.isfinite(value):
        raise ValueError(f"{option} = {value}: must be a finite number{_range_text(lo, hi, lo_open, hi_open, u)}")
    low_bad = value <= lo if lo_open else value < lo
    high_bad = value >= hi if hi_open else value > hi
    if low_bad or high_bad:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{option} = {value:g}{u}: must be{_range_text(lo, hi, lo_open, hi_open, u)}{reason}")
    return value


def _range_text(lo: float, hi: float, lo_open: bool, hi_open: bool, unit: str) -> str:
    if math.isinf(lo) and math.isinf(hi):
        return ""
    if math.isinf(hi):
        return f" {'>' if lo_open else '>='} {lo:g}{unit}"
    if math.isinf(lo):
        return f" {'<' if hi_open else '<='} {hi:g}{unit}"
    return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}{unit}"


def kelvin_hint(value_c: float) -> str:
    """' (looks like Kelvin: ...)' when a temperature given in degC is a plausible one in K."""
    as_c = value_c - ZERO_CELSIUS_K
    if TEMP_MIN_C <= as_c <= TEMP_MAX_C:
        return f"; {value_c:g} looks like Kelvin ({as_c:.2f} degC): give degC"
    return ""


def temperature_c(option: str, value_c: float) -> float:
    """A cell or ambient temperature in degC, inside -40..120 degC; names Kelvin when it looks like it."""
    if not math.isfinite(value_c):
        raise ValueError(f"{option} = {value_c}: must be a finite temperature in degC")
    if not TEMP_MIN_C <= value_c <= TEMP_MAX_C:
        raise ValueError(f"{option} = {value_c:g} degC: must be in [{TEMP_MIN_C:g}, {TEMP_MAX_C:g}] degC"
                         f"{kelvin_hint(value_c)}")
    return value_c


def available_memory_bytes() -> int:
    """MemAvailable of /proc/meminfo (Linux), else the free physical pages; 0 if neither is known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def fits_in_memory(needed_bytes: float) -> bool:
    avail = available_memory_bytes()
    return not avail or needed_bytes <= MEMORY_SHARE * avail


def disk(what: str, needed_bytes: float, folder: Path, hint: str) -> None:
    """Refuses a run whose files would need more than 90 % of the free space in ``folder``."""
    import shutil
    free = shutil.disk_usage(existing_ancestor(Path(folder))).free
    if needed_bytes > 0.9 * free:
        raise ValueError(f"{what}: the run needs {needed_bytes / 2**30:.3g} GiB on disk in {folder} (traces and "
                         f"reports), more than 90% of the {free / 2**30:.3g} GiB free there; {hint}")


def memory(what: str, needed_bytes: float, hint: str) -> None:
    """Refuses a run whose traces would need more than MEMORY_SHARE of the available memory,
    before anything is allocated. ``what`` names the sizes the user gave, ``hint`` what to change."""
    avail = available_memory_bytes()
    if avail and needed_bytes > MEMORY_SHARE * avail:
        raise ValueError(f"{what}: the run needs {needed_bytes / 2**30:.3g} GiB for its traces, more than "
                         f"{MEMORY_SHARE:.0%} of the {avail / 2**30:.3g} GiB available; {hint}")


def output_dir(option: str, path: str, create: bool = True) -> Path:
    """A folder for reports: it may exist (as a folder) or is created (create=False: only checked,
    for a command that has more to check before it writes); a file in its place is refused."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{option} {path}: is an existing file, not a folder (give a folder for the reports)")
    if create:
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"{option} {path}: cannot create the folder ({exc.strerror})") from None
    return p


def existing_ancestor(path: Path) -> Path:
    """The folder itself or, if it is still to be made, the nearest one above it that exists."""
    p = path.resolve()
    while not p.exists():
        p = p.parent
    return p


def output_file(option: str, path: str) -> Path:
    """A file to write: not a folder, in a folder that exists."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{option} {path}: is a folder, not a file")
    if not p.parent.is_dir():
        raise ValueError(f"{option} {path}: the folder {p.parent} does not exist")
    return p


def input_file(what: str, path: str, hint: str = "") -> Path:
    """A text file to read: it exists, is a file and is not binary (checked on its first 8 KiB)."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{what} {path}: is a folder, not a file")
    if not p.exists():
        raise ValueError(f"{what} {path}: does not exist" + (f" ({hint})" if hint else ""))
    try:
        with p.open("rb") as f:
            head = f.read(8192)
    except OSError as exc:
        raise ValueError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    if b"\0" in head:
        raise ValueError(f"{what} {path}: is a binary file, not text (CSV or TOML expected)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < 8192 or exc.start < len(head) - 4:  # not just a character cut at the 8 KiB boundary
            raise ValueError(f"{what} {path}: is not UTF-8 text (byte {exc.start} is 0x{head[exc.start]:02x})") \
                from None
    return p


def cell_file(what: str, path: str | None):
    """(name, CellParams) of a --cell FILE option (a cell file, safetwin.cellfile); REF-CELL-1 when
    None. A refused file raises a ValueError naming the option or the file, the key and the reason."""
    from safetwin import battery, cellfile  # only for the commands that simulate a cell

    if path is None:
        return "REF-CELL-1", battery.CellParams.ref_cell_1()
    input_file(what, path)
    return cellfile.load_cell_named(path)
