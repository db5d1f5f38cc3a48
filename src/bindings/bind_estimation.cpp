// safetwin._core estimation classes: BatteryEkf, PackEstimator, whole-log replays, chi-square
// helpers. Thin: argument checks that raise (naming the argument) before the noexcept core runs.
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "bindings.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/chi_square.hpp"
#include "safetwin/estimation/pack_estimator.hpp"
#include "safetwin/estimation/replay.hpp"

namespace safetwin::bindings {

using namespace safetwin::estimation;
using OptArray = std::optional<DoubleArray>;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

void require_finite_arg(const char* name, double v) {
  if (!std::isfinite(v))
    throw std::invalid_argument(std::string(name) + " = " + std::to_string(v) + ": must be finite");
}

void check_dt(double dt_s) {
  if (!(std::isfinite(dt_s) && dt_s > 0.0))
    throw std::invalid_argument("dt_s = " + std::to_string(dt_s) + ": must be finite and > 0");
}

// A 1-D array of length n (or null when absent).
const double* column(const OptArray& a, const char* name, py::ssize_t n) {
  if (!a) return nullptr;
  if (a->ndim() != 1 || a->shape(0) != n)
    throw std::invalid_argument(std::string(name) + " must be a 1-D array of length " + std::to_string(n) +
                                " (got shape with " + std::to_string(a->ndim()) + " dims, " +
                                std::to_string(a->size()) + " values)");
  return a->data();
}

// An n x g array (or null when absent).
const double* matrix(const OptArray& a, const char* name, py::ssize_t n, py::ssize_t g) {
  if (!a) return nullptr;
  if (a->ndim() != 2 || a->shape(0) != n || a->shape(1) != g)
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(n) + ", " +
                                std::to_string(g) + ")");
  return a->data();
}

Measurement make_measurement(std::optional<double> va, std::optional<double> vb, std::optional<double> t) {
  Measurement z;
  if (va) {
    z.voltage_a_v = *va;
    z.voltage_a_valid = true;
  }
  if (vb) {
    z.voltage_b_v = *vb;
    z.voltage_b_valid = true;
  }
  if (t) {
    z.temperature_k = *t;
    z.temperature_valid = true;
  }
  return z;
}

void set_scale(BatteryEkf& e, Channel c, double s) {
  const Status st = e.set_noise_scale(c, s);
  if (st != Status::ok)
    throw std::invalid_argument("noise scale s = " + std::to_string(s) + ": must be finite and >= 1 (" + to_string(st) +
                                "); scale left unchanged");
}

py::dict report_dict(const BatteryEkf& e) {
  const auto& r = e.report();
  py::dict d;
  d["innovation"] = DoubleArray(kChannelCount, r.channel.innovation.data());
  d["innovation_variance"] = DoubleArray(kChannelCount, r.channel.innovation_variance.data());
  d["channel_nis"] = DoubleArray(kChannelCount, r.channel.nis.data());
  py::array_t<std::uint8_t> flags(kChannelCount);
  for (int i = 0; i < kChannelCount; ++i) flags.mutable_at(i) = r.channel.flags[i];
  d["channel_flags"] = flags;
  d["nis"] = r.nis;
  d["fused"] = r.fused;
  d["flags"] = r.flags;
  return d;
}

}  // namespace

