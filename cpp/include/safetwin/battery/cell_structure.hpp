#pragma once
// The state layout of a cell-model structure, the one spec every consumer takes its indices and
// names from: x = [SOC, v_1 .. v_NRC (V), (h, s), T (K)] with 1..3 RC pairs and an optional
// one-state hysteresis (h, and s the sign of the last non-zero current, Plett vol. 1 §3.10).
// Structures are compile-time so that every size stays fixed.
namespace safetwin::battery {

template <int NRC, bool HYSTERESIS>
struct CellStructure {
  static_assert(NRC >= 1 && NRC <= 3, "1, 2 or 3 RC pairs");
  static constexpr int rc_pairs = NRC;
  static constexpr bool hysteresis = HYSTERESIS;
  static constexpr int soc = 0;
  static constexpr int v_rc(int pair) noexcept { return 1 + pair; }  // pair = 0 .. NRC-1
  // h in [-1, 1] (dimensionless) and s in {-1, 0, +1}; -1 where the structure has no hysteresis.
  static constexpr int hyst = HYSTERESIS ? 1 + NRC : -1;
  static constexpr int hyst_sign = HYSTERESIS ? 2 + NRC : -1;
  static constexpr int temp = 1 + NRC + (HYSTERESIS ? 2 : 0);
  static constexpr int size = temp + 1;

  // Names at the edges (Python, CSV): the same words as CellState's fields.
  static constexpr const char* name(int i) noexcept {
    if (i == soc) return "soc";
    if (i == temp) return "temp_k";
    if (HYSTERESIS && i == hyst) return "hysteresis";
    if (HYSTERESIS && i == hyst_sign) return "hysteresis_sign";
    constexpr const char* rc[] = {"v1_v", "v2_v", "v3_v"};
    return (i >= 1 && i <= NRC) ? rc[i - 1] : "";
  }
};

// REF-CELL-1's structure (2 RC pairs, no hysteresis): the layout of StateIdx (state_idx.hpp), used
// by the estimator, the controllers and the safety layer.
using RefStructure = CellStructure<2, false>;

// Largest state of any structure (3 RC pairs with hysteresis).
constexpr int kMaxCellStateSize = CellStructure<3, true>::size;

}  // namespace safetwin::battery
