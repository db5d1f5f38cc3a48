# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The harness's hot-path codec: Cython over the C that cantools generated from hil/safetwin_hil.dbc
(firmware_sim/generated/), the E2E protection and the UDP framing (firmware_sim/link/). The firmware
compiles the very same C files, so plant and firmware agree byte for byte by construction.

Python-level API (the harness's slow paths use it, tests compare it with cantools):
  messages()                          -> list of dicts (frame_id, name, length, signals, mux_index)
  encode(frame_id, values) -> bytes   physical values in the DBC's signal order; NaN = not available
  decode(frame_id, data)   -> list    NaN for "not available" and for other multiplexer values
  crc8_sae_j1850(data, start=0x00), e2e_crc(data_id, payload), e2e_protect(data_id, bytearray)
  E2EReceiver                         per-data-element alive-counter and CRC checks
  PlantFrameEncoder                   one control cycle of plant frames into a datagram body
  wire_pack(body) / wire_unpack(datagram)
"""
from libc.errno cimport ERANGE
from libc.math cimport NAN, isnan
from libc.stdint cimport int8_t, uint8_t, uint16_t, uint32_t
from libc.string cimport memset

# The link's layout (frame IDs, signal indices, multiplexed blocks, ranges), generated from the DBC.
include "safetwin_hil_layout.pxi"

cdef extern from "safetwin_hil_table.h":
    ctypedef struct hil_message_info_t:
        uint32_t frame_id
        const char *name
        uint8_t length
        uint8_t n_signals
        int8_t mux_signal
        const char *const *signal_names
        const double *minimum
        const double *maximum
        const uint8_t *has_sna
    const hil_message_info_t hil_messages[]
    enum:
        HIL_N_MESSAGES
        HIL_MAX_SIGNALS
    int hil_message_index(uint32_t frame_id) nogil
    int hil_encode(int index, const double *phys, uint8_t *dst, size_t size) nogil
    int hil_decode(int index, const uint8_t *src, size_t size, double *phys) nogil

cdef extern from "hil_e2e.h":
    ctypedef struct hil_e2e_rx_state_t:
        uint8_t last_counter
        uint8_t seen
    ctypedef int hil_e2e_status_t
    uint8_t hil_crc8_sae_j1850(const uint8_t *data, size_t n, uint8_t start_value) nogil
    uint8_t hil_e2e_crc(uint32_t data_id, const uint8_t *payload, size_t len) nogil
    void hil_e2e_protect(uint32_t data_id, uint8_t *payload, size_t len) nogil
    hil_e2e_status_t hil_e2e_check(hil_e2e_rx_state_t *state, uint32_t data_id, const uint8_t *payload,
                                   size_t len, uint8_t max_delta) nogil

cdef extern from "hil_wire.h":
    enum:
        HIL_WIRE_HEADER_BYTES
        HIL_WIRE_FRAME_BYTES
        HIL_WIRE_MAX_FRAMES
    void hil_wire_header(uint8_t *buf, uint16_t n) nogil
    void hil_wire_put_frame(uint8_t *buf, size_t i, uint32_t can_id, const uint8_t *data, uint8_t len) nogil
    int hil_wire_count(const uint8_t *buf, size_t size) nogil
    const uint8_t *hil_wire_frame(const uint8_t *buf, size_t i, uint32_t *can_id, uint8_t *len) nogil

E2E_STATUS = ("OK", "OK_SOME_LOST", "INITIAL", "REPEATED", "WRONG_SEQUENCE", "WRONG_CRC", "BAD_LENGTH")
WIRE_HEADER_BYTES = HIL_WIRE_HEADER_BYTES
WIRE_FRAME_BYTES = HIL_WIRE_FRAME_BYTES
WIRE_MAX_FRAMES = HIL_WIRE_MAX_FRAMES
# The sensor nodes of REPORT_SCHEDULE.SCHED_NODE: CELL_V_A's mux values, CELL_V_B's, CELL_T's.
_TEMP_NODE_0 = HIL_CELL_V_A_MUX_VALUES + HIL_CELL_V_B_MUX_VALUES
_NODES = _TEMP_NODE_0 + HIL_CELL_T_MUX_VALUES
assert _NODES == int(HIL_REPORT_SCHEDULE_SCHED_NODE_MAX) + 1, "SCHED_NODE numbers every measurement frame"
# CELL_V_B continues CELL_V_A with the same block layout (the encoder packs both with A's constants).
assert (HIL_CELL_V_A_MUX, HIL_CELL_V_A_FIRST_MUXED, HIL_CELL_V_A_PER_MUX) == \
    (HIL_CELL_V_B_MUX, HIL_CELL_V_B_FIRST_MUXED, HIL_CELL_V_B_PER_MUX), "CELL_V_A and CELL_V_B alike"


def messages():
    out = []
    for i in range(HIL_N_MESSAGES):
        m = hil_messages[i]
        out.append({
            "frame_id": m.frame_id,
            "name": m.name.decode(),
            "length": m.length,
            "signals": [m.signal_names[k].decode() for k in range(m.n_signals)],
            "minimum": [m.minimum[k] for k in range(m.n_signals)],
            "maximum": [m.maximum[k] for k in range(m.n_signals)],
            "has_sna": [bool(m.has_sna[k]) for k in range(m.n_signals)],
            "mux_index": m.mux_signal,
        })
    return out


cdef int _index(uint32_t frame_id) except -1:
    cdef int i = hil_message_index(frame_id)
    if i < 0:
        raise ValueError(f"frame_id = 0x{frame_id:X}: not a message of hil/safetwin_hil.dbc")
    return i


def encode(uint32_t frame_id, values):
    """Packs one frame (no E2E: the CRC/counter signals are packed as given)."""
    cdef int i = _index(frame_id)
    cdef const hil_message_info_t *m = &hil_messages[i]
    cdef double phys[HIL_MAX_SIGNALS]
    cdef uint8_t buf[8]
    if len(values) != m.n_signals:
        raise ValueError(f"{m.name.decode()}: {len(values)} values given, the message has {m.n_signals} signals")
    for k in range(m.n_signals):
        phys[k] = float(values[k])
    rc = hil_encode(i, phys, buf, 8)
    if rc < 0:
        for k in range(m.n_signals):
            v = phys[k]
            if isnan(v) and not m.has_sna[k]:
                raise ValueError(f"{m.name.decode()}.{m.signal_names[k].decode()} = nan: the signal has no 'not available' value")
            if not isnan(v) and not (m.minimum[k] <= v <= m.maximum[k]):
                raise ValueError(f"{m.name.decode()}.{m.signal_names[k].decode()} = {v}: outside the DBC range "
                                 f"[{m.minimum[k]}, {m.maximum[k]}]")
        raise ValueError(f"{m.name.decode()}: encoding failed ({rc})")
    return bytes(buf[:rc])


def decode(uint32_t frame_id, const uint8_t[::1] data):
    """Physical values in the DBC's signal order; ValueError for a frame of the wrong size or with
    a raw value outside its signal's declared range (the firmware refuses the same frames)."""
    cdef int i = _index(frame_id)
    cdef const hil_message_info_t *m = &hil_messages[i]
    cdef double phys[HIL_MAX_SIGNALS]
    cdef int rc = hil_decode(i, &data[0] if data.shape[0] else NULL, data.shape[0], phys)
    if rc == -ERANGE:
        for k in range(m.n_signals):
            if not isnan(phys[k]) and not (m.minimum[k] <= phys[k] <= m.maximum[k]):
                raise ValueError(f"{m.name.decode()}.{m.signal_names[k].decode()} = {phys[k]!r}: outside the DBC range "
                                 f"[{m.minimum[k]}, {m.maximum[k]}]")
        # in range after rounding but raw out of range: the multiplexer of a block left NaN
        raise ValueError(f"{m.name.decode()}: a raw value outside its DBC range")
    if rc != 0:
        raise ValueError(f"{m.name.decode()}: {data.shape[0]} bytes, need {m.length}")
    return [phys[k] for k in range(m.n_signals)]


def crc8_sae_j1850(const uint8_t[::1] data, int start=0x00):
    return hil_crc8_sae_j1850(&data[0] if data.shape[0] else NULL, data.shape[0], <uint8_t>start)


def e2e_crc(uint32_t data_id, const uint8_t[::1] payload):
    return hil_e2e_crc(data_id, &payload[0], payload.shape[0])


def e2e_protect(uint32_t data_id, uint8_t[::1] payload):
    hil_e2e_protect(data_id, &payload[0], payload.shape[0])


cdef inline int _element(uint32_t frame_id, const uint8_t *payload):
    # data element = (message, mux value): mux values live in byte 1 bits 4..7 for every multiplexed message
    cdef int i = hil_message_index(frame_id)
    if i >= 0 and hil_messages[i].mux_signal >= 0:
        return i * 16 + (payload[1] >> 4)
    return i * 16


cdef class E2EReceiver:
    """Receiver-side E2E state for every data element of the DBC (the harness checks firmware frames)."""
    cdef hil_e2e_rx_state_t states[HIL_N_MESSAGES * 16]
    cdef public int max_delta

    def __init__(self, int max_delta=2):
        memset(self.states, 0, sizeof(self.states))
        self.max_delta = max_delta

    def check(self, uint32_t frame_id, const uint8_t[::1] payload):
        """E2E status code (index into E2E_STATUS); unknown frame IDs are WRONG_CRC (not ours)."""
        if payload.shape[0] < 2:
            return 6
        cdef int e = _element(frame_id, &payload[0])
        if e < 0:
            return 5
        return hil_e2e_check(&self.states[e], frame_id, &payload[0], payload.shape[0], <uint8_t>self.max_delta)


cdef enum:
    IDX_TICK = 0
    IDX_HB = 1
    IDX_PACK = 2
    IDX_LOAD = 3
    IDX_CVA = 4
    IDX_CVB = 5
    IDX_CT = 6


cdef class PlantFrameEncoder:
    """One control cycle of plant frames, packed by the generated C and E2E-protected, as a
    datagram body (n x 16-byte frames, tick last so that the firmware holds every measurement when
    the tick arrives). Alive counters advance per data element on every encode, whether or not the
    bus then loses the frame, as a real sender's would."""
    cdef readonly int n_cells
    cdef uint8_t counters[HIL_N_MESSAGES * 16]
    cdef int idx[7]

    def __init__(self, int n_cells):
        if not 1 <= n_cells <= 96:
            raise ValueError(f"n_cells = {n_cells}: the DBC carries 1..96 cells")
        self.n_cells = n_cells
        memset(self.counters, 0, sizeof(self.counters))
        names = (HIL_PLANT_TICK, HIL_PLANT_HEARTBEAT, HIL_PACK_MEAS, HIL_LOAD_REQUEST, HIL_CELL_V_A, HIL_CELL_V_B,
                 HIL_CELL_T)
        for k in range(7):
            self.idx[k] = _index(names[k])

    @property
    def frames_per_cycle(self):
        # heartbeat, pack, load request, tick + cell voltage frames + temperature frames
        return (4 + (self.n_cells + HIL_CELL_V_A_PER_MUX - 1) // HIL_CELL_V_A_PER_MUX
                + (self.n_cells + HIL_CELL_T_PER_MUX - 1) // HIL_CELL_T_PER_MUX)

    cdef int _put(self, uint8_t *out, int n, int msg, int mux, double *phys) except -1:
        cdef uint8_t buf[8]
        cdef int e = msg * 16 + mux
        phys[HIL_PLANT_TICK_E2E_COUNTER] = self.counters[e]
        self.counters[e] = (self.counters[e] + 1) & 0x0F
        cdef int rc = hil_encode(msg, phys, buf, 8)
        if rc < 0:
            m = hil_messages[msg]
            for k in range(m.n_signals):
                if not isnan(phys[k]) and not (m.minimum[k] <= phys[k] <= m.maximum[k]):
                    raise ValueError(f"{m.name.decode()}.{m.signal_names[k].decode()} = {phys[k]}: outside the DBC range "
                                     f"[{m.minimum[k]}, {m.maximum[k]}]")
            raise ValueError(f"{m.name.decode()}: encoding failed ({rc})")
        hil_e2e_protect(hil_messages[msg].frame_id, buf, 8)
        hil_wire_put_frame(out, n, hil_messages[msg].frame_id, buf, 8)
        return n + 1

    def encode(self, uint32_t seq, double dt_s, double plant_time_s, bint contactor_closed,
               const double[::1] cell_v, const double[::1] cell_t_c, double pack_current_a,
               double pack_voltage_v, double req_current_a, int req_mode, bint heartbeat=True, bint tick=True,
               const uint8_t[::1] report=None):
        """Datagram body (bytes, n x 16) of one cycle. Cell arrays have n_cells entries (NaN = not
        available). report: None (every measurement frame) or uint8[48], 1 = the sensor node sends its
        frame this cycle (node numbers of REPORT_SCHEDULE: 0-15 CELL_V_A mux n, 16-31 CELL_V_B mux
        n - 16, 32-47 CELL_T mux n - 32; safetwin.hil.report_nodes). The attestation answers (ISO-TP
        frames) are the harness's to add before the tick."""
        if cell_v.shape[0] != self.n_cells or cell_t_c.shape[0] != self.n_cells:
            raise ValueError(f"cell arrays must have n_cells = {self.n_cells} entries")
        if report is not None and report.shape[0] != _NODES:
            raise ValueError(f"report must have {_NODES} entries (the DBC's sensor nodes), not {report.shape[0]}")
        cdef uint8_t body[HIL_WIRE_HEADER_BYTES + HIL_WIRE_MAX_FRAMES * HIL_WIRE_FRAME_BYTES]
        cdef double phys[HIL_MAX_SIGNALS]
        cdef int n = 0, g, k, c, v
        if heartbeat:
            phys[HIL_PLANT_HEARTBEAT_E2E_CRC] = 0
            phys[HIL_PLANT_HEARTBEAT_PLANT_TIME] = plant_time_s
            phys[HIL_PLANT_HEARTBEAT_PLANT_CONTACTOR_CLOSED] = 1.0 if contactor_closed else 0.0
            n = self._put(body, n, self.idx[IDX_HB], 0, phys)
        phys[HIL_PACK_MEAS_E2E_CRC] = 0
        phys[HIL_PACK_MEAS_PACK_CURRENT] = pack_current_a
        phys[HIL_PACK_MEAS_PACK_VOLTAGE] = pack_voltage_v
        phys[HIL_PACK_MEAS_CONTACTOR_CLOSED] = 1.0 if contactor_closed else 0.0
        n = self._put(body, n, self.idx[IDX_PACK], 0, phys)
        phys[HIL_LOAD_REQUEST_E2E_CRC] = 0
        phys[HIL_LOAD_REQUEST_REQ_CURRENT] = req_current_a
        phys[HIL_LOAD_REQUEST_REQ_MODE] = req_mode
        n = self._put(body, n, self.idx[IDX_LOAD], 0, phys)
        # cell voltages: message A's mux values first, then B's (node g of REPORT_SCHEDULE)
        for g in range((self.n_cells + HIL_CELL_V_A_PER_MUX - 1) // HIL_CELL_V_A_PER_MUX):
            if report is not None and not report[g]:
                continue
            v = g if g < HIL_CELL_V_A_MUX_VALUES else g - HIL_CELL_V_A_MUX_VALUES
            for k in range(HIL_MAX_SIGNALS):
                phys[k] = NAN
            phys[HIL_CELL_V_A_E2E_CRC] = 0
            phys[HIL_CELL_V_A_MUX] = v
            for k in range(HIL_CELL_V_A_PER_MUX):
                c = g * HIL_CELL_V_A_PER_MUX + k
                if c < self.n_cells:
                    phys[HIL_CELL_V_A_FIRST_MUXED + v * HIL_CELL_V_A_PER_MUX + k] = cell_v[c]
            n = self._put(body, n, self.idx[IDX_CVA] if g < HIL_CELL_V_A_MUX_VALUES else self.idx[IDX_CVB], v, phys)
        for g in range((self.n_cells + HIL_CELL_T_PER_MUX - 1) // HIL_CELL_T_PER_MUX):
            if report is not None and not report[_TEMP_NODE_0 + g]:
                continue
            for k in range(HIL_MAX_SIGNALS):
                phys[k] = NAN
            phys[HIL_CELL_T_E2E_CRC] = 0
            phys[HIL_CELL_T_MUX] = g
            for k in range(HIL_CELL_T_PER_MUX):
                c = g * HIL_CELL_T_PER_MUX + k
                if c < self.n_cells:
                    phys[HIL_CELL_T_FIRST_MUXED + c] = cell_t_c[c]
            n = self._put(body, n, self.idx[IDX_CT], g, phys)
        if tick:
            phys[HIL_PLANT_TICK_E2E_CRC] = 0
            phys[HIL_PLANT_TICK_TICK_SEQ] = seq
            phys[HIL_PLANT_TICK_TICK_DT] = dt_s
            n = self._put(body, n, self.idx[IDX_TICK], 0, phys)
        return bytes(body[HIL_WIRE_HEADER_BYTES:HIL_WIRE_HEADER_BYTES + n * HIL_WIRE_FRAME_BYTES])


def wire_pack(const uint8_t[::1] body):
    """Header + body: one datagram. body is n x 16 bytes of frames."""
    cdef size_t nb = body.shape[0]
    if nb % HIL_WIRE_FRAME_BYTES or nb // HIL_WIRE_FRAME_BYTES > HIL_WIRE_MAX_FRAMES:
        raise ValueError(f"body of {nb} bytes: must be 0..{HIL_WIRE_MAX_FRAMES} frames of {HIL_WIRE_FRAME_BYTES} bytes")
    out = bytearray(HIL_WIRE_HEADER_BYTES + nb)
    cdef uint8_t[::1] o = out
    hil_wire_header(&o[0], <uint16_t>(nb // HIL_WIRE_FRAME_BYTES))
    if nb:
        o[HIL_WIRE_HEADER_BYTES:] = body
    return bytes(out)


def wire_frame(uint32_t can_id, const uint8_t[::1] data):
    """One 16-byte frame record (for building bodies frame by frame)."""
    cdef uint8_t rec[HIL_WIRE_HEADER_BYTES + HIL_WIRE_FRAME_BYTES]
    hil_wire_put_frame(rec, 0, can_id, &data[0] if data.shape[0] else NULL, <uint8_t>data.shape[0])
    return bytes(rec[HIL_WIRE_HEADER_BYTES:HIL_WIRE_HEADER_BYTES + HIL_WIRE_FRAME_BYTES])


def wire_unpack(const uint8_t[::1] datagram):
    """[(can_id, data bytes), ...] of a datagram; ValueError if it is not a well-formed batch."""
    cdef int n = hil_wire_count(&datagram[0], datagram.shape[0]) if datagram.shape[0] else -1
    if n < 0:
        raise ValueError(f"datagram of {datagram.shape[0]} bytes: not a safetwin HIL batch")
    cdef uint32_t can_id
    cdef uint8_t ln
    cdef const uint8_t *p
    out = []
    for i in range(n):
        p = hil_wire_frame(&datagram[0], i, &can_id, &ln)
        out.append((can_id, bytes(p[:ln])))
    return out