ReplayInput replay_input(const DoubleArray& t_s, const DoubleArray& current_a, const OptArray& voltage_a_v,
                         const OptArray& voltage_b_v, const OptArray& temperature_k) {
  if (t_s.ndim() != 1) throw std::invalid_argument("t_s must be a 1-D array");
  const py::ssize_t n = t_s.shape(0);
  ReplayInput in;
  in.n = static_cast<std::size_t>(n);
  in.t_s = t_s.data();
  in.current_a = column(current_a, "current_a", n);
  in.voltage_a_v = column(voltage_a_v, "voltage_a_v", n);
  in.voltage_b_v = column(voltage_b_v, "voltage_b_v", n);
  in.temperature_k = column(temperature_k, "temperature_k", n);
  for (py::ssize_t k = 0; k < n; ++k) {
    if (!std::isfinite(in.t_s[k]))
      throw std::invalid_argument("t_s[" + std::to_string(k) + "] = " + std::to_string(in.t_s[k]) + ": must be finite");
    if (k > 0 && !(in.t_s[k] > in.t_s[k - 1]))
      throw std::invalid_argument("t_s[" + std::to_string(k) + "] = " + std::to_string(in.t_s[k]) + ": must be > t_s[" +
                                  std::to_string(k - 1) + "] = " + std::to_string(in.t_s[k - 1]) +
                                  " (time strictly increasing)");
  }
  return in;
}

namespace {

template <class S>
py::dict run_cell(BasicBatteryEkf<S>& e, const DoubleArray& t_s, const DoubleArray& current_a,
                  const OptArray& voltage_a_v, const OptArray& voltage_b_v, const OptArray& temperature_k) {
  const ReplayInput in = replay_input(t_s, current_a, voltage_a_v, voltage_b_v, temperature_k);
  const auto n = static_cast<py::ssize_t>(in.n);
  DoubleArray soc(n), sigma(n), v1(n), v2(n), temp(n), r0(n), cap(n), nis(n), innov(n);
  DoubleArray state({n, static_cast<py::ssize_t>(S::size)});
  py::array_t<std::uint8_t> gated(n), missing(n);
  ReplayOutput out{soc.mutable_data(),   sigma.mutable_data(), v1.mutable_data(),    v2.mutable_data(),
                   state.mutable_data(), temp.mutable_data(),  r0.mutable_data(),    cap.mutable_data(),
                   nis.mutable_data(),   innov.mutable_data(), gated.mutable_data(), missing.mutable_data()};
  ReplaySummary summary;
  Status st;
  {
    py::gil_scoped_release release;
    st = replay(e, in, out, &summary);
  }
  raise_on_error(st, "BatteryEkf.run");
  py::list names;
  for (int i = 0; i < S::size; ++i) names.append(S::name(i));
  py::dict d;
  d["state"] = state;
  d["state_names"] = py::tuple(names);
  d["soc"] = soc;
  d["soc_sigma"] = sigma;
  d["v1_v"] = v1;
  d["v2_v"] = v2;
  d["temp_k"] = temp;
  d["r0_ohm"] = r0;
  d["capacity_ah"] = cap;
  d["nis"] = nis;
  d["innovation_v"] = innov;
  d["gated"] = gated;
  d["missing"] = missing;
  d["rows_with_missing"] = summary.rows_with_missing;
  d["rows_gated"] = summary.rows_gated;
  d["numerical_errors"] = summary.numerical_errors;
  return d;
}

// The estimator of the cell's own structure (its rc_pairs and hysteresis), over a whole log: what
// `safetwin estimate` runs, so that a 1RC, 3RC or hysteresis cell file needs nothing else.
template <int NRC, bool HYST>
py::dict replay_structure(const BatteryEkfConfig& config, const DoubleArray& t_s, const DoubleArray& current_a,
                          const OptArray& voltage_a_v, const OptArray& voltage_b_v, const OptArray& temperature_k) {
  BasicBatteryEkf<battery::CellStructure<NRC, HYST>> ekf(config);
  return run_cell(ekf, t_s, current_a, voltage_a_v, voltage_b_v, temperature_k);
}

py::dict replay_cell(const BatteryEkfConfig& config, const DoubleArray& t_s, const DoubleArray& current_a,
                     const OptArray& voltage_a_v, const OptArray& voltage_b_v, const OptArray& temperature_k) {
  config.validate();
  const bool h = config.cell.hysteresis.has_value();
  switch (config.cell.rc_pairs) {
    case 1:
      return h ? replay_structure<1, true>(config, t_s, current_a, voltage_a_v, voltage_b_v, temperature_k)
               : replay_structure<1, false>(config, t_s, current_a, voltage_a_v, voltage_b_v, temperature_k);
    case 2:
      return h ? replay_structure<2, true>(config, t_s, current_a, voltage_a_v, voltage_b_v, temperature_k)
               : replay_structure<2, false>(config, t_s, current_a, voltage_a_v, voltage_b_v, temperature_k);
    case 3:
      return h ? replay_structure<3, true>(config, t_s, current_a, voltage_a_v, voltage_b_v, temperature_k)
               : replay_structure<3, false>(config, t_s, current_a, voltage_a_v, voltage_b_v, temperature_k);
    default:
      throw std::invalid_argument("CellParams.rc_pairs = " + std::to_string(config.cell.rc_pairs) +
                                  ": must be 1, 2 or 3");
  }
}

Status pack_step(PackEstimator& p, const DoubleArray& current_a, const OptArray& voltage_a_v,
                 const OptArray& voltage_b_v, const OptArray& temperature_k, double dt_s) {
  const auto g = static_cast<py::ssize_t>(p.size());
  const py::ssize_t nc = current_a.size();
  if (current_a.ndim() > 1 || (nc != 1 && nc != g))
    throw std::invalid_argument("current_a must be a scalar or hold one value per group (" + std::to_string(g) + ")");
  const double* va = column(voltage_a_v, "voltage_a_v", g);
  const double* vb = column(voltage_b_v, "voltage_b_v", g);
  const double* tk = column(temperature_k, "temperature_k", g);
  const Status st =
      p.step(current_a.data(), static_cast<std::size_t>(nc), va, vb, tk, static_cast<std::size_t>(g), dt_s);
  if (st == Status::invalid_argument || st == Status::non_finite_input) {
    check_dt(dt_s);
    for (py::ssize_t i = 0; i < nc; ++i) require_finite_arg("current_a", current_a.data()[i]);
    raise_on_error(st, "PackEstimator.step");
  }
  return st;  // ok, or numerical_error when a group's covariance was recovered (see that group's report)
}

DoubleArray pack_column(const PackEstimator& p, int which) {
  DoubleArray a(static_cast<py::ssize_t>(p.size()));
  double* d = a.mutable_data();
  double* ptr[8] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  ptr[which] = d;
  p.read(ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], ptr[7]);
  return a;
}

