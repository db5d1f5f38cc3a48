# cython: language_level=3, boundscheck=False, wraparound=False
# distutils: language = c++
"""The firmware of firmware_sim/ in-process: the same C++ Firmware class the executable runs (link
layer, E2E checks, supervisor, control step), driven by datagrams without sockets. This is the
in-process transport of lockstep runs: deterministic and as fast as the firmware itself."""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.set cimport set as cppset
from libcpp.string cimport string

cdef extern from "safetwin/status.hpp" namespace "safetwin":
    cdef enum class Status:
        ok

cdef extern from "safetwin/battery/cell_params.hpp" namespace "safetwin::battery":
    cdef cppclass CellLimits:
        double voltage_min_v
        double voltage_max_v
        double temp_max_k
        double temp_min_k
        double charge_current_max_a
        double discharge_current_max_a

cdef extern from "safety_calibration.hpp" namespace "safetwin::firmware":
    cdef cppclass SafetyCalibration:
        double temp_derate_k
        double temp_stop_k
        double voltage_derate_v
        double voltage_stop_v
        double derate_factor
        double attest_timeout_s

cdef extern from "control_step.hpp" namespace "safetwin::firmware":
    cdef enum class ControllerKind:
        mpc
        cccv
    cdef cppclass ControlStepConfig:
        ControllerKind controller
        double controller_period_s
        double soc_target
        int horizon
        int parallel
        CellLimits limits
        double charge_current_a
        double cv_voltage_v
        double cutoff_current_a
        double resistance_ohm
        double period_s
        SafetyCalibration safety

cdef extern from "quote_verifier.hpp" namespace "safetwin::firmware":
    cdef cppclass QuoteVerifierConfig:
        uint64_t nonce_lifetime_ms

cdef extern from "attest_isotp.hpp" namespace "safetwin::firmware":
    cdef cppclass IsoTpConfig:
        uint64_t n_cr_ms

cdef extern from "safetwin/cycle/report_schedule.hpp" namespace "safetwin::cycle":
    cdef cppclass ReportingConfig:
        double max_interval_s

cdef extern from "report_nodes.hpp" namespace "safetwin::firmware":
    ReportingConfig parse_reporting(const string&, const string&) except +

cdef extern from "firmware.hpp" namespace "safetwin::firmware":
    cdef cppclass AttestConfig:
        double every_s
        uint64_t seed
        cbool os_entropy
        QuoteVerifierConfig verifier
        IsoTpConfig isotp
    cdef cppclass DiagConfig:
        cbool enabled
        double anomaly_threshold
        double short_leak_a
        double resistance_step_ohm
        double sensor_step_v
        double cooling_z
    cdef cppclass FirmwareConfig:
        DiagConfig diag
        AttestConfig attest
        ReportingConfig reporting
        int series
        ControlStepConfig control
        double plant_heartbeat_timeout_s
        double meas_loss_timeout_s
        int meas_max_age_cycles
        int e2e_max_delta
        double stuck_time_s
        double stuck_min_current_a
        double imbalance_v
        double imbalance_time_s
    cdef cppclass Command:
        double current_a
        double current_min_a
        double current_max_a
        cbool derated
    cdef cppclass Firmware:
        Firmware(const FirmwareConfig&) except +
        Status on_datagram(const uint8_t*, size_t)
        Status cycle(double)
        cbool lockstep_step()
        size_t output_datagram(uint8_t*, size_t)
        const Command& command()
        cbool contactor_request()
        uint16_t fault_flags()
        uint8_t diag_flags()
        uint32_t cycles()
        uint32_t e2e_errors()

cdef extern from "firmware.hpp" namespace "safetwin::firmware":
    void add_attest_node(FirmwareConfig&, const string&, const string&) except +

cdef extern from "cell_config.hpp" namespace "safetwin::firmware":
    void use_cell_file(FirmwareConfig&, const string&, const string&, const cppset[string]&) except +

cdef extern from "hil_wire.h":
    enum:
        HIL_WIRE_MAX_BYTES

# Settable keys: FirmwareConfig fields (and control.* ones flattened), same names as the
# executable's --flags with '_' for '-'.
CONFIG_KEYS = ("cell", "series", "parallel", "rate_hz", "controller", "controller_period_s", "soc_target", "horizon",
               "charge_current_a", "cv_voltage_v", "cutoff_current_a", "temp_derate_k", "temp_stop_k",
               "voltage_derate_v", "voltage_stop_v", "derate_factor", "attest_node", "attest_every_s",
               "attest_seed", "attest_lifetime_ms", "attest_n_cr_ms", "attest_timeout_s",
               "plant_heartbeat_timeout_s", "meas_loss_timeout_s", "meas_max_age_cycles", "e2e_max_delta",
               "stuck_time_s", "imbalance_v", "imbalance_time_s", "reporting", "report_max_interval_s",
               "diag", "anomaly_threshold", "diag_short_leak_a", "diag_resistance_step_ohm", "diag_sensor_step_v",
               "diag_cooling_z")


