// safetwin._core trust classes: CUSUM, per-node Bayesian trust, its application to the battery
// estimator, and the trusted replay of a whole log. Thin: shapes are checked here (naming the
// argument), the noexcept core does the work, time loops run in C++ with the GIL released.
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/pack_estimator.hpp"
#include "safetwin/trust/cusum.hpp"
#include "safetwin/trust/estimator_trust.hpp"
#include "safetwin/trust/trust_state.hpp"
#include "safetwin/trust/trusted_replay.hpp"

namespace safetwin::bindings {

using namespace safetwin::trust;
using U8Array = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

namespace {

std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

void require_shape(const py::array& a, const char* name, py::ssize_t n) {
  if (a.ndim() != 1 || a.shape(0) != n)
    throw std::invalid_argument(std::string(name) + " has shape " + shape_of(a) + ": expected (" + std::to_string(n) +
                                ",)");
}

void require_shape(const py::array& a, const char* name, py::ssize_t n, py::ssize_t m) {
  if (a.ndim() != 2 || a.shape(0) != n || a.shape(1) != m)
    throw std::invalid_argument(std::string(name) + " has shape " + shape_of(a) + ": expected (" + std::to_string(n) +
                                ", " + std::to_string(m) + ")");
}

void require_codes(const U8Array& a, const char* name) {
  for (py::ssize_t i = 0; i < a.size(); ++i)
    if (!is_valid_attestation(a.data()[i]))
      throw std::invalid_argument(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(a.data()[i]) +
                                  ": verdict codes are 0 (none), 1 (pass), 2 (fail), 3 (fail_signature), "
                                  "4 (fail_pcr), 5 (fail_replay), 6 (fail_malformed), 7 (timeout)");
}

const Attestation* as_verdicts(const U8Array& a) { return reinterpret_cast<const Attestation*>(a.data()); }

void state_step(TrustState& s, const U8Array& attestation, const std::optional<DoubleArray>& z) {
  const auto n = static_cast<py::ssize_t>(s.nodes());
  require_shape(attestation, "attestation", n);
  require_codes(attestation, "attestation");
  if (z) require_shape(*z, "innovation_z", n);
  raise_on_error(s.step(as_verdicts(attestation), z ? z->data() : nullptr, s.nodes()), "TrustState.step");
}

py::dict state_run(TrustState& s, const U8Array& attestation, const std::optional<DoubleArray>& z) {
  const auto nodes = static_cast<py::ssize_t>(s.nodes());
  if (attestation.ndim() != 2) throw std::invalid_argument("attestation must be a 2-D array (rows, nodes)");
  const py::ssize_t rows = attestation.shape(0);
  require_shape(attestation, "attestation", rows, nodes);
  require_codes(attestation, "attestation");
  if (z) require_shape(*z, "innovation_z", rows, nodes);
  DoubleArray trust({rows, nodes}), scale({rows, nodes});
  U8Array alarm({rows, nodes}), distrusted({rows, nodes});
  {
    py::gil_scoped_release release;
    for (py::ssize_t k = 0; k < rows; ++k) {
      (void)s.step(as_verdicts(attestation) + k * nodes, z ? z->data() + k * nodes : nullptr, s.nodes());
      for (py::ssize_t i = 0; i < nodes; ++i) {
        const NodeReport& r = s.report(static_cast<std::size_t>(i));
        trust.mutable_data()[k * nodes + i] = r.trust;
        scale.mutable_data()[k * nodes + i] = r.noise_scale;
        alarm.mutable_data()[k * nodes + i] = r.alarm;
        distrusted.mutable_data()[k * nodes + i] = r.distrusted;
      }
    }
  }
  py::dict out;
  out["trust"] = trust;
  out["noise_scale"] = scale;
  out["alarm"] = alarm;
  out["distrusted"] = distrusted;
  return out;
}

py::dict replay(estimation::BatteryEkf& ekf, EstimatorTrust& trust, const DoubleArray& t_s,
                const DoubleArray& current_a, const U8Array& attestation, const std::optional<DoubleArray>& voltage_a_v,
                const std::optional<DoubleArray>& voltage_b_v, const std::optional<DoubleArray>& temperature_k) {
  const py::ssize_t n = t_s.ndim() == 1 ? t_s.shape(0) : -1;
  require_shape(t_s, "t_s", n);
  require_shape(current_a, "current_a", n);
  if (voltage_a_v) require_shape(*voltage_a_v, "voltage_a_v", n);
  if (voltage_b_v) require_shape(*voltage_b_v, "voltage_b_v", n);
  if (temperature_k) require_shape(*temperature_k, "temperature_k", n);
  const auto nodes = static_cast<py::ssize_t>(trust.nodes());
  require_shape(attestation, "attestation", n, nodes);
  require_codes(attestation, "attestation");
  if (trust.groups() != 1)
    throw std::invalid_argument("trust: maps " + std::to_string(trust.groups()) +
                                " groups, a single-cell replay needs 1");
  for (py::ssize_t k = 0; k < n; ++k) {
    if (!std::isfinite(t_s.data()[k]) || (k > 0 && !(t_s.data()[k] > t_s.data()[k - 1])))
      throw std::invalid_argument("t_s[" + std::to_string(k) + "] = " + std::to_string(t_s.data()[k]) +
                                  ": times must be finite and strictly increasing");
    if (!std::isfinite(current_a.data()[k]))
      throw std::invalid_argument("current_a[" + std::to_string(k) + "] = " + std::to_string(current_a.data()[k]) +
                                  ": must be finite");
  }
  DoubleArray soc(n), soc_sigma(n), nis(n), trust_out({n, nodes}), residual({n, nodes});
  U8Array gated(n), alarm({n, nodes});
  TrustedReplayInput in{t_s.data(),
                        current_a.data(),
                        voltage_a_v ? voltage_a_v->data() : nullptr,
                        voltage_b_v ? voltage_b_v->data() : nullptr,
                        temperature_k ? temperature_k->data() : nullptr,
                        attestation.data(),
                        static_cast<std::size_t>(n)};
  TrustedReplayOutput out{soc.mutable_data(),     soc_sigma.mutable_data(), nis.mutable_data(),
                          gated.mutable_data(),   trust_out.mutable_data(), alarm.mutable_data(),
                          residual.mutable_data()};
  TrustedReplaySummary summary;
  Status st;
  {
    py::gil_scoped_release release;
    st = trusted_replay(ekf, trust, in, out, &summary);
  }
  raise_on_error(st, "trusted_replay");
  py::dict d;
  d["soc"] = soc;
  d["soc_sigma"] = soc_sigma;
  d["nis"] = nis;
  d["gated"] = gated;
  d["trust"] = trust_out;
  d["alarm"] = alarm;
  d["residual"] = residual;
  d["rows_gated"] = summary.rows_gated;
  d["numerical_errors"] = summary.numerical_errors;
  return d;
}

}  // namespace

void bind_trust(py::module_& m) {
  py::enum_<Attestation>(m, "Attestation", "Attestation verdict of one node in one cycle")
      .value("none", Attestation::none, "no round completed this cycle")
      .value("passed", Attestation::pass)
      .value("failed", Attestation::fail, "failed, reason unknown or generic")
      .value("fail_signature", Attestation::fail_signature, "not signed by the enrolled AK: a forgery")
      .value("fail_pcr", Attestation::fail_pcr, "authentic, measured boot differs from golden")
      .value("fail_replay", Attestation::fail_replay, "authentic but not fresh (nonce, clock, counters)")
      .value("fail_malformed", Attestation::fail_malformed, "does not parse as a quote")
      .value("timeout", Attestation::timeout, "no answer in time");

  py::class_<ReasonLikelihood>(m, "ReasonLikelihood", "P(reason | good), P(reason | compromised) of one failure reason")
      .def(py::init<>())
      .def(py::init([](double good, double compromised) {
             return ReasonLikelihood{good, compromised};
           }),
           py::arg("good"), py::arg("compromised"))
      .def_readwrite("good", &ReasonLikelihood::good)
      .def_readwrite("compromised", &ReasonLikelihood::compromised);

  py::class_<CusumConfig>(m, "CusumConfig", "Two-sided CUSUM on a normalised innovation")
      .def(py::init<>())
      .def_readwrite("shift_sigma", &CusumConfig::shift_sigma,
                     "mean shift to detect, in innovation sigmas (k = shift/2)")
      .def_readwrite("false_alarm_rate", &CusumConfig::false_alarm_rate, "alarms per sample while honest (1/ARL0)")
      .def("validate", &CusumConfig::validate);

  py::class_<Cusum>(m, "Cusum", "Two-sided CUSUM with restart after each alarm (h from the false-alarm rate)")
      .def(py::init<const CusumConfig&>(), py::arg("config") = CusumConfig{})
      .def("update", &Cusum::update, py::arg("z"), "One sample; True on an alarm (then both sums restart)")
      .def(
          "run",
          [](Cusum& c, const DoubleArray& z) {
            if (z.ndim() != 1) throw std::invalid_argument("z has shape " + shape_of(z) + ": expected a 1-D array");
            U8Array alarms(z.shape(0));
            {
              py::gil_scoped_release release;
              for (py::ssize_t k = 0; k < z.shape(0); ++k) alarms.mutable_data()[k] = c.update(z.data()[k]);
            }
            return alarms;
          },
          py::arg("z"), "Alarms (uint8 0/1) for a whole sequence")
      .def("reset", &Cusum::reset)
      .def_property_readonly("k", &Cusum::k)
      .def_property_readonly("h", &Cusum::h)
      .def_property_readonly("g_pos", &Cusum::g_pos)
      .def_property_readonly("g_neg", &Cusum::g_neg);
  m.def("cusum_threshold", &cusum_threshold, py::arg("k"), py::arg("false_alarm_rate"),
        "h giving the two-sided false-alarm rate (Siegmund's approximation)");
  m.def("cusum_arl_one_sided", &cusum_arl_one_sided, py::arg("k"), py::arg("h"));

  py::class_<TrustConfig>(m, "TrustConfig", "Per-node Bayesian trust (two-state HMM filter), see trust_state.hpp")
      .def(py::init<>())
      .def_readwrite("trust0", &TrustConfig::trust0)
      .def_readwrite("p_compromise", &TrustConfig::p_compromise)
      .def_readwrite("p_recover", &TrustConfig::p_recover)
      .def_readwrite("p_pass_good", &TrustConfig::p_pass_good)
      .def_readwrite("p_pass_compromised", &TrustConfig::p_pass_compromised)
      .def_readwrite("p_alarm_compromised", &TrustConfig::p_alarm_compromised)
      .def_readwrite("fail_signature", &TrustConfig::fail_signature)
      .def_readwrite("fail_pcr", &TrustConfig::fail_pcr)
      .def_readwrite("fail_replay", &TrustConfig::fail_replay)
      .def_readwrite("fail_malformed", &TrustConfig::fail_malformed)
      .def_readwrite("timeout", &TrustConfig::timeout)
      .def_readwrite("cusum", &TrustConfig::cusum)
      .def_readwrite("max_cycles_without_verdict", &TrustConfig::max_cycles_without_verdict)
      .def_readwrite("trust_min", &TrustConfig::trust_min)
      .def_readwrite("trust_eps", &TrustConfig::trust_eps)
      .def_readwrite("distrust_threshold", &TrustConfig::distrust_threshold)
      .def_readwrite("cross_node_residual", &TrustConfig::cross_node_residual,
                     "two voltage nodes of a cell: residual evidence from their difference, not from the twin")
      .def_readwrite("cross_node_baseline_s", &TrustConfig::cross_node_baseline_s)
      .def("validate", &TrustConfig::validate, "Raises ValueError naming the first bad field");

  py::class_<NodeReport>(m, "NodeReport", "What the last trust step did to one node")
      .def_readonly("trust", &NodeReport::trust)
      .def_readonly("noise_scale", &NodeReport::noise_scale)
      .def_readonly("alarm", &NodeReport::alarm)
      .def_readonly("attestation_failed", &NodeReport::attestation_failed)
      .def_readonly("verdict", &NodeReport::verdict)
      .def_readonly("residual_missing", &NodeReport::residual_missing)
      .def_readonly("distrusted", &NodeReport::distrusted)
      .def_readonly("cycles_since_verdict", &NodeReport::cycles_since_verdict);

  py::class_<TrustState>(m, "TrustState", "Trust of every sensor node, one step per cycle")
      .def(py::init<const TrustConfig&, std::size_t>(), py::arg("config"), py::arg("nodes"))
      .def("step", &state_step, py::arg("attestation"), py::arg("innovation_z") = py::none(),
           "One cycle: verdict codes (0 none, 1 pass, 2 fail) and normalised innovations per node")
      .def("run", &state_run, py::arg("attestation"), py::arg("innovation_z") = py::none(),
           "Many cycles: (rows, nodes) arrays in; trust, noise_scale, alarm, distrusted out")
      .def_property_readonly("nodes", &TrustState::nodes)
      .def("trust", &TrustState::trust, py::arg("node"))
      .def("noise_scale", &TrustState::noise_scale, py::arg("node"))
      .def("report", &TrustState::report, py::arg("node"))
      .def("distrusted", &TrustState::distrusted, py::arg("node"))
      .def("all_distrusted", &TrustState::all_distrusted, py::arg("mask"))
      .def_property_readonly("distrusted_mask", &TrustState::distrusted_mask)
      .def("reset", &TrustState::reset)
      .def("reset_node", &TrustState::reset_node, py::arg("node"));
  m.def("noise_scale_from_trust", &noise_scale_from_trust, py::arg("trust"), py::arg("eps"));

  py::class_<ChannelNodes>(m, "ChannelNodes", "Node index behind each channel of one cell's estimator (-1: none)")
      .def(py::init([](int a, int b, int t) {
             return ChannelNodes{a, b, t};
           }),
           py::arg("voltage_a") = 0, py::arg("voltage_b") = 1, py::arg("temperature") = kNoNode)
      .def_readwrite("voltage_a", &ChannelNodes::voltage_a)
      .def_readwrite("voltage_b", &ChannelNodes::voltage_b)
      .def_readwrite("temperature", &ChannelNodes::temperature);

  py::class_<EstimatorTrust>(m, "EstimatorTrust", "Trust applied to BatteryEkf / PackEstimator noise scales")
      .def(py::init<const TrustConfig&, std::size_t, std::vector<ChannelNodes>,
                    const std::vector<estimation::BatteryEkfConfig>&, bool>(),
           py::arg("config"), py::arg("nodes"), py::arg("map"), py::arg("estimator_configs"),
           py::arg("weighting") = true)
      .def(
          "step",
          [](EstimatorTrust& t, const U8Array& att, estimation::BatteryEkf& ekf) {
            require_shape(att, "attestation", static_cast<py::ssize_t>(t.nodes()));
            require_codes(att, "attestation");
            raise_on_error(t.step(as_verdicts(att), t.nodes(), ekf), "EstimatorTrust.step");
          },
          py::arg("attestation"), py::arg("estimator"))
      .def(
          "step",
          [](EstimatorTrust& t, const U8Array& att, estimation::PackEstimator& est) {
            require_shape(att, "attestation", static_cast<py::ssize_t>(t.nodes()));
            require_codes(att, "attestation");
            raise_on_error(t.step(as_verdicts(att), t.nodes(), est), "EstimatorTrust.step");
          },
          py::arg("attestation"), py::arg("estimator"))
      .def_property_readonly("state", &EstimatorTrust::state, py::return_value_policy::reference_internal)
      .def_property_readonly("nodes", &EstimatorTrust::nodes)
      .def_property_readonly("weighting", &EstimatorTrust::weighting)
      .def("node_residual", &EstimatorTrust::node_residual, py::arg("node"));

  m.def("trusted_replay", &replay, py::arg("ekf"), py::arg("trust"), py::arg("t_s"), py::arg("current_a"),
        py::arg("attestation"), py::arg("voltage_a_v") = py::none(), py::arg("voltage_b_v") = py::none(),
        py::arg("temperature_k") = py::none(),
        "Run a single-cell log through BatteryEkf with trust (verdict codes per row and node); returns arrays");
}

}  // namespace safetwin::bindings
