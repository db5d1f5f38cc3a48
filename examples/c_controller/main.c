/* A battery controller in C on the safetwin core: a CC-CV charge law written in C, plugged into the
 * guarded control cycle (estimator, CBF filter, supervisor, invariant monitor) through the C ABI.
 * The plant is the core's reference cell, also through the C ABI. Exit status 0 when the charge
 * reached SOC 0.79 inside the cell's voltage and temperature limits, and a refused construction
 * was reported with its message. */
#include <math.h>
#include <stdio.h>

#include "safetwin_c.h"

/* CC-CV on the estimate: charge at cc_current_a until the predicted terminal voltage reaches
 * cv_voltage_v, then the current that holds it there (ohmic model: dI = (V_cv - V) / R0). */
typedef struct {
  double cc_current_a; /* < 0: charging */
  double cv_voltage_v;
  double r0_ohm;
  double voltage_v; /* latest measured voltage, written by the loop below */
} cccv_law_t;

static int cccv(void* user, const safetwin_controller_input_t* in, double* current_a) {
  const cccv_law_t* law = (const cccv_law_t*)user;
  double i = in->last_current_a - (law->cv_voltage_v - law->voltage_v) / law->r0_ohm;
  if (i < law->cc_current_a) i = law->cc_current_a; /* never more than the CC current */
  if (i > 0.0) i = 0.0;                             /* a charger does not discharge */
  if (i < in->current_min_a) i = in->current_min_a; /* the supervisor's (derated) limits */
  if (i > in->current_max_a) i = in->current_max_a;
  *current_a = i;
  return SAFETWIN_OK;
}

static int check(safetwin_status_t st, const char* what, const char* msg) {
  if (st == SAFETWIN_OK) return 0;
  fprintf(stderr, "%s: %s: %s\n", what, safetwin_status_string(st), msg);
  return 1;
}

int main(void) {
  char msg[256];

  /* A bad parameter is refused with a message naming it, and no handle. */
  safetwin_cell_params_t bad;
  safetwin_cell_params_default(&bad);
  bad.capacity_ah = 0.0;
  safetwin_cell_t* refused = NULL;
  if (safetwin_cell_create(&bad, NULL, &refused, msg, sizeof msg) != SAFETWIN_INVALID_ARGUMENT || refused != NULL) {
    fprintf(stderr, "a zero capacity was not refused\n");
    return 1;
  }
  printf("refused as expected: %s\n", msg);

  const safetwin_cell_state_t start = {0.10, 0.0, 0.0, 298.15};
  safetwin_cell_t* plant = NULL;
  if (check(safetwin_cell_create(NULL, &start, &plant, msg, sizeof msg), "plant", msg)) return 1;

  cccv_law_t law = {-10.0, 4.15, 0.021, 0.0};
  safetwin_cycle_config_t config;
  safetwin_cycle_config_default(&config);
  config.controller = SAFETWIN_CONTROLLER_CALLBACK;
  config.law = cccv;
  config.user_data = &law;
  config.estimator.soc0 = 0.15; /* a wrong first guess: the EKF corrects it */
  safetwin_cycle_t* cycle = NULL;
  if (check(safetwin_cycle_create(&config, &cycle, msg, sizeof msg), "cycle", msg)) return 1;

  double command_a = 0.0, max_v = 0.0, max_t = 0.0;
  safetwin_cell_state_t s;
  if (check(safetwin_cell_voltage(plant, 0.0, &law.voltage_v), "voltage", "")) return 1;
  safetwin_cell_state(plant, &s);
  safetwin_cycle_output_t out = {0};
  for (int k = 0; k < 7200 && s.soc < 0.79; ++k) {
    const safetwin_cycle_measurements_t m = {(double)k, law.voltage_v, law.voltage_v, s.temp_k, command_a, 1, 1, 1};
    const safetwin_status_t st = safetwin_cycle_step(cycle, &m, 1.0, &out);
    if (st != SAFETWIN_OK && out.mode == SAFETWIN_MODE_SAFE_STOP) {
      fprintf(stderr, "SAFE_STOP at t %d s: %s\n", k, safetwin_status_string(st));
      break;
    }
    command_a = out.command_a; /* finite, inside every limit */
    if (check(safetwin_cell_step(plant, command_a, 1.0, &law.voltage_v), "plant step", "")) return 1;
    safetwin_cell_state(plant, &s);
    max_v = law.voltage_v > max_v ? law.voltage_v : max_v;
    max_t = s.temp_k > max_t ? s.temp_k : max_t;
    if (k % 600 == 0)
      printf("t %5d s  I %7.2f A  V %.4f V  T %5.2f degC  SOC %.3f (est %.3f)\n", k, command_a, law.voltage_v,
             s.temp_k - 273.15, s.soc, out.x[0]);
  }
  static const char* const mode_names[] = {"NORMAL", "DERATED", "SAFE_STOP"};
  printf("SOC %.3f, max V %.4f V, max T %.2f degC, mode %s\n", s.soc, max_v, max_t - 273.15, mode_names[out.mode]);
  safetwin_cycle_destroy(cycle);
  safetwin_cell_destroy(plant);
  return s.soc >= 0.79 && max_v <= 4.2 && max_t <= 318.15 && isfinite(command_a) ? 0 : 1;
}
