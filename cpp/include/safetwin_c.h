/* The C ABI of the safetwin core, for controllers written in C (most BMS firmware is).
 *
 * Opaque handles, plain structs and status codes over the C++ core: the cell model (battery::Cell),
 * the estimator (estimation::BatteryEkf) and the guarded control cycle (cycle::ControlCycle) with
 * the built-in MPC or a control law written in C as a callback.
 *
 * Rules of the ABI:
 *   - No C++ exception crosses it. A create function returns a status; when it is not SAFETWIN_OK
 *     it writes the reason (e.g. "CellParams.capacity_ah must be finite and > 0, got -1") into the
 *     caller's buffer (always NUL-terminated, truncated to msg_size; msg may be NULL) and sets
 *     *out to NULL.
 *   - Step functions allocate nothing and never throw (the C++ step paths are noexcept). A refused
 *     step returns its status and leaves the object unchanged.
 *   - SI units (K, not degC); current > 0 discharges.
 *   - A NULL handle or NULL required pointer is SAFETWIN_INVALID_ARGUMENT, never a crash.
 *   - Handles are not thread-safe: one thread per handle.
 * Fill a params/config struct with its *_default() function, then change the fields you need: a
 * later version may add fields at the end, and the defaults keep the meaning of the older code. */
#ifndef SAFETWIN_C_H
#define SAFETWIN_C_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The values of safetwin::Status (status.hpp), then the codes only the ABI needs. The numbers are
 * part of the ABI: they never change. */
typedef enum {
  SAFETWIN_OK = 0,
  SAFETWIN_INVALID_ARGUMENT = 1, /* an input outside its domain, a refused construction, NULL */
  SAFETWIN_NON_FINITE_INPUT = 2,
  SAFETWIN_NOT_INITIALISED = 3,
  SAFETWIN_MAX_ITERATIONS = 4,
  SAFETWIN_PRIMAL_INFEASIBLE = 5,
  SAFETWIN_DUAL_INFEASIBLE = 6,
  SAFETWIN_NUMERICAL_ERROR = 7,
  /* 8, 9, 10 are retired, never reused: fallback, rejected and deadline_missed were decisions, not
   * errors, and are now safetwin_decision_t. */
  SAFETWIN_OUT_OF_MEMORY = 64, /* construction could not allocate */
  SAFETWIN_INTERNAL_ERROR = 65 /* an unexpected failure inside the core (a bug: report it) */
} safetwin_status_t;

/* "ok", "invalid_argument", ... (a static string; "unknown" for a value not listed above). An int,
 * as every value the caller hands in: C may hold any number in an enum, C++ may not. */
const char* safetwin_status_string(int status);

/* What a component decided about its output (safetwin::Decision, status.hpp), apart from whether
 * the call worked (safetwin_status_t): a step that falls back returns SAFETWIN_OK. */
typedef enum {
  SAFETWIN_DECISION_APPLIED = 0,        /* the component's own result is the output */
  SAFETWIN_DECISION_FALLBACK = 1,       /* its defined safe fallback instead of a solution */
  SAFETWIN_DECISION_REJECTED = 2,       /* refused by a check (the predictive check, a law declining) */
  SAFETWIN_DECISION_DEADLINE_MISSED = 3 /* too late to be used (the supervisor's hold ran out) */
} safetwin_decision_t;

/* "applied", "fallback", "rejected", "deadline_missed" ("unknown" for another value). */
const char* safetwin_decision_string(int decision);

/* ---------------------------------------------------------------------------------------------
 * Cell model: REF-CELL-1 (2RC equivalent circuit + lumped thermal model) with its OCV table, and
 * resistances/capacitances given at 25 degC (Arrhenius-scaled with temperature, as the C++ model). */
typedef struct {
  double capacity_ah;
  double coulombic_efficiency;
  double r0_ohm;
  double r1_ohm;
  double c1_f;
  double r2_ohm;
  double c2_f;
  double arrhenius_k;
  double heat_capacity_j_per_k;
  double heat_transfer_w_per_k;
  double ambient_temp_k;
  /* limits */
  double voltage_min_v;
  double voltage_max_v;
  double temp_min_k;
  double temp_max_k;
  double charge_current_max_a; /* magnitude of the most negative current allowed */
  double discharge_current_max_a;
} safetwin_cell_params_t;

