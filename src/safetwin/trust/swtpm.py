"""Start and stop a software TPM 2.0 (Debian's ``swtpm``) on loopback, for tests and benches.

The TPM listens on two free TCP ports of 127.0.0.1 (command and control channel), with its state
in a temporary directory that disappears on :meth:`Swtpm.stop`. ``--flags not-need-init,
startup-clear`` makes it answer commands at once, as a TPM after a platform's TPM2_Startup(CLEAR).
A real TPM on a bench replaces this with the ``device`` TCTI and no code change in the node.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time


class SwtpmError(RuntimeError):
    pass


def _free_port_pair() -> int:
    """A port p with p and p + 1 both free: the TSS swtpm TCTI talks to the control channel on
    the command port + 1, so the two must be adjacent."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise SwtpmError("no two adjacent free TCP ports on 127.0.0.1")


class Swtpm:
    """A running ``swtpm socket --tpm2`` process. Use as a context manager."""

    def __init__(self, startup_timeout_s: float = 10.0) -> None:
        exe = shutil.which("swtpm")
        if exe is None:
            raise SwtpmError("swtpm not found on PATH (Debian package swtpm)")
        self._dir = tempfile.mkdtemp(prefix="safetwin-swtpm-")
        self._proc: subprocess.Popen | None = None
        for _attempt in range(5):  # a free port may be taken between probe and bind: retry
            self.port = _free_port_pair()
            self.ctrl_port = self.port + 1
            self._proc = subprocess.Popen(
                [exe, "socket", "--tpm2", "--tpmstate", f"dir={self._dir}",
                 "--server", f"type=tcp,port={self.port},bindaddr=127.0.0.1",
                 "--ctrl", f"type=tcp,port={self.ctrl_port},bindaddr=127.0.0.1",
                 "--flags", "not-need-init,startup-clear"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._wait_listening(startup_timeout_s):
                return
            self._kill()
        shutil.rmtree(self._dir, ignore_errors=True)
        raise SwtpmError("swtpm did not start listening on loopback")

    def _wait_listening(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    @property
    def tcti_config(self) -> str:
        return f"host=127.0.0.1,port={self.port}"

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()
        self._proc = None

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Swtpm:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
