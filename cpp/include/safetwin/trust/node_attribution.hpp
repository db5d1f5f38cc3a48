#pragma once
// Which of two redundant voltage nodes departed, when they disagree.
//
// Two nodes that read the same cell cannot outvote each other; the twin is the third voter, but
// not on its absolute level: a twin with a wrong SOC, R0 or capacity is off for both nodes alike,
// and that common error says nothing about either node. So each node's innovation (reading minus
// the twin's prediction) is compared with its own baseline, its mean while the nodes agreed
// (exponential, time constant baseline_s), and a disagreement is laid at the node whose innovation
// left its baseline further: the one that changed. Until a baseline exists, both are suspect.
//
// Used by the cycle's plausibility check (the event names the node) and by the trust layer (the
// cross-node residual goes to that node). update() once per sample; no allocation, no exception.
#include <cmath>
#include <cstdint>

namespace safetwin::trust {

enum class Suspect : std::uint8_t { both = 0, a = 1, b = 2 };

class NodeAttribution {
 public:
  explicit NodeAttribution(double baseline_s = 60.0) noexcept : baseline_s_(baseline_s) {}

  // ya, yb: the two nodes' innovations this sample (non-finite: no vote, both suspect, no update);
  // agree: the nodes agree within their noise this sample (the baselines learn only then).
  Suspect update(double ya, double yb, bool agree, double dt_s) noexcept {
    if (!std::isfinite(ya) || !std::isfinite(yb) || !(dt_s > 0.0)) return Suspect::both;
    const Suspect s =
        !has_ ? Suspect::both : (std::abs(ya - base_a_) >= std::abs(yb - base_b_) ? Suspect::a : Suspect::b);
    if (agree) {
      const double w = has_ ? 1.0 - std::exp(-dt_s / baseline_s_) : 1.0;
      base_a_ += w * (ya - base_a_);
      base_b_ += w * (yb - base_b_);
      has_ = true;
    }
    return s;
  }
  void reset() noexcept {
    has_ = false;
    base_a_ = base_b_ = 0.0;
  }
  [[nodiscard]] bool has_baseline() const noexcept { return has_; }
  [[nodiscard]] double baseline_a_v() const noexcept { return base_a_; }
  [[nodiscard]] double baseline_b_v() const noexcept { return base_b_; }

 private:
  double baseline_s_;
  double base_a_ = 0.0;
  double base_b_ = 0.0;
  bool has_ = false;
};

}  // namespace safetwin::trust