/* REF-CELL-1 (LG M50 21700), the values of battery::CellParams::ref_cell_1(). */
void safetwin_cell_params_default(safetwin_cell_params_t* params);

typedef struct {
  double soc;
  double v1_v; /* voltage over the first RC pair */
  double v2_v; /* voltage over the second RC pair */
  double temp_k;
} safetwin_cell_state_t;

typedef struct safetwin_cell safetwin_cell_t;

/* params NULL: REF-CELL-1; initial NULL: SOC 0.5 at rest at 25 degC. */
safetwin_status_t safetwin_cell_create(const safetwin_cell_params_t* params, const safetwin_cell_state_t* initial,
                                       safetwin_cell_t** out, char* msg, size_t msg_size);
void safetwin_cell_destroy(safetwin_cell_t* cell); /* NULL is a no-op */

/* Advances the cell by dt_s under current_a; *voltage_v (may be NULL) receives the terminal
 * voltage at the start of the step under that current. */
safetwin_status_t safetwin_cell_step(safetwin_cell_t* cell, double current_a, double dt_s, double* voltage_v);
safetwin_status_t safetwin_cell_state(const safetwin_cell_t* cell, safetwin_cell_state_t* state);
/* Terminal voltage in the present state under current_a (no step taken). */
safetwin_status_t safetwin_cell_voltage(const safetwin_cell_t* cell, double current_a, double* voltage_v);

/* ---------------------------------------------------------------------------------------------
 * Estimator: the extended Kalman filter over the cell model (BatteryEkf), without joint parameter
 * estimation. Field meanings and defaults as estimation::BatteryEkfConfig. */
typedef struct {
  safetwin_cell_params_t cell;
  double soc0;
  double v1_0_v;
  double v2_0_v;
  double temp0_k;
  double soc_sigma0;
  double v_rc_sigma0_v;
  double temp_sigma0_k;
  double current_sigma_a;
  double soc_rw_per_sqrt_s;
  double v_rc_rw_v_per_sqrt_s;
  double temp_rw_k_per_sqrt_s;
  double voltage_a_sigma_v;
  double voltage_b_sigma_v;
  double voltage_model_sigma_v;
  double voltage_model_correlation_s;
  double temperature_sigma_k;
  double gate_probability; /* per-channel chi-square gate; 1 turns it off */
  int gate_reset_after;
} safetwin_ekf_config_t;

void safetwin_ekf_config_default(safetwin_ekf_config_t* config);

/* One sample: two redundant voltage channels and a temperature, each with a valid flag (0/1). */
typedef struct {
  double voltage_a_v;
  double voltage_b_v;
  double temperature_k;
  int voltage_a_valid;
  int voltage_b_valid;
  int temperature_valid;
} safetwin_measurement_t;

/* State order everywhere: [SOC, v1_v, v2_v, temp_k]; covariance row-major 4 x 4. */
typedef struct {
  double x[4];
  double p[16];
  double sigma[4]; /* sqrt of the diagonal of p */
  double nis;      /* joint normalised innovation squared of the last update */
} safetwin_estimate_t;

typedef struct safetwin_ekf safetwin_ekf_t;

safetwin_status_t safetwin_ekf_create(const safetwin_ekf_config_t* config, safetwin_ekf_t** out, char* msg,
                                      size_t msg_size);
void safetwin_ekf_destroy(safetwin_ekf_t* ekf);
/* Predict over dt_s under the previous sample's current (skipped on the first step), then update
 * with z taken under current_a (BatteryEkf::step). */
safetwin_status_t safetwin_ekf_step(safetwin_ekf_t* ekf, double current_a, const safetwin_measurement_t* z,
                                    double dt_s);
safetwin_status_t safetwin_ekf_estimate(const safetwin_ekf_t* ekf, safetwin_estimate_t* estimate);

/* ---------------------------------------------------------------------------------------------
 * Guarded control cycle: estimator -> controller -> CBF filter -> supervisor + invariant monitor.
 * The CBF filter and the supervisor use the estimator's cell model and their default settings. */
typedef enum { SAFETWIN_MODE_NORMAL = 0, SAFETWIN_MODE_DERATED = 1, SAFETWIN_MODE_SAFE_STOP = 2 } safetwin_mode_t;

