// Bindings of self-triggered reporting: the safe horizon (safety/safe_horizon.hpp). Thin: the
// estimate, covariance and plan as numpy arrays, the result as the core's struct.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "safetwin/cycle/report_schedule.hpp"
#include "safetwin/safety/safe_horizon.hpp"

namespace safetwin::bindings {

using namespace safetwin::safety;

void bind_reporting(py::module_& m) {
  py::enum_<HorizonLimit>(m, "HorizonLimit", "What ended the safe horizon's tube (none: the ceiling)")
      .value("none", HorizonLimit::none)
      .value("voltage_max", HorizonLimit::voltage_max)
      .value("voltage_min", HorizonLimit::voltage_min)
      .value("temp_max", HorizonLimit::temp_max)
      .value("temp_min", HorizonLimit::temp_min)
      .value("soc_max", HorizonLimit::soc_max)
      .value("soc_min", HorizonLimit::soc_min);

  py::class_<SafeHorizonConfig>(
      m, "SafeHorizonConfig",
      "Safe horizon: prediction step, ceiling, minimum inter-report time, kappa, guard bands, model-error floors")
      .def(py::init<>())
      .def_readwrite("cell", &SafeHorizonConfig::cell)
      .def_readwrite("scaling", &SafeHorizonConfig::scaling)
      .def_readwrite("soc_min", &SafeHorizonConfig::soc_min)
      .def_readwrite("soc_max", &SafeHorizonConfig::soc_max)
      .def_readwrite("step_s", &SafeHorizonConfig::step_s)
      .def_readwrite("max_horizon_s", &SafeHorizonConfig::max_horizon_s)
      .def_readwrite("min_interval_s", &SafeHorizonConfig::min_interval_s)
      .def_readwrite("confidence_sigma", &SafeHorizonConfig::confidence_sigma)
      .def_readwrite("voltage_margin_v", &SafeHorizonConfig::voltage_margin_v)
      .def_readwrite("temp_margin_k", &SafeHorizonConfig::temp_margin_k)
      .def_readwrite("soc_margin", &SafeHorizonConfig::soc_margin)
      .def_readwrite("model_error_v", &SafeHorizonConfig::model_error_v)
      .def_readwrite("model_error_k", &SafeHorizonConfig::model_error_k)
      .def_readwrite("model_error_soc", &SafeHorizonConfig::model_error_soc)
      .def_readwrite("process_noise_var", &SafeHorizonConfig::process_noise_var)
      .def("validate", &SafeHorizonConfig::validate);

  py::class_<SafeHorizonResult>(m, "SafeHorizonResult",
                                "The safe horizon tau, the tube's time, event flag, limit and probability")
      .def(py::init<>())
      .def_readonly("status", &SafeHorizonResult::status)
      .def_readonly("tau_s", &SafeHorizonResult::tau_s)
      .def_readonly("tube_s", &SafeHorizonResult::tube_s)
      .def_readonly("event", &SafeHorizonResult::event)
      .def_readonly("steps", &SafeHorizonResult::steps)
      .def_readonly("limit", &SafeHorizonResult::limit)
      .def_readonly("probability", &SafeHorizonResult::probability)
      .def_readonly("half_width_v", &SafeHorizonResult::half_width_v)
      .def_readonly("half_width_k", &SafeHorizonResult::half_width_k)
      .def_readonly("half_width_soc", &SafeHorizonResult::half_width_soc)
      .def_readonly("tau_voltage_s", &SafeHorizonResult::tau_voltage_s)
      .def_readonly("tube_voltage_s", &SafeHorizonResult::tube_voltage_s)
      .def_readonly("event_voltage", &SafeHorizonResult::event_voltage)
      .def_readonly("tau_temp_s", &SafeHorizonResult::tau_temp_s)
      .def_readonly("tube_temp_s", &SafeHorizonResult::tube_temp_s)
      .def_readonly("event_temp", &SafeHorizonResult::event_temp);

  py::class_<SafeHorizon>(m, "SafeHorizon", "The longest time the uncertainty tube stays inside every limit")
      .def(py::init<SafeHorizonConfig>(), py::arg("config") = SafeHorizonConfig{})
      .def_property_readonly("config", &SafeHorizon::config)
      .def(
          "compute",
          [](const SafeHorizon& h, const battery::StateVector& x, const battery::StateMatrix& P,
             const DoubleArray& plan_a, const TwinEstimate& twin) {
            if (plan_a.ndim() != 1 || plan_a.shape(0) < 1)
              throw std::invalid_argument("plan_a must be a 1-D array of at least one current (A)");
            SafeHorizonResult r;
            raise_on_error(h.compute(x, P, plan_a.data(), static_cast<std::size_t>(plan_a.shape(0)), twin, r),
                           "SafeHorizon.compute");
            return r;
          },
          py::arg("x"), py::arg("P"), py::arg("plan_a"), py::arg("twin") = TwinEstimate{},
          "x = [soc, v1_v, v2_v, temp_k], P its 4x4 covariance, plan_a the cell current per prediction step (> 0 "
          "discharges)")
      .def_static("tube_probability", &SafeHorizon::tube_probability, py::arg("kappa"));

  using cycle::ReportingConfig;
  using cycle::ReportingMode;
  py::enum_<ReportingMode>(m, "ReportingMode", "When the sensor nodes report (report_schedule.hpp)")
      .value("every_step", ReportingMode::every_step)
      .value("periodic", ReportingMode::periodic)
      .value("self_triggered", ReportingMode::self_triggered);
  py::class_<ReportingConfig>(m, "ReportingConfig",
                              "Reporting mode, period, safe-horizon ceiling/minimum, event thresholds")
      .def(py::init<>())
      .def_readwrite("mode", &ReportingConfig::mode)
      .def_readwrite("period_s", &ReportingConfig::period_s)
      .def_readwrite("max_interval_s", &ReportingConfig::max_interval_s)
      .def_readwrite("min_interval_s", &ReportingConfig::min_interval_s)
      .def_readwrite("confidence_sigma", &ReportingConfig::confidence_sigma)
      .def_readwrite("voltage_margin_v", &ReportingConfig::voltage_margin_v)
      .def_readwrite("temp_margin_k", &ReportingConfig::temp_margin_k)
      .def_readwrite("soc_margin", &ReportingConfig::soc_margin)
      .def_readwrite("threshold_max_v", &ReportingConfig::threshold_max_v)
      .def_readwrite("threshold_min_v", &ReportingConfig::threshold_min_v)
      .def_readwrite("threshold_max_k", &ReportingConfig::threshold_max_k)
      .def_readwrite("threshold_min_k", &ReportingConfig::threshold_min_k)
      .def("validate", &ReportingConfig::validate, py::arg("dt_s"));
}

}  // namespace safetwin::bindings
