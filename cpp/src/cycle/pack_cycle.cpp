#include "safetwin/cycle/pack_cycle.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::cycle {

double worst_cell_current_share(int parallel, double s) noexcept {
  const double np = static_cast<double>(parallel);
  return np * (1.0 + s) / ((1.0 + s) + (np - 1.0) * (1.0 - s));
}

void PackCycleConfig::validate() const {
  if (series < 1) throw_invalid("PackCycleConfig.series", series, "must be >= 1");
  if (parallel < 1) throw_invalid("PackCycleConfig.parallel", parallel, "must be >= 1");
  if (!(parallel_resistance_spread >= 0.0 && parallel_resistance_spread < 1.0))
    throw_invalid("PackCycleConfig.parallel_resistance_spread", parallel_resistance_spread, "must be in [0, 1)");
  cell.validate();
  if (trust.enabled) {
    if (trust.nodes < 1 || static_cast<std::size_t>(trust.nodes) > trust::kMaxNodes)
      throw_invalid("PackCycleConfig.trust.nodes", trust.nodes,
                    "must be in [1, " + std::to_string(trust::kMaxNodes) + "]");
    if (!trust.channels.empty() && trust.channels.size() != static_cast<std::size_t>(series))
      throw_invalid("PackCycleConfig.trust.channels", static_cast<double>(trust.channels.size()),
                    "needs one entry per series group (" + std::to_string(series) + ") or none");
    trust.config.validate();
  }
}

PackCycle::PackCycle(PackCycleConfig config, const std::vector<control::Controller*>& controllers)
    : config_((config.validate(), std::move(config))) {
  if (controllers.size() != static_cast<std::size_t>(config_.series))
    throw_invalid("PackCycle.controllers", static_cast<double>(controllers.size()),
                  "needs one controller per series group (" + std::to_string(config_.series) + ")");
  CycleConfig group = config_.cell;
  group.current_share =
      std::max(group.current_share, worst_cell_current_share(config_.parallel, config_.parallel_resistance_spread));
  for (control::Controller* c : controllers) cycles_.push_back(std::make_unique<ControlCycle>(group, c));
  status_.assign(cycles_.size(), CycleStatus{});
  if (!config_.trust.enabled) return;
  const auto groups = cycles_.size();
  const auto nodes = static_cast<std::size_t>(config_.trust.nodes);
  std::vector<trust::ChannelNodes> map = config_.trust.channels;
  if (map.empty()) map.assign(groups, trust::ChannelNodes{});
  trust_ = std::make_unique<trust::EstimatorTrust>(config_.trust.config, nodes, map,
                                                   std::vector<estimation::BatteryEkfConfig>{config_.cell.estimator},
                                                   config_.trust.weighting);
  for (auto& c : cycles_) estimators_.push_back(&c->estimator());
  no_verdicts_.assign(nodes, trust::Attestation::none);
  voltage_node_.assign(nodes, 0);
  for (const auto& ch : map) {
    if (ch.voltage_a >= 0) voltage_node_[static_cast<std::size_t>(ch.voltage_a)] = 1;
    if (ch.voltage_b >= 0) voltage_node_[static_cast<std::size_t>(ch.voltage_b)] = 1;
  }
  for (auto& c : cycles_) {
    std::vector<int> idx(nodes);
    for (std::size_t n = 0; n < nodes; ++n) idx[n] = c->signal_index("trust_" + std::to_string(n));
    trust_signals_.push_back(std::move(idx));
    trusted_signal_.push_back(c->signal_index("trusted_voltage_nodes"));
    own_voltage_signal_.push_back(c->signal_index("trust_voltage_a"));
  }
  for (const auto& ch : map) own_voltage_node_.push_back(ch.voltage_a);
}