/* What a control law sees each cycle (control::ControllerInput). */
typedef struct {
  double time_s;
  double dt_s;
  double x[4];  /* estimate now: [SOC, v1_v, v2_v, temp_k] */
  double p[16]; /* its covariance, row-major */
  double last_current_a;
  double current_min_a; /* most negative current allowed now (charge limit, derated) */
  double current_max_a; /* most positive current allowed now */
} safetwin_controller_input_t;

/* A control law in C: writes the requested cell current and returns SAFETWIN_OK (0), or returns
 * any other value: it declined (controller_decision SAFETWIN_DECISION_REJECTED; the cycle then
 * treats the output as missing: hold, then SAFE_STOP). Called from
 * safetwin_cycle_step on the caller's thread; it must not block. */
typedef int (*safetwin_control_law_fn)(void* user_data, const safetwin_controller_input_t* in, double* current_a);

typedef enum {
  SAFETWIN_CONTROLLER_MPC = 0,     /* the built-in fast-charge MPC (control::BatteryMpc) */
  SAFETWIN_CONTROLLER_CALLBACK = 1 /* law + user_data below */
} safetwin_controller_kind_t;

typedef struct {
  safetwin_ekf_config_t estimator;
  int controller; /* a safetwin_controller_kind_t; anything else is refused */
  /* SAFETWIN_CONTROLLER_MPC (BatteryMpcConfig; the MPC's model is the estimator's cell) */
  int mpc_horizon;
  double mpc_dt_s; /* the cycle must then be stepped with this dt_s */
  double mpc_soc_target;
  double mpc_current_min_a;
  /* SAFETWIN_CONTROLLER_CALLBACK */
  safetwin_control_law_fn law;
  void* user_data;
  /* supervisor */
  double derate_factor;
  double hold_max_s;
} safetwin_cycle_config_t;

/* Estimator defaults, the MPC with N = 30, dt 1 s, SOC target 0.8, -15 A. */
void safetwin_cycle_config_default(safetwin_cycle_config_t* config);

typedef struct {
  double time_s;
  double voltage_a_v;
  double voltage_b_v;
  double temperature_k;
  double current_a; /* measured cell current in the interval that just ended */
  int voltage_a_valid;
  int voltage_b_valid;
  int temperature_valid;
} safetwin_cycle_measurements_t;

typedef struct {
  safetwin_status_t status; /* ok, or the first non-ok of the step's parts */
  double command_a;         /* released cell current: always finite, 0 in SAFE_STOP */
  int contactor_closed;
  safetwin_mode_t mode;
  double requested_a; /* the controller's request (NaN if none) */
  safetwin_status_t estimator_status;
  safetwin_status_t controller_status;
  safetwin_status_t supervisor_status;
  double x[4]; /* estimate now */
  double p[16];
  /* The decisions (after the fields above, whose layout is unchanged): the controller's (an MPC
   * fallback, a law declining), the CBF filter's (fallback: 0 A) and the supervisor's (rejected
   * by the predictive check, fallback, deadline_missed when the hold ran out). */
  safetwin_decision_t controller_decision;
  safetwin_decision_t cbf_decision;
  safetwin_decision_t supervisor_decision;
} safetwin_cycle_output_t;

typedef struct safetwin_cycle safetwin_cycle_t;

safetwin_status_t safetwin_cycle_create(const safetwin_cycle_config_t* config, safetwin_cycle_t** out, char* msg,
                                        size_t msg_size);
void safetwin_cycle_destroy(safetwin_cycle_t* cycle);
/* One period: *out always receives a finite command (0 and SAFE_STOP on a non-finite input). */
safetwin_status_t safetwin_cycle_step(safetwin_cycle_t* cycle, const safetwin_cycle_measurements_t* m, double dt_s,
                                      safetwin_cycle_output_t* out);
safetwin_status_t safetwin_cycle_mode(const safetwin_cycle_t* cycle, safetwin_mode_t* mode);
/* Clears latched invariants; supervisor back to NORMAL. */
safetwin_status_t safetwin_cycle_reset(safetwin_cycle_t* cycle, double time_s);

#ifdef __cplusplus
}
#endif

#endif /* SAFETWIN_C_H */
