"""The firmware process (firmware_sim/): find the executable, start it on free loopback ports,
stop it and read its timing report."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from safetwin.hil.bus import UdpCanBus


def find_firmware() -> Path:
    """$SAFETWIN_FIRMWARE, the executable shipped in the wheel, or a source checkout's build."""
    env = os.environ.get("SAFETWIN_FIRMWARE")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent
    candidates.append(here / "bin" / "firmware_sim")
    root = here.parents[2]
    candidates.append(root / "build" / "cpp" / "firmware_sim" / "firmware_sim")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    found = shutil.which("firmware_sim")
    if found:
        return Path(found)
    raise FileNotFoundError("firmware_sim: not found (set SAFETWIN_FIRMWARE, or build it: "
                            "cmake --build build/cpp --target firmware_sim); looked in "
                            + ", ".join(str(c) for c in candidates))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FirmwareProcess:
    """Context manager: a firmware_sim process and the UDP bus that talks to it.

    ``options`` are the executable's flags without dashes, '_' for '-' (series=12, rate_hz=100...)."""

    def __init__(self, lockstep: bool = True, executable: str | Path | None = None, **options: Any) -> None:
        self.executable = Path(executable) if executable else find_firmware()
        self.lockstep = lockstep
        self.options = options
        self.proc: subprocess.Popen | None = None
        self.bus: UdpCanBus | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="safetwin-fw-")
        self.report_path = Path(self._tmp.name) / "report.json"
        self.report: dict | None = None

    def start(self) -> FirmwareProcess:
        fw_port = _free_port()
        self.bus = UdpCanBus(channel="127.0.0.1:0", peer=f"127.0.0.1:{fw_port}")
        args = [str(self.executable), "--listen", f"127.0.0.1:{fw_port}", "--peer", self.bus.local_address,
                "--report", str(self.report_path)]
        if self.lockstep:
            args.append("--lockstep")
        for k, v in self.options.items():
            for one in (v if isinstance(v, (list, tuple)) else [v]):  # a list: the flag once per item
                args += [f"--{k.replace('_', '-')}", str(one)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # The firmware has bound its socket once it prints its first line.
        line = self.proc.stderr.readline().decode()
        if self.proc.poll() is not None or "listening" not in line:
            err = line + self.proc.stderr.read().decode()
            raise RuntimeError(f"firmware_sim did not start: {err.strip()}")
        return self

    def kill(self) -> None:
        """SIGKILL: the crash a plant-side watchdog must catch (no report is written)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> dict | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        if self.report_path.exists():
            self.report = json.loads(self.report_path.read_text())
        if self.bus:
            self.bus.shutdown()
            self.bus = None
        return self.report

    def __enter__(self) -> FirmwareProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._tmp.cleanup()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def wait_until(pred, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.001)
    return pred()
