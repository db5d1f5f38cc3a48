// Bindings of the safety layer: invariant monitor, CBF filter, supervisor. Thin: numpy in and out;
// loops over time (InvariantMonitor.run) run in C++ with the GIL released.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <limits>
#include <vector>

#include "bindings.hpp"
#include "safetwin/control/controller.hpp"
#include "safetwin/cycle/control_cycle.hpp"

#include "safetwin/safety/cbf_filter.hpp"
#include "safetwin/safety/monitor.hpp"
#include "safetwin/safety/supervisor.hpp"

namespace safetwin::bindings {

using namespace safetwin::safety;

namespace {

template <class Record>
py::array_t<Record> log_array(const EventLog<Record>& log) {
  py::array_t<Record> out(static_cast<py::ssize_t>(log.size()));
  log.copy_to(out.mutable_data(), log.size());
  return out;
}

int signal_of(const InvariantMonitor& m, const py::object& key) {
  if (py::isinstance<py::str>(key)) {
    const auto name = key.cast<std::string>();
    const int i = m.signal_index(name);
    if (i < 0) throw std::invalid_argument("unknown signal '" + name + "'");
    return i;
  }
  return key.cast<int>();
}

int invariant_of(const InvariantMonitor& m, const py::object& key) {
  if (py::isinstance<py::str>(key)) {
    const auto name = key.cast<std::string>();
    const int i = m.invariant_index(name);
    if (i < 0) throw std::invalid_argument("unknown invariant '" + name + "'");
    return i;
  }
  const int i = key.cast<int>();
  if (i < 0 || static_cast<std::size_t>(i) >= m.invariant_count())
    throw std::invalid_argument("invariant index " + std::to_string(i) + " out of range");
  return i;
}

// Runs the monitor over a whole trace: times (n,), values (n, signals). Returns per-sample
// active flags and values of every invariant and the highest active severity.
py::dict run_monitor(InvariantMonitor& m, const DoubleArray& times, const DoubleArray& values) {
  const auto ns = static_cast<py::ssize_t>(m.signal_count());
  const auto ni = static_cast<py::ssize_t>(m.invariant_count());
  if (times.ndim() != 1) throw std::invalid_argument("times must be a 1-D array");
  const py::ssize_t n = times.shape(0);
  if (values.ndim() != 2 || values.shape(0) != n || values.shape(1) != ns)
    throw std::invalid_argument("values must have shape (len(times), " + std::to_string(ns) + ")");
  py::array_t<bool> active({n, ni});
  DoubleArray value({n, ni});
  py::array_t<std::uint8_t> level(n);
  Status st = Status::ok;
  py::ssize_t k = 0;
  {
    py::gil_scoped_release release;
    const double* t = times.data();
    const double* v = values.data();
    bool* a = active.mutable_data();
    double* val = value.mutable_data();
    std::uint8_t* lv = level.mutable_data();
    for (; k < n; ++k) {
      for (py::ssize_t j = 0; j < ns; ++j) (void)m.set(static_cast<int>(j), v[k * ns + j]);
      st = m.check(t[k]);
      if (st != Status::ok) break;
      for (py::ssize_t i = 0; i < ni; ++i) {
        a[k * ni + i] = m.active(static_cast<int>(i));
        val[k * ni + i] = m.last_value(static_cast<int>(i));
      }
      lv[k] = static_cast<std::uint8_t>(m.verdict().max_active);
    }
  }
  if (st != Status::ok)
    throw std::invalid_argument("InvariantMonitor.run refused sample " + std::to_string(k) + " (times[" +
                                std::to_string(k) + "]): " + to_string(st));
  py::dict out;
  out["active"] = active;
  out["value"] = value;
  out["max_active"] = level;
  return out;
}

}  // namespace

void bind_cycle(py::module_& m);

void bind_safety(py::module_& m) {
  PYBIND11_NUMPY_DTYPE(MonitorEvent, time_s, value, limit, invariant, severity, kind);
  PYBIND11_NUMPY_DTYPE(Transition, time_s, invariant, from, to, cause);
  py::enum_<Severity>(m, "Severity")
      .value("none", Severity::none)
      .value("warning", Severity::warning)
      .value("derate", Severity::derate)
      .value("stop", Severity::stop);
  py::enum_<InvariantKind>(m, "InvariantKind")
      .value("range", InvariantKind::range)
      .value("rate", InvariantKind::rate)
      .value("finite", InvariantKind::finite)
      .value("nis_window", InvariantKind::nis_window)
      .value("always_within", InvariantKind::always_within)
      .value("eventually_within", InvariantKind::eventually_within);
  py::enum_<EventKind>(m, "EventKind")
      .value("set", EventKind::set)
      .value("cleared", EventKind::cleared)
      .value("reset", EventKind::reset);

  py::class_<InvariantSpec>(m, "InvariantSpec", "One invariant over one named signal (see safetwin.safety.Invariant)")
      .def(py::init<>())
      .def_readwrite("name", &InvariantSpec::name)
      .def_readwrite("signal", &InvariantSpec::signal)
      .def_readwrite("kind", &InvariantSpec::kind)
      .def_readwrite("lo", &InvariantSpec::lo)
      .def_readwrite("hi", &InvariantSpec::hi)
      .def_readwrite("window_s", &InvariantSpec::window_s)
      .def_readwrite("severity", &InvariantSpec::severity)
      .def_readwrite("set_count", &InvariantSpec::set_count)
      .def_readwrite("clear_count", &InvariantSpec::clear_count)
      .def_readwrite("clear_lo", &InvariantSpec::clear_lo, "clear band (hysteresis): NaN = lo")
      .def_readwrite("clear_hi", &InvariantSpec::clear_hi, "clear band (hysteresis): NaN = hi");

  py::class_<MonitorConfig>(m, "MonitorConfig")
      .def(py::init([](std::vector<std::string> signals, std::vector<InvariantSpec> invariants, double sample_period_s,
                       std::size_t event_capacity) {
             return MonitorConfig{std::move(signals), std::move(invariants), sample_period_s, event_capacity};
           }),
           py::arg("signals"), py::arg("invariants"), py::arg("sample_period_s") = 1.0, py::arg("event_capacity") = 256)
      .def_readwrite("signals", &MonitorConfig::signals)
      .def_readwrite("invariants", &MonitorConfig::invariants)
      .def_readwrite("sample_period_s", &MonitorConfig::sample_period_s)
      .def_readwrite("event_capacity", &MonitorConfig::event_capacity)
      .def("validate", &MonitorConfig::validate, "Raises ValueError naming the invariant or field");

  py::class_<MonitorVerdict>(m, "MonitorVerdict")
      .def_readonly("max_active", &MonitorVerdict::max_active)
      .def_readonly("active", &MonitorVerdict::active)
      .def_readonly("newly_set", &MonitorVerdict::newly_set)
      .def_readonly("newly_cleared", &MonitorVerdict::newly_cleared)
      .def_readonly("violated_samples", &MonitorVerdict::violated_samples)
      .def_readonly("first_set", &MonitorVerdict::first_set);

  py::class_<InvariantMonitor>(m, "InvariantMonitor", "Runtime invariant monitor (checks run in C++)")
      .def(py::init<MonitorConfig>(), py::arg("config"))
      .def("signal_index", &InvariantMonitor::signal_index)
      .def("invariant_index", &InvariantMonitor::invariant_index)
      .def_property_readonly("signals", &InvariantMonitor::signal_names)
      .def_property_readonly("invariant_count", &InvariantMonitor::invariant_count)
      .def(
          "set",
          [](InvariantMonitor& mon, const py::object& key, double value) {
            raise_on_error(mon.set(signal_of(mon, key), value), "InvariantMonitor.set");
          },
          py::arg("signal"), py::arg("value"))
      .def(
          "check",
          [](InvariantMonitor& mon, double time_s) {
            raise_on_error(mon.check(time_s), "InvariantMonitor.check");
            return mon.verdict();
          },
          py::arg("time_s"))
      .def("run", &run_monitor, py::arg("times"), py::arg("values"),
           "Checks a whole trace (values: one column per signal); returns active, value, max_active arrays")
      .def_property_readonly("verdict", &InvariantMonitor::verdict)
      .def("active", [](const InvariantMonitor& mon, const py::object& k) { return mon.active(invariant_of(mon, k)); })
      .def("latched",
           [](const InvariantMonitor& mon, const py::object& k) { return mon.latched(invariant_of(mon, k)); })
      .def("last_value",
           [](const InvariantMonitor& mon, const py::object& k) { return mon.last_value(invariant_of(mon, k)); })
      .def("spec", [](const InvariantMonitor& mon, const py::object& k) { return mon.spec(invariant_of(mon, k)); })
      .def(
          "reset",
          [](InvariantMonitor& mon, const py::object& k, double time_s) {
            raise_on_error(mon.reset(invariant_of(mon, k), time_s), "InvariantMonitor.reset");
          },
          py::arg("invariant"), py::arg("time_s"))
      .def("reset_all", &InvariantMonitor::reset_all, py::arg("time_s"))
      .def("clear", &InvariantMonitor::clear)
      .def(
          "events", [](const InvariantMonitor& mon) { return log_array(mon.events()); },
          "Events oldest first: structured array (time_s, value, limit, invariant, severity, kind)")
      .def_property_readonly("events_dropped", [](const InvariantMonitor& mon) { return mon.events().dropped(); });

  py::enum_<Barrier>(m, "Barrier")
      .value("voltage_max", Barrier::voltage_max)
      .value("voltage_min", Barrier::voltage_min)
      .value("temp_max", Barrier::temp_max)
      .value("soc_max", Barrier::soc_max)
      .value("soc_min", Barrier::soc_min)
      .value("current_charge", Barrier::current_charge)
      .value("current_discharge", Barrier::current_discharge)
      .value("measured_voltage_max", Barrier::measured_voltage_max)
      .value("measured_voltage_min", Barrier::measured_voltage_min)
      .value("measured_temp_max", Barrier::measured_temp_max);

  py::class_<CbfConfig>(m, "CbfConfig", "CBF safety filter configuration (model, SOC window, class-K gains, margins)")
      .def(py::init<>())
      .def_readwrite("cell", &CbfConfig::cell)
      .def_readwrite("scaling", &CbfConfig::scaling)
      .def_readwrite("soc_min", &CbfConfig::soc_min)
      .def_readwrite("soc_max", &CbfConfig::soc_max)
      .def_readwrite("gamma", &CbfConfig::gamma)
      .def_readwrite("confidence_sigma", &CbfConfig::confidence_sigma)
      .def_readwrite("model_error_v", &CbfConfig::model_error_v)
      .def_readwrite("model_error_k", &CbfConfig::model_error_k)
      .def_readwrite("model_error_soc", &CbfConfig::model_error_soc)
      .def_readwrite("heat_detect_sigma", &CbfConfig::heat_detect_sigma)
      .def_readwrite("measured_limits", &CbfConfig::measured_limits,
                     "the measurement-based barriers on the most conservative valid readings")
      .def_readwrite("measured_voltage_margin_v", &CbfConfig::measured_voltage_margin_v)
      .def_readwrite("measured_temp_margin_k", &CbfConfig::measured_temp_margin_k)
      .def_readwrite("measured_temp_max_k", &CbfConfig::measured_temp_max_k, "NaN: the cell's temp_max_k")
      .def("validate", &CbfConfig::validate);

  py::class_<TwinEstimate>(m, "TwinEstimate", "The adaptive twin's parameters and learned model error for one step")
      .def(py::init<>())
      .def_readwrite("r0_factor", &TwinEstimate::r0_factor)
      .def_readwrite("r0_factor_sigma", &TwinEstimate::r0_factor_sigma)
      .def_readwrite("capacity_factor", &TwinEstimate::capacity_factor)
      .def_readwrite("capacity_factor_sigma", &TwinEstimate::capacity_factor_sigma)
      .def_readwrite("model_error_v", &TwinEstimate::model_error_v)
      .def_readwrite("model_error_k", &TwinEstimate::model_error_k)
      .def_readwrite("extra_heat_w", &TwinEstimate::extra_heat_w, "heat the cell model does not explain, W")
      .def_readwrite("extra_heat_sigma_w", &TwinEstimate::extra_heat_sigma_w)
      .def_readwrite("cooling_factor", &TwinEstimate::cooling_factor, "on the heat transfer (1: nominal)")
      .def_readwrite("cooling_factor_sigma", &TwinEstimate::cooling_factor_sigma);

  py::class_<CbfVerdict>(m, "CbfVerdict", "What the filter decided")
      .def_readonly("status", &CbfVerdict::status)
      .def_readonly("decision", &CbfVerdict::decision)
      .def_readonly("requested_a", &CbfVerdict::requested_a)
      .def_readonly("current_a", &CbfVerdict::current_a)
      .def_readonly("modified", &CbfVerdict::modified)
      .def_readonly("active", &CbfVerdict::active)
      .def_readonly("conflict", &CbfVerdict::conflict)
      .def_readonly("lo_a", &CbfVerdict::lo_a)
      .def_readonly("hi_a", &CbfVerdict::hi_a)
      .def_readonly("barrier_lo_a", &CbfVerdict::barrier_lo_a)
      .def_readonly("barrier_hi_a", &CbfVerdict::barrier_hi_a)
      .def_readonly("voltage_margin_v", &CbfVerdict::voltage_margin_v)
      .def_readonly("temp_margin_k", &CbfVerdict::temp_margin_k)
      .def_readonly("soc_margin", &CbfVerdict::soc_margin)
      .def_property_readonly("active_barriers",
                             [](const CbfVerdict& v) {
                               std::vector<Barrier> out;
                               for (int b = 0; b < kBarrierCount; ++b)
                                 if (v.active & (1u << b)) out.push_back(static_cast<Barrier>(b));
                               return out;
                             })
      .def_property_readonly("conflicting_barriers", [](const CbfVerdict& v) {
        std::vector<Barrier> out;
        for (int b = 0; b < kBarrierCount; ++b)
          if (v.conflict & (1u << b)) out.push_back(static_cast<Barrier>(b));
        return out;
      });

  py::class_<CbfFilter>(m, "CbfFilter",
                        "CBF safety filter: the current closest to the request that keeps every barrier")
      .def(py::init<CbfConfig>(), py::arg("config") = CbfConfig{})
      .def(
          "filter",
          [](const CbfFilter& f, const battery::StateVector& x, const battery::StateMatrix& P, double requested_a,
             double dt_s, double current_scale, double measured_voltage_max_v, double measured_voltage_min_v,
             double measured_temperature_max_k, double measured_current_a, double measured_voltage_max_sigma_v,
             double measured_voltage_min_sigma_v, double measured_voltage_max_change_v,
             double measured_voltage_min_change_v, double measured_current_change_a, const TwinEstimate& twin) {
            CbfVerdict v;
            MeasuredBounds mb;
            mb.voltage_max_v = measured_voltage_max_v;
            mb.voltage_min_v = measured_voltage_min_v;
            mb.temperature_max_k = measured_temperature_max_k;
            mb.current_a = measured_current_a;
            mb.voltage_max_sigma_v = measured_voltage_max_sigma_v;
            mb.voltage_min_sigma_v = measured_voltage_min_sigma_v;
            mb.voltage_max_change_v = measured_voltage_max_change_v;
            mb.voltage_min_change_v = measured_voltage_min_change_v;
            mb.current_change_a = measured_current_change_a;
            (void)f.filter(x, P, requested_a, dt_s, current_scale, mb, twin, v);
            return v;
          },
          py::arg("x"), py::arg("P"), py::arg("requested_a"), py::arg("dt_s"), py::arg("current_scale") = 1.0,
          py::arg("measured_voltage_max_v") = std::numeric_limits<double>::quiet_NaN(),
          py::arg("measured_voltage_min_v") = std::numeric_limits<double>::quiet_NaN(),
          py::arg("measured_temperature_max_k") = std::numeric_limits<double>::quiet_NaN(),
          py::arg("measured_current_a") = 0.0, py::arg("measured_voltage_max_sigma_v") = 0.0,
          py::arg("measured_voltage_min_sigma_v") = 0.0,
          py::arg("measured_voltage_max_change_v") = std::numeric_limits<double>::quiet_NaN(),
          py::arg("measured_voltage_min_change_v") = std::numeric_limits<double>::quiet_NaN(),
          py::arg("measured_current_change_a") = std::numeric_limits<double>::quiet_NaN(),
          py::arg("twin") = TwinEstimate{},
          "The filtered current; the measured_* readings (NaN: none) feed the measurement-based barriers: "
          "each voltage bound with the noise (sigma, V) of the reading behind it and the drift per step the "
          "readings showed (change_v, V, and the current's change_a, A; NaN: not observed), as "
          "ControlCycle passes them (MeasuredBounds in cbf_filter.hpp); twin: the adaptive twin's "
          "parameters, learned model error and thermal estimates (default: the nominal cell)")
      .def_property_readonly("config", &CbfFilter::config);

  // Enum members are spelled as in C++ (Severity.warning, Status.ok): Mode.normal, derated, safe_stop.
  // The upper-case names stay for one release and are listed first, so that .name (the reports,
  // the CSV and JSON outputs, the golden traces) still prints them until that release drops them.
  py::enum_<Mode>(m, "Mode")
      .value("NORMAL", Mode::normal)
      .value("DERATED", Mode::derated)
      .value("SAFE_STOP", Mode::safe_stop)
      .value("normal", Mode::normal)
      .value("derated", Mode::derated)
      .value("safe_stop", Mode::safe_stop);
  py::enum_<TransitionCause>(m, "TransitionCause")
      .value("monitor", TransitionCause::monitor)
      .value("non_finite_input", TransitionCause::non_finite_input)
      .value("deadline", TransitionCause::deadline)
      .value("reset", TransitionCause::reset)
      .value("invalid_step", TransitionCause::invalid_step)
      .value("monitor_failed", TransitionCause::monitor_failed);

  py::class_<SupervisorConfig>(m, "SupervisorConfig")
      .def(py::init<>())
      .def_readwrite("cell", &SupervisorConfig::cell)
      .def_readwrite("scaling", &SupervisorConfig::scaling)
      .def_readwrite("derate_factor", &SupervisorConfig::derate_factor)
      .def_readwrite("hold_max_s", &SupervisorConfig::hold_max_s)
      .def_readwrite("horizon_steps", &SupervisorConfig::horizon_steps)
      .def_readwrite("predictive_check", &SupervisorConfig::predictive_check)
      .def_readwrite("log_capacity", &SupervisorConfig::log_capacity)
      .def("validate", &SupervisorConfig::validate);

  py::class_<SupervisorVerdict>(m, "SupervisorVerdict")
      .def_readonly("mode", &SupervisorVerdict::mode)
      .def_readonly("current_a", &SupervisorVerdict::current_a)
      .def_readonly("contactor_closed", &SupervisorVerdict::contactor_closed)
      .def_readonly("holding", &SupervisorVerdict::holding)
      .def_readonly("predictive_refused", &SupervisorVerdict::predictive_refused)
      .def_readonly("missing_for_s", &SupervisorVerdict::missing_for_s)
      .def_readonly("decision", &SupervisorVerdict::decision);

  py::class_<Supervisor>(m, "Supervisor")
      .def(py::init<SupervisorConfig>(), py::arg("config") = SupervisorConfig{})
      .def_property_readonly("mode", &Supervisor::mode)
      .def_property_readonly("current_scale", &Supervisor::current_scale)
      .def("predict_safe", &Supervisor::predict_safe, py::arg("x"), py::arg("current_a"), py::arg("dt_s"),
           py::arg("voltage_margin_v") = 0.0, py::arg("temp_margin_k") = 0.0)
      .def(
          "transitions", [](const Supervisor& s) { return log_array(s.transitions()); },
          "Mode transitions oldest first: structured array (time_s, invariant, from, to, cause)");

  bind_cycle(m);
}

void bind_cycle(py::module_& m) {
  using namespace safetwin::cycle;
  py::class_<CycleMeasurements>(m, "CycleMeasurements", "One sample of the interval just ended (SI units)")
      .def(py::init([](double time_s, double voltage_a_v, double voltage_b_v, double temperature_k, double current_a,
                       bool voltage_a_valid, bool voltage_b_valid, bool temperature_valid) {
             return CycleMeasurements{time_s,    voltage_a_v,     voltage_b_v,     temperature_k,
                                      current_a, voltage_a_valid, voltage_b_valid, temperature_valid};
           }),
           py::arg("time_s"), py::arg("voltage_a_v"), py::arg("voltage_b_v"), py::arg("temperature_k"),
           py::arg("current_a"), py::arg("voltage_a_valid") = true, py::arg("voltage_b_valid") = true,
           py::arg("temperature_valid") = true)
      .def_readwrite("time_s", &CycleMeasurements::time_s)
      .def_readwrite("voltage_a_v", &CycleMeasurements::voltage_a_v)
      .def_readwrite("voltage_b_v", &CycleMeasurements::voltage_b_v)
      .def_readwrite("temperature_k", &CycleMeasurements::temperature_k)
      .def_readwrite("current_a", &CycleMeasurements::current_a)
      .def_readwrite("voltage_a_valid", &CycleMeasurements::voltage_a_valid)
      .def_readwrite("voltage_b_valid", &CycleMeasurements::voltage_b_valid)
      .def_readwrite("temperature_valid", &CycleMeasurements::temperature_valid);

  py::class_<PlausibilityConfig>(m, "PlausibilityConfig",
                                 "Redundant voltage nodes compared every cycle (see control_cycle.hpp)")
      .def(py::init<>())
      .def_readwrite("enabled", &PlausibilityConfig::enabled)
      .def_readwrite("sigma_factor", &PlausibilityConfig::sigma_factor)
      .def_readwrite("offset_v", &PlausibilityConfig::offset_v)
      .def_readwrite("debounce_s", &PlausibilityConfig::debounce_s)
      .def_readwrite("clear_s", &PlausibilityConfig::clear_s)
      .def_readwrite("baseline_s", &PlausibilityConfig::baseline_s)
      .def_readwrite("severity", &PlausibilityConfig::severity)
      .def("validate", &PlausibilityConfig::validate);

  py::class_<CycleConfig> cc(m, "CycleConfig", "Configuration of the control cycle");
  cc.def(py::init<>())
      .def_readwrite("cbf", &CycleConfig::cbf)
      .def_readwrite("supervisor", &CycleConfig::supervisor)
      .def_readwrite("monitor", &CycleConfig::monitor)
      .def_readwrite("plausibility", &CycleConfig::plausibility)
      .def_readwrite("anomaly", &CycleConfig::anomaly, "the anomaly alarm (AnomalyAlarmConfig, off by default)")
      .def_readwrite("current_share", &CycleConfig::current_share,
                     "largest multiple of the cycle's per-cell current one cell of a parallel group may carry")
      .def_readwrite("adaptive_twin", &CycleConfig::adaptive_twin,
                     "predict with the estimator's R0/capacity estimates (False freezes the configured cell)")
      .def_readwrite("learn_model_error", &CycleConfig::learn_model_error)
      .def_readwrite("estimate_cooling", &CycleConfig::estimate_cooling,
                     "the thermal twin: cooling factor and unexplained heat from the measured temperature")
      .def_readwrite("heat_fault_w", &CycleConfig::heat_fault_w,
                     "unexplained heat (W) past which the current limits are derated until reset")
      .def_readwrite("model_error_window_s", &CycleConfig::model_error_window_s)
      .def_readwrite("model_error_quantile", &CycleConfig::model_error_quantile)
      .def("validate", &CycleConfig::validate);
  // The estimator's whole configuration when bind_estimation registered BatteryEkfConfig; the
  // initial-estimate fields below work either way.
  cc.def_readwrite("estimator", &CycleConfig::estimator);
  cc.def_property(
        "soc0", [](const CycleConfig& c) { return c.estimator.soc0; },
        [](CycleConfig& c, double v) { c.estimator.soc0 = v; })
      .def_property(
          "soc_sigma0", [](const CycleConfig& c) { return c.estimator.soc_sigma0; },
          [](CycleConfig& c, double v) { c.estimator.soc_sigma0 = v; })
      .def_property(
          "temp0_k", [](const CycleConfig& c) { return c.estimator.temp0_k; },
          [](CycleConfig& c, double v) { c.estimator.temp0_k = v; })
      .def_property(
          "cell", [](const CycleConfig& c) { return c.cbf.cell; },
          [](CycleConfig& c, const battery::CellParams& p) {
            c.estimator.cell = p;  // one model for the estimator, the filter and the supervisor
            c.cbf.cell = p;
            c.supervisor.cell = p;
          });

  py::class_<CycleStatus>(m, "CycleStatus", "What one cycle step decided")
      .def_readonly("status", &CycleStatus::status)
      .def_readonly("command_a", &CycleStatus::command_a)
      .def_readonly("contactor_closed", &CycleStatus::contactor_closed)
      .def_readonly("mode", &CycleStatus::mode)
      .def_readonly("requested_a", &CycleStatus::requested_a)
      .def_readonly("estimator_status", &CycleStatus::estimator_status)
      .def_readonly("controller_status", &CycleStatus::controller_status)
      .def_readonly("controller_decision", &CycleStatus::controller_decision)
      .def_readonly("supervisor_status", &CycleStatus::supervisor_status)
      .def_readonly("x", &CycleStatus::x)
      .def_readonly("P", &CycleStatus::P)
      .def_readonly("cbf", &CycleStatus::cbf)
      .def_readonly("monitor", &CycleStatus::monitor)
      .def_readonly("supervisor", &CycleStatus::supervisor)
      .def_readonly("twin", &CycleStatus::twin, "the twin the filter and the supervisor predicted with")
      .def_readonly("heat_fault", &CycleStatus::heat_fault, "the latched heat fault (CycleConfig.heat_fault_w)");

  // The estimator's channel enum (bind_estimation registers it; registered here only without it).
  if (!py::detail::get_type_info(typeid(estimation::Channel))) {
    py::enum_<estimation::Channel>(m, "Channel", "Measurement channel of the estimator (noise scale target)")
        .value("voltage_a", estimation::Channel::voltage_a)
        .value("voltage_b", estimation::Channel::voltage_b)
        .value("temperature", estimation::Channel::temperature);
  }
  m.attr("CycleChannel") = py::detail::get_type_handle(typeid(estimation::Channel), true);

  py::class_<ControlCycle>(m, "ControlCycle",
                           "estimator -> controller -> CBF filter -> supervisor/monitor, one step per period")
      .def(py::init<CycleConfig, control::Controller*>(), py::arg("config"), py::arg("controller") = nullptr,
           py::keep_alive<1, 3>())
      .def("set_controller", &ControlCycle::set_controller, py::arg("controller"), py::keep_alive<1, 2>())
      .def(
          "step",
          [](ControlCycle& c, const CycleMeasurements& meas, double dt_s) {
            CycleStatus out;
            (void)c.step(meas, dt_s, out);  // the status is in out.status; a step never raises
            return out;
          },
          py::arg("measurements"), py::arg("dt_s"))
      .def(
          "set_noise_scale",
          [](ControlCycle& c, estimation::Channel ch, double s) {
            raise_on_error(c.set_noise_scale(ch, s),
                           "ControlCycle.set_noise_scale(s=" + std::to_string(s) + ", must be >= 1)");
          },
          py::arg("channel"), py::arg("scale"))
      .def("noise_scale", [](const ControlCycle& c, estimation::Channel ch) { return c.estimator().noise_scale(ch); })
      .def("signal_index", &ControlCycle::signal_index)
      .def(
          "set_signal",
          [](ControlCycle& c, const py::object& key, double value) {
            const int i = py::isinstance<py::str>(key) ? c.signal_index(key.cast<std::string>()) : key.cast<int>();
            if (i < 0) throw std::invalid_argument("unknown signal '" + py::str(key).cast<std::string>() + "'");
            raise_on_error(c.set_signal(i, value), "ControlCycle.set_signal");
          },
          py::arg("signal"), py::arg("value"))
      .def("reset", &ControlCycle::reset, py::arg("time_s"))
      .def_property_readonly("mode", [](const ControlCycle& c) { return c.supervisor().mode(); })
      .def("events", [](const ControlCycle& c) { return log_array(c.monitor().events()); })
      .def("transitions", [](const ControlCycle& c) { return log_array(c.supervisor().transitions()); })
      .def("invariant_name", [](const ControlCycle& c, int i) { return c.monitor().spec(i).name; });
}

}  // namespace safetwin::bindings