py::dict run_pack(PackEstimator& p, const DoubleArray& t_s, const DoubleArray& current_a, const OptArray& voltage_a_v,
                  const OptArray& voltage_b_v, const OptArray& temperature_k) {
  if (t_s.ndim() != 1) throw std::invalid_argument("t_s must be a 1-D array");
  const py::ssize_t n = t_s.shape(0);
  const auto g = static_cast<py::ssize_t>(p.size());
  PackReplayInput in;
  in.n = static_cast<std::size_t>(n);
  in.t_s = t_s.data();
  if (current_a.ndim() == 1 && current_a.shape(0) == n) {
    in.current_stride = 1;
  } else if (current_a.ndim() == 2 && current_a.shape(0) == n && current_a.shape(1) == g) {
    in.current_stride = static_cast<std::size_t>(g);
  } else {
    throw std::invalid_argument("current_a must have shape (" + std::to_string(n) + ",) or (" + std::to_string(n) +
                                ", " + std::to_string(g) + ")");
  }
  in.current_a = current_a.data();
  for (py::ssize_t i = 0; i < current_a.size(); ++i)
    if (!std::isfinite(in.current_a[i]))
      throw std::invalid_argument("current_a (flat index " + std::to_string(i) +
                                  ") = " + std::to_string(in.current_a[i]) + ": must be finite");
  for (py::ssize_t k = 1; k < n; ++k)
    if (!(in.t_s[k] > in.t_s[k - 1]))
      throw std::invalid_argument("t_s[" + std::to_string(k) + "]: must be > t_s[" + std::to_string(k - 1) +
                                  "] (time strictly increasing)");
  in.voltage_a_v = matrix(voltage_a_v, "voltage_a_v", n, g);
  in.voltage_b_v = matrix(voltage_b_v, "voltage_b_v", n, g);
  in.temperature_k = matrix(temperature_k, "temperature_k", n, g);
  DoubleArray soc({n, g}), sigma({n, g}), temp({n, g}), nis({n, g});
  PackReplayOutput out{soc.mutable_data(), sigma.mutable_data(), temp.mutable_data(), nis.mutable_data()};
  std::size_t errors = 0;
  Status st;
  {
    py::gil_scoped_release release;
    st = replay_pack(p, in, out, &errors);
  }
  raise_on_error(st, "PackEstimator.run");
  py::dict d;
  d["soc"] = soc;
  d["soc_sigma"] = sigma;
  d["temp_k"] = temp;
  d["nis"] = nis;
  d["numerical_errors"] = errors;
  return d;
}

}  // namespace

