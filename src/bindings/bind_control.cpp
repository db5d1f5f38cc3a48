// Bindings of the control layer: the QP hook interface (with a trampoline so that a Python object
// can be the solver of the C++ MPC), the built-in dense QP solver, the Controller interface (with
// a trampoline so that a Python control law can drive the C++ closed loop), the battery MPC and
// the closed-loop charge runner. Thin: numpy in and out, no logic the core lacks.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/control/chance_constraint.hpp"
#include "safetwin/control/charge_loop.hpp"
#include "safetwin/control/controller.hpp"
#include "safetwin/control/dense_qp_solver.hpp"
#include "safetwin/control/qp.hpp"

namespace safetwin::bindings {

using namespace safetwin::control;
using FortranArray = py::array_t<double, py::array::f_style | py::array::forcecast>;

namespace {

// ---- QP data <-> numpy ----------------------------------------------------------------------

// The QP as numpy arrays (copies), handed to a Python solver hook.
struct QpProblem {
  int n = 0, m = 0;
  DoubleArray H, f, A, lower, upper, lb, ub, soft_penalty;
  std::uint64_t hessian_id = 0;
  py::object x_warm = py::none();  // the warm start's x (shifted previous plan), or None
  py::object y_warm = py::none();

  static QpProblem from(const QpData& qp, const QpSolution* warm) {
    QpProblem p;
    p.n = qp.n;
    p.m = qp.m;
    const py::ssize_t n = qp.n, m = qp.m;
    p.H = DoubleArray({n, n});
    p.A = DoubleArray({m, n});
    for (py::ssize_t i = 0; i < n; ++i)
      for (py::ssize_t j = 0; j < n; ++j) p.H.mutable_at(i, j) = qp.H[j * n + i];
    for (py::ssize_t i = 0; i < m; ++i)
      for (py::ssize_t j = 0; j < n; ++j) p.A.mutable_at(i, j) = qp.A[j * qp.lda + i];
    p.f = DoubleArray(n, qp.f);
    p.lb = DoubleArray(n, qp.lb);
    p.ub = DoubleArray(n, qp.ub);
    p.lower = DoubleArray(m, qp.lower);
    p.upper = DoubleArray(m, qp.upper);
    p.soft_penalty = DoubleArray(m);
    for (py::ssize_t i = 0; i < m; ++i)
      p.soft_penalty.mutable_at(i) = qp.soft_penalty != nullptr ? qp.soft_penalty[i] : INFINITY;
    p.hessian_id = qp.hessian_id;
    if (warm != nullptr && warm->n == qp.n && warm->m == qp.m) {
      p.x_warm = DoubleArray(n, warm->x.data());
      p.y_warm = DoubleArray(m, warm->y.data());
    }
    return p;
  }
};

// The QpData view of numpy arrays given to DenseQpSolver.solve from Python (kept alive by the caller).
struct QpArrays {
  FortranArray H, A;
  DoubleArray f, lower, upper, lb, ub, rho;
  QpData view(std::uint64_t id) const {
    QpData d;
    d.n = static_cast<int>(f.size());
    d.m = static_cast<int>(lower.size());
    d.H = H.data();
    d.f = f.data();
    d.A = d.m > 0 ? A.data() : nullptr;
    d.lda = d.m;
    d.lower = lower.data();
    d.upper = upper.data();
    d.lb = lb.data();
    d.ub = ub.data();
    d.soft_penalty = rho.data();
    d.hessian_id = id;
    return d;
  }
};

DoubleArray filled(py::ssize_t n, double v) {
  DoubleArray a(n);
  for (py::ssize_t i = 0; i < n; ++i) a.mutable_at(i) = v;
  return a;
}

DoubleArray vector_arg(const py::object& o, py::ssize_t n, double fill, const char* name) {
  if (o.is_none()) return filled(n, fill);
  DoubleArray a = py::cast<DoubleArray>(o);
  if (a.ndim() != 1 || a.size() != n)
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(n) + ",)");
  return a;
}

QpArrays qp_arrays(const DoubleArray& H, const DoubleArray& f, const py::object& A, const py::object& lower,
                   const py::object& upper, const py::object& lb, const py::object& ub, const py::object& soft) {
  if (f.ndim() != 1) throw std::invalid_argument("f must be a 1-D array");
  const py::ssize_t n = f.size();
  if (H.ndim() != 2 || H.shape(0) != n || H.shape(1) != n)
    throw std::invalid_argument("H must have shape (n, n) with n = len(f) = " + std::to_string(n));
  QpArrays q;
  q.H = FortranArray(H);
  q.f = f;
  if (A.is_none()) {
    q.A = FortranArray(std::vector<py::ssize_t>{0, n});
  } else {
    q.A = py::cast<FortranArray>(A);
    if (q.A.ndim() != 2 || q.A.shape(1) != n)
      throw std::invalid_argument("A must have shape (m, n) with n = " + std::to_string(n));
  }
  const py::ssize_t m = q.A.shape(0);
  q.lower = vector_arg(lower, m, -INFINITY, "lower");
  q.upper = vector_arg(upper, m, INFINITY, "upper");
  q.lb = vector_arg(lb, n, -INFINITY, "lb");
  q.ub = vector_arg(ub, n, INFINITY, "ub");
  q.rho = vector_arg(soft, m, INFINITY, "soft_penalty");
  return q;
}

DoubleArray head(const Eigen::VectorXd& v, int n) { return DoubleArray(n, v.data()); }

py::array_t<std::int8_t> states(const std::vector<ActiveState>& s, int n) {
  py::array_t<std::int8_t> a(n);
  for (int i = 0; i < n; ++i) a.mutable_at(i) = static_cast<std::int8_t>(s[static_cast<std::size_t>(i)]);
  return a;
}

// ---- trampolines --------------------------------------------------------------------------------

// A QP solver written in Python: subclass safetwin.control.QpSolver and define solve(self, qp)
// returning x, or (x, status, iterations). Runs with the GIL taken inside the C++ loop. Anything
// it raises or returns wrongly becomes QpStatus.solver_error with the message in last_error:
// the MPC then falls back (never a crash, never NaN).
class PyQpSolver : public QpSolver {
 public:
  QpStatus solve(const QpData& qp, const QpSolution* warm, QpSolution& sol) noexcept override {
    py::gil_scoped_acquire gil;
    sol.n = qp.n;
    sol.m = qp.m;
    sol.iterations = 0;
    try {
      py::function override = py::get_override(static_cast<const QpSolver*>(this), "solve");
      if (!override) return fail(sol, "the hook has no solve(self, qp) method");
      py::object r = override(QpProblem::from(qp, warm));
      py::object xo = r;
      QpStatus status = QpStatus::optimal;
      if (py::isinstance<py::tuple>(r)) {
        py::tuple t = r;
        if (t.size() != 3) return fail(sol, "solve() must return x or (x, status, iterations)");
        xo = t[0];
        status = py::isinstance<py::str>(t[1]) ? parse_status(t[1].cast<std::string>()) : t[1].cast<QpStatus>();
        sol.iterations = t[2].cast<int>();
      }
      DoubleArray x = py::cast<DoubleArray>(xo);
      if (x.ndim() != 1 || x.size() != qp.n) {
        std::ostringstream msg;
        msg << "solve() returned x with " << x.ndim() << " dimension(s) and " << x.size()
            << " entries, expected shape (" << qp.n << ",)";
        return fail(sol, msg.str());
      }
      for (int j = 0; j < qp.n; ++j) sol.x[j] = x.at(j);
      sol.y.head(qp.m).setZero();
      sol.z.head(qp.n).setZero();
      for (auto& s : sol.row_state) s = ActiveState::inactive;
      for (auto& s : sol.bound_state) s = ActiveState::inactive;
      sol.status = status;
      sol.objective = qp_objective(qp, sol.x.data());
      last_error_.clear();
      return status;
    } catch (const std::exception& e) { return fail(sol, e.what()); } catch (...) {
      return fail(sol, "unknown exception in the hook");
    }
  }
  const char* name() const noexcept override { return "python"; }
  const std::string& last_error() const { return last_error_; }

