// Trust timings from C++ (run by benchmarks/bench_trust.py, which prints the table): the trust
// update and noise scaling of one PACK-96 cycle (96 cells, 8 cell-monitoring nodes + 1 pack
// node), beside the PACK-96 estimator step it precedes.
#include <array>
#include <random>
#include <vector>

#include "bench_util.hpp"
#include "safetwin/estimation/pack_estimator.hpp"
#include "safetwin/trust/estimator_trust.hpp"

using namespace safetwin;
using namespace safetwin::trust;

int main() {
  constexpr std::size_t cells = 96, cmus = 8, nodes = cmus + 1;
  estimation::BatteryEkfConfig c;
  c.voltage_b_sigma_v = 0.02;
  estimation::PackEstimator est(c, cells);
  std::vector<ChannelNodes> map(cells);
  for (std::size_t g = 0; g < cells; ++g)
    map[g] = ChannelNodes{static_cast<int>(g / 12), static_cast<int>(cmus), static_cast<int>(g / 12)};
  EstimatorTrust trust(TrustConfig{}, nodes, map, {c});
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::vector<double> va(cells), vb(cells), temp(cells);
  const double current = 2.0;
  auto fill = [&] {
    for (std::size_t g = 0; g < cells; ++g) {
      va[g] = 3.75 + 0.002 * n01(rng);
      vb[g] = 3.75 + 0.02 * n01(rng);
      temp[g] = 298.15 + 0.2 * n01(rng);
    }
  };
  // Warm up: innovations in every channel's report.
  std::array<Attestation, nodes> att{};
  att.fill(Attestation::pass);
  for (int k = 0; k < 50; ++k) {
    fill();
    (void)trust.step(att.data(), nodes, est);
    (void)est.step(&current, 1, va.data(), vb.data(), temp.data(), cells, 1.0);
  }
  int k = 0;
  bench::report("pack96_trust_cycle", bench::time_calls(
                                          [&] {
                                            att[static_cast<std::size_t>(k % nodes)] =
                                                (k % 3 == 0) ? Attestation::none : Attestation::pass;
                                            ++k;
                                            (void)trust.step(att.data(), nodes, est);
                                          },
                                          2001, 100));
  TrustState state(TrustConfig{}, nodes);
  std::array<double, nodes> z{};
  for (double& x : z) x = n01(rng);
  bench::report("trust_state_9_nodes",
                bench::time_calls([&] { (void)state.step(att.data(), z.data(), nodes); }, 2001, 1000));
  fill();
  bench::report(
      "pack96_estimator_step",
      bench::time_calls([&] { (void)est.step(&current, 1, va.data(), vb.data(), temp.data(), cells, 1.0); }, 501, 10));
  return 0;
}
