// Worst cases of the control path, WCET-style (run by benchmarks/bench_wcet.py, which prints the
// table): what the caps documented in the headers bound, measured.
//   qp_capped_n30        QPs of the MPC's size (n = 30, m = 60) that run to the iteration cap
//                        (DenseQpSettings::max_iterations = 200): the solver's worst case there
//   mpc_cold_n30/_n120   the first compute() of a fresh MPC (no plan to shift; up to
//                        cold_start_linearisations QPs), over a grid of initial SOC and temperature
//   mpc_warm_n30         every later compute() of MPC-FC charges from several initial SOCs
//   cycle_mpc_n30_first  the guarded control cycle's first step (EKF start, cold MPC, CBF, monitor)
//   cycle_mpc_n30        every later step of whole charges through the cycle
//
// Every input (a QP, an initial state, a step k of a deterministic closed loop) is run `repeats`
// times. The worst case reported is the largest over inputs of each input's fastest run: the
// cost of the worst path, without the preemptions of a shared machine (which the plain maximum,
// reported beside it, includes).
// First line: "caps max_iterations linearisations cold_start_linearisations" (the defaults).
// Then lines: "name median_ns p99_ns max_ns worst_input_ns iterations qps inputs", medians and p99 over
// the inputs' fastest runs; iterations = the most QP iterations of one call, qps = the most QPs
// in one call, to set against the caps.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <Eigen/Core>

#include "safetwin/battery/pack.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/control/dense_qp_solver.hpp"
#include "safetwin/cycle/control_cycle.hpp"

using namespace safetwin;
using Clock = std::chrono::steady_clock;

namespace {

double ns_since(Clock::time_point a) { return std::chrono::duration<double, std::nano>(Clock::now() - a).count(); }

// runs[r][i]: time of input i in run r. Prints the line described above.
void report(const char* name, const std::vector<std::vector<double>>& runs, int iterations, int qps) {
  const std::size_t inputs = runs.front().size();
  std::vector<double> fastest(inputs, INFINITY);
  double raw_max = 0.0;
  for (const auto& run : runs)
    for (std::size_t i = 0; i < inputs; ++i) {
      fastest[i] = std::min(fastest[i], run[i]);
      raw_max = std::max(raw_max, run[i]);
    }
  std::sort(fastest.begin(), fastest.end());
  const auto q = [&](double p) {
    return fastest[std::min(inputs - 1, static_cast<std::size_t>(p * static_cast<double>(inputs)))];
  };
  std::printf("%s %.3f %.3f %.3f %.3f %d %d %zu\n", name, q(0.5), q(0.99), raw_max, fastest.back(), iterations, qps,
              inputs);
}

control::ControllerInput input_at(double soc, double temp_k) {
  control::ControllerInput in;
  in.x << soc, 0.0, 0.0, temp_k;
  in.current_min_a = -15.0;
  in.current_max_a = 0.0;
  return in;
}

// A QP of n variables and m rows that the dual active-set method often cannot finish within the
// cap (about 1 seed in 20 at n = 30, m = 60 needs more than 200 working-set changes): a dense
// Hessian, a target far outside the box, and nearly parallel L1-softened rows with small
// penalties, which go to their penalty and come back in turn. Seeded.
struct HardQp {
  int n, m;
  Eigen::MatrixXd H, A;
  Eigen::VectorXd f, lo, up, lb, ub, rho;
  HardQp(int n_, int m_, unsigned seed) : n(n_), m(m_) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0.0, 1.0);
    Eigen::MatrixXd M(n, n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) M(i, j) = g(rng);
    H = M * M.transpose() + 1e-2 * Eigen::MatrixXd::Identity(n, n);
    f = Eigen::VectorXd(n);
    for (int i = 0; i < n; ++i) f[i] = 500.0 * g(rng);
    A = Eigen::MatrixXd(m, n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) A(i, j) = 1.0 + 0.2 * g(rng);
    lo = Eigen::VectorXd::Constant(m, -1.0);
    up = Eigen::VectorXd::Constant(m, 1.0);
    lb = Eigen::VectorXd::Constant(n, -1.0);
    ub = Eigen::VectorXd::Constant(n, 1.0);
    rho = Eigen::VectorXd(m);
    for (int i = 0; i < m; ++i) rho[i] = 0.5 * (0.1 + std::abs(g(rng)));
  }
  control::QpData data() const {
    control::QpData d;
    d.n = n;
    d.m = m;
    d.H = H.data();
    d.f = f.data();
    d.A = A.data();
    d.lda = m;
    d.lower = lo.data();
    d.upper = up.data();
    d.lb = lb.data();
    d.ub = ub.data();
    d.soft_penalty = rho.data();
    return d;
  }
};

constexpr double kSoc0[] = {0.10, 0.25, 0.40, 0.55};

