#include "options.hpp"

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>

#include "cell_config.hpp"

namespace safetwin::firmware {

namespace {

double to_double(const std::string& key, const std::string& v) {
  std::size_t used = 0;
  double x = 0.0;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) { used = 0; }
  if (used != v.size() || !std::isfinite(x)) throw std::invalid_argument(key + " = '" + v + "': not a finite number");
  return x;
}

int to_int(const std::string& key, const std::string& v) {
  const double x = to_double(key, v);
  if (x != std::floor(x)) throw std::invalid_argument(key + " = '" + v + "': not an integer");
  return static_cast<int>(x);
}

using Setter = std::function<void(Options&, const std::string& key, const std::string& value)>;

const std::map<std::string, std::pair<std::string, Setter>>& table() {
  static const std::map<std::string, std::pair<std::string, Setter>> t = {
      {"lockstep",
       {"advance one cycle per PLANT_TICK (no value; in a file: true/false)",
        [](Options& o, const std::string& k, const std::string& v) {
          if (v != "true" && v != "false" && !v.empty())
            throw std::invalid_argument(k + " = '" + v + "': true or false");
          o.lockstep = v != "false";
        }}},
      {"rate-hz",
       {"cycle rate, Hz (default 100); in lockstep the rate of the harness's ticks",
        [](Options& o, const std::string& k, const std::string& v) {
          o.rate_hz = to_double(k, v);
          if (!(o.rate_hz > 0.0 && o.rate_hz <= 10000.0))
            throw std::invalid_argument(k + " = " + v + ": must be in (0, 10000]");
        }}},
      {"listen",
       {"host:port to receive plant frames on (default 127.0.0.1:47100)",
        [](Options& o, const std::string&, const std::string& v) { o.listen = v; }}},
      {"peer",
       {"host:port of the harness (default 127.0.0.1:47101)",
        [](Options& o, const std::string&, const std::string& v) { o.peer = v; }}},
      {"report",
       {"write the JSON timing report here at exit (default: stderr)",
        [](Options& o, const std::string&, const std::string& v) { o.report = v; }}},
      {"duration-s",
       {"stop after this many seconds (default 0: run until SIGTERM/SIGINT)",
        [](Options& o, const std::string& k, const std::string& v) { o.duration_s = to_double(k, v); }}},
      {"cell",
       {"TOML cell file of the pack's cells (default REF-CELL-1); sets the limits and, unless given, "
        "--charge-current-a (1C), --cv-voltage-v (V max), --cutoff-current-a (C/20)",
        [](Options& o, const std::string& k, const std::string& v) {
          if (v.empty()) throw std::invalid_argument(k + ": missing FILE");
          o.cell = v;
        }}},
      {"reporting",
       {"when the sensor nodes report: every-step (default), periodic:T (s) or self-triggered "
        "(REPORT_SCHEDULE from the safe horizon; report_nodes.hpp)",
        [](Options& o, const std::string& k, const std::string& v) {
          const cycle::ReportingConfig r = parse_reporting(k, v);
          o.firmware.reporting.mode = r.mode;
          o.firmware.reporting.period_s = r.period_s;
        }}},
      {"report-max-interval-s",
       {"self-triggered: the longest interval between a node's reports, s (default 30)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.reporting.max_interval_s = to_double(k, v);
        }}},
      {"series",
       {"cell channels of the pack, 1..96 (default 96)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.series = to_int(k, v); }}},
      {"parallel",
       {"cells per parallel group (default 1)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.control.parallel = to_int(k, v); }}},
      {"controller",
       {"charge controller: mpc (MPC-FC on the estimate, default) or cccv",
        [](Options& o, const std::string& k, const std::string& v) {
          if (v == "mpc")
            o.firmware.control.controller = ControllerKind::mpc;
          else if (v == "cccv")
            o.firmware.control.controller = ControllerKind::cccv;
          else
            throw std::invalid_argument(k + " = '" + v + "': mpc or cccv");
        }}},
      {"controller-period-s",
       {"the charge controller's period, s (default 1, the MPC-FC step)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.controller_period_s = to_double(k, v);
        }}},
      {"soc-target",
       {"MPC target SOC, 0..1 (default 0.8)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.soc_target = to_double(k, v);
        }}},
      {"horizon",
       {"MPC horizon in controller periods (default 30)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.control.horizon = to_int(k, v); }}},
      {"charge-current-a",
       {"CC-CV charge current per pack, A (default 5.15)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.charge_current_a = to_double(k, v);
        }}},
      {"cv-voltage-v",
       {"CV set-point of the highest cell, V (default 4.2)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.cv_voltage_v = to_double(k, v);
        }}},
      {"cutoff-current-a",
       {"end-of-charge current, A (default 0.2575)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.cutoff_current_a = to_double(k, v);
        }}},
      {"temp-derate-k",
       {"monitor: derate when the hottest cell passes T_max minus this, K (default 3.5)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.safety.temp_derate_k = to_double(k, v);
        }}},
      {"temp-stop-k",
       {"monitor: SAFE_STOP when it passes T_max minus this, K (default 2)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.safety.temp_stop_k = to_double(k, v);
        }}},
      {"voltage-derate-v",
       {"monitor: derate when a cell is this far outside its voltage window, V (default 0.03)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.safety.voltage_derate_v = to_double(k, v);
        }}},
      {"voltage-stop-v",
       {"monitor: SAFE_STOP this far outside, V (default 0.06)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.safety.voltage_stop_v = to_double(k, v);
        }}},
      {"derate-factor",
       {"supervisor: current scale in DERATED, 0..1 (default 0.5)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.safety.derate_factor = to_double(k, v);
        }}},
      {"attest-node",
       {"enrol the next sensor node (node k answers ATTEST_NONCE_k; its trust weights its groups' voltages):\n"
        "                                AK_PUBLIC_HEX:PCR_MASK_HEX:GOLDEN_HEX[:FIRMWARE_VERSION[:PARENT_QN_HEX]] "
        "(the\n"
        "                                parent's Qualified Name for an EK-child AK); repeat per node",
        [](Options& o, const std::string& k, const std::string& v) { add_attest_node(o.firmware, k, v); }}},
      {"attest-node-groups",
       {"NODE:FIRST:COUNT: the series groups (0-based) whose voltages enrolled node NODE measures; its trust "
        "weighs only them (default: the groups split in contiguous blocks, node k of N the k-th)",
        [](Options& o, const std::string& k, const std::string& v) { set_attest_node_groups(o.firmware, k, v); }}},
      {"attest-every-s",
       {"an attestation round per node this often, s (default 5)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.attest.every_s = to_double(k, v); }}},
      {"attest-seed",
       {"seed of the nonce DRBG in lockstep (default 0; real time seeds it from the OS)",
        [](Options& o, const std::string& k, const std::string& v) {
          const double x = to_double(k, v);
          if (x < 0.0 || x != std::floor(x) || x > 9007199254740992.0)
            throw std::invalid_argument(k + " = '" + v + "': an integer in [0, 2^53]");
          o.firmware.attest.seed = static_cast<std::uint64_t>(x);
        }}},
      {"attest-lifetime-ms",
       {"a round's lifetime: the node's quote latency plus the transfer, ms (default 2000)",
        [](Options& o, const std::string& k, const std::string& v) {
          const int x = to_int(k, v);
          if (x < 1) throw std::invalid_argument(k + " = " + v + ": must be >= 1");
          o.firmware.attest.verifier.nonce_lifetime_ms = static_cast<std::uint64_t>(x);
        }}},
      {"attest-n-cr-ms",
       {"ISO-TP N_Cr: longest gap between an answer's frames, ms (default 250)",
        [](Options& o, const std::string& k, const std::string& v) {
          const int x = to_int(k, v);
          if (x < 1) throw std::invalid_argument(k + " = " + v + ": must be >= 1");
          o.firmware.attest.isotp.n_cr_ms = static_cast<std::uint64_t>(x);
        }}},
      {"attest-timeout-s",
       {"no attestation verdict for this long counts as a failed one, s (default 30)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.control.safety.attest_timeout_s = to_double(k, v);
        }}},
      {"plant-heartbeat-timeout-s",
       {"SAFE_STOP after this long without a plant heartbeat, s (default 0.1)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.plant_heartbeat_timeout_s = to_double(k, v);
        }}},
      {"meas-loss-timeout-s",
       {"SAFE_STOP after measurements missing this long, s (default 1)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.meas_loss_timeout_s = to_double(k, v);
        }}},
      {"meas-max-age-cycles",
       {"cycles a received value stays fresh (default 0 in lockstep, 2 in real time)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.meas_max_age_cycles = to_int(k, v); }}},
      {"e2e-max-delta",
       {"largest alive-counter jump accepted, 1..14 (default 2)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.e2e_max_delta = to_int(k, v); }}},
      {"stuck-time-s",
       {"identical cell reading under current for this long: sensor stuck, s (default 5)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.stuck_time_s = to_double(k, v); }}},
      {"imbalance-v",
       {"cell this far from the pack mean: imbalance, V (default 0.05)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.imbalance_v = to_double(k, v); }}},
      {"imbalance-time-s",
       {"for this long, s (default 5)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.imbalance_time_s = to_double(k, v); }}},
      // the online diagnostics (diag_events.hpp): FW_EVENT codes 17-21
      {"diag",
       {"online diagnostics: internal short, connection resistance, sensor step, cooling loss; 0 or 1 (default 0)",
        [](Options& o, const std::string& k, const std::string& v) {
          if (v != "0" && v != "1" && v != "true" && v != "false" && v != "True" && v != "False")
            throw std::invalid_argument(k + " = " + v + ": 0 or 1 (true or false)");
          o.firmware.diag.enabled = v == "1" || v == "true" || v == "True";
        }}},
      {"anomaly-threshold",
       {"the anomaly score's calibrated threshold (safetwin.diagnostics.calibration); 0 = off (default)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.diag.anomaly_threshold = to_double(k, v);
        }}},
      {"diag-short-leak-a",
       {"leak current of a group that is an internal short, A (default 0.02)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.diag.short_leak_a = to_double(k, v);
        }}},
      {"diag-resistance-step-ohm",
       {"a group's resistance above the median's by this: a loose connection, Ohm (default 0.004)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.diag.resistance_step_ohm = to_double(k, v);
        }}},
      {"diag-sensor-step-v",
       {"a reading that steps by this at rest: a sensor fault, V (default 0.01)",
        [](Options& o, const std::string& k, const std::string& v) {
          o.firmware.diag.sensor_step_v = to_double(k, v);
        }}},
      {"diag-cooling-z",
       {"mean whitened temperature innovation that is a cooling loss (default 1.5)",
        [](Options& o, const std::string& k, const std::string& v) { o.firmware.diag.cooling_z = to_double(k, v); }}},
  };
  return t;
}

void apply(Options& o, const std::string& key, const std::string& value, const std::string& where) {
  const auto it = table().find(key);
  if (it == table().end()) throw std::invalid_argument(where + key + ": unknown option (see --help)");
  o.given.insert(key);
  try {
    it->second.second(o, key, value);
  } catch (const std::invalid_argument& e) { throw std::invalid_argument(where + e.what()); }
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\"");
  const auto e = s.find_last_not_of(" \t\r\"");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

void read_file(Options& o, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("--config " + path + ": cannot open");
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    if (trim(line).empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::invalid_argument(path + ":" + std::to_string(n) + ": expected key = value");
    std::string key = trim(line.substr(0, eq));
    for (auto& c : key) c = c == '_' ? '-' : c;
    apply(o, key, trim(line.substr(eq + 1)), path + ":" + std::to_string(n) + ": ");
  }
}

}  // namespace

std::string usage() {
  std::string s =
      "usage: firmware_sim [--config FILE] [--OPTION VALUE ...]\n\n"
      "The safetwin controller firmware: runs the control cycle at a fixed rate on a monotonic clock\n"
      "(or one cycle per PLANT_TICK with --lockstep) and talks to the HIL harness over UDP, one datagram\n"
      "of CAN frames per cycle (hil/safetwin_hil.dbc; framing in firmware_sim/link/hil_wire.h).\n"
      "Every received frame is E2E-checked; missing or invalid frames count as missing measurements.\n"
      "SIGTERM/SIGINT stops it and writes the timing report (cycles, jitter and cycle time p50/p99/max).\n\n"
      "options (a --config file holds the same keys as `key = value` lines, '_' or '-'):\n"
      "  --config FILE                 read options from FILE first\n"
      "  --help                        this text\n";
  for (const auto& [k, v] : table()) {
    std::string left = "  --" + k;
    left.resize(std::max<std::size_t>(left.size() + 1, 32), ' ');
    s += left + v.first + "\n";
  }
  return s;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool age_set = false;
  // The config file first, whatever its position, so that flags override it.
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config") {
      if (i + 1 >= argc) throw std::invalid_argument("--config: missing FILE");
      read_file(o, argv[i + 1]);
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      continue;
    }
    if (a == "--config") {
      ++i;
      continue;
    }
    if (a.rfind("--", 0) != 0) throw std::invalid_argument(a + ": unexpected argument (see --help)");
    std::string key = a.substr(2), value;
    const auto eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else if (key != "lockstep") {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value");
      value = argv[++i];
    }
    if (key == "meas-max-age-cycles") age_set = true;
    apply(o, key, value, "");
  }
  // The cell last: its defaults must not overwrite what was given, wherever --cell stood.
  if (!o.cell.empty()) use_cell_file(o.firmware, o.cell, "--cell", o.given);
  // Real time: plant and firmware loops are not phase-locked, so a cycle may see no new frame.
  if (!o.lockstep && !age_set && o.firmware.meas_max_age_cycles == 0) o.firmware.meas_max_age_cycles = 2;
  // The nominal period (the monitor's sample period): the rate's, in lockstep the harness's tick.
  o.firmware.control.period_s = 1.0 / o.rate_hz;
  o.firmware.attest.os_entropy = !o.lockstep;  // lockstep: reproducible nonces from --attest-seed
  o.firmware.validate();
  return o;
}

}  // namespace safetwin::firmware
