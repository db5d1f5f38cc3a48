// Bindings of the pack control cycle: numpy arrays per series group in, a status out.
#include <pybind11/stl.h>

#include <vector>

#include "bindings.hpp"
#include "safetwin/cycle/pack_cycle.hpp"

namespace safetwin::bindings {

using namespace safetwin::cycle;

namespace {

using U8Array = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

const double* group_array(const py::object& a, std::vector<DoubleArray>& keep, std::size_t n, const char* name,
                          bool required) {
  if (a.is_none()) {
    if (required) throw std::invalid_argument(std::string(name) + " is required");
    return nullptr;
  }
  keep.push_back(a.cast<DoubleArray>());
  const DoubleArray& arr = keep.back();
  if (arr.ndim() != 1 || static_cast<std::size_t>(arr.size()) != n)
    throw std::invalid_argument(std::string(name) + " must be a 1-D array of " + std::to_string(n) +
                                " entries (one per series group), got shape of size " + std::to_string(arr.size()));
  return arr.data();
}

const std::uint8_t* flag_array(const py::object& a, std::vector<U8Array>& keep, std::size_t n, const char* name) {
  if (a.is_none()) return nullptr;
  keep.push_back(a.cast<U8Array>());
  if (keep.back().ndim() != 1 || static_cast<std::size_t>(keep.back().size()) != n)
    throw std::invalid_argument(std::string(name) + " must be a 1-D array of " + std::to_string(n) + " entries");
  return keep.back().data();
}

}  // namespace

void bind_pack_cycle(py::module_& m) {
  py::class_<PackTrustConfig>(m, "PackTrustConfig", "Trust weighting of the pack cycle's estimators")
      .def(py::init<>())
      .def_readwrite("enabled", &PackTrustConfig::enabled)
      .def_readwrite("weighting", &PackTrustConfig::weighting, "False: trust reported, noise scales kept at 1")
      .def_readwrite("nodes", &PackTrustConfig::nodes)
      .def_readwrite("config", &PackTrustConfig::config)
      .def_property(
          "channels",
          [](const PackTrustConfig& c) {
            py::list out;
            for (const auto& ch : c.channels) out.append(py::make_tuple(ch.voltage_a, ch.voltage_b, ch.temperature));
            return out;
          },
          [](PackTrustConfig& c, const std::vector<std::array<int, 3>>& rows) {
            c.channels.clear();
            for (const auto& r : rows) c.channels.push_back(trust::ChannelNodes{r[0], r[1], r[2]});
          },
          "Per group (voltage_a node, voltage_b node, temperature node); -1 = not weighted");

  py::class_<PackCycleConfig>(m, "PackCycleConfig",
                              "A pack cycle: series groups of parallel cells, one cycle per group")
      .def(py::init([](int series, int parallel) {
             PackCycleConfig c;
             c.series = series;
             c.parallel = parallel;
             return c;
           }),
           py::arg("series") = 1, py::arg("parallel") = 1)
      .def_readwrite("series", &PackCycleConfig::series)
      .def_readwrite("parallel", &PackCycleConfig::parallel)
      .def_readwrite("cell", &PackCycleConfig::cell, "The per-cell CycleConfig every group runs")
      .def_readwrite("trust", &PackCycleConfig::trust)
      .def_readwrite("parallel_resistance_spread", &PackCycleConfig::parallel_resistance_spread,
                     "relative spread of the cells' resistances in a parallel group, [0, 1)")
      .def("validate", &PackCycleConfig::validate);

  py::class_<PackCycleStatus>(m, "PackCycleStatus", "What one pack cycle step decided")
      .def_readonly("status", &PackCycleStatus::status)
      .def_readonly("command_a", &PackCycleStatus::command_a, "pack current to apply, A (> 0 discharges)")
      .def_readonly("contactor_closed", &PackCycleStatus::contactor_closed)
      .def_readonly("mode", &PackCycleStatus::mode)
      .def_readonly("limiting_group", &PackCycleStatus::limiting_group);

  py::class_<PackCycle>(m, "PackCycle", "One guarded control cycle per series group; the most conservative command")
      .def(py::init([](PackCycleConfig config, const std::vector<control::Controller*>& controllers) {
             return std::make_unique<PackCycle>(std::move(config), controllers);
           }),
           py::arg("config"), py::arg("controllers"), py::keep_alive<1, 3>())
      .def(
          "step",
          [](PackCycle& pc, double time_s, double pack_current_a, const py::object& voltage_a_v,
             const py::object& temperature_k, double dt_s, const py::object& voltage_b_v, const py::object& attestation,
             const py::object& voltage_a_valid, const py::object& voltage_b_valid,
             const py::object& temperature_valid) {
            const std::size_t n = pc.groups();
            std::vector<DoubleArray> keep;
            std::vector<U8Array> keep_flags;
            keep.reserve(3);
            keep_flags.reserve(4);
            PackMeasurements meas;
            meas.time_s = time_s;
            meas.pack_current_a = pack_current_a;
            meas.voltage_a_v = group_array(voltage_a_v, keep, n, "voltage_a_v", true);
            meas.temperature_k = group_array(temperature_k, keep, n, "temperature_k", true);
            meas.voltage_b_v = group_array(voltage_b_v, keep, n, "voltage_b_v", false);
            meas.voltage_a_valid = flag_array(voltage_a_valid, keep_flags, n, "voltage_a_valid");
            meas.voltage_b_valid = flag_array(voltage_b_valid, keep_flags, n, "voltage_b_valid");
            meas.temperature_valid = flag_array(temperature_valid, keep_flags, n, "temperature_valid");
            if (!attestation.is_none()) {
              if (!pc.has_trust()) throw std::invalid_argument("attestation given but the pack cycle has no trust");
              keep_flags.push_back(attestation.cast<U8Array>());
              const auto& a = keep_flags.back();
              if (a.ndim() != 1 || static_cast<std::size_t>(a.size()) != pc.trust()->nodes())
                throw std::invalid_argument("attestation must hold one verdict per trust node (" +
                                            std::to_string(pc.trust()->nodes()) + ")");
              for (py::ssize_t i = 0; i < a.size(); ++i)
                if (!trust::is_valid_attestation(a.data()[i]))
                  throw std::invalid_argument(
                      "attestation[" + std::to_string(i) + "] = " + std::to_string(a.data()[i]) +
                      ": must be a trust::Attestation code 0..7 (0 none, 1 pass, 2..7 fail reasons)");
              meas.attestation = reinterpret_cast<const trust::Attestation*>(a.data());
            }
            PackCycleStatus out;
            (void)pc.step(meas, dt_s, out);  // the status is in out.status; a step never raises
            return out;
          },
          py::arg("time_s"), py::arg("pack_current_a"), py::arg("voltage_a_v"), py::arg("temperature_k"),
          py::arg("dt_s"), py::arg("voltage_b_v") = py::none(), py::arg("attestation") = py::none(),
          py::arg("voltage_a_valid") = py::none(), py::arg("voltage_b_valid") = py::none(),
          py::arg("temperature_valid") = py::none(),
          "One period: the sample of the interval just ended (group voltages in V, hottest cell per group in K, "
          "measured pack current in A); attestation: one verdict per trust node (0 none, 1 passed, 2 failed)")
      .def_property_readonly("groups", &PackCycle::groups)
      .def("group", py::overload_cast<std::size_t>(&PackCycle::group), py::arg("g"),
           py::return_value_policy::reference_internal, "The ControlCycle of series group g")
      .def("group_status", &PackCycle::group_status, py::arg("g"), py::return_value_policy::copy)
      .def(
          "trust",
          [](const PackCycle& pc) {
            std::vector<double> t;
            if (pc.has_trust())
              for (std::size_t i = 0; i < pc.trust()->nodes(); ++i) t.push_back(pc.trust()->state().trust(i));
            return t;
          },
          "Trust of each node (empty without trust)")
      .def("reset", &PackCycle::reset, py::arg("time_s"));
}

}  // namespace safetwin::bindings
