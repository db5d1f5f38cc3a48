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
from libc.math cimport NAN, isnan
from libc.stdint cimport int8_t, uint8_t, uint16_t, uint32_t
from libc.string cimport memset

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
    cdef int i = _index(frame_id)
    cdef double phys[HIL_MAX_SIGNALS]
    if hil_decode(i, &data[0], data.shape[0], phys) != 0:
        raise ValueError(f"{hil_messages[i].name.decode()}: {data.shape[0]} bytes, need {hil_messages[i].length}")
    return [phys[k] for k in range(hil_messages[i].n_signals)]


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
        names = (0x080, 0x0F0, 0x100, 0x101, 0x110, 0x111, 0x120)
        for k in range(7):
            self.idx[k] = _index(names[k])

    @property
    def frames_per_cycle(self):
        # heartbeat, pack, load request, tick + cell voltages (3 per frame) + temperatures (6 per frame)
        return 4 + (self.n_cells + 2) // 3 + (self.n_cells + 5) // 6

    cdef int _put(self, uint8_t *out, int n, int msg, int mux, double *phys) except -1:
        cdef uint8_t buf[8]
        cdef int e = msg * 16 + mux
        phys[1] = self.counters[e]
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
        if report is not None and report.shape[0] != 48:
            raise ValueError(f"report must have 48 entries (the DBC's sensor nodes), not {report.shape[0]}")
        cdef uint8_t body[HIL_WIRE_HEADER_BYTES + HIL_WIRE_MAX_FRAMES * HIL_WIRE_FRAME_BYTES]
        cdef double phys[HIL_MAX_SIGNALS]
        cdef int n = 0, g, k, c
        if heartbeat:
            phys[0] = 0; phys[2] = plant_time_s; phys[3] = 1.0 if contactor_closed else 0.0
            n = self._put(body, n, self.idx[IDX_HB], 0, phys)
        phys[0] = 0; phys[2] = pack_current_a; phys[3] = pack_voltage_v; phys[4] = 1.0 if contactor_closed else 0.0
        n = self._put(body, n, self.idx[IDX_PACK], 0, phys)
        phys[0] = 0; phys[2] = req_current_a; phys[3] = req_mode
        n = self._put(body, n, self.idx[IDX_LOAD], 0, phys)
        # cell voltages: message A carries cells 1..48, B 49..96; 3 per mux value; signal k+3 = cell k
        for g in range((self.n_cells + 2) // 3):
            if report is not None and not report[g]:
                continue
            msg = self.idx[IDX_CVA] if g < 16 else self.idx[IDX_CVB]
            for k in range(51):
                phys[k] = NAN
            phys[0] = 0
            phys[2] = g % 16
            for k in range(3):
                c = g * 3 + k
                if c < self.n_cells:
                    phys[3 + (g % 16) * 3 + k] = cell_v[c]
            n = self._put(body, n, msg, g % 16, phys)
        for g in range((self.n_cells + 5) // 6):
            if report is not None and not report[32 + g]:
                continue
            for k in range(99):
                phys[k] = NAN
            phys[0] = 0
            phys[2] = g
            for k in range(6):
                c = g * 6 + k
                if c < self.n_cells:
                    phys[3 + c] = cell_t_c[c]
            n = self._put(body, n, self.idx[IDX_CT], g, phys)
        if tick:
            phys[0] = 0; phys[2] = seq; phys[3] = dt_s
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
