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
exactly: x(T) = x_∞ + (x₀ − x_∞)·e^(−λT) (under a binding current limit or a series resistance
the base class integrates the same equations numerically). Below threshold ``w`` holds (non-volatile) and ``h``
relaxes with τ_vol; the read current then carries the volatile excess that makes paired-pulse
facilitation. A train of identical pulses of width t_p gives G(P) = G₀ + B·(1 − e^(−P/A)) with

    A = 1 / (k_set(V)·t_p)    pulses,

the nonlinearity form of NeuroSim (Chen, Peng & Yu, IEEE TCAD 37, 3067, 2018); the soft-bound
update itself is the one used for analog-AI device models (Gokmen & Vlasov, Front. Neurosci.
10, 333, 2016; Frascaroli et al., Sci. Rep. 8, 7178, 2018, for HfO₂ synapses).

Noise (from the ``numpy.random.Generator`` passed in; nothing else draws):
device-to-device — G_min, G_max, G_vol, ν_set, ν_reset and τ_vol of each device are drawn once,
log-normal with spread σ_d2d; cycle-to-cycle — each non-volatile update Δw is scaled by
(1 + σ_c2c·ξ), ξ ~ N(0, 1), then w is clipped to [0, 1]; read noise — each reading is scaled by
(1 + σ_read·ξ).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from labsuite.simulator.models.base import OhmicDeviceModel, TrainEvolution, param


@dataclass(frozen=True)
class SynapticMemristorParams:
    """Parameters of :class:`SynapticMemristor` (SI units). Defaults: an oxide synapse."""

    ordered: ClassVar[tuple[tuple[str, str], ...]] = (("g_min", "g_max"),)

    g_min: float = param(20e-6, "S", d2d=True, above=0)  # non-volatile conductance at w = 0
    g_max: float = param(200e-6, "S", d2d=True, above=0)  # non-volatile conductance at w = 1
    g_volatile: float = param(40e-6, "S", d2d=True, low=0)  # conductance of the volatile component at h = 1
    v_set: float = param(0.8, "V", above=0)              # potentiation threshold
    v_reset: float = param(0.8, "V", above=0)            # depression threshold (magnitude)
    v_slope: float = param(0.2, "V", above=0)            # V_0: voltage scale of the exponential drive
    rate_set: float = param(10.0, "1/s", d2d=True, low=0)  # ν_set
    rate_reset: float = param(10.0, "1/s", d2d=True, low=0)  # ν_reset
    volatile_gain: float = param(30.0, low=0)            # r_h: volatile drive / non-volatile drive
    tau_volatile: float = param(5e-3, "s", d2d=True, above=0)  # relaxation time of the volatile component
    c2c_sigma: float = param(0.02, low=0)                # relative cycle-to-cycle variation of each update
    d2d_sigma: float = param(0.0, low=0)                 # log-normal device-to-device spread
    read_noise: float = param(0.002, low=0)              # relative read noise
    w_initial: float = param(0.0, low=0, high=1)         # non-volatile state at start, 0 (G_min) to 1 (G_max)