  static QpStatus parse_status(const std::string& s) {
    for (QpStatus q :
         {QpStatus::optimal, QpStatus::max_iterations, QpStatus::primal_infeasible, QpStatus::dual_infeasible,
          QpStatus::numerical_error, QpStatus::invalid_input, QpStatus::solver_error})
      if (s == to_string(q)) return q;
    throw std::invalid_argument("unknown QP status '" + s + "'");
  }

 private:
  QpStatus fail(QpSolution& sol, std::string msg) noexcept {
    last_error_ = std::move(msg);
    sol.status = QpStatus::solver_error;
    return sol.status;
  }
  std::string last_error_;
};

// A control law written in Python: subclass safetwin.control.Controller and define
// compute(self, inp) returning the current in A, (current, Status) or (current, Decision). An
// exception or a non-finite value gives decision fallback with zero current (the loop applies it).
class PyController : public Controller {
 public:
  Status compute(const ControllerInput& in, ControllerOutput& out) noexcept override {
    py::gil_scoped_acquire gil;
    out.iterations = 0;
    out.decision = Decision::applied;
    try {
      py::function override = py::get_override(static_cast<const Controller*>(this), "compute");
      if (!override) return fail(out, "the controller has no compute(self, inp) method");
      py::object r = override(in);
      Status st = Status::ok;
      if (py::isinstance<py::tuple>(r)) {
        py::tuple t = r;
        if (t.size() != 2) return fail(out, "compute() must return current, (current, Status) or (current, Decision)");
        if (py::isinstance<Decision>(t[1]))
          out.decision = t[1].cast<Decision>();
        else
          st = t[1].cast<Status>();
        r = t[0];
      }
      const double i = r.cast<double>();
      if (!std::isfinite(i)) return fail(out, "compute() returned a non-finite current");
      out.current_a = i;
      last_error_.clear();
      return st;
    } catch (const std::exception& e) { return fail(out, e.what()); } catch (...) {
      return fail(out, "unknown exception in the controller");
    }
  }
  void reset() noexcept override {
    py::gil_scoped_acquire gil;
    try {
      py::function override = py::get_override(static_cast<const Controller*>(this), "reset");
      if (override) override();
    } catch (...) {}
  }
  const std::string& last_error() const { return last_error_; }

