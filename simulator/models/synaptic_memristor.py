r"""A synaptic memristor: soft-bounded non-volatile conductance plus a volatile component.

State per device: the non-volatile internal variable ``w`` ∈ [0, 1] and the volatile
variable ``h`` ∈ [0, 1]. Conductance (ohmic read):

    G = G_min + (G_max − G_min)·w + G_vol·h                              [S]

Drive rates above threshold (V is the voltage across the device):

    k_set(V)   = ν_set·(exp((V − V_set)/V_0) − 1)        for V >  V_set, else 0      [1/s]
    k_reset(V) = ν_reset·(exp((−V − V_reset)/V_0) − 1)   for V < −V_reset, else 0   [1/s]

Dynamics (soft bounds: the step shrinks as the state nears its bound):

    dw/dt = k_set·(1 − w) − k_reset·w
    dh/dt = r_h·k_set·(1 − h) − r_h·k_reset·h − h/τ_vol

Both are linear with constant coefficients while V is constant, so each segment is integrated
exactly: x(T) = x_∞ + (x₀ − x_∞)·e^(−λT). Below threshold ``w`` holds (non-volatile) and ``h``
relaxes with τ_vol; the read current then carries the volatile excess that makes paired-pulse
facilitation. A train of identical pulses of width t_p gives G(P) = G₀ + B·(1 − e^(−P/A)) with

    A = 1 / (k_set(V)·t_p)    pulses,

the nonlinearity form of NeuroSim (Chen, Peng & Yu, IEEE TCAD 37, 3067, 2018); the soft-bound
update itself is the one used for analog-AI device models (Gokmen & Vlasov, Front. Neurosci.
10, 333, 2016; Frascaroli et al., Sci. Rep. 8, 7178, 2018, for HfO₂ synapses).

Noise (from the ``numpy.random.Generator`` passed in; nothing else draws):
cycle-to-cycle — each non-volatile update Δw is scaled by (1 + σ_c2c·ξ), ξ ~ N(0, 1), then w
is clipped to [0, 1]; read noise — each reading is scaled by (1 + σ_read·ξ).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


def _p(default: float, unit: str) -> float:
    return field(default=default, metadata={"unit": unit})


@dataclass(frozen=True)
class SynapticMemristorParams:
    """Parameters of :class:`SynapticMemristor` (SI units). Defaults: an oxide synapse."""

    g_min: float = _p(20e-6, "S")            # non-volatile conductance at w = 0
    g_max: float = _p(200e-6, "S")           # non-volatile conductance at w = 1
    g_volatile: float = _p(40e-6, "S")       # conductance of the volatile component at h = 1
    v_set: float = _p(0.8, "V")              # potentiation threshold
    v_reset: float = _p(0.8, "V")            # depression threshold (magnitude)
    v_slope: float = _p(0.2, "V")            # V_0: voltage scale of the exponential drive
    rate_set: float = _p(10.0, "1/s")        # ν_set
    rate_reset: float = _p(10.0, "1/s")      # ν_reset
    volatile_gain: float = _p(30.0, "")      # r_h: volatile drive relative to the non-volatile drive
    tau_volatile: float = _p(5e-3, "s")      # relaxation time of the volatile component
    c2c_sigma: float = _p(0.02, "")          # relative cycle-to-cycle variation of each update
    read_noise: float = _p(0.002, "")        # relative read noise
    w_initial: float = _p(0.0, "")           # non-volatile state at start, 0 (G_min) to 1 (G_max)


class SynapticMemristor:
    """``n`` devices with the same parameters; every state array has shape ``(n,)``."""

    name = "synaptic-memristor"
    params_type = SynapticMemristorParams

    def __init__(self, params: SynapticMemristorParams | None = None, *, n: int = 1,
                 rng: np.random.Generator | None = None) -> None:
        self.params = params or SynapticMemristorParams()
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.w = np.full(n, self.params.w_initial, dtype=float)
        self.h = np.zeros(n, dtype=float)

    # --- state -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of devices."""
        return self.w.size

    def conductance(self) -> np.ndarray:
        """Small-signal conductance G of each device, S."""
        p = self.params
        return p.g_min + (p.g_max - p.g_min) * self.w + p.g_volatile * self.h

    def current(self, voltage: float | np.ndarray) -> np.ndarray:
        """Instantaneous current I = G·V at ``voltage`` (V) across the device, A."""
        return self.conductance() * voltage

    def state(self) -> dict[str, np.ndarray]:
        return {"w": self.w.copy(), "h": self.h.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.w, self.h = state["w"].copy(), state["h"].copy()

    def describe(self) -> dict[str, float | str]:
        return {"model": self.name, **asdict(self.params)}

    # --- dynamics ----------------------------------------------------------------------
    def rates(self, voltage: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k_set, k_reset) in 1/s at ``voltage`` across the device."""
        p = self.params
        v = np.asarray(voltage, dtype=float)
        k_set = np.where(v > p.v_set, p.rate_set * np.expm1((v - p.v_set) / p.v_slope), 0.0)
        k_reset = np.where(v < -p.v_reset, p.rate_reset * np.expm1((-v - p.v_reset) / p.v_slope), 0.0)
        return k_set, k_reset

    def evolve(self, voltage: float | np.ndarray, duration: float) -> np.ndarray:
        """Hold ``voltage`` (V) across each device for ``duration`` (s); return the mean current, A.

        Exact for constant voltage: the mean of x(t) = x_∞ + (x₀ − x_∞)e^(−λt) over [0, T] is
        x_∞ + (x₀ − x_∞)(1 − e^(−λT))/(λT).
        """
        p = self.params
        v = np.broadcast_to(np.asarray(voltage, dtype=float), self.w.shape)
        k_set, k_reset = self.rates(v)

        lam_w = k_set + k_reset
        w_inf = np.divide(k_set, lam_w, out=self.w.copy(), where=lam_w > 0)
        w_end, w_mean = _relax(self.w, w_inf, lam_w, duration)

        lam_h = p.volatile_gain * (k_set + k_reset) + 1.0 / p.tau_volatile
        h_inf = p.volatile_gain * k_set / lam_h
        h_end, h_mean = _relax(self.h, h_inf, lam_h, duration)

        g_mean = p.g_min + (p.g_max - p.g_min) * w_mean + p.g_volatile * h_mean
        written = lam_w > 0
        if np.any(written):
            step = w_end - self.w
            noise = self.rng.standard_normal(int(written.sum()))
            step[written] *= 1.0 + p.c2c_sigma * noise
            w_end = np.clip(self.w + step, 0.0, 1.0)
        self.w, self.h = w_end, h_end
        return g_mean * v

    def add_read_noise(self, current: np.ndarray) -> np.ndarray:
        """A reading of ``current`` (A) with the device's read noise."""
        current = np.asarray(current, dtype=float)
        return current * (1.0 + self.params.read_noise * self.rng.standard_normal(current.shape))

    def pulses_constant(self, amplitude: float, width: float) -> float:
        """NeuroSim A (pulses) of a train of ``amplitude`` (V), ``width`` (s) pulses: 1/(k·t_p)."""
        k_set, k_reset = self.rates(amplitude)
        k = float(k_set + k_reset)
        return np.inf if k == 0 else 1.0 / (k * width)


def _relax(x0: np.ndarray, x_inf: np.ndarray, lam: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """End value and time average of x relaxing from x0 to x_inf at rate lam over duration."""
    decay = np.exp(-lam * duration)
    lt = lam * duration
    # (1 - e^-x)/x → 1 as x → 0; -expm1 keeps precision for small x.
    frac = np.divide(-np.expm1(-lt), lt, out=np.ones_like(lt), where=lt > 1e-12)
    return x_inf + (x0 - x_inf) * decay, x_inf + (x0 - x_inf) * frac