class SynapticMemristor(OhmicDeviceModel):
    """Soft-bound synapse with one volatile component; state rows ``w``, ``h``."""

    name = "synaptic-memristor"
    params_type = SynapticMemristorParams
    state_names = ("w", "h")
    integrator = "DOP853"   # non-stiff: both rates are at most r_h·k_set + 1/τ_vol, resolved within a pulse

    def initial_state(self, n: int) -> np.ndarray:
        # a device-to-device draw must not invert the window: G_max ≥ G_min on every device
        self.p.g_max = np.maximum(self.p.g_max, self.p.g_min)
        return np.stack([np.full(n, self.params.w_initial), np.zeros(n)])

    def conductance(self, x: np.ndarray | None = None) -> np.ndarray:
        """Small-signal conductance G of each device, S."""
        w, h = self.x if x is None else x
        p = self.p
        return p.g_min + (p.g_max - p.g_min) * w + p.g_volatile * h

    def rates(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k_set, k_reset) in 1/s at device voltage ``v``."""
        p = self.p
        # below a threshold the overdrive is 0 and expm1(0) = 0 exactly
        k_set = p.rate_set * np.expm1(np.maximum(v - p.v_set, 0.0) / p.v_slope)
        k_reset = p.rate_reset * np.expm1(np.maximum(-v - p.v_reset, 0.0) / p.v_slope)
        return k_set, k_reset

    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        k_set, k_reset = self.rates(v)
        w, h = x
        lam = k_set + k_reset   # k_set·(1 − x) − k_reset·x = k_set − λ·x
        return np.array((k_set - lam * w, self.p.volatile_gain * (k_set - lam * h) - h / self.p.tau_volatile))

    def closed_form(self, v: np.ndarray, duration: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact for constant V: x(t) = x_∞ + (x₀ − x_∞)e^(−λt); its mean over [0, T] is
        x_∞ + (x₀ − x_∞)(1 − e^(−λT))/(λT)."""
        p = self.p
        k_set, k_reset = self.rates(v)
        w0, h0 = x
        lam_w = k_set + k_reset
        w_inf = np.divide(k_set, lam_w, out=w0.copy(), where=lam_w > 0)
        w1, w_mean = _relax(w0, w_inf, lam_w, duration)
        lam_h = p.volatile_gain * lam_w + 1.0 / p.tau_volatile
        h_inf = p.volatile_gain * k_set / lam_h
        h1, h_mean = _relax(h0, h_inf, lam_h, duration)
        return np.array((w1, h1)), self.conductance((w_mean, h_mean)) * v

    def evolve_train(self, v: np.ndarray, compliance: np.ndarray, durations: np.ndarray, reads: np.ndarray,
                     cycle_starts: np.ndarray) -> TrainEvolution | None:
        """The closed form over a whole train: every segment's rates, decays e^(−λT) and mean factors at
        once over arrays (they do not depend on the state), then the state carried through them in
        plain floats with the c2c and read-noise draws of the per-segment path, in its order."""
        if self.n != 1 or not self.cycles_by_drive:
            return None
        p = self.p
        v = np.asarray(v, dtype=float)
        durations = np.asarray(durations, dtype=float)
        k_set, k_reset = self.rates(v)
        lam_w = k_set + k_reset
        moving = lam_w > 0
        w_inf = np.divide(k_set, lam_w, out=np.zeros_like(lam_w), where=moving)
        lam_h = p.volatile_gain * lam_w + 1.0 / p.tau_volatile
        h_inf = p.volatile_gain * k_set / lam_h
        decay_w, mean_w = _decay(lam_w, durations)
        decay_h, mean_h = _decay(lam_h, durations)
        g0, dg, gv = float(p.g_min[0]), float(p.g_max[0] - p.g_min[0]), float(p.g_volatile[0])
        compliance = np.asarray(compliance, dtype=float)
        # w, h stay in [0, 1] (so do their targets): |I| ≤ (G_min + ΔG + G_vol)·|V| all along, and a
        # segment under half its limit by that bound needs none of the per-segment path's limit checks
        free = (g0 + dg + gv) * np.abs(v) * (1 + 1e-9) <= 0.5 * compliance
        sigma, read_sigma = float(self.params.c2c_sigma), float(self.params.read_noise)
        normal = self.rng.standard_normal
        m = v.size
        current, reading = np.empty(m), np.full(m, np.nan)
        w, h = float(self.x[0, 0]), float(self.x[1, 0])
        is_open = self._cycle_start is not None
        if is_open:
            (start_w, start_h), (path_w, path_h) = self._cycle_start[:, 0], self._cycle_path[:, 0]
            factor = float(self._cycle_factor[0])
        if not all(0.0 <= x <= 1.0 for x in (w, h, *((path_w, path_h) if is_open else ()))):
            free[:] = False   # a state set outside its bounds: the bound above does not hold
        rows = zip(v.tolist(), compliance.tolist(), free.tolist(), durations.tolist(), moving.tolist(),
                   w_inf.tolist(), decay_w.tolist(), mean_w.tolist(), lam_w.tolist(), h_inf.tolist(),
                   decay_h.tolist(), mean_h.tolist(), lam_h.tolist(), cycle_starts.tolist(),
                   np.asarray(reads).tolist())
        done = 0
        for vk, limit, unlimited, duration, moves, wi, dw, fw, lw, hi, dh, fh, lh, starts, n_reads in rows:
            if starts or not is_open:
                s_w, s_h, f, x0w, x0h = w, h, math.nan, w, h
            else:
                s_w, s_h, f, x0w, x0h = start_w, start_h, factor, path_w, path_h
            w1, wm = (wi + (x0w - wi) * dw, wi + (x0w - wi) * fw) if moves else (x0w, x0w)
            h1, hm = hi + (x0h - hi) * dh, hi + (x0h - hi) * fh
            i_mean = (g0 + dg * wm + gv * hm) * vk
            if not unlimited:   # the checks of DeviceModel._evolve_exact
                i_start = (g0 + dg * x0w + gv * x0h) * vk
                if abs(i_start) > limit:
                    break
                peak = max(abs((g0 + dg * w1 + gv * h1) * vk), abs(i_mean))
                if peak > limit:
                    break
                if max(peak, abs(i_start)) > 0.5 * limit and any(
                        abs((g0 + dg * (wi + (x0w - wi) * math.exp(-lw * t) if moves else x0w)
                             + gv * (hi + (x0h - hi) * math.exp(-lh * t))) * vk) > limit
                        for t in np.linspace(0, duration, 9)[1:-1].tolist()):
                    break
            path_w = w1 if 0.0 <= w1 <= 1.0 else min(max(w1, 0.0), 1.0)
            path_h = h1 if 0.0 <= h1 <= 1.0 else min(max(h1, 0.0), 1.0)
            if path_w != s_w and sigma:   # scale_update: one draw per cycle, once the state moves
                if f != f:
                    f = 1.0 + sigma * normal()
                w = s_w + (path_w - s_w) * f
                w = w if 0.0 <= w <= 1.0 else min(max(w, 0.0), 1.0)
            else:
                w = path_w
            h, start_w, start_h, factor, is_open = path_h, s_w, s_h, f, True
            current[done] = i_mean
            if n_reads:   # add_read_noise over the segment's conversions
                reading[done] = i_mean if not read_sigma else (
                    i_mean * (1.0 + read_sigma * normal()) if n_reads == 1
                    else float(np.mean(i_mean * (1.0 + read_sigma * normal(n_reads)))))
            done += 1
        if done:
            self.x = np.array([[w], [h]])
            self._cycle_start, self._cycle_path = np.array([[start_w], [start_h]]), np.array([[path_w], [path_h]])
            self._cycle_factor[:] = factor
        return TrainEvolution(done, current[:done], reading[:done])

    def cycle_noise(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        return self.scale_update(x0, x1, row=0)

    def clip_state(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, 0.0, 1.0)

    def pulses_constant(self, amplitude: float, width: float) -> float:
        """NeuroSim A (pulses) of a train of ``amplitude`` (V), ``width`` (s) pulses on device 0: 1/(k·t_p)."""
        k_set, k_reset = self.rates(np.full(self.n, amplitude))
        k = float(k_set[0] + k_reset[0])
        return np.inf if k == 0 else 1.0 / (k * width)


def _relax(x0: np.ndarray, x_inf: np.ndarray, lam: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """End value and time average of x relaxing from x0 to x_inf at rate lam over duration."""
    decay, frac = _decay(lam, duration)
    return x_inf + (x0 - x_inf) * decay, x_inf + (x0 - x_inf) * frac


def _decay(lam: np.ndarray, duration: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(e^(−λT), (1 − e^(−λT))/(λT)): the end and mean fractions of a relaxation at rate ``lam`` (1/s)."""
    lt = np.asarray(lam * duration, dtype=float)
    # (1 - e^-x)/x → 1 as x → 0; -expm1 keeps precision for small x.
    return np.exp(-lt), np.divide(-np.expm1(-lt), lt, out=np.ones_like(lt), where=lt > 1e-12)
