"""python-can buses of the HIL link, so that a bench swaps the transport and keeps the harness.

- ``UdpCanBus`` (python-can interface ``safetwin_udp``): unicast UDP on loopback between processes,
  one datagram per batch of frames in the SocketCAN ``can_frame`` layout (firmware_sim/link/hil_wire.h).
  We register our own interface rather than use python-can's ``udp_multicast``: that one packs each
  message with msgpack (the C++ firmware would need a hand-written msgpack codec) and multicast
  lost about a fifth of an unpaced burst here; a fixed binary layout in one datagram per cycle is
  memcpy-level work in C and loses a cycle's frames together or not at all.
- ``InProcessBus``: the firmware's C++ code in this process (``_firmware.InProcessFirmware``),
  the fastest transport, for lockstep runs.

Both carry the fast path the harness uses (``send_datagram``/``recv_datagram``: whole batches as
bytes); ``send``/``recv`` with ``can.Message`` work as on any python-can bus.
"""
from __future__ import annotations

import collections
import select
import socket
from typing import Any

import can

from safetwin.hil import _codec
from safetwin.hil._link_layout import PLANT_TICK


def _parse_addr(text: str, what: str) -> tuple[str, int]:
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{what} = {text!r}: expected host:port")
    return host or "127.0.0.1", int(port)


def _messages(datagram: bytes, timestamp: float, channel: Any) -> list[can.Message]:
    out = []
    for can_id, data in _codec.wire_unpack(datagram):
        ext = bool(can_id & 0x80000000)
        out.append(can.Message(timestamp=timestamp, arbitration_id=can_id & 0x1FFFFFFF, is_extended_id=ext,
                               data=data, channel=channel, is_rx=True))
    return out


def _body(msg: can.Message) -> bytes:
    can_id = msg.arbitration_id | (0x80000000 if msg.is_extended_id else 0)
    return _codec.wire_frame(can_id, bytes(msg.data))


class UdpCanBus(can.BusABC):
    """``can.Bus(interface="safetwin_udp", channel="127.0.0.1:47101", peer="127.0.0.1:47100")``:
    receives on ``channel`` (port 0 picks a free one: see ``local_address``), sends to ``peer``."""

    def __init__(self, channel: str = "127.0.0.1:47101", peer: str = "127.0.0.1:47100", **kwargs: Any) -> None:
        self.local = _parse_addr(channel, "channel")
        self.peer = _parse_addr(peer, "peer")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(self.local)
        self.local = self.sock.getsockname()
        self._pending: collections.deque[can.Message] = collections.deque()
        self.channel_info = f"safetwin UDP {self.local[0]}:{self.local[1]} -> {self.peer[0]}:{self.peer[1]}"
        super().__init__(channel=channel, **kwargs)

    @property
    def local_address(self) -> str:
        return f"{self.local[0]}:{self.local[1]}"

    # --- fast path: whole datagrams
    def send_datagram(self, datagram: bytes) -> None:
        self.sock.sendto(datagram, self.peer)

    def recv_datagram(self, timeout: float | None = 0.0) -> bytes | None:
        """One datagram, or None after timeout s (None blocks, 0 polls)."""
        if timeout is not None:
            ready, _, _ = select.select([self.sock], [], [], max(timeout, 0.0))
            if not ready:
                return None
        return self.sock.recv(65536)

    # --- python-can API
    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        self.send_datagram(_codec.wire_pack(_body(msg)))

    def send_many(self, msgs: list[can.Message]) -> None:
        """All messages in one datagram (one control cycle)."""
        self.send_datagram(_codec.wire_pack(b"".join(_body(m) for m in msgs)))

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        if not self._pending:
            data = self.recv_datagram(timeout)
            if data is None:
                return None, False
            import time
            try:
                self._pending.extend(_messages(data, time.time(), self.channel_info))
            except ValueError:
                return None, False  # not a batch of ours: dropped, as a CAN controller drops a bad frame
        if not self._pending:
            return None, False
        return self._pending.popleft(), False

    def shutdown(self) -> None:
        super().shutdown()
        self.sock.close()


class InProcessBus(can.BusABC):
    """The firmware's C++ code in this process, in lockstep: a datagram carrying a PLANT_TICK runs
    one firmware cycle and queues its answer. ``send`` collects messages until a PLANT_TICK."""

    def __init__(self, channel: str = "inprocess", firmware: Any = None, **config: Any) -> None:
        from safetwin.hil._firmware import InProcessFirmware
        self.firmware = firmware if firmware is not None else InProcessFirmware(**config)
        self._answers: collections.deque[bytes] = collections.deque()
        self._pending_msgs: collections.deque[can.Message] = collections.deque()
        self._batch: list[bytes] = []
        self.channel_info = "safetwin in-process firmware"
        self.alive = True
        super().__init__(channel=channel)

    def kill(self) -> None:
        """The firmware stops answering (a crash, as the harness sees it)."""
        self.alive = False

    def send_datagram(self, datagram: bytes) -> None:
        if not self.alive:
            return
        answer = self.firmware.exchange(datagram)
        if answer is not None:
            self._answers.append(answer)

    def recv_datagram(self, timeout: float | None = 0.0) -> bytes | None:
        return self._answers.popleft() if self._answers else None

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        self._batch.append(_body(msg))
        if msg.arbitration_id == PLANT_TICK or len(self._batch) >= _codec.WIRE_MAX_FRAMES:
            body, self._batch = b"".join(self._batch), []
            self.send_datagram(_codec.wire_pack(body))

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        if not self._pending_msgs and self._answers:
            self._pending_msgs.extend(_messages(self._answers.popleft(), 0.0, self.channel_info))
        if not self._pending_msgs:
            return None, False
        return self._pending_msgs.popleft(), False
