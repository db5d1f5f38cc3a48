"""
safetwin C++ core (private: import from the safetwin package instead)
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['AgeingCoefficients', 'AgeingModel', 'AgeingParams', 'AgeingState', 'AgeingStress', 'AnomalyAlarmConfig', 'AnomalyScore', 'AnomalyScoreConfig', 'Attestation', 'Barrier', 'BatteryEkf', 'BatteryEkfConfig', 'BatteryMpc', 'BatteryMpcConfig', 'BatteryMpcStep', 'CHANNEL_GATED', 'CHANNEL_GATE_RESET', 'CHANNEL_MISSING', 'CHANNEL_NON_FINITE', 'CHANNEL_USED', 'CbfConfig', 'CbfFilter', 'CbfVerdict', 'CcCvCharger', 'CcCvConfig', 'Cell', 'CellLimits', 'CellParams', 'CellScaling', 'CellState', 'ChanceForm', 'Channel', 'ChannelNodes', 'ChargeLoopConfig', 'ClosedLoop', 'ControlCycle', 'Controller', 'ControllerInput', 'ControllerOutput', 'CounterfactualSpec', 'Cusum', 'CusumConfig', 'CycleChannel', 'CycleConfig', 'CycleMeasurements', 'CycleStatus', 'Decision', 'DenseQpSettings', 'DenseQpSolver', 'EstimatorTrust', 'EventKind', 'FILTER_COVARIANCE_RECOVERED', 'FILTER_INNOVATION_SINGULAR', 'FILTER_MODEL_FAILED', 'FaultKind', 'FaultSpec', 'HorizonLimit', 'HysteresisParams', 'InvalidArgumentError', 'InvariantKind', 'InvariantMonitor', 'InvariantSpec', 'LawKind', 'LawSpec', 'LoopSpec', 'MAX_SCORE_WINDOW', 'Mode', 'MonitorConfig', 'MonitorVerdict', 'NodeReport', 'NoiseStream', 'NonFiniteInputError', 'NotInitialisedError', 'NumericalError', 'OcvTable', 'Pack', 'PackConfig', 'PackCycle', 'PackCycleConfig', 'PackCycleStatus', 'PackEstimator', 'PackTrustConfig', 'ParamSurface', 'PlausibilityConfig', 'QpProblem', 'QpSolution', 'QpSolver', 'QpStatus', 'ReasonLikelihood', 'Replacement', 'ReportingConfig', 'ReportingMode', 'SafeHorizon', 'SafeHorizonConfig', 'SafeHorizonResult', 'SafetwinError', 'SensorNoise', 'Severity', 'SpreadConfig', 'Status', 'Supervisor', 'SupervisorConfig', 'SupervisorVerdict', 'TraceLevel', 'TransitionCause', 'TrustConfig', 'TrustState', 'TwinEstimate', 'ZERO_CELSIUS_K', 'cell_file_cpp_supported', 'cell_state_names', 'cell_structure_name', 'chance_multiplier', 'chi_square_cdf', 'chi_square_quantile', 'cusum_arl_one_sided', 'cusum_threshold', 'linearise_step', 'linearise_voltage', 'load_cell_file_cpp', 'noise_scale_from_trust', 'raise_for_status', 'replay_cell', 'run_cccv', 'run_charge_loop', 'score_replay', 'trusted_replay']
class AgeingCoefficients:
    """
    The four ageing-law coefficients at one stress
    """
    @property
    def alpha_cap_per_day_pow(self) -> float:
        ...
    @property
    def alpha_res_per_day_pow(self) -> float:
        ...
    @property
    def beta_cap_per_ah_pow(self) -> float:
        ...
    @property
    def beta_res_per_ah(self) -> float:
        ...
class AgeingModel:
    """
    Calendar + cycle ageing (Schmalstieg 2014) over the cell's OCV table
    """
    def __init__(self, params: AgeingParams = ..., ocv: OcvTable = ...) -> None:
        ...
    def advance(self, stress: AgeingStress, state: AgeingState) -> None:
        """
        Advances state (in place) over one interval
        """
    def age_many(self, duration_s: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], temp_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], soc_mean: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], throughput_ah: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], dod: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], calendar_rate_factor: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, cycle_rate_factor: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> dict:
        """
        Ages cells x intervals (2-D stress arrays) from fresh; dict of capacity_factor, resistance_factor
        """
    def coefficients(self, temp_k: typing.SupportsFloat | typing.SupportsIndex, soc_mean: typing.SupportsFloat | typing.SupportsIndex, dod: typing.SupportsFloat | typing.SupportsIndex) -> AgeingCoefficients:
        ...
    @property
    def params(self) -> AgeingParams:
        ...
class AgeingParams:
    """
    Schmalstieg et al. 2014 (J. Power Sources 257:325) calendar + cycle ageing parameters
    """
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the first bad field
        """
    @property
    def cal_cap_activation_k(self) -> float:
        ...
    @cal_cap_activation_k.setter
    def cal_cap_activation_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_cap_scale(self) -> float:
        ...
    @cal_cap_scale.setter
    def cal_cap_scale(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_cap_v_offset(self) -> float:
        ...
    @cal_cap_v_offset.setter
    def cal_cap_v_offset(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_cap_v_slope(self) -> float:
        ...
    @cal_cap_v_slope.setter
    def cal_cap_v_slope(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_res_activation_k(self) -> float:
        ...
    @cal_res_activation_k.setter
    def cal_res_activation_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_res_scale(self) -> float:
        ...
    @cal_res_scale.setter
    def cal_res_scale(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_res_v_offset(self) -> float:
        ...
    @cal_res_v_offset.setter
    def cal_res_v_offset(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_res_v_slope(self) -> float:
        ...
    @cal_res_v_slope.setter
    def cal_res_v_slope(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def calendar_rate_factor(self) -> float:
        ...
    @calendar_rate_factor.setter
    def calendar_rate_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_ah(self) -> float:
        ...
    @capacity_ah.setter
    def capacity_ah(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_cap_dod(self) -> float:
        ...
    @cyc_cap_dod.setter
    def cyc_cap_dod(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_cap_offset(self) -> float:
        ...
    @cyc_cap_offset.setter
    def cyc_cap_offset(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_cap_v_center(self) -> float:
        ...
    @cyc_cap_v_center.setter
    def cyc_cap_v_center(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_cap_v_quad(self) -> float:
        ...
    @cyc_cap_v_quad.setter
    def cyc_cap_v_quad(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_res_dod(self) -> float:
        ...
    @cyc_res_dod.setter
    def cyc_res_dod(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_res_offset(self) -> float:
        ...
    @cyc_res_offset.setter
    def cyc_res_offset(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_res_v_center(self) -> float:
        ...
    @cyc_res_v_center.setter
    def cyc_res_v_center(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_res_v_quad(self) -> float:
        ...
    @cyc_res_v_quad.setter
    def cyc_res_v_quad(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cycle_rate_factor(self) -> float:
        ...
    @cycle_rate_factor.setter
    def cycle_rate_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def reference_capacity_ah(self) -> float:
        ...
    @reference_capacity_ah.setter
    def reference_capacity_ah(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def throughput_exponent(self) -> float:
        ...
    @throughput_exponent.setter
    def throughput_exponent(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def time_exponent(self) -> float:
        ...
    @time_exponent.setter
    def time_exponent(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class AgeingState:
    """
    Capacity fade and resistance growth terms (fractions)
    """
    def __init__(self) -> None:
        ...
    @property
    def cal_cap_fade(self) -> float:
        ...
    @cal_cap_fade.setter
    def cal_cap_fade(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cal_res_growth(self) -> float:
        ...
    @cal_res_growth.setter
    def cal_res_growth(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_factor(self) -> float:
        ...
    @property
    def cyc_cap_fade(self) -> float:
        ...
    @cyc_cap_fade.setter
    def cyc_cap_fade(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cyc_res_growth(self) -> float:
        ...
    @cyc_res_growth.setter
    def cyc_res_growth(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def elapsed_s(self) -> float:
        ...
    @elapsed_s.setter
    def elapsed_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def resistance_factor(self) -> float:
        ...
    @property
    def throughput_ah(self) -> float:
        ...
    @throughput_ah.setter
    def throughput_ah(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class AgeingStress:
    """
    Aggregated stress of one interval (SI units)
    """
    def __init__(self, duration_s: typing.SupportsFloat | typing.SupportsIndex = 0.0, temp_k: typing.SupportsFloat | typing.SupportsIndex = 298.15, soc_mean: typing.SupportsFloat | typing.SupportsIndex = 0.5, throughput_ah: typing.SupportsFloat | typing.SupportsIndex = 0.0, dod: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    @property
    def dod(self) -> float:
        ...
    @dod.setter
    def dod(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def duration_s(self) -> float:
        ...
    @duration_s.setter
    def duration_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_mean(self) -> float:
        ...
    @soc_mean.setter
    def soc_mean(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_k(self) -> float:
        ...
    @temp_k.setter
    def temp_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def throughput_ah(self) -> float:
        ...
    @throughput_ah.setter
    def throughput_ah(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class AnomalyAlarmConfig:
    """
    The control cycle's anomaly alarm (CycleConfig.anomaly): score, threshold, event
    """
    enabled: bool
    score: AnomalyScoreConfig
    severity: Severity
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the first bad field
        """
    @property
    def clear_fraction(self) -> float:
        ...
    @clear_fraction.setter
    def clear_fraction(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clear_s(self) -> float:
        ...
    @clear_s.setter
    def clear_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class AnomalyScore:
    """
    Online anomaly score of one cell (window mean of z^2)
    """
    def __init__(self, config: AnomalyScoreConfig = ...) -> None:
        ...
    def reset(self) -> None:
        ...
    def set_threshold(self, threshold: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def step(self, innovation: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], variance: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], evaluated: collections.abc.Sequence[bool]) -> dict:
        ...
    @property
    def config(self) -> AnomalyScoreConfig:
        ...
    @property
    def score(self) -> float:
        ...
class AnomalyScoreConfig:
    """
    Sliding-window anomaly score settings
    """
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the first bad field
        """
    @property
    def channel_mask(self) -> int:
        ...
    @channel_mask.setter
    def channel_mask(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold(self) -> float:
        ...
    @threshold.setter
    def threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def window_samples(self) -> int:
        ...
    @window_samples.setter
    def window_samples(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def z2_cap(self) -> float:
        ...
    @z2_cap.setter
    def z2_cap(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Attestation:
    """
    Attestation verdict of one node in one cycle
    
    Members:
    
      none : no round completed this cycle
    
      passed
    
      failed : failed, reason unknown or generic
    
      fail_signature : not signed by the enrolled AK: a forgery
    
      fail_pcr : authentic, measured boot differs from golden
    
      fail_replay : authentic but not fresh (nonce, clock, counters)
    
      fail_malformed : does not parse as a quote
    
      timeout : no answer in time
    """
    __members__: typing.ClassVar[dict[str, Attestation]]  # value = {'none': <Attestation.none: 0>, 'passed': <Attestation.passed: 1>, 'failed': <Attestation.failed: 2>, 'fail_signature': <Attestation.fail_signature: 3>, 'fail_pcr': <Attestation.fail_pcr: 4>, 'fail_replay': <Attestation.fail_replay: 5>, 'fail_malformed': <Attestation.fail_malformed: 6>, 'timeout': <Attestation.timeout: 7>}
    fail_malformed: typing.ClassVar[Attestation]  # value = <Attestation.fail_malformed: 6>
    fail_pcr: typing.ClassVar[Attestation]  # value = <Attestation.fail_pcr: 4>
    fail_replay: typing.ClassVar[Attestation]  # value = <Attestation.fail_replay: 5>
    fail_signature: typing.ClassVar[Attestation]  # value = <Attestation.fail_signature: 3>
    failed: typing.ClassVar[Attestation]  # value = <Attestation.failed: 2>
    none: typing.ClassVar[Attestation]  # value = <Attestation.none: 0>
    passed: typing.ClassVar[Attestation]  # value = <Attestation.passed: 1>
    timeout: typing.ClassVar[Attestation]  # value = <Attestation.timeout: 7>
    @typing.overload
    def __eq__(self, other: Attestation) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Attestation) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Barrier:
    """
    Members:
    
      voltage_max
    
      voltage_min
    
      temp_max
    
      soc_max
    
      soc_min
    
      current_charge
    
      current_discharge
    
      measured_voltage_max
    
      measured_voltage_min
    
      measured_temp_max
    """
    __members__: typing.ClassVar[dict[str, Barrier]]  # value = {'voltage_max': <Barrier.voltage_max: 0>, 'voltage_min': <Barrier.voltage_min: 1>, 'temp_max': <Barrier.temp_max: 2>, 'soc_max': <Barrier.soc_max: 3>, 'soc_min': <Barrier.soc_min: 4>, 'current_charge': <Barrier.current_charge: 5>, 'current_discharge': <Barrier.current_discharge: 6>, 'measured_voltage_max': <Barrier.measured_voltage_max: 7>, 'measured_voltage_min': <Barrier.measured_voltage_min: 8>, 'measured_temp_max': <Barrier.measured_temp_max: 9>}
    current_charge: typing.ClassVar[Barrier]  # value = <Barrier.current_charge: 5>
    current_discharge: typing.ClassVar[Barrier]  # value = <Barrier.current_discharge: 6>
    measured_temp_max: typing.ClassVar[Barrier]  # value = <Barrier.measured_temp_max: 9>
    measured_voltage_max: typing.ClassVar[Barrier]  # value = <Barrier.measured_voltage_max: 7>
    measured_voltage_min: typing.ClassVar[Barrier]  # value = <Barrier.measured_voltage_min: 8>
    soc_max: typing.ClassVar[Barrier]  # value = <Barrier.soc_max: 3>
    soc_min: typing.ClassVar[Barrier]  # value = <Barrier.soc_min: 4>
    temp_max: typing.ClassVar[Barrier]  # value = <Barrier.temp_max: 2>
    voltage_max: typing.ClassVar[Barrier]  # value = <Barrier.voltage_max: 0>
    voltage_min: typing.ClassVar[Barrier]  # value = <Barrier.voltage_min: 1>
    @typing.overload
    def __eq__(self, other: Barrier) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Barrier) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class BatteryEkf:
    """
    EKF of one cell: state [SOC, v1, v2, T], optional R0/capacity factors
    """
    def __init__(self, config: BatteryEkfConfig = ...) -> None:
        ...
    def channel_nis(self, channel: Channel) -> float:
        ...
    def flags(self, channel: Channel) -> int:
        ...
    def innovation(self, channel: Channel) -> float:
        ...
    def innovation_variance(self, channel: Channel) -> float:
        ...
    def noise_scale(self, channel: Channel) -> float:
        ...
    def reset(self, soc0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def reset_state(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], p: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> None:
        ...
    def run(self, t_s: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], voltage_a_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, voltage_b_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, temperature_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> dict:
        """
        Replays a whole log in C++; returns a dict of arrays (row k: estimate after sample k)
        """
    def set_noise_scale(self, channel: Channel, s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        """
        R_eff = R * s (s >= 1)
        """
    def step(self, current_a: typing.SupportsFloat | typing.SupportsIndex, voltage_a_v: typing.SupportsFloat | typing.SupportsIndex | None = None, temperature_k: typing.SupportsFloat | typing.SupportsIndex | None = None, voltage_b_v: typing.SupportsFloat | typing.SupportsIndex | None = None, dt_s: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> Status:
        """
        One sample (predict over dt_s, then update). None = channel absent, NaN = missing sample. Returns Status.ok, or Status.numerical_error when the covariance was recovered.
        """
    @property
    def capacity_ah(self) -> float:
        ...
    @property
    def capacity_excited(self) -> bool:
        ...
    @property
    def capacity_factor(self) -> float:
        ...
    @property
    def capacity_factor_sigma(self) -> float:
        ...
    @property
    def config(self) -> BatteryEkfConfig:
        ...
    @property
    def covariance(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def estimates_params(self) -> bool:
        ...
    @property
    def full_covariance(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def full_state(self) -> numpy.typing.NDArray[numpy.float64]:
        """
        the whole state: [SOC, v1, v2, T] (+ [r0_factor, capacity_factor] with joint estimation)
        """
    @property
    def gate_threshold(self) -> float:
        ...
    @property
    def nis(self) -> float:
        """
        joint NIS of the last update
        """
    @property
    def r0_excited(self) -> bool:
        ...
    @property
    def r0_factor(self) -> float:
        ...
    @property
    def r0_factor_sigma(self) -> float:
        ...
    @property
    def r0_ohm(self) -> float:
        ...
    @property
    def report(self) -> dict:
        """
        the last update: innovations, variances, NIS, flags
        """
    @property
    def soc(self) -> float:
        ...
    @property
    def soc_sigma(self) -> float:
        ...
    @property
    def state(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
class BatteryEkfConfig:
    """
    Settings of the battery EKF (SI units, sigmas are standard deviations)
    """
    cell: CellParams
    estimate_params: bool
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the first bad field
        """
    @property
    def capacity_factor0(self) -> float:
        ...
    @capacity_factor0.setter
    def capacity_factor0(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_factor_max(self) -> float:
        ...
    @capacity_factor_max.setter
    def capacity_factor_max(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_factor_min(self) -> float:
        ...
    @capacity_factor_min.setter
    def capacity_factor_min(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_factor_rw_per_sqrt_s(self) -> float:
        ...
    @capacity_factor_rw_per_sqrt_s.setter
    def capacity_factor_rw_per_sqrt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_factor_sigma0(self) -> float:
        ...
    @capacity_factor_sigma0.setter
    def capacity_factor_sigma0(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_rest_current_a(self) -> float:
        ...
    @capacity_rest_current_a.setter
    def capacity_rest_current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_soc_sigma_max(self) -> float:
        ...
    @capacity_soc_sigma_max.setter
    def capacity_soc_sigma_max(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_throughput_ah(self) -> float:
        ...
    @capacity_throughput_ah.setter
    def capacity_throughput_ah(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def current_sigma_a(self) -> float:
        ...
    @current_sigma_a.setter
    def current_sigma_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def gate_probability(self) -> float:
        ...
    @gate_probability.setter
    def gate_probability(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def gate_reset_after(self) -> int:
        ...
    @gate_reset_after.setter
    def gate_reset_after(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_excitation_a(self) -> float:
        ...
    @r0_excitation_a.setter
    def r0_excitation_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor0(self) -> float:
        ...
    @r0_factor0.setter
    def r0_factor0(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor_max(self) -> float:
        ...
    @r0_factor_max.setter
    def r0_factor_max(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor_min(self) -> float:
        ...
    @r0_factor_min.setter
    def r0_factor_min(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor_rw_per_sqrt_s(self) -> float:
        ...
    @r0_factor_rw_per_sqrt_s.setter
    def r0_factor_rw_per_sqrt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor_sigma0(self) -> float:
        ...
    @r0_factor_sigma0.setter
    def r0_factor_sigma0(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc0(self) -> float:
        ...
    @soc0.setter
    def soc0(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_rw_per_sqrt_s(self) -> float:
        ...
    @soc_rw_per_sqrt_s.setter
    def soc_rw_per_sqrt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_sigma0(self) -> float:
        ...
    @soc_sigma0.setter
    def soc_sigma0(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp0_k(self) -> float:
        ...
    @temp0_k.setter
    def temp0_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_rw_k_per_sqrt_s(self) -> float:
        ...
    @temp_rw_k_per_sqrt_s.setter
    def temp_rw_k_per_sqrt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_sigma0_k(self) -> float:
        ...
    @temp_sigma0_k.setter
    def temp_sigma0_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temperature_sigma_k(self) -> float:
        ...
    @temperature_sigma_k.setter
    def temperature_sigma_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v1_0_v(self) -> float:
        ...
    @v1_0_v.setter
    def v1_0_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v2_0_v(self) -> float:
        ...
    @v2_0_v.setter
    def v2_0_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v_rc_rw_v_per_sqrt_s(self) -> float:
        ...
    @v_rc_rw_v_per_sqrt_s.setter
    def v_rc_rw_v_per_sqrt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v_rc_sigma0_v(self) -> float:
        ...
    @v_rc_sigma0_v.setter
    def v_rc_sigma0_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_a_sigma_v(self) -> float:
        ...
    @voltage_a_sigma_v.setter
    def voltage_a_sigma_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_b_sigma_v(self) -> float:
        ...
    @voltage_b_sigma_v.setter
    def voltage_b_sigma_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_model_correlation_s(self) -> float:
        ...
    @voltage_model_correlation_s.setter
    def voltage_model_correlation_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_model_sigma_v(self) -> float:
        ...
    @voltage_model_sigma_v.setter
    def voltage_model_sigma_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class BatteryMpc(Controller):
    """
    MPC-FC: the battery fast-charge MPC of the core
    """
    def __init__(self, config: BatteryMpcConfig = ..., solver: QpSolver = None) -> None:
        """
        solver: None for the built-in solver, or a QpSolver hook (kept alive by the MPC)
        """
    def last_qp(self) -> QpProblem:
        """
        The scaled QP of the last compute() (decision variable I / current_scale_a)
        """
    def set_estimated_factors(self, r0_factor: typing.SupportsFloat | typing.SupportsIndex, capacity_factor: typing.SupportsFloat | typing.SupportsIndex) -> None:
        """
        The estimator's R0 and capacity factors for the prediction (adaptive twin)
        """
    def set_horizon(self, n: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def set_solver(self, solver: QpSolver) -> None:
        """
        None: the built-in solver
        """
    @property
    def builtin_factorisations(self) -> int:
        ...
    @property
    def capacity_factor_in_use(self) -> float:
        ...
    @property
    def chance_multiplier(self) -> float:
        ...
    @property
    def config(self) -> BatteryMpcConfig:
        ...
    @property
    def current_scale_a(self) -> float:
        ...
    @property
    def estimates_frozen(self) -> bool:
        """
        True: the prediction uses the nominal cell (factors 1)
        """
    @estimates_frozen.setter
    def estimates_frozen(self, arg1: bool) -> None:
        ...
    @property
    def horizon(self) -> int:
        ...
    @property
    def last_step(self) -> BatteryMpcStep:
        ...
    @property
    def margin_temp_k(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def margin_voltage_v(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def objective_scale(self) -> float:
        ...
    @property
    def plan_a(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def predicted_temp_k(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def predicted_voltage_v(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def r0_factor_in_use(self) -> float:
        ...
class BatteryMpcConfig:
    """
    MPC-FC settings (SI units; see battery_mpc.hpp)
    """
    cell: CellParams
    chance_form: ChanceForm
    qp: DenseQpSettings
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the first bad field
        """
    @property
    def chance_alpha(self) -> float:
        ...
    @chance_alpha.setter
    def chance_alpha(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cold_start_cccv(self) -> bool:
        """
        first call: the CC-CV-shaped nominal plan (True) or the last current held (False)
        """
    @cold_start_cccv.setter
    def cold_start_cccv(self, arg0: bool) -> None:
        ...
    @property
    def cold_start_linearisations(self) -> int:
        ...
    @cold_start_linearisations.setter
    def cold_start_linearisations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def current_max_a(self) -> float:
        ...
    @current_max_a.setter
    def current_max_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def current_min_a(self) -> float:
        ...
    @current_min_a.setter
    def current_min_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def dt_s(self) -> float:
        ...
    @dt_s.setter
    def dt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def horizon(self) -> int:
        ...
    @horizon.setter
    def horizon(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def linearisations(self) -> int:
        ...
    @linearisations.setter
    def linearisations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_horizon(self) -> int:
        ...
    @max_horizon.setter
    def max_horizon(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def proximal_weight(self) -> float:
        ...
    @proximal_weight.setter
    def proximal_weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def rate_weight(self) -> float:
        ...
    @rate_weight.setter
    def rate_weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_target(self) -> float:
        ...
    @soc_target.setter
    def soc_target(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_weight(self) -> float:
        ...
    @soc_weight.setter
    def soc_weight(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temperature_penalty(self) -> float:
        ...
    @temperature_penalty.setter
    def temperature_penalty(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_penalty(self) -> float:
        ...
    @voltage_penalty.setter
    def voltage_penalty(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class BatteryMpcStep:
    """
    What the last BatteryMpc.compute() did
    """
    @property
    def current_lb_a(self) -> float:
        ...
    @property
    def current_ub_a(self) -> float:
        ...
    @property
    def decision(self) -> Decision:
        ...
    @property
    def iterations(self) -> int:
        ...
    @property
    def linearisations(self) -> int:
        ...
    @property
    def objective(self) -> float:
        ...
    @property
    def qp_status(self) -> QpStatus:
        ...
    @property
    def status(self) -> Status:
        ...
class CbfConfig:
    """
    CBF safety filter configuration (model, SOC window, class-K gains, margins)
    """
    cell: CellParams
    scaling: CellScaling
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def confidence_sigma(self) -> float:
        ...
    @confidence_sigma.setter
    def confidence_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def gamma(self) -> typing.Annotated[list[float], "FixedSize(10)"]:
        ...
    @gamma.setter
    def gamma(self, arg0: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(10)"]) -> None:
        ...
    @property
    def heat_detect_sigma(self) -> float:
        ...
    @heat_detect_sigma.setter
    def heat_detect_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def measured_limits(self) -> bool:
        """
        the measurement-based barriers on the most conservative valid readings
        """
    @measured_limits.setter
    def measured_limits(self, arg0: bool) -> None:
        ...
    @property
    def measured_temp_margin_k(self) -> float:
        ...
    @measured_temp_margin_k.setter
    def measured_temp_margin_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def measured_temp_max_k(self) -> float:
        """
        NaN: the cell's temp_max_k
        """
    @measured_temp_max_k.setter
    def measured_temp_max_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def measured_voltage_margin_v(self) -> float:
        ...
    @measured_voltage_margin_v.setter
    def measured_voltage_margin_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_k(self) -> float:
        ...
    @model_error_k.setter
    def model_error_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_soc(self) -> float:
        ...
    @model_error_soc.setter
    def model_error_soc(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_v(self) -> float:
        ...
    @model_error_v.setter
    def model_error_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_max(self) -> float:
        ...
    @soc_max.setter
    def soc_max(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_min(self) -> float:
        ...
    @soc_min.setter
    def soc_min(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class CbfFilter:
    """
    CBF safety filter: the current closest to the request that keeps every barrier
    """
    def __init__(self, config: CbfConfig = ...) -> None:
        ...
    def filter(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 1]"], P: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 4]"], requested_a: typing.SupportsFloat | typing.SupportsIndex, dt_s: typing.SupportsFloat | typing.SupportsIndex, current_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, measured_voltage_max_v: typing.SupportsFloat | typing.SupportsIndex = ..., measured_voltage_min_v: typing.SupportsFloat | typing.SupportsIndex = ..., measured_temperature_max_k: typing.SupportsFloat | typing.SupportsIndex = ..., measured_current_a: typing.SupportsFloat | typing.SupportsIndex = 0.0, measured_voltage_max_sigma_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, measured_voltage_min_sigma_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, measured_voltage_max_change_v: typing.SupportsFloat | typing.SupportsIndex = ..., measured_voltage_min_change_v: typing.SupportsFloat | typing.SupportsIndex = ..., measured_current_change_a: typing.SupportsFloat | typing.SupportsIndex = ..., twin: TwinEstimate = ...) -> CbfVerdict:
        """
        The filtered current; the measured_* readings (NaN: none) feed the measurement-based barriers: each voltage bound with the noise (sigma, V) of the reading behind it and the drift per step the readings showed (change_v, V, and the current's change_a, A; NaN: not observed), as ControlCycle passes them (MeasuredBounds in cbf_filter.hpp); twin: the adaptive twin's parameters, learned model error and thermal estimates (default: the nominal cell)
        """
    @property
    def config(self) -> CbfConfig:
        ...
class CbfVerdict:
    """
    What the filter decided
    """
    @property
    def active(self) -> int:
        ...
    @property
    def active_barriers(self) -> list[Barrier]:
        ...
    @property
    def barrier_hi_a(self) -> typing.Annotated[list[float], "FixedSize(10)"]:
        ...
    @property
    def barrier_lo_a(self) -> typing.Annotated[list[float], "FixedSize(10)"]:
        ...
    @property
    def conflict(self) -> int:
        ...
    @property
    def conflicting_barriers(self) -> list[Barrier]:
        ...
    @property
    def current_a(self) -> float:
        ...
    @property
    def decision(self) -> Decision:
        ...
    @property
    def hi_a(self) -> float:
        ...
    @property
    def lo_a(self) -> float:
        ...
    @property
    def modified(self) -> bool:
        ...
    @property
    def requested_a(self) -> float:
        ...
    @property
    def soc_margin(self) -> float:
        ...
    @property
    def status(self) -> Status:
        ...
    @property
    def temp_margin_k(self) -> float:
        ...
    @property
    def voltage_margin_v(self) -> float:
        ...
class CcCvCharger:
    """
    Constant-current / constant-voltage charger on the highest cell voltage
    """
    def __init__(self, config: CcCvConfig) -> None:
        ...
    def current_a(self, max_cell_voltage_v: typing.SupportsFloat | typing.SupportsIndex) -> float:
        """
        Pack current in A (<= 0) for the next step from the last step's highest cell voltage
        """
    @property
    def phase(self) -> str:
        ...
class CcCvConfig:
    """
    CC-CV charger settings (currents are magnitudes in A)
    """
    def __init__(self, charge_current_a: typing.SupportsFloat | typing.SupportsIndex = 5.15, cv_voltage_v: typing.SupportsFloat | typing.SupportsIndex = 4.2, cutoff_current_a: typing.SupportsFloat | typing.SupportsIndex = 0.2575, resistance_ohm: typing.SupportsFloat | typing.SupportsIndex = 0.021) -> None:
        ...
    @property
    def charge_current_a(self) -> float:
        ...
    @charge_current_a.setter
    def charge_current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cutoff_current_a(self) -> float:
        ...
    @cutoff_current_a.setter
    def cutoff_current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cv_voltage_v(self) -> float:
        ...
    @cv_voltage_v.setter
    def cv_voltage_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def resistance_ohm(self) -> float:
        ...
    @resistance_ohm.setter
    def resistance_ohm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Cell:
    """
    One cell (a 1s1p pack)
    """
    state: CellState
    def __init__(self, params: CellParams = ..., initial: CellState = ...) -> None:
        ...
    def simulate(self, current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], dt_s: typing.SupportsFloat | typing.SupportsIndex) -> dict:
        ...
    def step(self, current_a: typing.SupportsFloat | typing.SupportsIndex, dt_s: typing.SupportsFloat | typing.SupportsIndex) -> float:
        """
        One step; returns the terminal voltage in V at the step's start
        """
    def voltage_v(self, current_a: typing.SupportsFloat | typing.SupportsIndex) -> float:
        """
        Terminal voltage in V under current_a, no step
        """
    @property
    def pack(self) -> Pack:
        ...
class CellLimits:
    """
    Operating limits of a cell (SI units)
    """
    def __init__(self) -> None:
        ...
    @property
    def charge_current_max_a(self) -> float:
        ...
    @charge_current_max_a.setter
    def charge_current_max_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def discharge_current_max_a(self) -> float:
        ...
    @discharge_current_max_a.setter
    def discharge_current_max_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_max_k(self) -> float:
        ...
    @temp_max_k.setter
    def temp_max_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_min_k(self) -> float:
        ...
    @temp_min_k.setter
    def temp_min_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_max_v(self) -> float:
        ...
    @voltage_max_v.setter
    def voltage_max_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_min_v(self) -> float:
        ...
    @voltage_min_v.setter
    def voltage_min_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class CellParams:
    """
    Equivalent-circuit (1-3 RC pairs, optional hysteresis) + lumped thermal parameters (SI units)
    """
    c1_f: ParamSurface
    c2_f: ParamSurface
    c3_f: ParamSurface
    entropic_v_per_k: safetwin._core.ParamSurface | None
    hysteresis: safetwin._core.HysteresisParams | None
    limits: CellLimits
    ocv: OcvTable
    r0_charge_ohm: safetwin._core.ParamSurface | None
    r0_ohm: ParamSurface
    r1_charge_ohm: safetwin._core.ParamSurface | None
    r1_ohm: ParamSurface
    r2_charge_ohm: safetwin._core.ParamSurface | None
    r2_ohm: ParamSurface
    r3_charge_ohm: safetwin._core.ParamSurface | None
    r3_ohm: ParamSurface
    @staticmethod
    def ref_cell_1() -> CellParams:
        """
        REF-CELL-1 (LG M50, reference problems)
        """
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the first bad field
        """
    @property
    def ambient_temp_k(self) -> float:
        ...
    @ambient_temp_k.setter
    def ambient_temp_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def arrhenius_k(self) -> float:
        ...
    @arrhenius_k.setter
    def arrhenius_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_ah(self) -> float:
        ...
    @capacity_ah.setter
    def capacity_ah(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def coulombic_efficiency(self) -> float:
        ...
    @coulombic_efficiency.setter
    def coulombic_efficiency(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def exchange_current_a(self) -> safetwin._core.ParamSurface | None:
        """
        Butler-Volmer exchange current I0 in A (None: no charge-transfer overpotential)
        """
    @exchange_current_a.setter
    def exchange_current_a(self, arg0: safetwin._core.ParamSurface | None) -> None:
        ...
    @property
    def heat_capacity_j_per_k(self) -> float:
        ...
    @heat_capacity_j_per_k.setter
    def heat_capacity_j_per_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def heat_transfer_w_per_k(self) -> float:
        ...
    @heat_transfer_w_per_k.setter
    def heat_transfer_w_per_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def rc_pairs(self) -> int:
        ...
    @rc_pairs.setter
    def rc_pairs(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class CellScaling:
    """
    Ageing and spread factors of one cell
    """
    def __init__(self, capacity_factor: typing.SupportsFloat | typing.SupportsIndex = 1.0, resistance_factor: typing.SupportsFloat | typing.SupportsIndex = 1.0, r0_factor: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> None:
        ...
    @property
    def capacity_factor(self) -> float:
        ...
    @capacity_factor.setter
    def capacity_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor(self) -> float:
        ...
    @r0_factor.setter
    def r0_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def resistance_factor(self) -> float:
        ...
    @resistance_factor.setter
    def resistance_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class CellState:
    """
    State of one cell: SOC, RC voltages in V, temperature in K, hysteresis h and s
    """
    def __init__(self, soc: typing.SupportsFloat | typing.SupportsIndex = 0.5, v1_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, v2_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, temp_k: typing.SupportsFloat | typing.SupportsIndex = 298.15, v3_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, hysteresis: typing.SupportsFloat | typing.SupportsIndex = 0.0, hysteresis_sign: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def hysteresis(self) -> float:
        ...
    @hysteresis.setter
    def hysteresis(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def hysteresis_sign(self) -> float:
        ...
    @hysteresis_sign.setter
    def hysteresis_sign(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc(self) -> float:
        ...
    @soc.setter
    def soc(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_k(self) -> float:
        ...
    @temp_k.setter
    def temp_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v1_v(self) -> float:
        ...
    @v1_v.setter
    def v1_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v2_v(self) -> float:
        ...
    @v2_v.setter
    def v2_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v3_v(self) -> float:
        ...
    @v3_v.setter
    def v3_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class ChanceForm:
    """
    Form of the chance-constraint margin
    
    Members:
    
      gaussian
    
      cantelli
    """
    __members__: typing.ClassVar[dict[str, ChanceForm]]  # value = {'gaussian': <ChanceForm.gaussian: 0>, 'cantelli': <ChanceForm.cantelli: 1>}
    cantelli: typing.ClassVar[ChanceForm]  # value = <ChanceForm.cantelli: 1>
    gaussian: typing.ClassVar[ChanceForm]  # value = <ChanceForm.gaussian: 0>
    @typing.overload
    def __eq__(self, other: ChanceForm) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: ChanceForm) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Channel:
    """
    Measurement channels of the battery estimator
    
    Members:
    
      voltage_a
    
      voltage_b
    
      temperature
    """
    __members__: typing.ClassVar[dict[str, Channel]]  # value = {'voltage_a': <Channel.voltage_a: 0>, 'voltage_b': <Channel.voltage_b: 1>, 'temperature': <Channel.temperature: 2>}
    temperature: typing.ClassVar[Channel]  # value = <Channel.temperature: 2>
    voltage_a: typing.ClassVar[Channel]  # value = <Channel.voltage_a: 0>
    voltage_b: typing.ClassVar[Channel]  # value = <Channel.voltage_b: 1>
    @typing.overload
    def __eq__(self, other: Channel) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Channel) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ChannelNodes:
    """
    Node index behind each channel of one cell's estimator (-1: none)
    """
    def __init__(self, voltage_a: typing.SupportsInt | typing.SupportsIndex = 0, voltage_b: typing.SupportsInt | typing.SupportsIndex = 1, temperature: typing.SupportsInt | typing.SupportsIndex = -1) -> None:
        ...
    @property
    def temperature(self) -> int:
        ...
    @temperature.setter
    def temperature(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_a(self) -> int:
        ...
    @voltage_a.setter
    def voltage_a(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_b(self) -> int:
        ...
    @voltage_b.setter
    def voltage_b(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class ChargeLoopConfig:
    """
    Closed-loop charge: stop at soc_stop or max_time_s
    """
    def __init__(self, dt_s: typing.SupportsFloat | typing.SupportsIndex = 1.0, soc_stop: typing.SupportsFloat | typing.SupportsIndex = 0.79, max_time_s: typing.SupportsFloat | typing.SupportsIndex = 3600.0, covariance: typing.Any = None) -> None:
        ...
    @property
    def covariance(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[4, 4]"]:
        ...
    @covariance.setter
    def covariance(self, arg0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 4]"]) -> None:
        ...
    @property
    def dt_s(self) -> float:
        ...
    @dt_s.setter
    def dt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_time_s(self) -> float:
        ...
    @max_time_s.setter
    def max_time_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_stop(self) -> float:
        ...
    @soc_stop.setter
    def soc_stop(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class ClosedLoop:
    """
    Plant + sensors + faults + guarded cycle, a whole run in one C++ call
    """
    def __init__(self, spec: LoopSpec, controllers: collections.abc.Sequence[Controller] = []) -> None:
        ...
    def advance(self, steps: typing.SupportsInt | typing.SupportsIndex) -> Status:
        ...
    def counterfactual_at_onset(self) -> dict:
        """
        The plant-only counterfactual from the fork time (plant fields; status not_initialised: not enabled or the fork time not reached)
        """
    def counterfactual_from_start(self) -> dict:
        """
        The plant-only counterfactual from t = 0 (plant fields; status not_initialised: not enabled)
        """
    def run(self) -> Status:
        """
        Runs the remaining steps; returns the status (a refused plant step ends the run early)
        """
    def summary(self) -> dict:
        """
        The run's summary as a dict
        """
    def trace(self) -> dict:
        """
        The run's trace as numpy arrays (rows = steps run; empty below its TraceLevel)
        """
    @property
    def cell_cycle(self) -> ControlCycle:
        """
        The ControlCycle that ran (None for a pack)
        """
    @property
    def cells(self) -> int:
        ...
    @property
    def groups(self) -> int:
        ...
    @property
    def pack_cycle(self) -> PackCycle:
        """
        The PackCycle that ran (None for one cell)
        """
    @property
    def plant(self) -> Pack:
        ...
    @property
    def steps_done(self) -> int:
        ...
    @property
    def total_steps(self) -> int:
        ...
class ControlCycle:
    """
    estimator -> controller -> CBF filter -> supervisor/monitor, one step per period
    """
    def __init__(self, config: CycleConfig, controller: Controller = None) -> None:
        ...
    def events(self) -> numpy.typing.NDArray[...]:
        ...
    def invariant_name(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> str:
        ...
    def noise_scale(self, arg0: Channel) -> float:
        ...
    def reset(self, time_s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_controller(self, controller: Controller) -> None:
        ...
    def set_noise_scale(self, channel: Channel, scale: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_signal(self, signal: typing.Any, value: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def signal_index(self, arg0: str) -> int:
        ...
    def step(self, measurements: CycleMeasurements, dt_s: typing.SupportsFloat | typing.SupportsIndex) -> CycleStatus:
        ...
    def transitions(self) -> numpy.typing.NDArray[...]:
        ...
    @property
    def mode(self) -> Mode:
        ...
class Controller:
    """
    A controller of the control cycle. Subclass it in Python (call Controller.__init__) and define compute(self, inp) returning the current in A, (current, Status) or (current, Decision); C++ controllers (BatteryMpc) derive from it too.
    """
    def __init__(self) -> None:
        ...
    def compute(self, inp: ControllerInput) -> tuple[Status, ControllerOutput]:
        """
        Returns (Status, ControllerOutput)
        """
    def reset(self) -> None:
        ...
    @property
    def last_error(self) -> str:
        ...
class ControllerInput:
    """
    What a controller sees each cycle (SI units, x = [SOC, v1, v2, T_K])
    """
    def __init__(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 1]"], P: typing.Any = None, last_current_a: typing.SupportsFloat | typing.SupportsIndex = 0.0, current_min_a: typing.SupportsFloat | typing.SupportsIndex = -15.0, current_max_a: typing.SupportsFloat | typing.SupportsIndex = 25.0, dt_s: typing.SupportsFloat | typing.SupportsIndex = 1.0, time_s: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    @property
    def P(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[4, 4]"]:
        ...
    @P.setter
    def P(self, arg0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 4]"]) -> None:
        ...
    @property
    def current_max_a(self) -> float:
        ...
    @current_max_a.setter
    def current_max_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def current_min_a(self) -> float:
        ...
    @current_min_a.setter
    def current_min_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def dt_s(self) -> float:
        ...
    @dt_s.setter
    def dt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def last_current_a(self) -> float:
        ...
    @last_current_a.setter
    def last_current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def time_s(self) -> float:
        ...
    @time_s.setter
    def time_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def x(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[4, 1]"]:
        ...
    @x.setter
    def x(self, arg0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 1]"]) -> None:
        ...
class ControllerOutput:
    """
    The requested current and the solver iterations
    """
    decision: Decision
    def __init__(self) -> None:
        ...
    @property
    def current_a(self) -> float:
        ...
    @current_a.setter
    def current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def iterations(self) -> int:
        ...
    @iterations.setter
    def iterations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class CounterfactualSpec:
    """
    Plant-only counterfactuals beside the run at a direct pack current: from t = 0 and from the fork time (the first fault onset or time_s), forked from the run's plant (no second run)
    """
    at_first_fault: bool
    enabled: bool
    def __init__(self) -> None:
        ...
    @property
    def current_a(self) -> float:
        ...
    @current_a.setter
    def current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def time_s(self) -> float:
        ...
    @time_s.setter
    def time_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Cusum:
    """
    Two-sided CUSUM with restart after each alarm (h from the false-alarm rate)
    """
    def __init__(self, config: CusumConfig = ...) -> None:
        ...
    def reset(self) -> None:
        ...
    def run(self, z: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.uint8]:
        """
        Alarms (uint8 0/1) for a whole sequence
        """
    def update(self, z: typing.SupportsFloat | typing.SupportsIndex) -> bool:
        """
        One sample; True on an alarm (then both sums restart)
        """
    @property
    def g_neg(self) -> float:
        ...
    @property
    def g_pos(self) -> float:
        ...
    @property
    def h(self) -> float:
        ...
    @property
    def k(self) -> float:
        ...
class CusumConfig:
    """
    Two-sided CUSUM on a normalised innovation
    """
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def false_alarm_rate(self) -> float:
        """
        alarms per sample while honest (1/ARL0)
        """
    @false_alarm_rate.setter
    def false_alarm_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def shift_sigma(self) -> float:
        """
        mean shift to detect, in innovation sigmas (k = shift/2)
        """
    @shift_sigma.setter
    def shift_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class CycleConfig:
    """
    Configuration of the control cycle
    """
    cbf: CbfConfig
    cell: CellParams
    estimator: BatteryEkfConfig
    learn_model_error: bool
    monitor: MonitorConfig
    plausibility: PlausibilityConfig
    supervisor: SupervisorConfig
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def adaptive_twin(self) -> bool:
        """
        predict with the estimator's R0/capacity estimates (False freezes the configured cell)
        """
    @adaptive_twin.setter
    def adaptive_twin(self, arg0: bool) -> None:
        ...
    @property
    def anomaly(self) -> ...:
        """
        the anomaly alarm (AnomalyAlarmConfig, off by default)
        """
    @anomaly.setter
    def anomaly(self, arg0: ...) -> None:
        ...
    @property
    def current_share(self) -> float:
        """
        largest multiple of the cycle's per-cell current one cell of a parallel group may carry
        """
    @current_share.setter
    def current_share(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def estimate_cooling(self) -> bool:
        """
        the thermal twin: cooling factor and unexplained heat from the measured temperature
        """
    @estimate_cooling.setter
    def estimate_cooling(self, arg0: bool) -> None:
        ...
    @property
    def heat_fault_w(self) -> float:
        """
        unexplained heat (W) past which the current limits are derated until reset
        """
    @heat_fault_w.setter
    def heat_fault_w(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_quantile(self) -> float:
        ...
    @model_error_quantile.setter
    def model_error_quantile(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_window_s(self) -> float:
        ...
    @model_error_window_s.setter
    def model_error_window_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc0(self) -> float:
        ...
    @soc0.setter
    def soc0(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_sigma0(self) -> float:
        ...
    @soc_sigma0.setter
    def soc_sigma0(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp0_k(self) -> float:
        ...
    @temp0_k.setter
    def temp0_k(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class CycleMeasurements:
    """
    One sample of the interval just ended (SI units)
    """
    temperature_valid: bool
    voltage_a_valid: bool
    voltage_b_valid: bool
    def __init__(self, time_s: typing.SupportsFloat | typing.SupportsIndex, voltage_a_v: typing.SupportsFloat | typing.SupportsIndex, voltage_b_v: typing.SupportsFloat | typing.SupportsIndex, temperature_k: typing.SupportsFloat | typing.SupportsIndex, current_a: typing.SupportsFloat | typing.SupportsIndex, voltage_a_valid: bool = True, voltage_b_valid: bool = True, temperature_valid: bool = True) -> None:
        ...
    @property
    def current_a(self) -> float:
        ...
    @current_a.setter
    def current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temperature_k(self) -> float:
        ...
    @temperature_k.setter
    def temperature_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def time_s(self) -> float:
        ...
    @time_s.setter
    def time_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_a_v(self) -> float:
        ...
    @voltage_a_v.setter
    def voltage_a_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_b_v(self) -> float:
        ...
    @voltage_b_v.setter
    def voltage_b_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class CycleStatus:
    """
    What one cycle step decided
    """
    @property
    def P(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[4, 4]"]:
        ...
    @property
    def cbf(self) -> CbfVerdict:
        ...
    @property
    def command_a(self) -> float:
        ...
    @property
    def contactor_closed(self) -> bool:
        ...
    @property
    def controller_decision(self) -> Decision:
        ...
    @property
    def controller_status(self) -> Status:
        ...
    @property
    def estimator_status(self) -> Status:
        ...
    @property
    def heat_fault(self) -> bool:
        """
        the latched heat fault (CycleConfig.heat_fault_w)
        """
    @property
    def mode(self) -> Mode:
        ...
    @property
    def monitor(self) -> MonitorVerdict:
        ...
    @property
    def requested_a(self) -> float:
        ...
    @property
    def status(self) -> Status:
        ...
    @property
    def supervisor(self) -> SupervisorVerdict:
        ...
    @property
    def supervisor_status(self) -> Status:
        ...
    @property
    def twin(self) -> TwinEstimate:
        """
        the twin the filter and the supervisor predicted with
        """
    @property
    def x(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[4, 1]"]:
        ...
class Decision:
    """
    What a component decided about its output (the decision fields of the verdicts), apart from whether the call worked (Status)
    
    Members:
    
      applied
    
      fallback
    
      rejected
    
      deadline_missed
    """
    __members__: typing.ClassVar[dict[str, Decision]]  # value = {'applied': <Decision.applied: 0>, 'fallback': <Decision.fallback: 1>, 'rejected': <Decision.rejected: 2>, 'deadline_missed': <Decision.deadline_missed: 3>}
    applied: typing.ClassVar[Decision]  # value = <Decision.applied: 0>
    deadline_missed: typing.ClassVar[Decision]  # value = <Decision.deadline_missed: 3>
    fallback: typing.ClassVar[Decision]  # value = <Decision.fallback: 1>
    rejected: typing.ClassVar[Decision]  # value = <Decision.rejected: 2>
    @typing.overload
    def __eq__(self, other: Decision) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Decision) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class DenseQpSettings:
    """
    Settings of the built-in dense QP solver
    """
    scale: bool
    def __init__(self, max_iterations: typing.SupportsInt | typing.SupportsIndex = 200, primal_tolerance: typing.SupportsFloat | typing.SupportsIndex = 1e-09, dependence_tolerance: typing.SupportsFloat | typing.SupportsIndex = 1e-11, scale: bool = True) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def dependence_tolerance(self) -> float:
        ...
    @dependence_tolerance.setter
    def dependence_tolerance(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_iterations(self) -> int:
        ...
    @max_iterations.setter
    def max_iterations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def primal_tolerance(self) -> float:
        ...
    @primal_tolerance.setter
    def primal_tolerance(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class DenseQpSolver(QpSolver):
    """
    The built-in dense dual active-set QP solver (L1-soft rows inside, factor reused while hessian_id stays the same, no allocation per solve)
    """
    def __init__(self, n_max: typing.SupportsInt | typing.SupportsIndex, m_max: typing.SupportsInt | typing.SupportsIndex, settings: DenseQpSettings = ...) -> None:
        ...
    def solve(self, H: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], f: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], A: typing.Any = None, lower: typing.Any = None, upper: typing.Any = None, lb: typing.Any = None, ub: typing.Any = None, soft_penalty: typing.Any = None, warm: QpSolution = None, hessian_id: typing.SupportsInt | typing.SupportsIndex = 0) -> QpSolution:
        """
        Solve min 1/2 x'Hx + f'x + sum soft_penalty_i dist(A_i x, [lower_i, upper_i]) s.t. lb <= x <= ub and the hard rows (soft_penalty inf, the default). warm: a previous QpSolution of the same size.
        """
    @property
    def factorisations(self) -> int:
        ...
    @property
    def m_max(self) -> int:
        ...
    @property
    def n_max(self) -> int:
        ...
class EstimatorTrust:
    """
    Trust applied to BatteryEkf / PackEstimator noise scales
    """
    def __init__(self, config: TrustConfig, nodes: typing.SupportsInt | typing.SupportsIndex, map: collections.abc.Sequence[ChannelNodes], estimator_configs: collections.abc.Sequence[BatteryEkfConfig], weighting: bool = True) -> None:
        ...
    def node_residual(self, node: typing.SupportsInt | typing.SupportsIndex) -> float:
        ...
    @typing.overload
    def step(self, attestation: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], estimator: BatteryEkf) -> None:
        ...
    @typing.overload
    def step(self, attestation: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], estimator: PackEstimator) -> None:
        ...
    @property
    def nodes(self) -> int:
        ...
    @property
    def state(self) -> TrustState:
        ...
    @property
    def weighting(self) -> bool:
        ...
class EventKind:
    """
    Members:
    
      set
    
      cleared
    
      reset
    """
    __members__: typing.ClassVar[dict[str, EventKind]]  # value = {'set': <EventKind.set: 1>, 'cleared': <EventKind.cleared: 2>, 'reset': <EventKind.reset: 3>}
    cleared: typing.ClassVar[EventKind]  # value = <EventKind.cleared: 2>
    reset: typing.ClassVar[EventKind]  # value = <EventKind.reset: 3>
    set: typing.ClassVar[EventKind]  # value = <EventKind.set: 1>
    @typing.overload
    def __eq__(self, other: EventKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: EventKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class FaultKind:
    """
    A fault of a closed-loop run (see closed_loop.hpp for target/node/value)
    
    Members:
    
      internal_short
    
      cooling_loss
    
      connection_resistance
    
      voltage_stuck
    
      voltage_offset
    
      voltage_drift
    
      voltage_noise
    
      voltage_dropout
    
      voltage_nan
    
      temperature_stuck
    
      temperature_offset
    
      current_offset
    
      stealthy_injection
    
      link_loss
    """
    __members__: typing.ClassVar[dict[str, FaultKind]]  # value = {'internal_short': <FaultKind.internal_short: 0>, 'cooling_loss': <FaultKind.cooling_loss: 1>, 'connection_resistance': <FaultKind.connection_resistance: 2>, 'voltage_stuck': <FaultKind.voltage_stuck: 3>, 'voltage_offset': <FaultKind.voltage_offset: 4>, 'voltage_drift': <FaultKind.voltage_drift: 5>, 'voltage_noise': <FaultKind.voltage_noise: 6>, 'voltage_dropout': <FaultKind.voltage_dropout: 7>, 'voltage_nan': <FaultKind.voltage_nan: 8>, 'temperature_stuck': <FaultKind.temperature_stuck: 9>, 'temperature_offset': <FaultKind.temperature_offset: 10>, 'current_offset': <FaultKind.current_offset: 11>, 'stealthy_injection': <FaultKind.stealthy_injection: 12>, 'link_loss': <FaultKind.link_loss: 13>}
    connection_resistance: typing.ClassVar[FaultKind]  # value = <FaultKind.connection_resistance: 2>
    cooling_loss: typing.ClassVar[FaultKind]  # value = <FaultKind.cooling_loss: 1>
    current_offset: typing.ClassVar[FaultKind]  # value = <FaultKind.current_offset: 11>
    internal_short: typing.ClassVar[FaultKind]  # value = <FaultKind.internal_short: 0>
    link_loss: typing.ClassVar[FaultKind]  # value = <FaultKind.link_loss: 13>
    stealthy_injection: typing.ClassVar[FaultKind]  # value = <FaultKind.stealthy_injection: 12>
    temperature_offset: typing.ClassVar[FaultKind]  # value = <FaultKind.temperature_offset: 10>
    temperature_stuck: typing.ClassVar[FaultKind]  # value = <FaultKind.temperature_stuck: 9>
    voltage_drift: typing.ClassVar[FaultKind]  # value = <FaultKind.voltage_drift: 5>
    voltage_dropout: typing.ClassVar[FaultKind]  # value = <FaultKind.voltage_dropout: 7>
    voltage_nan: typing.ClassVar[FaultKind]  # value = <FaultKind.voltage_nan: 8>
    voltage_noise: typing.ClassVar[FaultKind]  # value = <FaultKind.voltage_noise: 6>
    voltage_offset: typing.ClassVar[FaultKind]  # value = <FaultKind.voltage_offset: 4>
    voltage_stuck: typing.ClassVar[FaultKind]  # value = <FaultKind.voltage_stuck: 3>
    @typing.overload
    def __eq__(self, other: FaultKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: FaultKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class FaultSpec:
    """
    A fault from onset_s to end_s on a cell (plant) or a group (sensor)
    """
    kind: FaultKind
    def __init__(self, kind: FaultKind, onset_s: typing.SupportsFloat | typing.SupportsIndex, end_s: typing.SupportsFloat | typing.SupportsIndex = ..., target: typing.SupportsInt | typing.SupportsIndex = 0, node: typing.SupportsInt | typing.SupportsIndex = 0, value: typing.SupportsFloat | typing.SupportsIndex = 0.0, ramp_s: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    @property
    def end_s(self) -> float:
        ...
    @end_s.setter
    def end_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def node(self) -> int:
        ...
    @node.setter
    def node(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def onset_s(self) -> float:
        ...
    @onset_s.setter
    def onset_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ramp_s(self) -> float:
        ...
    @ramp_s.setter
    def ramp_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def target(self) -> int:
        ...
    @target.setter
    def target(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def value(self) -> float:
        ...
    @value.setter
    def value(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class HorizonLimit:
    """
    What ended the safe horizon's tube (none: the ceiling)
    
    Members:
    
      none
    
      voltage_max
    
      voltage_min
    
      temp_max
    
      temp_min
    
      soc_max
    
      soc_min
    """
    __members__: typing.ClassVar[dict[str, HorizonLimit]]  # value = {'none': <HorizonLimit.none: 0>, 'voltage_max': <HorizonLimit.voltage_max: 1>, 'voltage_min': <HorizonLimit.voltage_min: 2>, 'temp_max': <HorizonLimit.temp_max: 3>, 'temp_min': <HorizonLimit.temp_min: 4>, 'soc_max': <HorizonLimit.soc_max: 5>, 'soc_min': <HorizonLimit.soc_min: 6>}
    none: typing.ClassVar[HorizonLimit]  # value = <HorizonLimit.none: 0>
    soc_max: typing.ClassVar[HorizonLimit]  # value = <HorizonLimit.soc_max: 5>
    soc_min: typing.ClassVar[HorizonLimit]  # value = <HorizonLimit.soc_min: 6>
    temp_max: typing.ClassVar[HorizonLimit]  # value = <HorizonLimit.temp_max: 3>
    temp_min: typing.ClassVar[HorizonLimit]  # value = <HorizonLimit.temp_min: 4>
    voltage_max: typing.ClassVar[HorizonLimit]  # value = <HorizonLimit.voltage_max: 1>
    voltage_min: typing.ClassVar[HorizonLimit]  # value = <HorizonLimit.voltage_min: 2>
    @typing.overload
    def __eq__(self, other: HorizonLimit) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: HorizonLimit) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class HysteresisParams:
    """
    One-state hysteresis (Plett vol. 1 sec. 3.10): V += m_v h + m0_v s
    """
    def __init__(self, gamma: typing.SupportsFloat | typing.SupportsIndex = 0.0, m_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, m0_v: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    @property
    def gamma(self) -> float:
        ...
    @gamma.setter
    def gamma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def m0_v(self) -> float:
        ...
    @m0_v.setter
    def m0_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def m_v(self) -> float:
        ...
    @m_v.setter
    def m_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class InvalidArgumentError(SafetwinError, ValueError):
    pass
class InvariantKind:
    """
    Members:
    
      range
    
      rate
    
      finite
    
      nis_window
    
      always_within
    
      eventually_within
    """
    __members__: typing.ClassVar[dict[str, InvariantKind]]  # value = {'range': <InvariantKind.range: 0>, 'rate': <InvariantKind.rate: 1>, 'finite': <InvariantKind.finite: 2>, 'nis_window': <InvariantKind.nis_window: 3>, 'always_within': <InvariantKind.always_within: 4>, 'eventually_within': <InvariantKind.eventually_within: 5>}
    always_within: typing.ClassVar[InvariantKind]  # value = <InvariantKind.always_within: 4>
    eventually_within: typing.ClassVar[InvariantKind]  # value = <InvariantKind.eventually_within: 5>
    finite: typing.ClassVar[InvariantKind]  # value = <InvariantKind.finite: 2>
    nis_window: typing.ClassVar[InvariantKind]  # value = <InvariantKind.nis_window: 3>
    range: typing.ClassVar[InvariantKind]  # value = <InvariantKind.range: 0>
    rate: typing.ClassVar[InvariantKind]  # value = <InvariantKind.rate: 1>
    @typing.overload
    def __eq__(self, other: InvariantKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: InvariantKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class InvariantMonitor:
    """
    Runtime invariant monitor (checks run in C++)
    """
    def __init__(self, config: MonitorConfig) -> None:
        ...
    def active(self, arg0: typing.Any) -> bool:
        ...
    def check(self, time_s: typing.SupportsFloat | typing.SupportsIndex) -> MonitorVerdict:
        ...
    def clear(self) -> None:
        ...
    def events(self) -> numpy.typing.NDArray[...]:
        """
        Events oldest first: structured array (time_s, value, limit, invariant, severity, kind)
        """
    def invariant_index(self, arg0: str) -> int:
        ...
    def last_value(self, arg0: typing.Any) -> float:
        ...
    def latched(self, arg0: typing.Any) -> bool:
        ...
    def reset(self, invariant: typing.Any, time_s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def reset_all(self, time_s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def run(self, times: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> dict:
        """
        Checks a whole trace (values: one column per signal); returns active, value, max_active arrays
        """
    def set(self, signal: typing.Any, value: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def signal_index(self, arg0: str) -> int:
        ...
    def spec(self, arg0: typing.Any) -> InvariantSpec:
        ...
    @property
    def events_dropped(self) -> int:
        ...
    @property
    def invariant_count(self) -> int:
        ...
    @property
    def signals(self) -> list[str]:
        ...
    @property
    def verdict(self) -> MonitorVerdict:
        ...
class InvariantSpec:
    """
    One invariant over one named signal (see safetwin.safety.Invariant)
    """
    kind: InvariantKind
    name: str
    severity: Severity
    signal: str
    def __init__(self) -> None:
        ...
    @property
    def clear_count(self) -> int:
        ...
    @clear_count.setter
    def clear_count(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def clear_hi(self) -> float:
        """
        clear band (hysteresis): NaN = hi
        """
    @clear_hi.setter
    def clear_hi(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clear_lo(self) -> float:
        """
        clear band (hysteresis): NaN = lo
        """
    @clear_lo.setter
    def clear_lo(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def hi(self) -> float:
        ...
    @hi.setter
    def hi(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def lo(self) -> float:
        ...
    @lo.setter
    def lo(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def set_count(self) -> int:
        ...
    @set_count.setter
    def set_count(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def window_s(self) -> float:
        ...
    @window_s.setter
    def window_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class LawKind:
    """
    The control law of a closed-loop run
    
    Members:
    
      controllers
    
      constant
    
      profile
    
      bang_bang
    
      non_finite
    
      cccv
    """
    __members__: typing.ClassVar[dict[str, LawKind]]  # value = {'controllers': <LawKind.controllers: 0>, 'constant': <LawKind.constant: 1>, 'profile': <LawKind.profile: 2>, 'bang_bang': <LawKind.bang_bang: 3>, 'non_finite': <LawKind.non_finite: 4>, 'cccv': <LawKind.cccv: 5>}
    bang_bang: typing.ClassVar[LawKind]  # value = <LawKind.bang_bang: 3>
    cccv: typing.ClassVar[LawKind]  # value = <LawKind.cccv: 5>
    constant: typing.ClassVar[LawKind]  # value = <LawKind.constant: 1>
    controllers: typing.ClassVar[LawKind]  # value = <LawKind.controllers: 0>
    non_finite: typing.ClassVar[LawKind]  # value = <LawKind.non_finite: 4>
    profile: typing.ClassVar[LawKind]  # value = <LawKind.profile: 2>
    @typing.overload
    def __eq__(self, other: LawKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: LawKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class LawSpec:
    """
    A built-in law (per-cell currents, > 0 discharges) or the external controllers
    """
    cccv: CcCvConfig
    kind: LawKind
    def __init__(self) -> None:
        ...
    @property
    def current_a(self) -> float:
        ...
    @current_a.setter
    def current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def period_s(self) -> float:
        ...
    @period_s.setter
    def period_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def profile_a(self) -> list[float]:
        ...
    @profile_a.setter
    def profile_a(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
class LoopSpec:
    """
    Everything one closed-loop run needs (SI units; see closed_loop.hpp)
    """
    counterfactual: CounterfactualSpec
    cycle: PackCycleConfig
    law: LawSpec
    noise: SensorNoise
    plant: PackConfig
    replacement: Replacement
    reporting: ReportingConfig
    trace: TraceLevel
    use_pack_cycle: bool
    def __copy__(self) -> LoopSpec:
        ...
    def __deepcopy__(self, memo: dict) -> LoopSpec:
        ...
    def __init__(self) -> None:
        ...
    @property
    def ambient_k(self) -> float:
        ...
    @ambient_k.setter
    def ambient_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def attestation(self) -> list[int]:
        ...
    @attestation.setter
    def attestation(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def dt_s(self) -> float:
        ...
    @dt_s.setter
    def dt_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def duration_s(self) -> float:
        ...
    @duration_s.setter
    def duration_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def faults(self) -> list[FaultSpec]:
        ...
    @faults.setter
    def faults(self, arg0: collections.abc.Sequence[FaultSpec]) -> None:
        ...
    @property
    def injection_a_v(self) -> list[float]:
        ...
    @injection_a_v.setter
    def injection_a_v(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def injection_b_v(self) -> list[float]:
        ...
    @injection_b_v.setter
    def injection_b_v(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def injection_current_a(self) -> list[float]:
        ...
    @injection_current_a.setter
    def injection_current_a(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def injection_temperature_k(self) -> list[float]:
        ...
    @injection_temperature_k.setter
    def injection_temperature_k(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def scaling(self) -> list[CellScaling]:
        ...
    @scaling.setter
    def scaling(self, arg0: collections.abc.Sequence[CellScaling]) -> None:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def soc0(self) -> list[float]:
        ...
    @soc0.setter
    def soc0(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def steps(self) -> int:
        ...
    @property
    def temp0_k(self) -> list[float]:
        ...
    @temp0_k.setter
    def temp0_k(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
class Mode:
    """
    Members:
    
      NORMAL
    
      DERATED
    
      SAFE_STOP
    
      normal
    
      derated
    
      safe_stop
    """
    DERATED: typing.ClassVar[Mode]  # value = <Mode.DERATED: 1>
    NORMAL: typing.ClassVar[Mode]  # value = <Mode.NORMAL: 0>
    SAFE_STOP: typing.ClassVar[Mode]  # value = <Mode.SAFE_STOP: 2>
    __members__: typing.ClassVar[dict[str, Mode]]  # value = {'NORMAL': <Mode.NORMAL: 0>, 'DERATED': <Mode.DERATED: 1>, 'SAFE_STOP': <Mode.SAFE_STOP: 2>, 'normal': <Mode.NORMAL: 0>, 'derated': <Mode.DERATED: 1>, 'safe_stop': <Mode.SAFE_STOP: 2>}
    derated: typing.ClassVar[Mode]  # value = <Mode.DERATED: 1>
    normal: typing.ClassVar[Mode]  # value = <Mode.NORMAL: 0>
    safe_stop: typing.ClassVar[Mode]  # value = <Mode.SAFE_STOP: 2>
    @typing.overload
    def __eq__(self, other: Mode) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Mode) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class MonitorConfig:
    def __init__(self, signals: collections.abc.Sequence[str], invariants: collections.abc.Sequence[InvariantSpec], sample_period_s: typing.SupportsFloat | typing.SupportsIndex = 1.0, event_capacity: typing.SupportsInt | typing.SupportsIndex = 256) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the invariant or field
        """
    @property
    def event_capacity(self) -> int:
        ...
    @event_capacity.setter
    def event_capacity(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def invariants(self) -> list[InvariantSpec]:
        ...
    @invariants.setter
    def invariants(self, arg0: collections.abc.Sequence[InvariantSpec]) -> None:
        ...
    @property
    def sample_period_s(self) -> float:
        ...
    @sample_period_s.setter
    def sample_period_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def signals(self) -> list[str]:
        ...
    @signals.setter
    def signals(self, arg0: collections.abc.Sequence[str]) -> None:
        ...
class MonitorVerdict:
    @property
    def active(self) -> int:
        ...
    @property
    def first_set(self) -> int:
        ...
    @property
    def max_active(self) -> Severity:
        ...
    @property
    def newly_cleared(self) -> int:
        ...
    @property
    def newly_set(self) -> int:
        ...
    @property
    def violated_samples(self) -> int:
        ...
class NodeReport:
    """
    What the last trust step did to one node
    """
    @property
    def alarm(self) -> bool:
        ...
    @property
    def attestation_failed(self) -> bool:
        ...
    @property
    def cycles_since_verdict(self) -> int:
        ...
    @property
    def distrusted(self) -> bool:
        ...
    @property
    def noise_scale(self) -> float:
        ...
    @property
    def residual_missing(self) -> bool:
        ...
    @property
    def trust(self) -> float:
        ...
    @property
    def verdict(self) -> Attestation:
        ...
class NoiseStream:
    """
    splitmix64 as a counter: bits(i) is the i-th output of the seeded stream
    """
    def __init__(self, seed: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def bits(self, i: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def normal(self, i: typing.SupportsInt | typing.SupportsIndex) -> float:
        """
        Standard normal number i (Box-Muller on uniforms 2i, 2i+1)
        """
    def normals(self, start: typing.SupportsInt | typing.SupportsIndex, count: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
        """
        Normal numbers start .. start+count-1 as an array
        """
    def uniform(self, i: typing.SupportsInt | typing.SupportsIndex) -> float:
        ...
    @property
    def seed(self) -> int:
        ...
class NonFiniteInputError(InvalidArgumentError):
    pass
class NotInitialisedError(SafetwinError, RuntimeError, ValueError):
    pass
class NumericalError(SafetwinError, RuntimeError, ValueError):
    pass
class OcvTable:
    """
    Open-circuit voltage over SOC (linear interpolation, clamped)
    """
    @staticmethod
    def lgm50_chen2020() -> OcvTable:
        """
        The reference LG M50 table (compiled in)
        """
    def __init__(self, soc: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], ocv_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> None:
        ...
    def __len__(self) -> int:
        ...
    def slope_v(self, soc: typing.SupportsFloat | typing.SupportsIndex) -> float:
        """
        dOCV/dSOC in V (end slope outside the table)
        """
    def soc_at_voltage(self, voltage_v: typing.SupportsFloat | typing.SupportsIndex) -> float:
        """
        SOC of a rested voltage
        """
    def voltage_v(self, soc: typing.SupportsFloat | typing.SupportsIndex) -> float:
        """
        OCV in V at soc (clamped outside the table)
        """
    @property
    def ocv_v(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def soc(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
class Pack:
    """
    Battery pack plant: per-cell 2RC + thermal, Kirchhoff split in parallel groups
    """
    contactor_closed: bool
    def __init__(self, config: PackConfig) -> None:
        ...
    def cell_voltage_at(self, cell: typing.SupportsInt | typing.SupportsIndex, cell_current_a: typing.SupportsFloat | typing.SupportsIndex) -> float:
        ...
    def leak_resistance(self, cell: typing.SupportsInt | typing.SupportsIndex) -> float:
        ...
    def set_all_states(self, state: CellState) -> None:
        ...
    def set_ambient_temp_k(self, temp_k: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_cooling_factor(self, cell: typing.SupportsInt | typing.SupportsIndex, factor: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_leak_resistance(self, cell: typing.SupportsInt | typing.SupportsIndex, ohm: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_scaling(self, cell: typing.SupportsInt | typing.SupportsIndex, scaling: CellScaling) -> None:
        ...
    def set_state(self, cell: typing.SupportsInt | typing.SupportsIndex, state: CellState) -> None:
        ...
    def simulate(self, current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], dt_s: typing.SupportsFloat | typing.SupportsIndex) -> dict:
        """
        Simulates a current profile in C++; returns arrays (row k = time k)
        """
    def step(self, current_a: typing.SupportsFloat | typing.SupportsIndex, dt_s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        """
        One step under the pack current in A (> 0 discharges)
        """
    @property
    def cell_current_a(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def cell_soc(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def cell_temp_k(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def cell_voltage_v(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def cells(self) -> int:
        ...
    @property
    def pack_voltage_v(self) -> float:
        ...
    @property
    def parallel(self) -> int:
        ...
    @property
    def params(self) -> CellParams:
        ...
    @property
    def scaling(self) -> list[CellScaling]:
        ...
    @property
    def series(self) -> int:
        ...
    @property
    def states(self) -> list[CellState]:
        ...
class PackConfig:
    """
    Ns series groups of Np parallel cells
    """
    cell: CellParams
    initial: CellState
    spread: SpreadConfig
    def __init__(self, series: typing.SupportsInt | typing.SupportsIndex = 1, parallel: typing.SupportsInt | typing.SupportsIndex = 1, cell: CellParams = ..., spread: SpreadConfig = ..., initial: CellState = ...) -> None:
        ...
    @property
    def parallel(self) -> int:
        ...
    @parallel.setter
    def parallel(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def series(self) -> int:
        ...
    @series.setter
    def series(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class PackCycle:
    """
    One guarded control cycle per series group; the most conservative command
    """
    def __init__(self, config: PackCycleConfig, controllers: collections.abc.Sequence[Controller]) -> None:
        ...
    def group(self, g: typing.SupportsInt | typing.SupportsIndex) -> ControlCycle:
        """
        The ControlCycle of series group g
        """
    def group_status(self, g: typing.SupportsInt | typing.SupportsIndex) -> CycleStatus:
        ...
    def reset(self, time_s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def step(self, time_s: typing.SupportsFloat | typing.SupportsIndex, pack_current_a: typing.SupportsFloat | typing.SupportsIndex, voltage_a_v: typing.Any, temperature_k: typing.Any, dt_s: typing.SupportsFloat | typing.SupportsIndex, voltage_b_v: typing.Any = None, attestation: typing.Any = None, voltage_a_valid: typing.Any = None, voltage_b_valid: typing.Any = None, temperature_valid: typing.Any = None) -> PackCycleStatus:
        """
        One period: the sample of the interval just ended (group voltages in V, hottest cell per group in K, measured pack current in A); attestation: one verdict per trust node (0 none, 1 passed, 2 failed)
        """
    def trust(self) -> list[float]:
        """
        Trust of each node (empty without trust)
        """
    @property
    def groups(self) -> int:
        ...
class PackCycleConfig:
    """
    A pack cycle: series groups of parallel cells, one cycle per group
    """
    trust: PackTrustConfig
    def __init__(self, series: typing.SupportsInt | typing.SupportsIndex = 1, parallel: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def cell(self) -> CycleConfig:
        """
        The per-cell CycleConfig every group runs
        """
    @cell.setter
    def cell(self, arg0: CycleConfig) -> None:
        ...
    @property
    def parallel(self) -> int:
        ...
    @parallel.setter
    def parallel(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def parallel_resistance_spread(self) -> float:
        """
        relative spread of the cells' resistances in a parallel group, [0, 1)
        """
    @parallel_resistance_spread.setter
    def parallel_resistance_spread(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def series(self) -> int:
        ...
    @series.setter
    def series(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class PackCycleStatus:
    """
    What one pack cycle step decided
    """
    @property
    def command_a(self) -> float:
        """
        pack current to apply, A (> 0 discharges)
        """
    @property
    def contactor_closed(self) -> bool:
        ...
    @property
    def limiting_group(self) -> int:
        ...
    @property
    def mode(self) -> Mode:
        ...
    @property
    def status(self) -> Status:
        ...
class PackEstimator:
    """
    One BatteryEkf per cell / parallel group, stepped together
    """
    def __getitem__(self, index: typing.SupportsInt | typing.SupportsIndex) -> BatteryEkf:
        ...
    @typing.overload
    def __init__(self, config: BatteryEkfConfig, groups: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @typing.overload
    def __init__(self, per_group: collections.abc.Sequence[BatteryEkfConfig]) -> None:
        ...
    def __len__(self) -> int:
        ...
    def run(self, t_s: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], voltage_a_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, voltage_b_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, temperature_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> dict:
        """
        Replays a pack log (rows = samples, columns = groups) in C++; dict of (n, groups) arrays
        """
    def step(self, current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], voltage_a_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, voltage_b_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, temperature_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, dt_s: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> Status:
        """
        One sample of every group: arrays of one value per group (current_a: scalar or per group). Returns Status.ok, or Status.numerical_error if a group recovered its covariance.
        """
    @property
    def capacity_ah(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def nis(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def r0_ohm(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def size(self) -> int:
        ...
    @property
    def soc(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def soc_sigma(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def temp_k(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def v1_v(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def v2_v(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
class PackTrustConfig:
    """
    Trust weighting of the pack cycle's estimators
    """
    config: TrustConfig
    enabled: bool
    def __init__(self) -> None:
        ...
    @property
    def channels(self) -> list:
        """
        Per group (voltage_a node, voltage_b node, temperature node); -1 = not weighted
        """
    @channels.setter
    def channels(self, arg1: collections.abc.Sequence[typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"]]) -> None:
        ...
    @property
    def nodes(self) -> int:
        ...
    @nodes.setter
    def nodes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def weighting(self) -> bool:
        """
        False: trust reported, noise scales kept at 1
        """
    @weighting.setter
    def weighting(self, arg0: bool) -> None:
        ...
class ParamSurface:
    """
    A cell parameter: a constant or a table over (SOC, temperature in K)
    """
    @staticmethod
    def constant(value: typing.SupportsFloat | typing.SupportsIndex) -> ParamSurface:
        ...
    @staticmethod
    def table(soc: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], temp_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], name: str = 'table') -> ParamSurface:
        ...
    def __init__(self, value: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def at(self, soc: typing.SupportsFloat | typing.SupportsIndex, temp_k: typing.SupportsFloat | typing.SupportsIndex) -> float:
        ...
    @property
    def is_constant(self) -> bool:
        ...
class PlausibilityConfig:
    """
    Redundant voltage nodes compared every cycle (see control_cycle.hpp)
    """
    enabled: bool
    severity: Severity
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def baseline_s(self) -> float:
        ...
    @baseline_s.setter
    def baseline_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clear_s(self) -> float:
        ...
    @clear_s.setter
    def clear_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def debounce_s(self) -> float:
        ...
    @debounce_s.setter
    def debounce_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def offset_v(self) -> float:
        ...
    @offset_v.setter
    def offset_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def sigma_factor(self) -> float:
        ...
    @sigma_factor.setter
    def sigma_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class QpProblem:
    """
    A QP handed to a Python solver hook (numpy copies): minimise 1/2 x'Hx + f'x + sum soft_penalty * dist(Ax, [lower, upper]) subject to lb <= x <= ub and the hard rows (soft_penalty = inf)
    """
    @property
    def A(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def H(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def f(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def hessian_id(self) -> int:
        """
        same nonzero id: H unchanged since the last call
        """
    @property
    def lb(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def lower(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def m(self) -> int:
        ...
    @property
    def n(self) -> int:
        ...
    @property
    def soft_penalty(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def ub(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def upper(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def x_warm(self) -> typing.Any:
        """
        warm start (shifted previous solution) or None
        """
    @property
    def y_warm(self) -> typing.Any:
        ...
class QpSolution:
    """
    Solution of a QP: x, multipliers y (rows), z (bounds), status
    """
    @property
    def bound_state(self) -> numpy.typing.NDArray[numpy.int8]:
        ...
    @property
    def iterations(self) -> int:
        ...
    @property
    def objective(self) -> float:
        ...
    @property
    def row_state(self) -> numpy.typing.NDArray[numpy.int8]:
        """
        per row: 0 inactive, +-1 at upper/lower limit, +-2 soft row violated above/below
        """
    @property
    def status(self) -> QpStatus:
        ...
    @property
    def x(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def y(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def z(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
class QpSolver:
    """
    A QP solver hook. Subclass it in Python (call QpSolver.__init__) and define solve(self, qp: QpProblem) returning x or (x, status, iterations).
    """
    def __init__(self) -> None:
        ...
    @property
    def last_error(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
class QpStatus:
    """
    What a QP solver concluded
    
    Members:
    
      optimal
    
      max_iterations
    
      primal_infeasible
    
      dual_infeasible
    
      numerical_error
    
      invalid_input
    
      solver_error
    """
    __members__: typing.ClassVar[dict[str, QpStatus]]  # value = {'optimal': <QpStatus.optimal: 0>, 'max_iterations': <QpStatus.max_iterations: 1>, 'primal_infeasible': <QpStatus.primal_infeasible: 2>, 'dual_infeasible': <QpStatus.dual_infeasible: 3>, 'numerical_error': <QpStatus.numerical_error: 4>, 'invalid_input': <QpStatus.invalid_input: 5>, 'solver_error': <QpStatus.solver_error: 6>}
    dual_infeasible: typing.ClassVar[QpStatus]  # value = <QpStatus.dual_infeasible: 3>
    invalid_input: typing.ClassVar[QpStatus]  # value = <QpStatus.invalid_input: 5>
    max_iterations: typing.ClassVar[QpStatus]  # value = <QpStatus.max_iterations: 1>
    numerical_error: typing.ClassVar[QpStatus]  # value = <QpStatus.numerical_error: 4>
    optimal: typing.ClassVar[QpStatus]  # value = <QpStatus.optimal: 0>
    primal_infeasible: typing.ClassVar[QpStatus]  # value = <QpStatus.primal_infeasible: 2>
    solver_error: typing.ClassVar[QpStatus]  # value = <QpStatus.solver_error: 6>
    @typing.overload
    def __eq__(self, other: QpStatus) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: QpStatus) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ReasonLikelihood:
    """
    P(reason | good), P(reason | compromised) of one failure reason
    """
    @typing.overload
    def __init__(self) -> None:
        ...
    @typing.overload
    def __init__(self, good: typing.SupportsFloat | typing.SupportsIndex, compromised: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def compromised(self) -> float:
        ...
    @compromised.setter
    def compromised(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def good(self) -> float:
        ...
    @good.setter
    def good(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Replacement:
    """
    The law from a time on (the counterfactual): a direct current or a built-in law
    """
    at_first_fault: bool
    direct: bool
    enabled: bool
    law: LawSpec
    def __init__(self) -> None:
        ...
    @property
    def current_a(self) -> float:
        ...
    @current_a.setter
    def current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def time_s(self) -> float:
        ...
    @time_s.setter
    def time_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class ReportingConfig:
    """
    Reporting mode, period, safe-horizon ceiling/minimum, event thresholds
    """
    mode: ReportingMode
    def __init__(self) -> None:
        ...
    def validate(self, dt_s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def confidence_sigma(self) -> float:
        ...
    @confidence_sigma.setter
    def confidence_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_interval_s(self) -> float:
        ...
    @max_interval_s.setter
    def max_interval_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_interval_s(self) -> float:
        ...
    @min_interval_s.setter
    def min_interval_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def period_s(self) -> float:
        ...
    @period_s.setter
    def period_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_margin(self) -> float:
        ...
    @soc_margin.setter
    def soc_margin(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_margin_k(self) -> float:
        ...
    @temp_margin_k.setter
    def temp_margin_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold_max_k(self) -> float:
        ...
    @threshold_max_k.setter
    def threshold_max_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold_max_v(self) -> float:
        ...
    @threshold_max_v.setter
    def threshold_max_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold_min_k(self) -> float:
        ...
    @threshold_min_k.setter
    def threshold_min_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold_min_v(self) -> float:
        ...
    @threshold_min_v.setter
    def threshold_min_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_margin_v(self) -> float:
        ...
    @voltage_margin_v.setter
    def voltage_margin_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class ReportingMode:
    """
    When the sensor nodes report (report_schedule.hpp)
    
    Members:
    
      every_step
    
      periodic
    
      self_triggered
    """
    __members__: typing.ClassVar[dict[str, ReportingMode]]  # value = {'every_step': <ReportingMode.every_step: 0>, 'periodic': <ReportingMode.periodic: 1>, 'self_triggered': <ReportingMode.self_triggered: 2>}
    every_step: typing.ClassVar[ReportingMode]  # value = <ReportingMode.every_step: 0>
    periodic: typing.ClassVar[ReportingMode]  # value = <ReportingMode.periodic: 1>
    self_triggered: typing.ClassVar[ReportingMode]  # value = <ReportingMode.self_triggered: 2>
    @typing.overload
    def __eq__(self, other: ReportingMode) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: ReportingMode) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class SafeHorizon:
    """
    The longest time the uncertainty tube stays inside every limit
    """
    @staticmethod
    def tube_probability(kappa: typing.SupportsFloat | typing.SupportsIndex) -> float:
        ...
    def __init__(self, config: SafeHorizonConfig = ...) -> None:
        ...
    def compute(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 1]"], P: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 4]"], plan_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], twin: TwinEstimate = ...) -> SafeHorizonResult:
        """
        x = [soc, v1_v, v2_v, temp_k], P its 4x4 covariance, plan_a the cell current per prediction step (> 0 discharges)
        """
    @property
    def config(self) -> SafeHorizonConfig:
        ...
class SafeHorizonConfig:
    """
    Safe horizon: prediction step, ceiling, minimum inter-report time, kappa, guard bands, model-error floors
    """
    cell: CellParams
    scaling: CellScaling
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def confidence_sigma(self) -> float:
        ...
    @confidence_sigma.setter
    def confidence_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_horizon_s(self) -> float:
        ...
    @max_horizon_s.setter
    def max_horizon_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_interval_s(self) -> float:
        ...
    @min_interval_s.setter
    def min_interval_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_k(self) -> float:
        ...
    @model_error_k.setter
    def model_error_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_soc(self) -> float:
        ...
    @model_error_soc.setter
    def model_error_soc(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_v(self) -> float:
        ...
    @model_error_v.setter
    def model_error_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def process_noise_var(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[4, 1]"]:
        ...
    @process_noise_var.setter
    def process_noise_var(self, arg0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 1]"]) -> None:
        ...
    @property
    def soc_margin(self) -> float:
        ...
    @soc_margin.setter
    def soc_margin(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_max(self) -> float:
        ...
    @soc_max.setter
    def soc_max(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def soc_min(self) -> float:
        ...
    @soc_min.setter
    def soc_min(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def step_s(self) -> float:
        ...
    @step_s.setter
    def step_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temp_margin_k(self) -> float:
        ...
    @temp_margin_k.setter
    def temp_margin_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_margin_v(self) -> float:
        ...
    @voltage_margin_v.setter
    def voltage_margin_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class SafeHorizonResult:
    """
    The safe horizon tau, the tube's time, event flag, limit and probability
    """
    def __init__(self) -> None:
        ...
    @property
    def event(self) -> bool:
        ...
    @property
    def event_temp(self) -> bool:
        ...
    @property
    def event_voltage(self) -> bool:
        ...
    @property
    def half_width_k(self) -> float:
        ...
    @property
    def half_width_soc(self) -> float:
        ...
    @property
    def half_width_v(self) -> float:
        ...
    @property
    def limit(self) -> HorizonLimit:
        ...
    @property
    def probability(self) -> float:
        ...
    @property
    def status(self) -> Status:
        ...
    @property
    def steps(self) -> int:
        ...
    @property
    def tau_s(self) -> float:
        ...
    @property
    def tau_temp_s(self) -> float:
        ...
    @property
    def tau_voltage_s(self) -> float:
        ...
    @property
    def tube_s(self) -> float:
        ...
    @property
    def tube_temp_s(self) -> float:
        ...
    @property
    def tube_voltage_s(self) -> float:
        ...
class SafetwinError(Exception):
    pass
class SensorNoise:
    """
    Standard deviations of the sensors' noise
    """
    voltage_b: bool
    def __init__(self, voltage_a_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, voltage_b_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, temperature_k: typing.SupportsFloat | typing.SupportsIndex = 0.0, current_a: typing.SupportsFloat | typing.SupportsIndex = 0.0, voltage_b: bool = True) -> None:
        ...
    @property
    def current_a(self) -> float:
        ...
    @current_a.setter
    def current_a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def temperature_k(self) -> float:
        ...
    @temperature_k.setter
    def temperature_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_a_v(self) -> float:
        ...
    @voltage_a_v.setter
    def voltage_a_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def voltage_b_v(self) -> float:
        ...
    @voltage_b_v.setter
    def voltage_b_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Severity:
    """
    Members:
    
      none
    
      warning
    
      derate
    
      stop
    """
    __members__: typing.ClassVar[dict[str, Severity]]  # value = {'none': <Severity.none: 0>, 'warning': <Severity.warning: 1>, 'derate': <Severity.derate: 2>, 'stop': <Severity.stop: 3>}
    derate: typing.ClassVar[Severity]  # value = <Severity.derate: 2>
    none: typing.ClassVar[Severity]  # value = <Severity.none: 0>
    stop: typing.ClassVar[Severity]  # value = <Severity.stop: 3>
    warning: typing.ClassVar[Severity]  # value = <Severity.warning: 1>
    @typing.overload
    def __eq__(self, other: Severity) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Severity) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class SpreadConfig:
    """
    Cell-to-cell spread, uniform in [1-rel, 1+rel], seeded
    """
    def __init__(self, capacity_rel: typing.SupportsFloat | typing.SupportsIndex = 0.0, r0_rel: typing.SupportsFloat | typing.SupportsIndex = 0.0, seed: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    @property
    def capacity_rel(self) -> float:
        ...
    @capacity_rel.setter
    def capacity_rel(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_rel(self) -> float:
        ...
    @r0_rel.setter
    def r0_rel(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Status:
    """
    Status code of a step of the core
    
    Members:
    
      ok
    
      invalid_argument
    
      non_finite_input
    
      not_initialised
    
      max_iterations
    
      primal_infeasible
    
      dual_infeasible
    
      numerical_error
    """
    __members__: typing.ClassVar[dict[str, Status]]  # value = {'ok': <Status.ok: 0>, 'invalid_argument': <Status.invalid_argument: 1>, 'non_finite_input': <Status.non_finite_input: 2>, 'not_initialised': <Status.not_initialised: 3>, 'max_iterations': <Status.max_iterations: 4>, 'primal_infeasible': <Status.primal_infeasible: 5>, 'dual_infeasible': <Status.dual_infeasible: 6>, 'numerical_error': <Status.numerical_error: 7>}
    dual_infeasible: typing.ClassVar[Status]  # value = <Status.dual_infeasible: 6>
    invalid_argument: typing.ClassVar[Status]  # value = <Status.invalid_argument: 1>
    max_iterations: typing.ClassVar[Status]  # value = <Status.max_iterations: 4>
    non_finite_input: typing.ClassVar[Status]  # value = <Status.non_finite_input: 2>
    not_initialised: typing.ClassVar[Status]  # value = <Status.not_initialised: 3>
    numerical_error: typing.ClassVar[Status]  # value = <Status.numerical_error: 7>
    ok: typing.ClassVar[Status]  # value = <Status.ok: 0>
    primal_infeasible: typing.ClassVar[Status]  # value = <Status.primal_infeasible: 5>
    @typing.overload
    def __eq__(self, other: Status) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Status) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Supervisor:
    def __init__(self, config: SupervisorConfig = ...) -> None:
        ...
    def predict_safe(self, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[4, 1]"], current_a: typing.SupportsFloat | typing.SupportsIndex, dt_s: typing.SupportsFloat | typing.SupportsIndex, voltage_margin_v: typing.SupportsFloat | typing.SupportsIndex = 0.0, temp_margin_k: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> bool:
        ...
    def transitions(self) -> numpy.typing.NDArray[...]:
        """
        Mode transitions oldest first: structured array (time_s, invariant, from, to, cause)
        """
    @property
    def current_scale(self) -> float:
        ...
    @property
    def mode(self) -> Mode:
        ...
class SupervisorConfig:
    cell: CellParams
    predictive_check: bool
    scaling: CellScaling
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        ...
    @property
    def derate_factor(self) -> float:
        ...
    @derate_factor.setter
    def derate_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def hold_max_s(self) -> float:
        ...
    @hold_max_s.setter
    def hold_max_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def horizon_steps(self) -> int:
        ...
    @horizon_steps.setter
    def horizon_steps(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def log_capacity(self) -> int:
        ...
    @log_capacity.setter
    def log_capacity(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class SupervisorVerdict:
    @property
    def contactor_closed(self) -> bool:
        ...
    @property
    def current_a(self) -> float:
        ...
    @property
    def decision(self) -> Decision:
        ...
    @property
    def holding(self) -> bool:
        ...
    @property
    def missing_for_s(self) -> float:
        ...
    @property
    def mode(self) -> Mode:
        ...
    @property
    def predictive_refused(self) -> bool:
        ...
class TraceLevel:
    """
    What a closed-loop run keeps per step
    
    Members:
    
      none
    
      extremes
    
      full
    """
    __members__: typing.ClassVar[dict[str, TraceLevel]]  # value = {'none': <TraceLevel.none: 0>, 'extremes': <TraceLevel.extremes: 1>, 'full': <TraceLevel.full: 2>}
    extremes: typing.ClassVar[TraceLevel]  # value = <TraceLevel.extremes: 1>
    full: typing.ClassVar[TraceLevel]  # value = <TraceLevel.full: 2>
    none: typing.ClassVar[TraceLevel]  # value = <TraceLevel.none: 0>
    @typing.overload
    def __eq__(self, other: TraceLevel) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: TraceLevel) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class TransitionCause:
    """
    Members:
    
      monitor
    
      non_finite_input
    
      deadline
    
      reset
    
      invalid_step
    
      monitor_failed
    """
    __members__: typing.ClassVar[dict[str, TransitionCause]]  # value = {'monitor': <TransitionCause.monitor: 1>, 'non_finite_input': <TransitionCause.non_finite_input: 2>, 'deadline': <TransitionCause.deadline: 3>, 'reset': <TransitionCause.reset: 4>, 'invalid_step': <TransitionCause.invalid_step: 5>, 'monitor_failed': <TransitionCause.monitor_failed: 6>}
    deadline: typing.ClassVar[TransitionCause]  # value = <TransitionCause.deadline: 3>
    invalid_step: typing.ClassVar[TransitionCause]  # value = <TransitionCause.invalid_step: 5>
    monitor: typing.ClassVar[TransitionCause]  # value = <TransitionCause.monitor: 1>
    monitor_failed: typing.ClassVar[TransitionCause]  # value = <TransitionCause.monitor_failed: 6>
    non_finite_input: typing.ClassVar[TransitionCause]  # value = <TransitionCause.non_finite_input: 2>
    reset: typing.ClassVar[TransitionCause]  # value = <TransitionCause.reset: 4>
    @typing.overload
    def __eq__(self, other: TransitionCause) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: TransitionCause) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class TrustConfig:
    """
    Per-node Bayesian trust (two-state HMM filter), see trust_state.hpp
    """
    cusum: CusumConfig
    fail_malformed: ReasonLikelihood
    fail_pcr: ReasonLikelihood
    fail_replay: ReasonLikelihood
    fail_signature: ReasonLikelihood
    timeout: ReasonLikelihood
    def __init__(self) -> None:
        ...
    def validate(self) -> None:
        """
        Raises ValueError naming the first bad field
        """
    @property
    def cross_node_baseline_s(self) -> float:
        ...
    @cross_node_baseline_s.setter
    def cross_node_baseline_s(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cross_node_residual(self) -> bool:
        """
        two voltage nodes of a cell: residual evidence from their difference, not from the twin
        """
    @cross_node_residual.setter
    def cross_node_residual(self, arg0: bool) -> None:
        ...
    @property
    def distrust_threshold(self) -> float:
        ...
    @distrust_threshold.setter
    def distrust_threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_cycles_without_verdict(self) -> int:
        ...
    @max_cycles_without_verdict.setter
    def max_cycles_without_verdict(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def p_alarm_compromised(self) -> float:
        ...
    @p_alarm_compromised.setter
    def p_alarm_compromised(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def p_compromise(self) -> float:
        ...
    @p_compromise.setter
    def p_compromise(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def p_pass_compromised(self) -> float:
        ...
    @p_pass_compromised.setter
    def p_pass_compromised(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def p_pass_good(self) -> float:
        ...
    @p_pass_good.setter
    def p_pass_good(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def p_recover(self) -> float:
        ...
    @p_recover.setter
    def p_recover(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trust0(self) -> float:
        ...
    @trust0.setter
    def trust0(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trust_eps(self) -> float:
        ...
    @trust_eps.setter
    def trust_eps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trust_min(self) -> float:
        ...
    @trust_min.setter
    def trust_min(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class TrustState:
    """
    Trust of every sensor node, one step per cycle
    """
    def __init__(self, config: TrustConfig, nodes: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def all_distrusted(self, mask: typing.SupportsInt | typing.SupportsIndex) -> bool:
        ...
    def distrusted(self, node: typing.SupportsInt | typing.SupportsIndex) -> bool:
        ...
    def noise_scale(self, node: typing.SupportsInt | typing.SupportsIndex) -> float:
        ...
    def report(self, node: typing.SupportsInt | typing.SupportsIndex) -> NodeReport:
        ...
    def reset(self) -> None:
        ...
    def reset_node(self, node: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def run(self, attestation: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], innovation_z: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> dict:
        """
        Many cycles: (rows, nodes) arrays in; trust, noise_scale, alarm, distrusted out
        """
    def step(self, attestation: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], innovation_z: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> None:
        """
        One cycle: verdict codes (0 none, 1 pass, 2 fail) and normalised innovations per node
        """
    def trust(self, node: typing.SupportsInt | typing.SupportsIndex) -> float:
        ...
    @property
    def distrusted_mask(self) -> int:
        ...
    @property
    def nodes(self) -> int:
        ...
class TwinEstimate:
    """
    The adaptive twin's parameters and learned model error for one step
    """
    def __init__(self) -> None:
        ...
    @property
    def capacity_factor(self) -> float:
        ...
    @capacity_factor.setter
    def capacity_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def capacity_factor_sigma(self) -> float:
        ...
    @capacity_factor_sigma.setter
    def capacity_factor_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cooling_factor(self) -> float:
        """
        on the heat transfer (1: nominal)
        """
    @cooling_factor.setter
    def cooling_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def cooling_factor_sigma(self) -> float:
        ...
    @cooling_factor_sigma.setter
    def cooling_factor_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def extra_heat_sigma_w(self) -> float:
        ...
    @extra_heat_sigma_w.setter
    def extra_heat_sigma_w(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def extra_heat_w(self) -> float:
        """
        heat the cell model does not explain, W
        """
    @extra_heat_w.setter
    def extra_heat_w(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_k(self) -> float:
        ...
    @model_error_k.setter
    def model_error_k(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model_error_v(self) -> float:
        ...
    @model_error_v.setter
    def model_error_v(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor(self) -> float:
        ...
    @r0_factor.setter
    def r0_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def r0_factor_sigma(self) -> float:
        ...
    @r0_factor_sigma.setter
    def r0_factor_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
def cell_file_cpp_supported() -> bool:
    """
    True when the C++ cell-file reader was built (toml++ found at build time)
    """
def cell_state_names(rc_pairs: typing.SupportsInt | typing.SupportsIndex = 2, hysteresis: bool = False) -> list[str]:
    """
    The model's state names in order for a structure (the one spec, cell_structure.hpp)
    """
def cell_structure_name(cell: CellParams) -> str:
    """
    The cell's model structure in words ('2 RC pairs', '1 RC pair + hysteresis', ...)
    """
def chance_multiplier(form: ChanceForm, alpha: typing.SupportsFloat | typing.SupportsIndex) -> float:
    """
    q(alpha): a limit holds with probability >= 1 - alpha when mean + q * std <= limit
    """
def chi_square_cdf(x: typing.SupportsFloat | typing.SupportsIndex, dof: typing.SupportsInt | typing.SupportsIndex) -> float:
    ...
def chi_square_quantile(probability: typing.SupportsFloat | typing.SupportsIndex, dof: typing.SupportsInt | typing.SupportsIndex) -> float:
    """
    Quantile of the chi-square distribution (the EKF gate threshold)
    """
def cusum_arl_one_sided(k: typing.SupportsFloat | typing.SupportsIndex, h: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def cusum_threshold(k: typing.SupportsFloat | typing.SupportsIndex, false_alarm_rate: typing.SupportsFloat | typing.SupportsIndex) -> float:
    """
    h giving the two-sided false-alarm rate (Siegmund's approximation)
    """
def linearise_step(cell: ..., x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], current_a: typing.SupportsFloat | typing.SupportsIndex, dt_s: typing.SupportsFloat | typing.SupportsIndex, r0_factor: typing.SupportsFloat | typing.SupportsIndex = 1.0, capacity_factor: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> dict:
    """
    The one cell model's step from x under current_a over dt_s: {x_next, f = dx'/dx, g = dx'/dI, f_factor = dx'/d[r0_factor, capacity_factor]} (x in cell_state_names order)
    """
def linearise_voltage(cell: ..., x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], current_a: typing.SupportsFloat | typing.SupportsIndex, r0_factor: typing.SupportsFloat | typing.SupportsIndex = 1.0, capacity_factor: typing.SupportsFloat | typing.SupportsIndex = 1.0) -> dict:
    """
    The one cell model's terminal voltage at x under current_a: {v, dv_dx, dv_di, dv_dfactor}
    """
def load_cell_file_cpp(path: str) -> tuple[str, CellParams]:
    """
    (name, CellParams) of a TOML cell file read by the C++ reader (toml++); raises ValueError 'FILE: KEY: reason' as safetwin.cellfile does
    """
def noise_scale_from_trust(trust: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex) -> float:
    ...
def raise_for_status(status: Status, call: str) -> None:
    """
    Raises the safetwin.errors exception of a status, as every binding does on a refused call (nothing for Status.ok): for the statuses that step methods return instead of raising
    """
def replay_cell(config: ..., t_s: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], voltage_a_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, voltage_b_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, temperature_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> dict:
    """
    Replays a whole log through the estimator of config.cell's own structure (1..3 RC pairs, optional hysteresis) in C++; the dict of BatteryEkf.run plus 'state' (n x state size) and 'state_names'
    """
def run_cccv(pack: Pack, config: CcCvConfig, dt_s: typing.SupportsFloat | typing.SupportsIndex, max_steps: typing.SupportsInt | typing.SupportsIndex) -> dict:
    """
    Closed-loop CC-CV charge of the pack in C++ until cut-off or max_steps; arrays per step
    """
def run_charge_loop(cell: Cell, controller: Controller, config: ChargeLoopConfig = ..., max_steps: typing.Any = None) -> dict:
    """
    Closed-loop charge of a Cell by any Controller (in C++; the GIL is released and retaken by Python hooks). Returns per-step arrays (current_a, voltage_v, temp_k and soc after the step, solve_time_s, iterations, status) and steps, reached, time_to_stop_s, non_ok_steps.
    """
def score_replay(t_s: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], voltage_a_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, voltage_b_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, temperature_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, ekf_config: BatteryEkfConfig = ..., score_config: AnomalyScoreConfig = ...) -> dict:
    """
    Replays a log through a new BatteryEkf and AnomalyScore in C++; dict of arrays and the summary
    """
def trusted_replay(ekf: BatteryEkf, trust: EstimatorTrust, t_s: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], current_a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], attestation: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], voltage_a_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, voltage_b_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, temperature_k: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> dict:
    """
    Run a single-cell log through BatteryEkf with trust (verdict codes per row and node); returns arrays
    """
CHANNEL_GATED: int = 8
CHANNEL_GATE_RESET: int = 16
CHANNEL_MISSING: int = 2
CHANNEL_NON_FINITE: int = 4
CHANNEL_USED: int = 1
FILTER_COVARIANCE_RECOVERED: int = 1
FILTER_INNOVATION_SINGULAR: int = 4
FILTER_MODEL_FAILED: int = 2
MAX_SCORE_WINDOW: int = 3600
ZERO_CELSIUS_K: float = 273.15
CycleChannel = Channel