void capped_qp(int repeats) {
  const int n = 30, m = 60;
  control::DenseQpSolver solver(n, m);
  control::QpSolution sol(n, m);
  std::vector<HardQp> capped;
  for (unsigned seed = 1; capped.size() < 20 && seed < 20000; ++seed) {
    HardQp qp(n, m, seed);
    if (solver.solve(qp.data(), nullptr, sol) == control::QpStatus::max_iterations) capped.push_back(std::move(qp));
  }
  if (capped.empty()) {
    std::fprintf(stderr, "no generated QP reached the iteration cap\n");
    std::exit(1);
  }
  std::vector<std::vector<double>> runs(static_cast<std::size_t>(repeats));
  for (auto& run : runs)
    for (const HardQp& qp : capped) {
      const auto a = Clock::now();
      const control::QpStatus st = solver.solve(qp.data(), nullptr, sol);
      run.push_back(ns_since(a));
      if (st != control::QpStatus::max_iterations) std::exit(1);  // deterministic: cannot happen
    }
  report("qp_capped_n30", runs, sol.iterations, 1);
}

void cold_start(int n, int repeats) {
  std::vector<std::vector<double>> runs(static_cast<std::size_t>(repeats));
  int iters = 0, qps = 0;
  for (auto& run : runs)
    for (int s = 0; s < 18; ++s)
      for (int t = 0; t < 6; ++t) {
        control::BatteryMpcConfig c;
        c.horizon = n;
        c.max_horizon = std::max(n, 120);
        control::BatteryMpc mpc(c);
        control::ControllerOutput out;
        const control::ControllerInput in = input_at(0.05 + 0.05 * s, 283.15 + 5.0 * t);
        const auto a = Clock::now();
        (void)mpc.compute(in, out);
        run.push_back(ns_since(a));
        iters = std::max(iters, mpc.last_step().iterations);
        qps = std::max(qps, mpc.last_step().linearisations);
      }
  report(n == 30 ? "mpc_cold_n30" : "mpc_cold_n120", runs, iters, qps);
}

// MPC-FC charges from kSoc0 to SOC 0.79 on the reference cell: every call after the first.
void warm_steps(int repeats) {
  std::vector<std::vector<double>> runs(static_cast<std::size_t>(repeats));
  int iters = 0, qps = 0;
  for (auto& run : runs)
    for (const double soc0 : kSoc0) {
      control::BatteryMpc mpc(control::BatteryMpcConfig{});
      battery::Cell cell(battery::CellParams::ref_cell_1(), battery::CellState{soc0, 0.0, 0.0, 298.15});
      control::ControllerInput in = input_at(soc0, 298.15);
      control::ControllerOutput out;
      for (int k = 0; k < 3600 && cell.state().soc < 0.79; ++k) {
        const auto& s = cell.state();
        in.x << s.soc, s.v1_v, s.v2_v, s.temp_k;
        in.last_current_a = out.current_a;
        const auto a = Clock::now();
        (void)mpc.compute(in, out);
        const double dt = ns_since(a);
        if (k > 0) {
          run.push_back(dt);
          iters = std::max(iters, mpc.last_step().iterations);
          qps = std::max(qps, mpc.last_step().linearisations);
        }
        (void)cell.step(out.current_a, 1.0);
      }
    }
  report("mpc_warm_n30", runs, iters, qps);
}

// Only cycle.step() over whole charges with the reference plant (the plant outside the clock).
void cycle_steps(int repeats) {
  std::vector<std::vector<double>> first(static_cast<std::size_t>(repeats)), later(first.size());
  int iters = 0, qps = 0, first_iters = 0, first_qps = 0;
  for (std::size_t r = 0; r < first.size(); ++r)
    for (const double soc0 : kSoc0) {
      control::BatteryMpc mpc(control::BatteryMpcConfig{});
      cycle::CycleConfig cc;
      cc.estimator.soc0 = soc0;
      cc.estimator.voltage_model_sigma_v = 0.0;
      cycle::ControlCycle cyc(cc, &mpc);
      battery::Cell plant(battery::CellParams::ref_cell_1(), battery::CellState{soc0, 0.0, 0.0, 298.15});
      cycle::CycleStatus st;
      double i = 0.0, v = plant.voltage_v(0.0);
      for (int k = 0; k < 3600 && plant.state().soc < 0.79; ++k) {
        cycle::CycleMeasurements m;
        m.time_s = k;
        m.voltage_a_v = m.voltage_b_v = v;
        m.temperature_k = plant.state().temp_k;
        m.current_a = i;
        const auto a = Clock::now();
        (void)cyc.step(m, 1.0, st);
        (k == 0 ? first : later)[r].push_back(ns_since(a));
        int& it = k == 0 ? first_iters : iters;
        int& q = k == 0 ? first_qps : qps;
        it = std::max(it, mpc.last_step().iterations);
        q = std::max(q, mpc.last_step().linearisations);
        i = st.command_a;
        (void)plant.step(i, 1.0, &v);
      }
    }
  report("cycle_mpc_n30_first", first, first_iters, first_qps);
  report("cycle_mpc_n30", later, iters, qps);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const control::BatteryMpcConfig defaults;
  std::printf("caps %d %d %d\n", defaults.qp.max_iterations, defaults.linearisations,
              defaults.cold_start_linearisations);
  capped_qp(repeats);
  cold_start(30, repeats);
  cold_start(120, repeats);
  warm_steps(repeats);
  cycle_steps(repeats);
  return 0;
}
