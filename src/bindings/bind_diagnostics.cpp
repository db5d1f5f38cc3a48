// safetwin._core diagnostics: the ageing model (battery/ageing.hpp), the online anomaly score and
// its whole-log replay (diagnostics/). Thin: argument checks that raise, naming the argument,
// before the noexcept core runs; whole arrays in one call.
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "safetwin/battery/ageing.hpp"
#include "safetwin/cycle/control_cycle.hpp"
#include "safetwin/diagnostics/anomaly_score.hpp"
#include "safetwin/diagnostics/score_replay.hpp"

namespace safetwin::bindings {

using namespace safetwin::battery;
using namespace safetwin::diagnostics;
using OptArray = std::optional<DoubleArray>;

namespace {

// A (cells, intervals) array; every stress array of one call must have this shape.
void check_shape(const DoubleArray& a, const char* name, py::ssize_t cells, py::ssize_t intervals) {
  if (a.ndim() != 2 || a.shape(0) != cells || a.shape(1) != intervals)
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(cells) + ", " +
                                std::to_string(intervals) + ")");
}

std::string stress_error(const char* field, double value, py::ssize_t i, py::ssize_t k, const char* limit) {
  return std::string(field) + "[" + std::to_string(i) + ", " + std::to_string(k) + "] = " + std::to_string(value) +
         ": " + limit + " (nothing aged)";
}

void check_stress(const AgeingStress& s, py::ssize_t i, py::ssize_t k) {
  const auto fin = [&](const char* f, double v) {
    if (!std::isfinite(v)) throw std::invalid_argument(stress_error(f, v, i, k, "must be finite"));
  };
  fin("duration_s", s.duration_s);
  fin("temp_k", s.temp_k);
  fin("soc_mean", s.soc_mean);
  fin("throughput_ah", s.throughput_ah);
  fin("dod", s.dod);
  if (s.duration_s < 0) throw std::invalid_argument(stress_error("duration_s", s.duration_s, i, k, "must be >= 0"));
  if (s.throughput_ah < 0)
    throw std::invalid_argument(stress_error("throughput_ah", s.throughput_ah, i, k, "must be >= 0"));
  if (s.temp_k <= 0) throw std::invalid_argument(stress_error("temp_k", s.temp_k, i, k, "must be > 0"));
  if (s.soc_mean < 0 || s.soc_mean > 1)
    throw std::invalid_argument(stress_error("soc_mean", s.soc_mean, i, k, "must be in [0, 1]"));
  if (s.dod < 0 || s.dod > 1) throw std::invalid_argument(stress_error("dod", s.dod, i, k, "must be in [0, 1]"));
}

// Ages `cells` cells over `intervals` intervals each; per-cell rate factors multiply the model's.
py::dict age_many(const AgeingModel& model, const DoubleArray& duration_s, const DoubleArray& temp_k,
                  const DoubleArray& soc_mean, const DoubleArray& throughput_ah, const DoubleArray& dod,
                  const OptArray& calendar_rate_factor, const OptArray& cycle_rate_factor) {
  if (duration_s.ndim() != 2) throw std::invalid_argument("duration_s must be a 2-D array (cells, intervals)");
  const py::ssize_t cells = duration_s.shape(0), intervals = duration_s.shape(1);
  check_shape(temp_k, "temp_k", cells, intervals);
  check_shape(soc_mean, "soc_mean", cells, intervals);
  check_shape(throughput_ah, "throughput_ah", cells, intervals);
  check_shape(dod, "dod", cells, intervals);
  const auto factors = [&](const OptArray& a, const char* name) -> const double* {
    if (!a) return nullptr;
    if (a->ndim() != 1 || a->shape(0) != cells)
      throw std::invalid_argument(std::string(name) + " must be a 1-D array of one value per cell (" +
                                  std::to_string(cells) + ")");
    for (py::ssize_t i = 0; i < cells; ++i)
      if (!(std::isfinite(a->data()[i]) && a->data()[i] >= 0))
        throw std::invalid_argument(std::string(name) + "[" + std::to_string(i) +
                                    "] = " + std::to_string(a->data()[i]) + ": must be finite and >= 0");
    return a->data();
  };
  const double* fcal = factors(calendar_rate_factor, "calendar_rate_factor");
  const double* fcyc = factors(cycle_rate_factor, "cycle_rate_factor");
  const auto at = [&](const DoubleArray& a, py::ssize_t i, py::ssize_t k) { return a.data()[i * intervals + k]; };
  std::vector<AgeingStress> stress(static_cast<std::size_t>(cells * intervals));
  for (py::ssize_t i = 0; i < cells; ++i)
    for (py::ssize_t k = 0; k < intervals; ++k) {
      AgeingStress& s = stress[static_cast<std::size_t>(i * intervals + k)];
      s = AgeingStress{at(duration_s, i, k), at(temp_k, i, k), at(soc_mean, i, k), at(throughput_ah, i, k),
                       at(dod, i, k)};
      check_stress(s, i, k);
    }
  std::vector<AgeingModel> per_cell;  // one model per distinct rate factor pair (built before the loop)
  if (fcal != nullptr || fcyc != nullptr) {
    per_cell.reserve(static_cast<std::size_t>(cells));
    for (py::ssize_t i = 0; i < cells; ++i) {
      AgeingParams p = model.params();
      if (fcal != nullptr) p.calendar_rate_factor *= fcal[i];
      if (fcyc != nullptr) p.cycle_rate_factor *= fcyc[i];
      per_cell.emplace_back(p);
    }
  }
  DoubleArray cap({cells, intervals}), res({cells, intervals});
  {
    py::gil_scoped_release release;
    double* c = cap.mutable_data();
    double* r = res.mutable_data();
    for (py::ssize_t i = 0; i < cells; ++i) {
      const AgeingModel& m = per_cell.empty() ? model : per_cell[static_cast<std::size_t>(i)];
      AgeingState st;
      for (py::ssize_t k = 0; k < intervals; ++k) {
        const std::size_t j = static_cast<std::size_t>(i * intervals + k);
        (void)m.advance(stress[j], st);  // checked above
        c[j] = st.capacity_factor();
        r[j] = st.resistance_factor();
      }
    }
  }
  py::dict d;
  d["capacity_factor"] = cap;
  d["resistance_factor"] = res;
  return d;
}

py::dict run_score(const DoubleArray& t_s, const DoubleArray& current_a, const OptArray& voltage_a_v,
                   const OptArray& voltage_b_v, const OptArray& temperature_k,
                   const estimation::BatteryEkfConfig& ekf_config, const AnomalyScoreConfig& score_config) {
  const estimation::ReplayInput in = replay_input(t_s, current_a, voltage_a_v, voltage_b_v, temperature_k);
  const auto n = static_cast<py::ssize_t>(in.n);
  estimation::BatteryEkf ekf(ekf_config);  // validates (raises naming the field)
  AnomalyScore score(score_config);
  DoubleArray s(n), cap(n), cap_sigma(n), r0(n), r0_sigma(n);
  py::array_t<std::uint8_t> alarm(n);
  ScoreReplayOutput out{s.mutable_data(),         alarm.mutable_data(), cap.mutable_data(),
                        cap_sigma.mutable_data(), r0.mutable_data(),    r0_sigma.mutable_data()};
  ScoreReplaySummary summary;
  Status st;
  {
    py::gil_scoped_release release;
    st = score_replay(ekf, score, in, out, &summary);
  }
  raise_on_error(st, "score_replay");
  py::dict d;
  d["score"] = s;
  d["alarm"] = alarm;
  d["capacity_factor"] = cap;
  d["capacity_factor_sigma"] = cap_sigma;
  d["r0_factor"] = r0;
  d["r0_factor_sigma"] = r0_sigma;
  d["max_score"] = summary.max_score;
  d["alarm_events"] = summary.alarm_events;
  d["first_alarm"] = summary.alarm_events > 0 ? py::object(py::int_(summary.first_alarm)) : py::object(py::none());
  return d;
}

}  // namespace

