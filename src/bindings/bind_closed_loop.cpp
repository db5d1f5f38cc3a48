// Bindings of the closed-loop runner: the spec as plain structs (lists/arrays in), one run() with
// the GIL released (a Python law takes it back in its trampoline), the trace as numpy arrays out.
#include <pybind11/stl.h>

#include <vector>

#include "bindings.hpp"
#include "safetwin/cycle/closed_loop.hpp"

namespace safetwin::bindings {

using namespace safetwin::cycle;

namespace {

template <class T>
py::array_t<T> rows(const std::vector<T>& v, std::size_t n, std::size_t width) {
  if (v.empty()) return py::array_t<T>(std::vector<py::ssize_t>{0});
  if (width == 0) return py::array_t<T>(static_cast<py::ssize_t>(n), v.data());
  return py::array_t<T>({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(width)}, v.data());
}

// A counterfactual's summary (CounterfactualSpec): its plant fields only, the cycle did not run for it.
py::dict plant_summary_dict(const LoopSummary& s) {
  py::dict d;
  d["status"] = s.status;
  d["steps"] = s.steps;
  d["min_margin_voltage_max_v"] = s.min_margin_voltage_max_v;
  d["min_margin_voltage_min_v"] = s.min_margin_voltage_min_v;
  d["min_margin_temp_max_k"] = s.min_margin_temp_max_k;
  d["min_margin_temp_min_k"] = s.min_margin_temp_min_k;
  d["min_margin_charge_current_a"] = s.min_margin_charge_current_a;
  d["min_margin_discharge_current_a"] = s.min_margin_discharge_current_a;
  d["first_violation_voltage_max_s"] = s.first_violation_voltage_max_s;
  d["first_violation_voltage_min_s"] = s.first_violation_voltage_min_s;
  d["first_violation_temp_max_s"] = s.first_violation_temp_max_s;
  d["first_violation_temp_min_s"] = s.first_violation_temp_min_s;
  d["first_violation_charge_current_s"] = s.first_violation_charge_current_s;
  d["first_violation_discharge_current_s"] = s.first_violation_discharge_current_s;
  d["max_abs_cell_current_a"] = s.max_abs_cell_current_a;
  d["max_current_ratio"] = s.max_current_ratio;
  d["max_voltage_v"] = s.max_voltage_v;
  d["min_voltage_v"] = s.min_voltage_v;
  d["max_temp_k"] = s.max_temp_k;
  d["first_fault_s"] = s.first_fault_s;
  d["replacement_s"] = s.replacement_s;
  d["final_soc_min"] = s.final_soc_min;
  d["final_soc_max"] = s.final_soc_max;
  return d;
}

// The run's summary: the plant fields a counterfactual has too, then what the cycle did.
py::dict summary_dict(const LoopSummary& s) {
  py::dict d = plant_summary_dict(s);
  d["first_event_s"] = s.first_event_s;
  d["first_event_after_fault_s"] = s.first_event_after_fault_s;
  d["first_mode_change_s"] = s.first_mode_change_s;
  d["first_mode_change_after_fault_s"] = s.first_mode_change_after_fault_s;
  d["first_safe_stop_s"] = s.first_safe_stop_s;
  d["first_detection_s"] = s.first_detection_s;
  d["first_detection_group"] = s.first_detection_group;
  d["first_detection_invariant"] = s.first_detection_invariant;
  d["controller_failures"] = s.controller_failures;
  d["final_mode"] = s.final_mode;
  d["nonfinite_commands"] = s.nonfinite_commands;
  d["nonfinite_requests"] = s.nonfinite_requests;
  d["events"] = s.events;
  d["frames"] = s.frames;  // reporting (report_schedule.hpp)
  d["frames_by_node"] = py::dict(py::arg("voltage_a") = s.frames_by_node[0], py::arg("voltage_b") = s.frames_by_node[1],
                                 py::arg("temperature") = s.frames_by_node[2]);
  d["event_reports"] = s.event_reports;
  d["missed_reports"] = s.missed_reports;
  d["schedule_frames"] = s.schedule_frames;
  d["horizon_events"] = s.horizon_events;
  d["mean_report_interval_s"] = s.mean_report_interval_s;
  return d;
}

py::dict trace_dict(const ClosedLoop& loop) {
  const ClosedLoop::Trace& t = loop.trace();
  const std::size_t n = loop.summary().steps;  // rows run (all of them unless a plant step was refused)
  const std::size_t c = loop.cells(), g = loop.groups();
  py::dict d;
  d["cell_voltage_v"] = rows(t.cell_voltage_v, n, c);
  d["cell_temp_k"] = rows(t.cell_temp_k, n, c);
  d["cell_soc"] = rows(t.cell_soc, n, c);
  d["cell_current_a"] = rows(t.cell_current_a, n, c);
  d["voltage_max_v"] = rows(t.voltage_max_v, n, 0);
  d["voltage_min_v"] = rows(t.voltage_min_v, n, 0);
  d["temp_max_k"] = rows(t.temp_max_k, n, 0);
  d["soc_min"] = rows(t.soc_min, n, 0);
  d["soc_max"] = rows(t.soc_max, n, 0);
  d["abs_current_max_a"] = rows(t.abs_current_max_a, n, 0);
  d["voltage_a_v"] = rows(t.voltage_a_v, n, g);
  d["voltage_b_v"] = rows(t.voltage_b_v, n, g);
  d["temperature_k"] = rows(t.temperature_k, n, g);
  d["voltage_a_valid"] = rows(t.voltage_a_valid, n, g);
  d["voltage_b_valid"] = rows(t.voltage_b_valid, n, g);
  d["temperature_valid"] = rows(t.temperature_valid, n, g);
  d["measured_current_a"] = rows(t.measured_current_a, n, 0);
  d["applied_current_a"] = rows(t.applied_current_a, n, 0);
  d["command_a"] = rows(t.command_a, n, 0);
  d["requested_a"] = rows(t.requested_a, n, 0);
  d["mode"] = rows(t.mode, n, 0);
  d["status"] = rows(t.status, n, 0);
  d["soc_est"] = rows(t.soc_est, n, g);
  d["soc_sigma"] = rows(t.soc_sigma, n, g);
  d["temp_est_k"] = rows(t.temp_est_k, n, g);
  d["cycle_ns"] = rows(t.cycle_ns, n, 0);
  d["trust"] = rows(t.trust, n, t.trust.empty() ? 0 : t.trust.size() / loop.total_steps());
  return d;
}

}  // namespace

void bind_closed_loop(py::module_& m) {
  py::class_<NoiseStream>(m, "NoiseStream", "splitmix64 as a counter: bits(i) is the i-th output of the seeded stream")
      .def(py::init<std::uint64_t>(), py::arg("seed") = 0)
      .def("bits", &NoiseStream::bits, py::arg("i"))
      .def("uniform", &NoiseStream::uniform, py::arg("i"))
      .def("normal", &NoiseStream::normal, py::arg("i"), "Standard normal number i (Box-Muller on uniforms 2i, 2i+1)")
      .def(
          "normals",
          [](const NoiseStream& s, std::uint64_t start, std::size_t count) {
            DoubleArray a(static_cast<py::ssize_t>(count));
            double* p = a.mutable_data();
            for (std::size_t i = 0; i < count; ++i) p[i] = s.normal(start + i);
            return a;
          },
          py::arg("start"), py::arg("count"), "Normal numbers start .. start+count-1 as an array")
      .def_property_readonly("seed", &NoiseStream::seed);

  py::enum_<LawKind>(m, "LawKind", "The control law of a closed-loop run")
      .value("controllers", LawKind::controllers)
      .value("constant", LawKind::constant)
      .value("profile", LawKind::profile)
      .value("bang_bang", LawKind::bang_bang)
      .value("non_finite", LawKind::non_finite)
      .value("cccv", LawKind::cccv);

  py::class_<LawSpec>(m, "LawSpec", "A built-in law (per-cell currents, > 0 discharges) or the external controllers")
      .def(py::init<>())
      .def_readwrite("kind", &LawSpec::kind)
      .def_readwrite("current_a", &LawSpec::current_a)
      .def_readwrite("period_s", &LawSpec::period_s)
      .def_readwrite("profile_a", &LawSpec::profile_a)
      .def_readwrite("cccv", &LawSpec::cccv);

  py::enum_<FaultKind>(m, "FaultKind", "A fault of a closed-loop run (see closed_loop.hpp for target/node/value)")
      .value("internal_short", FaultKind::internal_short)
      .value("cooling_loss", FaultKind::cooling_loss)
      .value("connection_resistance", FaultKind::connection_resistance)
      .value("voltage_stuck", FaultKind::voltage_stuck)
      .value("voltage_offset", FaultKind::voltage_offset)
      .value("voltage_drift", FaultKind::voltage_drift)
      .value("voltage_noise", FaultKind::voltage_noise)
      .value("voltage_dropout", FaultKind::voltage_dropout)
      .value("voltage_nan", FaultKind::voltage_nan)
      .value("temperature_stuck", FaultKind::temperature_stuck)
      .value("temperature_offset", FaultKind::temperature_offset)
      .value("current_offset", FaultKind::current_offset)
      .value("stealthy_injection", FaultKind::stealthy_injection)
      .value("link_loss", FaultKind::link_loss);

  py::class_<FaultSpec>(m, "FaultSpec", "A fault from onset_s to end_s on a cell (plant) or a group (sensor)")
      .def(py::init([](FaultKind kind, double onset_s, double end_s, int target, int node, double value,
                       double ramp_s) { return FaultSpec{kind, onset_s, end_s, target, node, value, ramp_s}; }),
           py::arg("kind"), py::arg("onset_s"), py::arg("end_s") = std::numeric_limits<double>::infinity(),
           py::arg("target") = 0, py::arg("node") = 0, py::arg("value") = 0.0, py::arg("ramp_s") = 0.0)
      .def_readwrite("kind", &FaultSpec::kind)
      .def_readwrite("onset_s", &FaultSpec::onset_s)
      .def_readwrite("end_s", &FaultSpec::end_s)
      .def_readwrite("target", &FaultSpec::target)
      .def_readwrite("node", &FaultSpec::node)
      .def_readwrite("value", &FaultSpec::value)
      .def_readwrite("ramp_s", &FaultSpec::ramp_s);

  py::class_<SensorNoise>(m, "SensorNoise", "Standard deviations of the sensors' noise")
      .def(py::init([](double va, double vb, double t, double i, bool b) {
             return SensorNoise{va, vb, t, i, b};
           }),
           py::arg("voltage_a_v") = 0.0, py::arg("voltage_b_v") = 0.0, py::arg("temperature_k") = 0.0,
           py::arg("current_a") = 0.0, py::arg("voltage_b") = true)
      .def_readwrite("voltage_a_v", &SensorNoise::voltage_a_v)
      .def_readwrite("voltage_b_v", &SensorNoise::voltage_b_v)
      .def_readwrite("temperature_k", &SensorNoise::temperature_k)
      .def_readwrite("current_a", &SensorNoise::current_a)
      .def_readwrite("voltage_b", &SensorNoise::voltage_b);

  py::class_<Replacement>(m, "Replacement",
                          "The law from a time on (the counterfactual): a direct current or a built-in law")
      .def(py::init<>())
      .def_readwrite("enabled", &Replacement::enabled)
      .def_readwrite("at_first_fault", &Replacement::at_first_fault)
      .def_readwrite("time_s", &Replacement::time_s)
      .def_readwrite("direct", &Replacement::direct)
      .def_readwrite("current_a", &Replacement::current_a)
      .def_readwrite("law", &Replacement::law);

  py::class_<CounterfactualSpec>(
      m, "CounterfactualSpec",
      "Plant-only counterfactuals beside the run at a direct pack current: from t = 0 and from the fork time "
      "(the first fault onset or time_s), forked from the run's plant (no second run)")
      .def(py::init<>())
      .def_readwrite("enabled", &CounterfactualSpec::enabled)
      .def_readwrite("current_a", &CounterfactualSpec::current_a)
      .def_readwrite("at_first_fault", &CounterfactualSpec::at_first_fault)
      .def_readwrite("time_s", &CounterfactualSpec::time_s);

  py::enum_<TraceLevel>(m, "TraceLevel", "What a closed-loop run keeps per step")
      .value("none", TraceLevel::none)
      .value("extremes", TraceLevel::extremes)
      .value("full", TraceLevel::full);

  py::class_<LoopSpec>(m, "LoopSpec", "Everything one closed-loop run needs (SI units; see closed_loop.hpp)")
      .def(py::init<>())
      .def_readwrite("duration_s", &LoopSpec::duration_s)
      .def_readwrite("dt_s", &LoopSpec::dt_s)
      .def_readwrite("use_pack_cycle", &LoopSpec::use_pack_cycle)
      .def_readwrite("cycle", &LoopSpec::cycle)
      .def_readwrite("plant", &LoopSpec::plant)
      .def_readwrite("scaling", &LoopSpec::scaling)
      .def_readwrite("soc0", &LoopSpec::soc0)
      .def_readwrite("temp0_k", &LoopSpec::temp0_k)
      .def_readwrite("ambient_k", &LoopSpec::ambient_k)
      .def_readwrite("law", &LoopSpec::law)
      .def_readwrite("noise", &LoopSpec::noise)
      .def_readwrite("seed", &LoopSpec::seed)
      .def_readwrite("faults", &LoopSpec::faults)
      .def_readwrite("injection_a_v", &LoopSpec::injection_a_v)
      .def_readwrite("injection_b_v", &LoopSpec::injection_b_v)
      .def_readwrite("injection_temperature_k", &LoopSpec::injection_temperature_k)
      .def_readwrite("injection_current_a", &LoopSpec::injection_current_a)
      .def_readwrite("attestation", &LoopSpec::attestation)
      .def_readwrite("replacement", &LoopSpec::replacement)
      .def_readwrite("counterfactual", &LoopSpec::counterfactual)
      .def_readwrite("trace", &LoopSpec::trace)
      .def_readwrite("reporting", &LoopSpec::reporting)
      .def_property_readonly("steps", &LoopSpec::steps)
      .def("__copy__", [](const LoopSpec& s) { return s; })
      .def(
          "__deepcopy__", [](const LoopSpec& s, const py::dict&) { return s; }, py::arg("memo"));

  py::class_<ClosedLoop>(m, "ClosedLoop", "Plant + sensors + faults + guarded cycle, a whole run in one C++ call")
      .def(py::init([](LoopSpec spec, const std::vector<control::Controller*>& controllers) {
             return std::make_unique<ClosedLoop>(std::move(spec), controllers);
           }),
           py::arg("spec"), py::arg("controllers") = std::vector<control::Controller*>{}, py::keep_alive<1, 3>())
      .def(
          "run",
          [](ClosedLoop& loop) {
            Status st;
            {
              py::gil_scoped_release release;
              st = loop.run();
            }
            return st;
          },
          "Runs the remaining steps; returns the status (a refused plant step ends the run early)")
      .def(
          "advance",
          [](ClosedLoop& loop, std::size_t steps) {
            py::gil_scoped_release release;
            return loop.advance(steps);
          },
          py::arg("steps"))
      .def_property_readonly("total_steps", &ClosedLoop::total_steps)
      .def_property_readonly("steps_done", &ClosedLoop::steps_done)
      .def_property_readonly("cells", &ClosedLoop::cells)
      .def_property_readonly("groups", &ClosedLoop::groups)
      .def(
          "summary", [](const ClosedLoop& l) { return summary_dict(l.summary()); }, "The run's summary as a dict")
      .def(
          "counterfactual_from_start",
          [](const ClosedLoop& l) { return plant_summary_dict(l.counterfactual_from_start()); },
          "The plant-only counterfactual from t = 0 (plant fields; status not_initialised: not enabled)")
      .def(
          "counterfactual_at_onset",
          [](const ClosedLoop& l) { return plant_summary_dict(l.counterfactual_at_onset()); },
          "The plant-only counterfactual from the fork time (plant fields; status not_initialised: not enabled "
          "or the fork time not reached)")
      .def("trace", &trace_dict, "The run's trace as numpy arrays (rows = steps run; empty below its TraceLevel)")
      .def_property_readonly(
          "plant", [](const ClosedLoop& l) -> const battery::Pack& { return l.plant(); },
          py::return_value_policy::reference_internal)
      .def_property_readonly("pack_cycle", py::overload_cast<>(&ClosedLoop::pack_cycle),
                             py::return_value_policy::reference_internal, "The PackCycle that ran (None for one cell)")
      .def_property_readonly("cell_cycle", py::overload_cast<>(&ClosedLoop::cell_cycle),
                             py::return_value_policy::reference_internal,
                             "The ControlCycle that ran (None for a pack)");
}

}  // namespace safetwin::bindings