 private:
  Status fail(ControllerOutput& out, std::string msg) noexcept {
    last_error_ = std::move(msg);
    out.current_a = 0.0;
    out.decision = Decision::fallback;
    return Status::ok;  // the binding worked: the law's output is replaced by the safe fallback
  }
  std::string last_error_;
};

py::dict run_loop(battery::Cell& cell, Controller& controller, const ChargeLoopConfig& config, py::object max_steps_o) {
  config.validate();
  const std::size_t max_steps = max_steps_o.is_none()
                                    ? static_cast<std::size_t>(std::ceil(config.max_time_s / config.dt_s))
                                    : max_steps_o.cast<std::size_t>();
  const auto n = static_cast<py::ssize_t>(max_steps);
  DoubleArray i(n), v(n), t(n), soc(n), time(n);
  py::array_t<int> iters(n);
  py::array_t<std::uint8_t> status(n), decision(n);
  ChargeTrace tr{i.mutable_data(),    v.mutable_data(),     t.mutable_data(),      soc.mutable_data(),
                 time.mutable_data(), iters.mutable_data(), status.mutable_data(), decision.mutable_data()};
  ChargeLoopResult res;
  Status st;
  {
    py::gil_scoped_release release;
    st = run_charge_loop(cell, controller, config, max_steps, tr, &res);
  }
  raise_on_error(st, "run_charge_loop");
  const auto k = static_cast<py::ssize_t>(res.steps);
  auto cut = [k](py::array a) { return a[py::slice(0, k, 1)]; };
  py::dict out;
  out["current_a"] = cut(i);
  out["voltage_v"] = cut(v);
  out["temp_k"] = cut(t);
  out["soc"] = cut(soc);
  out["solve_time_s"] = cut(time);
  out["iterations"] = cut(iters);
  out["status"] = cut(status);
  out["decision"] = cut(decision);
  out["steps"] = res.steps;
  out["reached"] = res.reached;
  out["time_to_stop_s"] = res.reached ? res.time_to_stop_s : NAN;
  out["non_ok_steps"] = res.non_ok_steps;
  return out;
}

}  // namespace

