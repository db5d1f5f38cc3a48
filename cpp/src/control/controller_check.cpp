// Compiles the header-only interfaces once with the core's warnings.
#include "safetwin/battery/state_idx.hpp"
#include "safetwin/control/controller.hpp"