Status PackCycle::update_trust(const PackMeasurements& m) noexcept {
  const trust::Attestation* verdicts = m.attestation != nullptr ? m.attestation : no_verdicts_.data();
  // Before the first estimator step there are no residuals: the update then rests on attestation.
  const Status st = trust_->step(verdicts, no_verdicts_.size(), estimators_.data(), estimators_.size(),
                                 last_dt_s_ > 0.0 ? last_dt_s_ : 1.0);
  const trust::TrustState& ts = trust_->state();
  double trusted = 0.0;
  for (std::size_t n = 0; n < ts.nodes(); ++n)
    if (voltage_node_[n] != 0 && !ts.report(n).distrusted) trusted += 1.0;
  for (std::size_t g = 0; g < cycles_.size(); ++g) {
    for (std::size_t n = 0; n < ts.nodes(); ++n)
      if (trust_signals_[g][n] >= 0) (void)cycles_[g]->set_signal(trust_signals_[g][n], ts.trust(n));
    if (trusted_signal_[g] >= 0) (void)cycles_[g]->set_signal(trusted_signal_[g], trusted);
    // A group whose voltage comes from no trust node is not weighted: its own trust reads 1.
    const int own = own_voltage_node_[g];
    if (own_voltage_signal_[g] >= 0)
      (void)cycles_[g]->set_signal(own_voltage_signal_[g], own >= 0 ? ts.trust(static_cast<std::size_t>(own)) : 1.0);
  }
  return st;
}

void PackCycle::reset(double time_s) noexcept {
  for (auto& c : cycles_) c->reset(time_s);
}

Status PackCycle::step(const PackMeasurements& m, double dt_s, PackCycleStatus& out) noexcept {
  if (m.voltage_a_v == nullptr || m.temperature_k == nullptr) return Status::invalid_argument;
  const double np = static_cast<double>(config_.parallel);
  Status first = Status::ok;
  if (trust_ != nullptr) first = update_trust(m);
  if (std::isfinite(dt_s) && dt_s > 0.0) last_dt_s_ = dt_s;
  bool stopped = false;
  bool all_charge = true, all_discharge = true;
  double charge = -1e300, discharge = 1e300;  // least negative / least positive per-cell command
  int charge_group = -1, discharge_group = -1;
  safety::Mode mode = safety::Mode::normal;
  for (std::size_t g = 0; g < cycles_.size(); ++g) {
    CycleMeasurements cm;
    cm.time_s = m.time_s;
    cm.current_a = m.pack_current_a / np;
    cm.voltage_a_v = m.voltage_a_v[g];
    cm.voltage_a_valid = m.voltage_a_valid == nullptr || m.voltage_a_valid[g] != 0;
    cm.voltage_b_v = m.voltage_b_v != nullptr ? m.voltage_b_v[g] : 0.0;
    cm.voltage_b_valid = m.voltage_b_v != nullptr && (m.voltage_b_valid == nullptr || m.voltage_b_valid[g] != 0);
    cm.temperature_k = m.temperature_k[g];
    cm.temperature_valid = m.temperature_valid == nullptr || m.temperature_valid[g] != 0;
    cm.voltage_a_fresh = m.voltage_a_fresh == nullptr || m.voltage_a_fresh[g] != 0;
    cm.voltage_b_fresh = m.voltage_b_fresh == nullptr || m.voltage_b_fresh[g] != 0;
    cm.temperature_fresh = m.temperature_fresh == nullptr || m.temperature_fresh[g] != 0;
    CycleStatus& st = status_[g];
    const Status s = cycles_[g]->step(cm, dt_s, st);
    if (first == Status::ok && s != Status::ok) first = s;
    mode = std::max(mode, st.mode);
    if (st.mode == safety::Mode::safe_stop || !st.contactor_closed) stopped = true;
    const double c = st.command_a;
    if (c > 0.0) all_charge = false;
    if (c < 0.0) all_discharge = false;
    if (c > charge) {
      charge = c;
      charge_group = static_cast<int>(g);
    }
    if (c < discharge) {
      discharge = c;
      discharge_group = static_cast<int>(g);
    }
  }
  double cell_command = 0.0;
  out.limiting_group = -1;
  if (!stopped && all_charge) {
    cell_command = charge;
    out.limiting_group = charge_group;
  } else if (!stopped && all_discharge) {
    cell_command = discharge;
    out.limiting_group = discharge_group;
  }
  for (auto& c : cycles_) c->set_applied_command(cell_command);
  out.command_a = cell_command * np;
  out.contactor_closed = !stopped;
  out.mode = stopped ? safety::Mode::safe_stop : mode;
  out.status = first;
  return first;
}

}  // namespace safetwin::cycle