cdef class InProcessFirmware:
    cdef Firmware* fw

    def __cinit__(self, **config):
        cdef FirmwareConfig c
        cdef cppset[string] given
        cell = config.pop("cell", None)
        for key, value in config.items():
            given.insert(key.replace("_", "-").encode())
            if key == "series": c.series = value
            elif key == "parallel": c.control.parallel = value
            elif key == "charge_current_a": c.control.charge_current_a = value
            elif key == "cv_voltage_v": c.control.cv_voltage_v = value
            elif key == "cutoff_current_a": c.control.cutoff_current_a = value
            elif key == "rate_hz":
                if not value > 0: raise ValueError(f"firmware config rate_hz = {value!r}: must be > 0")
                c.control.period_s = 1.0 / value
            elif key == "temp_derate_k": c.control.safety.temp_derate_k = value
            elif key == "temp_stop_k": c.control.safety.temp_stop_k = value
            elif key == "voltage_derate_v": c.control.safety.voltage_derate_v = value
            elif key == "voltage_stop_v": c.control.safety.voltage_stop_v = value
            elif key == "derate_factor": c.control.safety.derate_factor = value
            elif key == "attest_timeout_s": c.control.safety.attest_timeout_s = value
            elif key == "attest_node":  # one spec per node, node 0 first (firmware_sim --attest-node)
                for spec in ([value] if isinstance(value, str) else value):
                    add_attest_node(c, b"attest_node", str(spec).encode())
            elif key == "attest_every_s": c.attest.every_s = value
            elif key == "attest_seed":
                if not 0 <= value < 2**53: raise ValueError(f"firmware config attest_seed = {value!r}: in [0, 2^53)")
                c.attest.seed = value
            elif key == "attest_lifetime_ms":
                if not value >= 1: raise ValueError(f"firmware config attest_lifetime_ms = {value!r}: must be >= 1")
                c.attest.verifier.nonce_lifetime_ms = value
            elif key == "attest_n_cr_ms":
                if not value >= 1: raise ValueError(f"firmware config attest_n_cr_ms = {value!r}: must be >= 1")
                c.attest.isotp.n_cr_ms = value
            elif key == "controller":
                if value == "mpc": c.control.controller = ControllerKind.mpc
                elif value == "cccv": c.control.controller = ControllerKind.cccv
                else: raise ValueError(f"firmware config controller = {value!r}: mpc or cccv")
            elif key == "controller_period_s": c.control.controller_period_s = value
            elif key == "soc_target": c.control.soc_target = value
            elif key == "horizon": c.control.horizon = value
            elif key == "plant_heartbeat_timeout_s": c.plant_heartbeat_timeout_s = value
            elif key == "meas_loss_timeout_s": c.meas_loss_timeout_s = value
            elif key == "meas_max_age_cycles": c.meas_max_age_cycles = value
            elif key == "e2e_max_delta": c.e2e_max_delta = value
            elif key == "stuck_time_s": c.stuck_time_s = value
            elif key == "imbalance_v": c.imbalance_v = value
            elif key == "imbalance_time_s": c.imbalance_time_s = value
            elif key == "reporting":  # firmware_sim --reporting (report_nodes.hpp), its max interval kept
                keep = c.reporting.max_interval_s
                c.reporting = parse_reporting(b"reporting", str(value).encode())
                c.reporting.max_interval_s = keep
            elif key == "report_max_interval_s": c.reporting.max_interval_s = value
            elif key == "diag": c.diag.enabled = bool(value)
            elif key == "anomaly_threshold": c.diag.anomaly_threshold = value
            elif key == "diag_short_leak_a": c.diag.short_leak_a = value
            elif key == "diag_resistance_step_ohm": c.diag.resistance_step_ohm = value
            elif key == "diag_sensor_step_v": c.diag.sensor_step_v = value
            elif key == "diag_cooling_z": c.diag.cooling_z = value
            else:
                raise ValueError(f"firmware config {key!r}: unknown key (known: {', '.join(CONFIG_KEYS)})")
        if cell is not None:
            # firmware_sim's --cell: the C++ reader's cell, after the other keys (the controller
            # decides which structures it takes), leaving the keys given here as they are
            use_cell_file(c, str(cell).encode(), b"--cell", given)
        self.fw = new Firmware(c)

    def __dealloc__(self):
        del self.fw

    def exchange(self, const uint8_t[::1] datagram):
        """Delivers one datagram; returns the answer datagram if it carried a tick, else None."""
        cdef uint8_t out[HIL_WIRE_MAX_BYTES]
        cdef size_t n
        self.fw.on_datagram(&datagram[0] if datagram.shape[0] else NULL, datagram.shape[0])
        if not self.fw.lockstep_step():
            return None
        n = self.fw.output_datagram(out, HIL_WIRE_MAX_BYTES)
        return bytes(out[:n])

    def feed(self, const uint8_t[::1] datagram):
        """Delivers a datagram without running a cycle (real-time style); False if it was malformed."""
        return self.fw.on_datagram(&datagram[0] if datagram.shape[0] else NULL, datagram.shape[0]) == Status.ok

    def cycle(self, double dt_s):
        """Runs one free-running cycle; returns its output datagram."""
        cdef uint8_t out[HIL_WIRE_MAX_BYTES]
        self.fw.cycle(dt_s)
        n = self.fw.output_datagram(out, HIL_WIRE_MAX_BYTES)
        return bytes(out[:n])

    @property
    def current_a(self):
        return self.fw.command().current_a

    @property
    def contactor_request(self):
        return self.fw.contactor_request()

    @property
    def fault_flags(self):
        """Bit (code - 1) of every active fault: FW_STATUS FAULT_FLAGS | DIAG_FLAGS << 16."""
        return self.fw.fault_flags() | (<uint32_t>self.fw.diag_flags() << 16)

    @property
    def cycles(self):
        return self.fw.cycles()

    @property
    def e2e_errors(self):
        return self.fw.e2e_errors()