void bind_estimation(py::module_& m) {
  m.def("chi_square_quantile", &chi_square_quantile, py::arg("probability"), py::arg("dof"),
        "Quantile of the chi-square distribution (the EKF gate threshold)");
  m.def("chi_square_cdf", &chi_square_cdf, py::arg("x"), py::arg("dof"));
  m.def("replay_cell", &replay_cell, py::arg("config"), py::arg("t_s"), py::arg("current_a"),
        py::arg("voltage_a_v") = py::none(), py::arg("voltage_b_v") = py::none(), py::arg("temperature_k") = py::none(),
        "Replays a whole log through the estimator of config.cell's own structure (1..3 RC pairs, optional "
        "hysteresis) in C++; the dict of BatteryEkf.run plus 'state' (n x state size) and 'state_names'");

  py::enum_<Channel>(m, "Channel", "Measurement channels of the battery estimator")
      .value("voltage_a", Channel::voltage_a)
      .value("voltage_b", Channel::voltage_b)
      .value("temperature", Channel::temperature);

  m.attr("CHANNEL_USED") = channel_flag::used;
  m.attr("CHANNEL_MISSING") = channel_flag::missing;
  m.attr("CHANNEL_NON_FINITE") = channel_flag::non_finite;
  m.attr("CHANNEL_GATED") = channel_flag::gated;
  m.attr("CHANNEL_GATE_RESET") = channel_flag::gate_reset;
  m.attr("FILTER_COVARIANCE_RECOVERED") = filter_flag::covariance_recovered;
  m.attr("FILTER_MODEL_FAILED") = filter_flag::model_failed;
  m.attr("FILTER_INNOVATION_SINGULAR") = filter_flag::innovation_singular;

  py::class_<BatteryEkfConfig> cfg(m, "BatteryEkfConfig",
                                   "Settings of the battery EKF (SI units, sigmas are standard deviations)");
  cfg.def(py::init<>())
      .def("validate", &BatteryEkfConfig::validate, "Raises ValueError naming the first bad field")
      .def_readwrite("cell", &BatteryEkfConfig::cell);
#define ST_FIELD(name) cfg.def_readwrite(#name, &BatteryEkfConfig::name)
  ST_FIELD(soc0);
  ST_FIELD(v1_0_v);
  ST_FIELD(v2_0_v);
  ST_FIELD(temp0_k);
  ST_FIELD(soc_sigma0);
  ST_FIELD(v_rc_sigma0_v);
  ST_FIELD(temp_sigma0_k);
  ST_FIELD(current_sigma_a);
  ST_FIELD(soc_rw_per_sqrt_s);
  ST_FIELD(v_rc_rw_v_per_sqrt_s);
  ST_FIELD(temp_rw_k_per_sqrt_s);
  ST_FIELD(voltage_a_sigma_v);
  ST_FIELD(voltage_b_sigma_v);
  ST_FIELD(voltage_model_sigma_v);
  ST_FIELD(voltage_model_correlation_s);
  ST_FIELD(temperature_sigma_k);
  ST_FIELD(gate_probability);
  ST_FIELD(gate_reset_after);
  ST_FIELD(estimate_params);
  ST_FIELD(r0_factor0);
  ST_FIELD(capacity_factor0);
  ST_FIELD(r0_factor_sigma0);
  ST_FIELD(capacity_factor_sigma0);
  ST_FIELD(r0_factor_rw_per_sqrt_s);
  ST_FIELD(capacity_factor_rw_per_sqrt_s);
  ST_FIELD(r0_factor_min);
  ST_FIELD(r0_factor_max);
  ST_FIELD(capacity_factor_min);
  ST_FIELD(capacity_factor_max);
  ST_FIELD(r0_excitation_a);
  ST_FIELD(capacity_rest_current_a);
  ST_FIELD(capacity_throughput_ah);
  ST_FIELD(capacity_soc_sigma_max);
#undef ST_FIELD

  py::class_<BatteryEkf>(m, "BatteryEkf", "EKF of one cell: state [SOC, v1, v2, T], optional R0/capacity factors")
      .def(py::init<BatteryEkfConfig>(), py::arg("config") = BatteryEkfConfig{})
      .def(
          "step",
          [](BatteryEkf& e, double current_a, std::optional<double> voltage_a_v, std::optional<double> temperature_k,
             std::optional<double> voltage_b_v, double dt_s) {
            require_finite_arg("current_a", current_a);
            check_dt(dt_s);
            return e.step(current_a, make_measurement(voltage_a_v, voltage_b_v, temperature_k), dt_s);
          },
          py::arg("current_a"), py::arg("voltage_a_v") = py::none(), py::arg("temperature_k") = py::none(),
          py::arg("voltage_b_v") = py::none(), py::arg("dt_s") = 1.0,
          "One sample (predict over dt_s, then update). None = channel absent, NaN = missing sample. "
          "Returns Status.ok, or Status.numerical_error when the covariance was recovered.")
      .def("run", &run_cell<battery::RefStructure>, py::arg("t_s"), py::arg("current_a"),
           py::arg("voltage_a_v") = py::none(), py::arg("voltage_b_v") = py::none(),
           py::arg("temperature_k") = py::none(),
           "Replays a whole log in C++; returns a dict of arrays (row k: estimate after sample k)")
      .def("set_noise_scale", &set_scale, py::arg("channel"), py::arg("s"), "R_eff = R * s (s >= 1)")
      .def("noise_scale", &BatteryEkf::noise_scale, py::arg("channel"))
      .def("reset", py::overload_cast<double>(&BatteryEkf::reset), py::arg("soc0"))
      .def(
          "reset_state",
          [](BatteryEkf& e, const DoubleArray& x, const DoubleArray& p) {
            if (x.size() != 4 || p.ndim() != 2 || p.shape(0) != 4 || p.shape(1) != 4)
              throw std::invalid_argument("x must have 4 values and p shape (4, 4)");
            e.reset(Eigen::Map<const battery::StateVector>(x.data()),
                    Eigen::Map<const Eigen::Matrix<double, 4, 4, Eigen::RowMajor>>(p.data()));
          },
          py::arg("x"), py::arg("p"))
      .def_property_readonly("state",
                             [](const BatteryEkf& e) {
                               const auto x = e.state();
                               return DoubleArray(4, x.data());
                             })
      .def_property_readonly("covariance",
                             [](const BatteryEkf& e) {
                               const Eigen::Matrix<double, 4, 4, Eigen::RowMajor> p = e.covariance();
                               return DoubleArray({4, 4}, p.data());
                             })
      .def_property_readonly(
          "full_state",
          [](const BatteryEkf& e) {
            DoubleArray a(e.full_size());
            e.full_estimate(a.mutable_data(), nullptr);
            return a;
          },
          "the whole state: [SOC, v1, v2, T] (+ [r0_factor, capacity_factor] with joint estimation)")
      .def_property_readonly("full_covariance",
                             [](const BatteryEkf& e) {
                               DoubleArray a({e.full_size(), e.full_size()});
                               e.full_estimate(nullptr, a.mutable_data());
                               return a;
                             })
      .def_property_readonly("soc", &BatteryEkf::soc)
      .def_property_readonly("soc_sigma", &BatteryEkf::soc_sigma)
      .def_property_readonly("r0_factor", &BatteryEkf::r0_factor)
      .def_property_readonly("capacity_factor", &BatteryEkf::capacity_factor)
      .def_property_readonly("r0_factor_sigma", &BatteryEkf::r0_factor_sigma)
      .def_property_readonly("capacity_factor_sigma", &BatteryEkf::capacity_factor_sigma)
      .def_property_readonly("r0_ohm", &BatteryEkf::r0_ohm)
      .def_property_readonly("capacity_ah", &BatteryEkf::capacity_ah)
      .def_property_readonly("estimates_params", &BatteryEkf::estimates_params)
      .def_property_readonly(
          "nis", [](const BatteryEkf& e) { return e.nis(); }, "joint NIS of the last update")
      .def_property_readonly("report", &report_dict, "the last update: innovations, variances, NIS, flags")
      .def("innovation", &BatteryEkf::innovation, py::arg("channel"))
      .def("innovation_variance", &BatteryEkf::innovation_variance, py::arg("channel"))
      .def("channel_nis", py::overload_cast<Channel>(&BatteryEkf::nis, py::const_), py::arg("channel"))
      .def("flags", &BatteryEkf::flags, py::arg("channel"))
      .def_property_readonly("r0_excited", &BatteryEkf::r0_excited)
      .def_property_readonly("capacity_excited", &BatteryEkf::capacity_excited)
      .def_property_readonly("gate_threshold", &BatteryEkf::gate_threshold)
      .def_property_readonly("config", &BatteryEkf::config);

  py::class_<PackEstimator>(m, "PackEstimator", "One BatteryEkf per cell / parallel group, stepped together")
      .def(py::init<const BatteryEkfConfig&, std::size_t>(), py::arg("config"), py::arg("groups"))
      .def(py::init<const std::vector<BatteryEkfConfig>&>(), py::arg("per_group"))
      .def("step", &pack_step, py::arg("current_a"), py::arg("voltage_a_v") = py::none(),
           py::arg("voltage_b_v") = py::none(), py::arg("temperature_k") = py::none(), py::arg("dt_s") = 1.0,
           "One sample of every group: arrays of one value per group (current_a: scalar or per group). "
           "Returns Status.ok, or Status.numerical_error if a group recovered its covariance.")
      .def("run", &run_pack, py::arg("t_s"), py::arg("current_a"), py::arg("voltage_a_v") = py::none(),
           py::arg("voltage_b_v") = py::none(), py::arg("temperature_k") = py::none(),
           "Replays a pack log (rows = samples, columns = groups) in C++; dict of (n, groups) arrays")
      .def_property_readonly("size", &PackEstimator::size)
      .def("__len__", &PackEstimator::size)
      .def("__getitem__", py::overload_cast<std::size_t>(&PackEstimator::at), py::arg("index"),
           py::return_value_policy::reference_internal)
      .def_property_readonly("soc", [](const PackEstimator& p) { return pack_column(p, 0); })
      .def_property_readonly("soc_sigma", [](const PackEstimator& p) { return pack_column(p, 1); })
      .def_property_readonly("v1_v", [](const PackEstimator& p) { return pack_column(p, 2); })
      .def_property_readonly("v2_v", [](const PackEstimator& p) { return pack_column(p, 3); })
      .def_property_readonly("temp_k", [](const PackEstimator& p) { return pack_column(p, 4); })
      .def_property_readonly("nis", [](const PackEstimator& p) { return pack_column(p, 5); })
      .def_property_readonly("r0_ohm", [](const PackEstimator& p) { return pack_column(p, 6); })
      .def_property_readonly("capacity_ah", [](const PackEstimator& p) { return pack_column(p, 7); });
  (void)kNan;
}

}  // namespace safetwin::bindings