void bind_control(py::module_& m) {
  py::enum_<QpStatus>(m, "QpStatus", "What a QP solver concluded")
      .value("optimal", QpStatus::optimal)
      .value("max_iterations", QpStatus::max_iterations)
      .value("primal_infeasible", QpStatus::primal_infeasible)
      .value("dual_infeasible", QpStatus::dual_infeasible)
      .value("numerical_error", QpStatus::numerical_error)
      .value("invalid_input", QpStatus::invalid_input)
      .value("solver_error", QpStatus::solver_error);

  py::enum_<ChanceForm>(m, "ChanceForm", "Form of the chance-constraint margin")
      .value("gaussian", ChanceForm::gaussian)
      .value("cantelli", ChanceForm::cantelli);
  m.def("chance_multiplier", &chance_multiplier, py::arg("form"), py::arg("alpha"),
        "q(alpha): a limit holds with probability >= 1 - alpha when mean + q * std <= limit");

  py::class_<QpProblem>(m, "QpProblem",
                        "A QP handed to a Python solver hook (numpy copies): minimise 1/2 x'Hx + f'x + "
                        "sum soft_penalty * dist(Ax, [lower, upper]) subject to lb <= x <= ub and the hard rows "
                        "(soft_penalty = inf)")
      .def_readonly("n", &QpProblem::n)
      .def_readonly("m", &QpProblem::m)
      .def_readonly("H", &QpProblem::H)
      .def_readonly("f", &QpProblem::f)
      .def_readonly("A", &QpProblem::A)
      .def_readonly("lower", &QpProblem::lower)
      .def_readonly("upper", &QpProblem::upper)
      .def_readonly("lb", &QpProblem::lb)
      .def_readonly("ub", &QpProblem::ub)
      .def_readonly("soft_penalty", &QpProblem::soft_penalty)
      .def_readonly("hessian_id", &QpProblem::hessian_id, "same nonzero id: H unchanged since the last call")
      .def_readonly("x_warm", &QpProblem::x_warm, "warm start (shifted previous solution) or None")
      .def_readonly("y_warm", &QpProblem::y_warm);

  py::class_<QpSolution>(m, "QpSolution", "Solution of a QP: x, multipliers y (rows), z (bounds), status")
      .def_property_readonly("x", [](const QpSolution& s) { return head(s.x, s.n); })
      .def_property_readonly("y", [](const QpSolution& s) { return head(s.y, s.m); })
      .def_property_readonly("z", [](const QpSolution& s) { return head(s.z, s.n); })
      .def_property_readonly(
          "row_state", [](const QpSolution& s) { return states(s.row_state, s.m); },
          "per row: 0 inactive, +-1 at upper/lower limit, +-2 soft row violated above/below")
      .def_property_readonly("bound_state", [](const QpSolution& s) { return states(s.bound_state, s.n); })
      .def_readonly("objective", &QpSolution::objective)
      .def_readonly("iterations", &QpSolution::iterations)
      .def_readonly("status", &QpSolution::status);

  py::class_<QpSolver, PyQpSolver>(m, "QpSolver",
                                   "A QP solver hook. Subclass it in Python (call QpSolver.__init__) and define "
                                   "solve(self, qp: QpProblem) returning x or (x, status, iterations).")
      .def(py::init<>())
      .def_property_readonly("name", [](const QpSolver& s) { return std::string(s.name()); })
      .def_property_readonly("last_error", [](const QpSolver& s) {
        const auto* p = dynamic_cast<const PyQpSolver*>(&s);
        return p != nullptr ? p->last_error() : std::string();
      });

  py::class_<DenseQpSettings>(m, "DenseQpSettings", "Settings of the built-in dense QP solver")
      .def(py::init([](int max_iterations, double primal_tolerance, double dependence_tolerance, bool scale) {
             DenseQpSettings s{max_iterations, primal_tolerance, dependence_tolerance, scale};
             s.validate();
             return s;
           }),
           py::arg("max_iterations") = 200, py::arg("primal_tolerance") = 1e-9, py::arg("dependence_tolerance") = 1e-11,
           py::arg("scale") = true)
      .def_readwrite("max_iterations", &DenseQpSettings::max_iterations)
      .def_readwrite("primal_tolerance", &DenseQpSettings::primal_tolerance)
      .def_readwrite("dependence_tolerance", &DenseQpSettings::dependence_tolerance)
      .def_readwrite("scale", &DenseQpSettings::scale)
      .def("validate", &DenseQpSettings::validate);

  py::class_<DenseQpSolver, QpSolver>(m, "DenseQpSolver",
                                      "The built-in dense dual active-set QP solver (L1-soft rows inside, factor "
                                      "reused while hessian_id stays the same, no allocation per solve)")
      .def(py::init<int, int, DenseQpSettings>(), py::arg("n_max"), py::arg("m_max"),
           py::arg("settings") = DenseQpSettings{})
      .def(
          "solve",
          [](DenseQpSolver& solver, const DoubleArray& H, const DoubleArray& f, const py::object& A,
             const py::object& lower, const py::object& upper, const py::object& lb, const py::object& ub,
             const py::object& soft_penalty, const QpSolution* warm, std::uint64_t hessian_id) {
            const QpArrays q = qp_arrays(H, f, A, lower, upper, lb, ub, soft_penalty);
            const QpData d = q.view(hessian_id);
            if (d.n > solver.n_max() || d.m > solver.m_max())
              throw std::invalid_argument("QP of size n = " + std::to_string(d.n) + ", m = " + std::to_string(d.m) +
                                          " exceeds n_max = " + std::to_string(solver.n_max()) +
                                          ", m_max = " + std::to_string(solver.m_max()));
            QpSolution sol(solver.n_max(), solver.m_max());
            {
              py::gil_scoped_release release;
              (void)solver.solve(d, warm, sol);
            }
            return sol;
          },
          py::arg("H"), py::arg("f"), py::arg("A") = py::none(), py::arg("lower") = py::none(),
          py::arg("upper") = py::none(), py::arg("lb") = py::none(), py::arg("ub") = py::none(),
          py::arg("soft_penalty") = py::none(), py::arg("warm") = nullptr, py::arg("hessian_id") = 0,
          "Solve min 1/2 x'Hx + f'x + sum soft_penalty_i dist(A_i x, [lower_i, upper_i]) s.t. lb <= x <= ub and the "
          "hard rows (soft_penalty inf, the default). warm: a previous QpSolution of the same size.")
      .def_property_readonly("n_max", &DenseQpSolver::n_max)
      .def_property_readonly("m_max", &DenseQpSolver::m_max)
      .def_property_readonly("factorisations", &DenseQpSolver::factorisations);

  // ---- the Controller interface -------------------------------------------------------------
  py::class_<ControllerInput>(m, "ControllerInput",
                              "What a controller sees each cycle (SI units, x = [SOC, v1, v2, T_K])")
      .def(py::init([](const Eigen::Vector4d& x, const py::object& P, double last_current_a, double current_min_a,
                       double current_max_a, double dt_s, double time_s) {
             ControllerInput in;
             in.x = x;
             if (!P.is_none()) in.P = P.cast<Eigen::Matrix4d>();
             in.last_current_a = last_current_a;
             in.current_min_a = current_min_a;
             in.current_max_a = current_max_a;
             in.dt_s = dt_s;
             in.time_s = time_s;
             return in;
           }),
           py::arg("x"), py::arg("P") = py::none(), py::arg("last_current_a") = 0.0, py::arg("current_min_a") = -15.0,
           py::arg("current_max_a") = 25.0, py::arg("dt_s") = 1.0, py::arg("time_s") = 0.0)
      .def_readwrite("x", &ControllerInput::x)
      .def_readwrite("P", &ControllerInput::P)
      .def_readwrite("last_current_a", &ControllerInput::last_current_a)
      .def_readwrite("current_min_a", &ControllerInput::current_min_a)
      .def_readwrite("current_max_a", &ControllerInput::current_max_a)
      .def_readwrite("dt_s", &ControllerInput::dt_s)
      .def_readwrite("time_s", &ControllerInput::time_s);

  py::class_<ControllerOutput>(m, "ControllerOutput", "The requested current and the solver iterations")
      .def(py::init<>())
      .def_readwrite("current_a", &ControllerOutput::current_a)
      .def_readwrite("iterations", &ControllerOutput::iterations)
      .def_readwrite("decision", &ControllerOutput::decision);

  py::class_<Controller, PyController>(
      m, "Controller",
      "A controller of the control cycle. Subclass it in Python (call "
      "Controller.__init__) and define compute(self, inp) returning the current in "
      "A, (current, Status) or (current, Decision); C++ controllers (BatteryMpc) derive from it too.")
      .def(py::init<>())
      .def(
          "compute",
          [](Controller& c, const ControllerInput& in) {
            ControllerOutput out;
            Status st;
            {
              py::gil_scoped_release release;
              st = c.compute(in, out);
            }
            return py::make_tuple(st, out);
          },
          py::arg("inp"), "Returns (Status, ControllerOutput)")
      .def("reset", &Controller::reset)
      .def_property_readonly("last_error", [](const Controller& c) {
        const auto* p = dynamic_cast<const PyController*>(&c);
        return p != nullptr ? p->last_error() : std::string();
      });

  // ---- the battery MPC --------------------------------------------------------------------
  py::class_<BatteryMpcConfig>(m, "BatteryMpcConfig", "MPC-FC settings (SI units; see battery_mpc.hpp)")
      .def(py::init<>())
      .def_readwrite("horizon", &BatteryMpcConfig::horizon)
      .def_readwrite("max_horizon", &BatteryMpcConfig::max_horizon)
      .def_readwrite("dt_s", &BatteryMpcConfig::dt_s)
      .def_readwrite("soc_target", &BatteryMpcConfig::soc_target)
      .def_readwrite("soc_weight", &BatteryMpcConfig::soc_weight)
      .def_readwrite("rate_weight", &BatteryMpcConfig::rate_weight)
      .def_readwrite("voltage_penalty", &BatteryMpcConfig::voltage_penalty)
      .def_readwrite("temperature_penalty", &BatteryMpcConfig::temperature_penalty)
      .def_readwrite("current_min_a", &BatteryMpcConfig::current_min_a)
      .def_readwrite("current_max_a", &BatteryMpcConfig::current_max_a)
      .def_readwrite("chance_form", &BatteryMpcConfig::chance_form)
      .def_readwrite("chance_alpha", &BatteryMpcConfig::chance_alpha)
      .def_readwrite("linearisations", &BatteryMpcConfig::linearisations)
      .def_readwrite("cold_start_linearisations", &BatteryMpcConfig::cold_start_linearisations)
      .def_readwrite("cold_start_cccv", &BatteryMpcConfig::cold_start_cccv,
                     "first call: the CC-CV-shaped nominal plan (True) or the last current held (False)")
      .def_readwrite("proximal_weight", &BatteryMpcConfig::proximal_weight)
      .def_readwrite("qp", &BatteryMpcConfig::qp)
      .def_readwrite("cell", &BatteryMpcConfig::cell)
      .def("validate", &BatteryMpcConfig::validate, "Raises ValueError naming the first bad field");

  py::class_<BatteryMpcStep>(m, "BatteryMpcStep", "What the last BatteryMpc.compute() did")
      .def_readonly("status", &BatteryMpcStep::status)
      .def_readonly("decision", &BatteryMpcStep::decision)
      .def_readonly("qp_status", &BatteryMpcStep::qp_status)
      .def_readonly("iterations", &BatteryMpcStep::iterations)
      .def_readonly("linearisations", &BatteryMpcStep::linearisations)
      .def_readonly("current_lb_a", &BatteryMpcStep::current_lb_a)
      .def_readonly("current_ub_a", &BatteryMpcStep::current_ub_a)
      .def_readonly("objective", &BatteryMpcStep::objective);

  py::class_<BatteryMpc, Controller>(m, "BatteryMpc", "MPC-FC: the battery fast-charge MPC of the core")
      .def(py::init([](const BatteryMpcConfig& c, QpSolver* solver) { return new BatteryMpc(c, solver); }),
           py::arg("config") = BatteryMpcConfig{}, py::arg("solver") = nullptr, py::keep_alive<1, 3>(),
           "solver: None for the built-in solver, or a QpSolver hook (kept alive by the MPC)")
      .def("set_solver", &BatteryMpc::set_solver, py::arg("solver"), py::keep_alive<1, 2>(),
           "None: the built-in solver")
      .def("set_horizon", &BatteryMpc::set_horizon, py::arg("n"))
      .def(
          "set_estimated_factors",
          [](BatteryMpc& c, double r0_factor, double capacity_factor) {
            raise_on_error(c.set_estimated_factors(r0_factor, capacity_factor), "BatteryMpc.set_estimated_factors");
          },
          py::arg("r0_factor"), py::arg("capacity_factor"),
          "The estimator's R0 and capacity factors for the prediction (adaptive twin)")
      .def_property("estimates_frozen", &BatteryMpc::estimates_frozen, &BatteryMpc::set_estimates_frozen,
                    "True: the prediction uses the nominal cell (factors 1)")
      .def_property_readonly("r0_factor_in_use", &BatteryMpc::r0_factor_in_use)
      .def_property_readonly("capacity_factor_in_use", &BatteryMpc::capacity_factor_in_use)
      .def_property_readonly("horizon", &BatteryMpc::horizon)
      .def_property_readonly("config", &BatteryMpc::config)
      .def_property_readonly("chance_multiplier", &BatteryMpc::chance_multiplier_value)
      .def_property_readonly("last_step", &BatteryMpc::last_step)
      .def_property_readonly("plan_a", [](const BatteryMpc& c) { return DoubleArray(c.horizon(), c.plan_a()); })
      .def_property_readonly("predicted_voltage_v",
                             [](const BatteryMpc& c) { return DoubleArray(c.horizon(), c.predicted_voltage_v()); })
      .def_property_readonly("predicted_temp_k",
                             [](const BatteryMpc& c) { return DoubleArray(c.horizon(), c.predicted_temp_k()); })
      .def_property_readonly("margin_voltage_v",
                             [](const BatteryMpc& c) { return DoubleArray(c.horizon(), c.margin_voltage_v()); })
      .def_property_readonly("margin_temp_k",
                             [](const BatteryMpc& c) { return DoubleArray(c.horizon(), c.margin_temp_k()); })
      .def(
          "last_qp", [](const BatteryMpc& c) { return QpProblem::from(c.last_qp(), nullptr); },
          "The scaled QP of the last compute() (decision variable I / current_scale_a)")
      .def_property_readonly("current_scale_a", &BatteryMpc::current_scale_a)
      .def_property_readonly("objective_scale", &BatteryMpc::objective_scale)
      .def_property_readonly("builtin_factorisations",
                             [](const BatteryMpc& c) { return c.builtin_solver().factorisations(); });

  // ---- closed loop ---------------------------------------------------------------------------
  py::class_<ChargeLoopConfig>(m, "ChargeLoopConfig", "Closed-loop charge: stop at soc_stop or max_time_s")
      .def(py::init([](double dt_s, double soc_stop, double max_time_s, const py::object& covariance) {
             ChargeLoopConfig c;
             c.dt_s = dt_s;
             c.soc_stop = soc_stop;
             c.max_time_s = max_time_s;
             if (!covariance.is_none()) c.covariance = covariance.cast<Eigen::Matrix4d>();
             c.validate();
             return c;
           }),
           py::arg("dt_s") = 1.0, py::arg("soc_stop") = 0.79, py::arg("max_time_s") = 3600.0,
           py::arg("covariance") = py::none())
      .def_readwrite("dt_s", &ChargeLoopConfig::dt_s)
      .def_readwrite("soc_stop", &ChargeLoopConfig::soc_stop)
      .def_readwrite("max_time_s", &ChargeLoopConfig::max_time_s)
      .def_readwrite("covariance", &ChargeLoopConfig::covariance);

  m.def("run_charge_loop", &run_loop, py::arg("cell"), py::arg("controller"), py::arg("config") = ChargeLoopConfig{},
        py::arg("max_steps") = py::none(),
        "Closed-loop charge of a Cell by any Controller (in C++; the GIL is released and retaken by Python "
        "hooks). Returns per-step arrays (current_a, voltage_v, temp_k and soc after the step, solve_time_s, "
        "iterations, status) and steps, reached, time_to_stop_s, non_ok_steps.");
}

}  // namespace safetwin::bindings