void bind_diagnostics(py::module_& m) {
  py::class_<AgeingParams>(m, "AgeingParams",
                           "Schmalstieg et al. 2014 (J. Power Sources 257:325) calendar + cycle ageing parameters")
      .def(py::init<>())
      .def_readwrite("cal_cap_v_slope", &AgeingParams::cal_cap_v_slope)
      .def_readwrite("cal_cap_v_offset", &AgeingParams::cal_cap_v_offset)
      .def_readwrite("cal_cap_scale", &AgeingParams::cal_cap_scale)
      .def_readwrite("cal_cap_activation_k", &AgeingParams::cal_cap_activation_k)
      .def_readwrite("cal_res_v_slope", &AgeingParams::cal_res_v_slope)
      .def_readwrite("cal_res_v_offset", &AgeingParams::cal_res_v_offset)
      .def_readwrite("cal_res_scale", &AgeingParams::cal_res_scale)
      .def_readwrite("cal_res_activation_k", &AgeingParams::cal_res_activation_k)
      .def_readwrite("time_exponent", &AgeingParams::time_exponent)
      .def_readwrite("cyc_cap_v_quad", &AgeingParams::cyc_cap_v_quad)
      .def_readwrite("cyc_cap_v_center", &AgeingParams::cyc_cap_v_center)
      .def_readwrite("cyc_cap_offset", &AgeingParams::cyc_cap_offset)
      .def_readwrite("cyc_cap_dod", &AgeingParams::cyc_cap_dod)
      .def_readwrite("cyc_res_v_quad", &AgeingParams::cyc_res_v_quad)
      .def_readwrite("cyc_res_v_center", &AgeingParams::cyc_res_v_center)
      .def_readwrite("cyc_res_offset", &AgeingParams::cyc_res_offset)
      .def_readwrite("cyc_res_dod", &AgeingParams::cyc_res_dod)
      .def_readwrite("throughput_exponent", &AgeingParams::throughput_exponent)
      .def_readwrite("reference_capacity_ah", &AgeingParams::reference_capacity_ah)
      .def_readwrite("capacity_ah", &AgeingParams::capacity_ah)
      .def_readwrite("calendar_rate_factor", &AgeingParams::calendar_rate_factor)
      .def_readwrite("cycle_rate_factor", &AgeingParams::cycle_rate_factor)
      .def("validate", &AgeingParams::validate, "Raises ValueError naming the first bad field");

  py::class_<AgeingStress>(m, "AgeingStress", "Aggregated stress of one interval (SI units)")
      .def(py::init([](double duration_s, double temp_k, double soc_mean, double throughput_ah, double dod) {
             return AgeingStress{duration_s, temp_k, soc_mean, throughput_ah, dod};
           }),
           py::arg("duration_s") = 0.0, py::arg("temp_k") = 298.15, py::arg("soc_mean") = 0.5,
           py::arg("throughput_ah") = 0.0, py::arg("dod") = 0.0)
      .def_readwrite("duration_s", &AgeingStress::duration_s)
      .def_readwrite("temp_k", &AgeingStress::temp_k)
      .def_readwrite("soc_mean", &AgeingStress::soc_mean)
      .def_readwrite("throughput_ah", &AgeingStress::throughput_ah)
      .def_readwrite("dod", &AgeingStress::dod);

  py::class_<AgeingState>(m, "AgeingState", "Capacity fade and resistance growth terms (fractions)")
      .def(py::init<>())
      .def_readwrite("cal_cap_fade", &AgeingState::cal_cap_fade)
      .def_readwrite("cyc_cap_fade", &AgeingState::cyc_cap_fade)
      .def_readwrite("cal_res_growth", &AgeingState::cal_res_growth)
      .def_readwrite("cyc_res_growth", &AgeingState::cyc_res_growth)
      .def_readwrite("elapsed_s", &AgeingState::elapsed_s)
      .def_readwrite("throughput_ah", &AgeingState::throughput_ah)
      .def_property_readonly("capacity_factor", &AgeingState::capacity_factor)
      .def_property_readonly("resistance_factor", &AgeingState::resistance_factor);

  py::class_<AgeingCoefficients>(m, "AgeingCoefficients", "The four ageing-law coefficients at one stress")
      .def_readonly("alpha_cap_per_day_pow", &AgeingCoefficients::alpha_cap_per_day_pow)
      .def_readonly("alpha_res_per_day_pow", &AgeingCoefficients::alpha_res_per_day_pow)
      .def_readonly("beta_cap_per_ah_pow", &AgeingCoefficients::beta_cap_per_ah_pow)
      .def_readonly("beta_res_per_ah", &AgeingCoefficients::beta_res_per_ah);

  py::class_<AgeingModel>(m, "AgeingModel", "Calendar + cycle ageing (Schmalstieg 2014) over the cell's OCV table")
      .def(py::init<AgeingParams, OcvTable>(), py::arg("params") = AgeingParams{},
           py::arg("ocv") = OcvTable::lgm50_chen2020())
      .def_property_readonly("params", &AgeingModel::params)
      .def("coefficients", &AgeingModel::coefficients, py::arg("temp_k"), py::arg("soc_mean"), py::arg("dod"))
      .def(
          "advance",
          [](const AgeingModel& model, const AgeingStress& s, AgeingState& state) {
            check_stress(s, 0, 0);
            raise_on_error(model.advance(s, state), "AgeingModel.advance");
          },
          py::arg("stress"), py::arg("state"), "Advances state (in place) over one interval")
      .def("age_many", &age_many, py::arg("duration_s"), py::arg("temp_k"), py::arg("soc_mean"),
           py::arg("throughput_ah"), py::arg("dod"), py::arg("calendar_rate_factor") = py::none(),
           py::arg("cycle_rate_factor") = py::none(),
           "Ages cells x intervals (2-D stress arrays) from fresh; dict of capacity_factor, resistance_factor");

  py::class_<AnomalyScoreConfig>(m, "AnomalyScoreConfig", "Sliding-window anomaly score settings")
      .def(py::init<>())
      .def_readwrite("window_samples", &AnomalyScoreConfig::window_samples)
      .def_readwrite("threshold", &AnomalyScoreConfig::threshold)
      .def_readwrite("channel_mask", &AnomalyScoreConfig::channel_mask)
      .def_readwrite("z2_cap", &AnomalyScoreConfig::z2_cap)
      .def("validate", &AnomalyScoreConfig::validate, "Raises ValueError naming the first bad field");
  m.attr("MAX_SCORE_WINDOW") = kMaxScoreWindow;

  using cycle::AnomalyAlarmConfig;
  py::class_<AnomalyAlarmConfig>(m, "AnomalyAlarmConfig",
                                 "The control cycle's anomaly alarm (CycleConfig.anomaly): score, threshold, event")
      .def(py::init<>())
      .def_readwrite("enabled", &AnomalyAlarmConfig::enabled)
      .def_readwrite("score", &AnomalyAlarmConfig::score)
      .def_readwrite("clear_s", &AnomalyAlarmConfig::clear_s)
      .def_readwrite("clear_fraction", &AnomalyAlarmConfig::clear_fraction)
      .def_readwrite("severity", &AnomalyAlarmConfig::severity)
      .def("validate", &AnomalyAlarmConfig::validate, "Raises ValueError naming the first bad field");

  py::class_<AnomalyScore>(m, "AnomalyScore", "Online anomaly score of one cell (window mean of z^2)")
      .def(py::init<AnomalyScoreConfig>(), py::arg("config") = AnomalyScoreConfig{})
      .def(
          "step",
          [](AnomalyScore& a, const DoubleArray& innovation, const DoubleArray& variance, std::vector<bool> evaluated) {
            if (innovation.size() != kMaxScoreChannels || variance.size() != kMaxScoreChannels ||
                evaluated.size() != static_cast<std::size_t>(kMaxScoreChannels))
              throw std::invalid_argument("innovation, variance and evaluated must hold 3 values (channels)");
            Innovations in;
            for (int c = 0; c < kMaxScoreChannels; ++c) {
              in.innovation[c] = innovation.data()[c];
              in.variance[c] = variance.data()[c];
              in.evaluated[c] = evaluated[static_cast<std::size_t>(c)];
            }
            AnomalyResult r;
            raise_on_error(a.step(in, r), "AnomalyScore.step");
            py::dict d;
            d["score"] = r.score;
            d["window_full"] = r.window_full;
            d["alarm"] = r.alarm;
            d["alarm_started"] = r.alarm_started;
            d["channels"] = r.channels;
            return d;
          },
          py::arg("innovation"), py::arg("variance"), py::arg("evaluated"))
      .def("reset", &AnomalyScore::reset)
      .def_property_readonly("score", &AnomalyScore::score)
      .def_property_readonly("config", &AnomalyScore::config)
      .def(
          "set_threshold",
          [](AnomalyScore& a, double t) { raise_on_error(a.set_threshold(t), "AnomalyScore.set_threshold"); },
          py::arg("threshold"));

  m.def("score_replay", &run_score, py::arg("t_s"), py::arg("current_a"), py::arg("voltage_a_v") = py::none(),
        py::arg("voltage_b_v") = py::none(), py::arg("temperature_k") = py::none(),
        py::arg("ekf_config") = estimation::BatteryEkfConfig{}, py::arg("score_config") = AnomalyScoreConfig{},
        "Replays a log through a new BatteryEkf and AnomalyScore in C++; dict of arrays and the summary");
}

}  // namespace safetwin::bindings
