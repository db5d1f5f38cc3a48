// Construct REF-CELL-1, charge it at 1C for ten minutes, print what it did.
#include <cstdio>

#include "safetwin/battery/pack.hpp"

int main() {
  using namespace safetwin;
  battery::Cell cell(battery::CellParams::ref_cell_1(), battery::CellState{0.10, 0.0, 0.0, 298.15});
  double voltage_v = 0.0;
  for (int k = 0; k < 600; ++k) {
    if (cell.step(-5.15, 1.0, &voltage_v) != Status::ok) return 1;
  }
  std::printf("after 600 s at 1C charge: SOC %.4f, V %.4f V, T %.2f degC\n", cell.state().soc, voltage_v,
              cell.state().temp_k - 273.15);
  return cell.state().soc > 0.26 && cell.state().soc < 0.27 ? 0 : 1;  // 0.10 + 600*5.15/(3600*5.15)
}
