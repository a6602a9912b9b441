r"""A synapse with several volatile memory components and a consolidation path to long-term memory.

State per device: the non-volatile variable ``w`` ∈ [0, 1] and m volatile variables ``h_i`` ≥ 0
(m = 2 in :class:`MultiTimescaleSynapse`, m = 3 in :class:`MultiTimescaleSynapse3`). Ohmic read:

    G = G_min + (G_max − G_min)·w + Σᵢ G_i·h_i                                       [S]

Drive rates above threshold, as in :mod:`~labsuite.simulator.models.synaptic_memristor`
(V is the voltage across the device):

    k_set(V)   = ν_set·(exp((V − V_set)/V_0) − 1)        for V >  V_set, else 0      [1/s]
    k_reset(V) = ν_reset·(exp((−V − V_reset)/V_0) − 1)   for V < −V_reset, else 0   [1/s]

Dynamics:

    dh_i/dt = r_i·k_set − (1/τ_i + r_i·k_reset)·h_i                   (linear, no bound)
    dw/dt   = κ·Σᵢ (h_i − θ)₊·(1 − w) − k_reset·w                      (consolidation)

Each write pulse adds to every volatile component linearly; each component relaxes on its own
time τ_i (a residual-calcium-like short-term memory with several time scales). A set pulse does
not write ``w`` directly: the non-volatile state grows only while a volatile component is above
the consolidation threshold θ, i.e. when pulses come fast or many (or one pulse is long/strong).
That is the short-term → long-term memory transition reported for Ag₂S atomic switches (Ohno,
Hasegawa, Tsuruoka, Terabe, Gimzewski & Aono, Nat. Mater. 10, 591, 2011) and WOx memristors
(Chang, Jo & Lu, ACS Nano 5, 7669, 2011): repetition rate, not pulse count alone, decides
whether memory becomes permanent. A reset pulse depresses ``w`` and erases the volatile parts.
The multi-exponential PPF it produces is the form fitted to biological synapses (Zucker & Regehr,
Annu. Rev. Physiol. 64, 355, 2002) and commonly to memristive ones.

Exact solution for constant V (λ_i = 1/τ_i + r_i·k_reset, h_i∞ = r_i·k_set/λ_i):

    h_i(t) = h_i∞ + (h_i0 − h_i∞)·e^(−λ_i t)
    w(t)   = 1 − (1 − w₀)·exp(−κ·Φ(t)),   Φ(t) = Σᵢ ∫₀ᵗ (h_i(s) − θ)₊ ds   (k_reset = 0)
    w(t)   = w₀·e^(−k_reset t)                                   (k_reset > 0, every h_i ≤ θ)

Each h_i is monotone in a segment, so (h_i − θ)₊ is positive on one interval [a_i, b_i] whose
ends are the crossing time s* = ln((h_i0 − h_i∞)/(θ − h_i∞))/λ_i where it exists, and
∫(h_i − θ) ds = (h_i∞ − θ)·s + (h_i0 − h_i∞)(1 − e^(−λ_i s))/λ_i on it: Φ(t) is exact. The
time average of w (needed only for the mean current while consolidating under a non-zero
voltage) has no elementary form; it is evaluated by Gauss–Legendre quadrature of the exact w(t)
on sub-intervals split at every crossing, accurate to ~1e-13. Only a reset pulse that arrives
while a component is still above θ has no closed form; that segment is integrated numerically.

Paired-pulse facilitation. Two identical pulses (amplitude V, width t_p, k = k_set(V)) separated
by a gap Δt (end of the first to start of the second), each response read right after its pulse
from the resting baseline, with w unchanged (every h_i stays ≤ θ, true for the defaults):

    δ_i = r_i·k·τ_i·(1 − e^(−t_p/τ_i))                   (increment of h_i from one pulse)
    A1 = Σ G_i·δ_i,   A2 = Σ G_i·δ_i·(1 + e^(−(Δt + t_p)/τ_i))
    PPF(Δt) = A2/A1 = 1 + Σ C_i·e^(−Δt/τ_i),   C_i = G_i·δ_i·e^(−t_p/τ_i) / Σ_j G_j·δ_j

exactly. For t_p ≪ τ_i, δ_i → r_i·k·t_p and C_i → G_i·r_i/Σ_j G_j·r_j, independent of the pulse,
with Σ C_i → 1 (linear summation: the second response is at most twice the first).

Noise (from the ``numpy.random.Generator`` passed in): device-to-device — G_min, G_max, every G_i
and τ_i, ν_set, ν_reset drawn once, log-normal with spread σ_d2d; cycle-to-cycle — each
non-volatile update Δw scaled by (1 + σ_c2c·ξ); read noise (1 + σ_read·ξ).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from labsuite.simulator.models.base import OhmicDeviceModel, param

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)


@dataclass(frozen=True)
class MultiTimescaleSynapseParams:
    """Parameters of :class:`MultiTimescaleSynapse` (SI units); fields ``g_vol_i, tau_i, gain_i``
    per volatile component i = 1..m."""

    ordered: ClassVar[tuple[tuple[str, str], ...]] = (("g_min", "g_max"),)

    g_min: float = param(20e-6, "S", d2d=True, above=0)  # non-volatile conductance at w = 0
    g_max: float = param(200e-6, "S", d2d=True, above=0)  # non-volatile conductance at w = 1
    g_vol_1: float = param(30e-6, "S", d2d=True, low=0)  # G_1: conductance of volatile component 1 per unit h_1
    tau_1: float = param(20e-3, "s", d2d=True, above=0)  # τ_1: its relaxation time
    gain_1: float = param(3.0, low=0)                    # r_1: its drive per unit k_set
    g_vol_2: float = param(15e-6, "S", d2d=True, low=0)  # G_2
    tau_2: float = param(300e-3, "s", d2d=True, above=0)  # τ_2
    gain_2: float = param(3.0, low=0)                    # r_2
    v_set: float = param(0.8, "V", above=0)              # potentiation threshold
    v_reset: float = param(0.8, "V", above=0)            # depression threshold (magnitude)
    v_slope: float = param(0.2, "V", above=0)            # V_0: voltage scale of the exponential drive
    rate_set: float = param(10.0, "1/s", d2d=True, low=0)  # ν_set
    rate_reset: float = param(10.0, "1/s", d2d=True, low=0)  # ν_reset
    consolidation_rate: float = param(1.0, "1/s", low=0)  # κ
    consolidation_threshold: float = param(0.25, low=0)  # θ, in units of h
    c2c_sigma: float = param(0.02, low=0)                # relative cycle-to-cycle variation of each Δw
    d2d_sigma: float = param(0.0, low=0)                 # log-normal device-to-device spread
    read_noise: float = param(0.002, low=0)              # relative read noise
    w_initial: float = param(0.0, low=0, high=1)         # non-volatile state at start


class MultiTimescaleSynapse(OhmicDeviceModel):
    """Non-volatile ``w`` plus m volatile components ``h1..hm`` with consolidation.

    To add components, subclass the params with ``g_vol_<i>, tau_<i>, gain_<i>`` fields and set
    ``n_volatile`` and ``state_names`` (see :class:`MultiTimescaleSynapse3`).
    """

    name = "multi-timescale"
    params_type = MultiTimescaleSynapseParams
    n_volatile: ClassVar[int] = 2
    state_names = ("w", "h1", "h2")

    # --- parameters of the volatile components, shape (m, n) -----------------------------------
    def volatile_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(G_i in S, τ_i in s, r_i), each of shape (m, n)."""
        idx = range(1, self.n_volatile + 1)
        return (np.array([getattr(self.p, f"g_vol_{i}") for i in idx]),
                np.array([getattr(self.p, f"tau_{i}") for i in idx]),
                np.array([getattr(self.p, f"gain_{i}") for i in idx]))

    def initial_state(self, n: int) -> np.ndarray:
        return np.vstack([np.full((1, n), self.params.w_initial), np.zeros((self.n_volatile, n))])

    def conductance(self, x: np.ndarray | None = None) -> np.ndarray:
        """Small-signal conductance G of each device, S."""
        x = self.x if x is None else x
        g_vol, _, _ = self.volatile_params()
        return self.p.g_min + (self.p.g_max - self.p.g_min) * x[0] + np.sum(g_vol * x[1:], axis=0)

    def non_volatile_conductance(self, x: np.ndarray | None = None) -> np.ndarray:
        """G_min + (G_max − G_min)·w, S: what is left once the volatile parts have relaxed."""
        x = self.x if x is None else x
        return self.p.g_min + (self.p.g_max - self.p.g_min) * x[0]

    def rates(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k_set, k_reset) in 1/s at device voltage ``v``."""
        p = self.p
        v = np.asarray(v, dtype=float)
        k_set = np.where(v > p.v_set, p.rate_set * np.expm1(np.maximum(v - p.v_set, 0) / p.v_slope), 0.0)
        k_reset = np.where(v < -p.v_reset, p.rate_reset * np.expm1(np.maximum(-v - p.v_reset, 0) / p.v_slope), 0.0)
        return k_set, k_reset

    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        k_set, k_reset = self.rates(v)
        _, tau, gain = self.volatile_params()
        w, h = x[0], x[1:]
        dh = gain * k_set - (1.0 / tau + gain * k_reset) * h
        drive = np.sum(np.maximum(h - self.p.consolidation_threshold, 0.0), axis=0)
        dw = self.p.consolidation_rate * drive * (1 - w) - k_reset * w
        return np.vstack([dw[None, :], dh])

    # --- exact solution ------------------------------------------------------------------------
    def closed_form(self, v: np.ndarray, duration: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        p = self.p
        k_set, k_reset = self.rates(v)
        g_vol, tau, gain = self.volatile_params()
        w0, h0 = x[0], x[1:]
        lam = 1.0 / tau + gain * k_reset
        h_inf = gain * k_set / lam
        h1, h_mean = _relax(h0, h_inf, lam, duration)
        windows = _Windows(h0, h_inf, lam, p.consolidation_threshold)
        phi_end = windows.phi(np.asarray(duration, float))
        consolidating = phi_end > 0
        if np.any(consolidating & (k_reset > 0)):
            return None      # time-varying coefficients in dw/dt: integrate numerically
        kappa = p.consolidation_rate
        w_set = w0 + (1 - w0) * -np.expm1(-kappa * phi_end)
        w_reset, w_reset_mean = _relax(w0, np.zeros_like(w0), k_reset, duration)
        w1 = np.where(k_reset > 0, w_reset, w_set)
        w_mean = np.where(k_reset > 0, w_reset_mean, w0)
        if np.any(consolidating & (v != 0)) and duration > 0:
            w_of_t = lambda t: w0 + (1 - w0) * -np.expm1(-kappa * windows.phi(t))   # noqa: E731
            rate = float(np.max(lam) + np.max(kappa * windows.peak))
            w_mean = np.where(consolidating, windows.average(w_of_t, duration, rate), w_mean)
        g_mean = p.g_min + (p.g_max - p.g_min) * w_mean + np.sum(g_vol * h_mean, axis=0)
        return np.vstack([w1[None, :], h1]), g_mean * v

    def cycle_noise(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        return self.scale_update(x0, x1, row=0)

    def clip_state(self, x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0.0)
        x[0] = np.minimum(x[0], 1.0)
        return x

    # --- closed-form characteristics -----------------------------------------------------------
    def paired_pulse_coefficients(self, amplitude: float, width: float) -> np.ndarray:
        """C_i of PPF(Δt) = 1 + Σ C_i·e^(−Δt/τ_i) for two ``amplitude`` (V), ``width`` (s) pulses on
        device 0, Δt the gap between them: C_i = G_i·δ_i·e^(−t_p/τ_i)/Σ_j G_j·δ_j,
        δ_i = r_i·k_set·τ_i·(1 − e^(−t_p/τ_i)). Valid while no component passes θ."""
        k_set, _ = self.rates(np.full(self.n, amplitude))
        g_vol, tau, gain = (a[:, 0] for a in self.volatile_params())
        delta = gain * k_set[0] * tau * -np.expm1(-width / tau)
        return g_vol * delta * np.exp(-width / tau) / np.sum(g_vol * delta)

    def pulse_increments(self, amplitude: float, width: float) -> np.ndarray:
        """δ_i: the increase of each h_i (from 0) after one pulse on device 0."""
        k_set, _ = self.rates(np.full(self.n, amplitude))
        _, tau, gain = (a[:, 0] for a in self.volatile_params())
        return gain * k_set[0] * tau * -np.expm1(-width / tau)


@dataclass(frozen=True)
class MultiTimescaleSynapse3Params(MultiTimescaleSynapseParams):
    """Three volatile components: adds a slow one (τ_3 = 5 s)."""

    g_vol_3: float = param(5e-6, "S", d2d=True, low=0)
    tau_3: float = param(5.0, "s", d2d=True, above=0)
    gain_3: float = param(3.0, low=0)


class MultiTimescaleSynapse3(MultiTimescaleSynapse):
    """:class:`MultiTimescaleSynapse` with m = 3 volatile components."""

    name = "multi-timescale-3"
    params_type = MultiTimescaleSynapse3Params
    n_volatile = 3
    state_names = ("w", "h1", "h2", "h3")


class _Windows:
    """Where each h_i(t) = h∞ + (h0 − h∞)e^(−λt) lies above θ within a segment, and
    Φ(t) = Σᵢ ∫₀ᵗ (h_i − θ)₊ ds in closed form. Arrays of shape (m, n)."""

    def __init__(self, h0: np.ndarray, h_inf: np.ndarray, lam: np.ndarray, theta: np.ndarray) -> None:
        c = h_inf - theta                 # u(t) = h − θ = c + d·e^(−λt)
        d = h0 - h_inf
        u0 = c + d
        starts_above, ends_above = u0 > 0, c > 0
        ratio = np.where(starts_above & (c < 0), d / np.where(c < 0, -c, 1.0), 1.0)      # falls through θ
        ratio_up = np.where(~starts_above & ends_above, -d / np.where(c > 0, c, 1.0), 1.0)  # rises through θ
        cross_down = np.log(np.maximum(ratio, 1.0)) / lam
        cross_up = np.log(np.maximum(ratio_up, 1.0)) / lam
        self.a = np.where(starts_above, 0.0, np.where(ends_above, cross_up, 0.0))
        self.b = np.where(starts_above, np.where(c >= 0, np.inf, cross_down), np.where(ends_above, np.inf, 0.0))
        self.c, self.d, self.lam = c, d, lam
        self.peak = np.sum(np.maximum(np.maximum(u0, c), 0.0), axis=0)    # bound on Σ(h − θ)₊, shape (n,)

    def _integral(self, s: np.ndarray) -> np.ndarray:
        return self.c * s + self.d * -np.expm1(-self.lam * s) / self.lam

    def phi(self, t: np.ndarray) -> np.ndarray:
        """Φ(t) for t of shape (n,) or (q, n); returns the same shape."""
        t = np.asarray(t, float)
        tt = t[..., None, :] if t.ndim == 2 else t
        s = np.minimum(np.maximum(tt, self.a), self.b)
        return np.sum(self._integral(s) - self._integral(self.a), axis=-2)

    def average(self, f, duration: float, rate: float) -> np.ndarray:
        """(1/T)∫₀ᵀ f(t) dt per device by composite Gauss–Legendre, split at every crossing."""
        cuts = np.clip(np.concatenate([self.a, np.where(np.isfinite(self.b), self.b, duration)]), 0, duration)
        edges = np.sort(np.vstack([np.zeros((1, cuts.shape[1])), cuts, np.full((1, cuts.shape[1]), duration)]),
                        axis=0)
        pieces = int(min(max(np.ceil(rate * duration / 2.0), 1), 2000))
        total = np.zeros(edges.shape[1])
        sub = (np.arange(pieces)[:, None] + (_GL_NODES[None, :] + 1) / 2).ravel() / pieces     # in [0, 1]
        weights = np.tile(_GL_WEIGHTS, pieces) / (2 * pieces)
        for lo, hi in zip(edges[:-1], edges[1:]):
            length = hi - lo
            if not np.any(length > 0):
                continue
            t = lo[None, :] + length[None, :] * sub[:, None]
            total += length * (weights @ f(t))
        return total / duration


def _relax(x0: np.ndarray, x_inf: np.ndarray, lam: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """End value and time average of x relaxing from x0 to x_inf at rate lam over duration."""
    lt = lam * duration
    frac = np.divide(-np.expm1(-lt), lt, out=np.ones_like(lt), where=lt > 1e-12)
    return x_inf + (x0 - x_inf) * np.exp(-lt), x_inf + (x0 - x_inf) * frac
