#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "safetwin/battery/cell_model.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/control/cccv_charger.hpp"

namespace safetwin::bindings {

using namespace safetwin::battery;

namespace {

std::vector<double> to_vector(const DoubleArray& a, const char* name) {
  if (a.ndim() != 1) throw std::invalid_argument(std::string(name) + " must be a 1-D array");
  return std::vector<double>(a.data(), a.data() + a.size());
}

py::dict simulate(Pack& pack, const DoubleArray& current_a, double dt_s) {
  if (current_a.ndim() != 1) throw std::invalid_argument("current_a must be a 1-D array");
  const auto n = static_cast<std::size_t>(current_a.size());
  check_profile_arguments(current_a.data(), n, dt_s);
  const auto m = static_cast<py::ssize_t>(pack.cells());
  const auto rows = static_cast<py::ssize_t>(n);
  DoubleArray pack_v(rows), cell_v({rows, m}), cell_t({rows, m}), cell_soc({rows, m}), cell_i({rows, m});
  Status st;
  {
    py::gil_scoped_release release;
    st = pack.simulate(current_a.data(), n, dt_s, pack_v.mutable_data(), cell_v.mutable_data(), cell_t.mutable_data(),
                       cell_soc.mutable_data(), cell_i.mutable_data());
  }
  raise_on_error(st, "Pack.simulate");
  py::dict out;
  out["pack_voltage_v"] = pack_v;
  out["cell_voltage_v"] = cell_v;
  out["cell_temp_k"] = cell_t;
  out["cell_soc"] = cell_soc;
  out["cell_current_a"] = cell_i;
  return out;
}

// The state array of a cell's structure from numpy, with the size checked against the structure.
template <class S>
std::array<double, S::size> state_of(const DoubleArray& x) {
  if (x.ndim() != 1 || x.size() != S::size)
    throw std::invalid_argument("x must be a 1-D array of " + std::to_string(S::size) +
                                " states for this cell's structure (cell_state_names), got size " +
                                std::to_string(x.size()));
  std::array<double, S::size> a{};
  for (int i = 0; i < S::size; ++i) {
    a[static_cast<std::size_t>(i)] = x.at(i);
    if (!std::isfinite(a[static_cast<std::size_t>(i)]))
      throw std::invalid_argument(std::string("x[") + S::name(i) + "] must be finite");
  }
  return a;
}

void check_model_arguments(const CellParams& cell, double current_a, double dt_s) {
  cell.validate();
  if (!std::isfinite(current_a)) throw std::invalid_argument("current_a must be finite");
  if (!(dt_s > 0.0) || !std::isfinite(dt_s)) throw std::invalid_argument("dt_s must be finite and > 0");
}

// The one model's step and its Jacobians (cell_model.hpp) for Python: the prototypes and the tests
// call the core's equations instead of writing them again.
py::dict linearise_step_py(const CellParams& cell, const DoubleArray& x, double current_a, double dt_s,
                           double r0_factor, double capacity_factor) {
  check_model_arguments(cell, current_a, dt_s);
  py::dict out;
  with_structure(cell, [&](auto st) {
    using S = decltype(st);
    const auto xa = state_of<S>(x);
    StepLinearisation<S, 2> lin;
    linearise_step<S, 2>(cell, xa.data(), current_a, dt_s, ModelFactors<double>{r0_factor, capacity_factor, 1.0}, lin);
    DoubleArray xn(S::size), f({S::size, S::size}), g(S::size), ff({S::size, 2});
    for (int r = 0; r < S::size; ++r) {
      xn.mutable_at(r) = lin.x_next[r];
      g.mutable_at(r) = lin.g[r];
      for (int c = 0; c < S::size; ++c) f.mutable_at(r, c) = lin.f(r, c);
      for (int c = 0; c < 2; ++c) ff.mutable_at(r, c) = lin.f_factor(r, c);
    }
    out["x_next"] = xn;
    out["f"] = f;
    out["g"] = g;
    out["f_factor"] = ff;
  });
  return out;
}

py::dict linearise_voltage_py(const CellParams& cell, const DoubleArray& x, double current_a, double r0_factor,
                              double capacity_factor) {
  check_model_arguments(cell, current_a, 1.0);
  py::dict out;
  with_structure(cell, [&](auto st) {
    using S = decltype(st);
    const auto xa = state_of<S>(x);
    VoltageLinearisation<S, 2> vl;
    linearise_voltage<S, 2>(cell, xa.data(), current_a, ModelFactors<double>{r0_factor, capacity_factor, 1.0}, vl);
    DoubleArray dv(S::size), df(2);
    for (int c = 0; c < S::size; ++c) dv.mutable_at(c) = vl.dv_dx[c];
    for (int c = 0; c < 2; ++c) df.mutable_at(c) = vl.dv_dfactor[c];
    out["v"] = vl.v;
    out["dv_dx"] = dv;
    out["dv_di"] = vl.dv_di;
    out["dv_dfactor"] = df;
  });
  return out;
}

}  // namespace

void bind_battery(py::module_& m) {
  // The core's one Celsius offset, so that the Python edges convert with the same number.
  m.attr("ZERO_CELSIUS_K") = kZeroCelsiusK;
  py::class_<OcvTable>(m, "OcvTable", "Open-circuit voltage over SOC (linear interpolation, clamped)")
      .def(py::init([](const DoubleArray& soc, const DoubleArray& ocv_v) {
             return OcvTable(to_vector(soc, "soc"), to_vector(ocv_v, "ocv_v"));
           }),
           py::arg("soc"), py::arg("ocv_v"))
      .def_static("lgm50_chen2020", &OcvTable::lgm50_chen2020, "The reference LG M50 table (compiled in)")
      .def("voltage_v", &OcvTable::voltage_v, py::arg("soc"), "OCV in V at soc (clamped outside the table)")
      .def("slope_v", &OcvTable::slope_v, py::arg("soc"), "dOCV/dSOC in V (end slope outside the table)")
      .def("soc_at_voltage", &OcvTable::soc_at_voltage, py::arg("voltage_v"), "SOC of a rested voltage")
      .def_property_readonly("soc",
                             [](const OcvTable& t) { return DoubleArray(py::ssize_t(t.size()), t.soc().data()); })
      .def_property_readonly("ocv_v",
                             [](const OcvTable& t) { return DoubleArray(py::ssize_t(t.size()), t.ocv_v().data()); })
      .def("__len__", &OcvTable::size);

  py::class_<ParamSurface>(m, "ParamSurface", "A cell parameter: a constant or a table over (SOC, temperature in K)")
      .def(py::init(&ParamSurface::constant), py::arg("value"))
      .def_static("constant", &ParamSurface::constant, py::arg("value"))
      .def_static(
          "table",
          [](const DoubleArray& soc, const DoubleArray& temp_k, const DoubleArray& values, const std::string& name) {
            if (values.ndim() != 2 || values.shape(0) != soc.size() || values.shape(1) != temp_k.size())
              throw std::invalid_argument(name + ".values must have shape (len(soc), len(temp_k))");
            return ParamSurface::table(to_vector(soc, "soc"), to_vector(temp_k, "temp_k"),
                                       std::vector<double>(values.data(), values.data() + values.size()), name);
          },
          py::arg("soc"), py::arg("temp_k"), py::arg("values"), py::arg("name") = "table")
      .def("at", static_cast<double (ParamSurface::*)(double, double) const noexcept>(&ParamSurface::at),
           py::arg("soc"), py::arg("temp_k"))
      .def_property_readonly("is_constant", &ParamSurface::is_constant);
  py::implicitly_convertible<double, ParamSurface>();

  py::class_<CellLimits>(m, "CellLimits", "Operating limits of a cell (SI units)")
      .def(py::init<>())
      .def_readwrite("voltage_min_v", &CellLimits::voltage_min_v)
      .def_readwrite("voltage_max_v", &CellLimits::voltage_max_v)
      .def_readwrite("temp_max_k", &CellLimits::temp_max_k)
      .def_readwrite("temp_min_k", &CellLimits::temp_min_k)
      .def_readwrite("charge_current_max_a", &CellLimits::charge_current_max_a)
      .def_readwrite("discharge_current_max_a", &CellLimits::discharge_current_max_a);

  py::class_<HysteresisParams>(m, "HysteresisParams",
                               "One-state hysteresis (Plett vol. 1 sec. 3.10): V += m_v h + m0_v s")
      .def(py::init([](double gamma, double m_v, double m0_v) {
             return HysteresisParams{gamma, m_v, m0_v};
           }),
           py::arg("gamma") = 0.0, py::arg("m_v") = 0.0, py::arg("m0_v") = 0.0)
      .def_readwrite("gamma", &HysteresisParams::gamma)
      .def_readwrite("m_v", &HysteresisParams::m_v)
      .def_readwrite("m0_v", &HysteresisParams::m0_v);

  m.def(
      "cell_state_names",
      [](int rc_pairs, bool hysteresis) {
        std::vector<std::string> names;
        CellParams p;
        p.rc_pairs = rc_pairs;
        if (hysteresis) p.hysteresis = HysteresisParams{};
        if (rc_pairs < 1 || rc_pairs > 3)
          throw std::invalid_argument("rc_pairs must be 1, 2 or 3, got " + std::to_string(rc_pairs));
        with_structure(p, [&](auto st) {
          using S = decltype(st);
          for (int i = 0; i < S::size; ++i) names.emplace_back(S::name(i));
        });
        return names;
      },
      py::arg("rc_pairs") = 2, py::arg("hysteresis") = false,
      "The model's state names in order for a structure (the one spec, cell_structure.hpp)");

  m.def("linearise_step", &linearise_step_py, py::arg("cell"), py::arg("x"), py::arg("current_a"), py::arg("dt_s"),
        py::arg("r0_factor") = 1.0, py::arg("capacity_factor") = 1.0,
        "The one cell model's step from x under current_a over dt_s: {x_next, f = dx'/dx, g = dx'/dI, "
        "f_factor = dx'/d[r0_factor, capacity_factor]} (x in cell_state_names order)");
  m.def("linearise_voltage", &linearise_voltage_py, py::arg("cell"), py::arg("x"), py::arg("current_a"),
        py::arg("r0_factor") = 1.0, py::arg("capacity_factor") = 1.0,
        "The one cell model's terminal voltage at x under current_a: {v, dv_dx, dv_di, dv_dfactor}");

  py::class_<CellParams>(
      m, "CellParams", "Equivalent-circuit (1-3 RC pairs, optional hysteresis) + lumped thermal parameters (SI units)")
      .def(py::init<>())
      .def_static("ref_cell_1", &CellParams::ref_cell_1, "REF-CELL-1 (LG M50, reference problems)")
      .def("validate", &CellParams::validate, "Raises ValueError naming the first bad field")
      .def_readwrite("capacity_ah", &CellParams::capacity_ah)
      .def_readwrite("coulombic_efficiency", &CellParams::coulombic_efficiency)
      .def_readwrite("ocv", &CellParams::ocv)
      .def_readwrite("r0_ohm", &CellParams::r0_ohm)
      .def_readwrite("r1_ohm", &CellParams::r1_ohm)
      .def_readwrite("c1_f", &CellParams::c1_f)
      .def_readwrite("r2_ohm", &CellParams::r2_ohm)
      .def_readwrite("c2_f", &CellParams::c2_f)
      .def_readwrite("rc_pairs", &CellParams::rc_pairs)
      .def_readwrite("r3_ohm", &CellParams::r3_ohm)
      .def_readwrite("c3_f", &CellParams::c3_f)
      .def_readwrite("r0_charge_ohm", &CellParams::r0_charge_ohm)
      .def_readwrite("r1_charge_ohm", &CellParams::r1_charge_ohm)
      .def_readwrite("r2_charge_ohm", &CellParams::r2_charge_ohm)
      .def_readwrite("r3_charge_ohm", &CellParams::r3_charge_ohm)
      .def_readwrite("entropic_v_per_k", &CellParams::entropic_v_per_k)
      .def_readwrite("hysteresis", &CellParams::hysteresis)
      .def_readwrite("exchange_current_a", &CellParams::exchange_current_a,
                     "Butler-Volmer exchange current I0 in A (None: no charge-transfer overpotential)")
      .def_readwrite("arrhenius_k", &CellParams::arrhenius_k)
      .def_readwrite("heat_capacity_j_per_k", &CellParams::heat_capacity_j_per_k)
      .def_readwrite("heat_transfer_w_per_k", &CellParams::heat_transfer_w_per_k)
      .def_readwrite("ambient_temp_k", &CellParams::ambient_temp_k)
      .def_readwrite("limits", &CellParams::limits);

  py::class_<CellState>(m, "CellState",
                        "State of one cell: SOC, RC voltages in V, temperature in K, hysteresis h and s")
      .def(py::init([](double soc, double v1_v, double v2_v, double temp_k, double v3_v, double hysteresis,
                       double hysteresis_sign) {
             return CellState{soc, v1_v, v2_v, temp_k, v3_v, hysteresis, hysteresis_sign};
           }),
           py::arg("soc") = 0.5, py::arg("v1_v") = 0.0, py::arg("v2_v") = 0.0, py::arg("temp_k") = kReferenceTempK,
           py::arg("v3_v") = 0.0, py::arg("hysteresis") = 0.0, py::arg("hysteresis_sign") = 0.0)
      .def_readwrite("soc", &CellState::soc)
      .def_readwrite("v1_v", &CellState::v1_v)
      .def_readwrite("v2_v", &CellState::v2_v)
      .def_readwrite("temp_k", &CellState::temp_k)
      .def_readwrite("v3_v", &CellState::v3_v)
      .def_readwrite("hysteresis", &CellState::hysteresis)
      .def_readwrite("hysteresis_sign", &CellState::hysteresis_sign)
      .def("__repr__", [](const CellState& s) {
        return "CellState(soc=" + std::to_string(s.soc) + ", v1_v=" + std::to_string(s.v1_v) +
               ", v2_v=" + std::to_string(s.v2_v) + ", temp_k=" + std::to_string(s.temp_k) +
               ", v3_v=" + std::to_string(s.v3_v) + ", hysteresis=" + std::to_string(s.hysteresis) +
               ", hysteresis_sign=" + std::to_string(s.hysteresis_sign) + ")";
      });

  py::class_<CellScaling>(m, "CellScaling", "Ageing and spread factors of one cell")
      .def(py::init([](double capacity_factor, double resistance_factor, double r0_factor) {
             return CellScaling{capacity_factor, resistance_factor, r0_factor};
           }),
           py::arg("capacity_factor") = 1.0, py::arg("resistance_factor") = 1.0, py::arg("r0_factor") = 1.0)
      .def_readwrite("capacity_factor", &CellScaling::capacity_factor)
      .def_readwrite("resistance_factor", &CellScaling::resistance_factor)
      .def_readwrite("r0_factor", &CellScaling::r0_factor);

  py::class_<SpreadConfig>(m, "SpreadConfig", "Cell-to-cell spread, uniform in [1-rel, 1+rel], seeded")
      .def(py::init([](double capacity_rel, double r0_rel, std::uint64_t seed) {
             return SpreadConfig{capacity_rel, r0_rel, seed};
           }),
           py::arg("capacity_rel") = 0.0, py::arg("r0_rel") = 0.0, py::arg("seed") = 0)
      .def_readwrite("capacity_rel", &SpreadConfig::capacity_rel)
      .def_readwrite("r0_rel", &SpreadConfig::r0_rel)
      .def_readwrite("seed", &SpreadConfig::seed);

  py::class_<PackConfig>(m, "PackConfig", "Ns series groups of Np parallel cells")
      .def(py::init([](int series, int parallel, CellParams cell, SpreadConfig spread, CellState initial) {
             return PackConfig{series, parallel, std::move(cell), spread, initial};
           }),
           py::arg("series") = 1, py::arg("parallel") = 1, py::arg("cell") = CellParams::ref_cell_1(),
           py::arg("spread") = SpreadConfig{}, py::arg("initial") = CellState{})
      .def_readwrite("series", &PackConfig::series)
      .def_readwrite("parallel", &PackConfig::parallel)
      .def_readwrite("cell", &PackConfig::cell)
      .def_readwrite("spread", &PackConfig::spread)
      .def_readwrite("initial", &PackConfig::initial);

  py::class_<Pack>(m, "Pack", "Battery pack plant: per-cell 2RC + thermal, Kirchhoff split in parallel groups")
      .def(py::init<PackConfig>(), py::arg("config"))
      .def(
          "step",
          [](Pack& p, double current_a, double dt_s) {
            check_step_arguments(current_a, dt_s);
            raise_on_error(p.step(current_a, dt_s), "Pack.step");
          },
          py::arg("current_a"), py::arg("dt_s"), "One step under the pack current in A (> 0 discharges)")
      .def("simulate", &simulate, py::arg("current_a"), py::arg("dt_s"),
           "Simulates a current profile in C++; returns arrays (row k = time k)")
      .def_property_readonly("series", &Pack::series)
      .def_property_readonly("parallel", &Pack::parallel)
      .def_property_readonly("cells", &Pack::cells)
      .def_property_readonly("params", &Pack::params)
      .def_property_readonly("states", &Pack::states)
      .def_property_readonly("scaling", &Pack::scaling)
      .def("set_state", &Pack::set_state, py::arg("cell"), py::arg("state"))
      .def("set_all_states", &Pack::set_all_states, py::arg("state"))
      .def("set_scaling", &Pack::set_scaling, py::arg("cell"), py::arg("scaling"))
      .def("set_leak_resistance", &Pack::set_leak_resistance, py::arg("cell"), py::arg("ohm"))
      .def("leak_resistance", &Pack::leak_resistance, py::arg("cell"))
      .def("set_cooling_factor", &Pack::set_cooling_factor, py::arg("cell"), py::arg("factor"))
      .def_property("contactor_closed", &Pack::contactor_closed, &Pack::set_contactor_closed)
      .def("set_ambient_temp_k", &Pack::set_ambient_temp_k, py::arg("temp_k"))
      .def_property_readonly(
          "cell_voltage_v",
          [](const Pack& p) { return DoubleArray(py::ssize_t(p.cells()), p.cell_voltage_v().data()); })
      .def_property_readonly(
          "cell_current_a",
          [](const Pack& p) { return DoubleArray(py::ssize_t(p.cells()), p.cell_current_a().data()); })
      .def_property_readonly("cell_temp_k",
                             [](const Pack& p) {
                               DoubleArray a(py::ssize_t(p.cells()));
                               for (std::size_t j = 0; j < p.cells(); ++j)
                                 a.mutable_at(py::ssize_t(j)) = p.states()[j].temp_k;
                               return a;
                             })
      .def_property_readonly("cell_soc",
                             [](const Pack& p) {
                               DoubleArray a(py::ssize_t(p.cells()));
                               for (std::size_t j = 0; j < p.cells(); ++j)
                                 a.mutable_at(py::ssize_t(j)) = p.states()[j].soc;
                               return a;
                             })
      .def_property_readonly("pack_voltage_v", &Pack::pack_voltage_v)
      .def("cell_voltage_at", &Pack::cell_voltage_at, py::arg("cell"), py::arg("cell_current_a"));

  py::class_<Cell>(m, "Cell", "One cell (a 1s1p pack)")
      .def(py::init<CellParams, CellState>(), py::arg("params") = CellParams::ref_cell_1(),
           py::arg("initial") = CellState{})
      .def(
          "step",
          [](Cell& c, double current_a, double dt_s) {
            check_step_arguments(current_a, dt_s);
            double v = 0.0;
            raise_on_error(c.step(current_a, dt_s, &v), "Cell.step");
            return v;
          },
          py::arg("current_a"), py::arg("dt_s"), "One step; returns the terminal voltage in V at the step's start")
      .def(
          "simulate", [](Cell& c, const DoubleArray& i, double dt) { return simulate(c.pack(), i, dt); },
          py::arg("current_a"), py::arg("dt_s"))
      .def_property("state", &Cell::state, &Cell::set_state)
      .def("voltage_v", &Cell::voltage_v, py::arg("current_a"), "Terminal voltage in V under current_a, no step")
      .def_property_readonly("pack", py::overload_cast<>(&Cell::pack), py::return_value_policy::reference_internal);

  // The baseline CC-CV charger lives in control/ but is the plant's standard charge profile.
  using control::CcCvCharger;
  using control::CcCvConfig;
  py::class_<CcCvConfig>(m, "CcCvConfig", "CC-CV charger settings (currents are magnitudes in A)")
      .def(py::init([](double charge_current_a, double cv_voltage_v, double cutoff_current_a, double resistance_ohm) {
             CcCvConfig c{charge_current_a, cv_voltage_v, cutoff_current_a, resistance_ohm};
             c.validate();
             return c;
           }),
           py::arg("charge_current_a") = 5.15, py::arg("cv_voltage_v") = 4.2, py::arg("cutoff_current_a") = 0.2575,
           py::arg("resistance_ohm") = 0.021)
      .def_readwrite("charge_current_a", &CcCvConfig::charge_current_a)
      .def_readwrite("cv_voltage_v", &CcCvConfig::cv_voltage_v)
      .def_readwrite("cutoff_current_a", &CcCvConfig::cutoff_current_a)
      .def_readwrite("resistance_ohm", &CcCvConfig::resistance_ohm);
  py::class_<CcCvCharger>(m, "CcCvCharger", "Constant-current / constant-voltage charger on the highest cell voltage")
      .def(py::init<CcCvConfig>(), py::arg("config"))
      .def("current_a", &CcCvCharger::current_a, py::arg("max_cell_voltage_v"),
           "Pack current in A (<= 0) for the next step from the last step's highest cell voltage")
      .def_property_readonly("phase", [](const CcCvCharger& c) {
        switch (c.phase()) {
          case control::CcCvPhase::constant_current: return "cc";
          case control::CcCvPhase::constant_voltage: return "cv";
          case control::CcCvPhase::done: return "done";
        }
        return "done";
      });
  m.def(
      "run_cccv",
      [](Pack& pack, const CcCvConfig& config, double dt_s, std::size_t max_steps) {
        check_step_arguments(0.0, dt_s);
        CcCvCharger charger(config);
        const auto m_cells = static_cast<py::ssize_t>(pack.cells());
        const auto rows = static_cast<py::ssize_t>(max_steps);
        DoubleArray i(rows), pack_v(rows), cell_v({rows, m_cells}), cell_t({rows, m_cells}), cell_soc({rows, m_cells});
        std::size_t steps = 0;
        Status st;
        {
          py::gil_scoped_release release;
          st = control::run_cccv(pack, charger, dt_s, max_steps, &steps, i.mutable_data(), pack_v.mutable_data(),
                                 cell_v.mutable_data(), cell_t.mutable_data(), cell_soc.mutable_data());
        }
        raise_on_error(st, "run_cccv");
        const auto n = static_cast<py::ssize_t>(steps);
        py::dict out;
        py::slice rows_taken(0, n, 1);
        out["current_a"] = i[rows_taken];
        out["pack_voltage_v"] = pack_v[rows_taken];
        out["cell_voltage_v"] = cell_v[rows_taken];
        out["cell_temp_k"] = cell_t[rows_taken];
        out["cell_soc"] = cell_soc[rows_taken];
        return out;
      },
      py::arg("pack"), py::arg("config"), py::arg("dt_s"), py::arg("max_steps"),
      "Closed-loop CC-CV charge of the pack in C++ until cut-off or max_steps; arrays per step");
}

}  // namespace safetwin::bindings
