// The estimator of the five structures other than REF-CELL-1's (1RC, 3RC, and each with
// hysteresis; 2RC with hysteresis), apart from the 2RC filter (battery_ekf_impl.hpp says why).
#include "battery_ekf_impl.hpp"

namespace safetwin::estimation {

template class BasicBatteryEkf<battery::CellStructure<1, false>>;
template class BasicBatteryEkf<battery::CellStructure<1, true>>;
template class BasicBatteryEkf<battery::CellStructure<2, true>>;
template class BasicBatteryEkf<battery::CellStructure<3, false>>;
template class BasicBatteryEkf<battery::CellStructure<3, true>>;

}  // namespace safetwin::estimation
