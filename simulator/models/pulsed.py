r"""Pulsed-synapse models: one discrete conductance update per write pulse.

These are the pulse-response families of analog-AI training simulators, driven here by voltages:

- ``soft-bounds`` — aihwkit ``SoftBoundsDevice`` (a ``LinearStepDevice`` with slope 1 at the bound);
  Gokmen & Vlasov, Front. Neurosci. 10, 333 (2016); Frascaroli et al., Sci. Rep. 8, 7178 (2018).
- ``exp-step`` — aihwkit ``ExpStepDevice`` (exponential step, CMOS-like update).
- ``pow-step`` — aihwkit ``PowStepDevice``: a shifted form of the Fusi & Abbott synapse
  (Fusi & Abbott, Nat. Neurosci. 10, 485 (2007); Frascaroli et al. 2018).
- ``neurosim`` — the NeuroSim G(P) nonlinearity (Chen, Peng & Yu, IEEE TCAD 37, 3067 (2018)).

The aihwkit rules are quoted from aihwkit's documentation (``aihwkit.simulator.configs.devices``)
and its C++ ``update_once`` kernels (``src/rpucuda/rpu_linearstep_device.cpp``,
``rpu_expstep_device.cpp``, ``rpu_powstep_device.cpp``, IBM, Apache-2.0/MIT); they are
re-implemented here, not copied.

Pulse semantics (all four models)
---------------------------------
A held segment whose device voltage reaches the write threshold, |V_dev| ≥ ``v_write``, is ONE
write pulse of polarity d = sign(V_dev) (d = +1 potentiation, "up"; d = −1 depression, "down").
The size of the step does not depend on the pulse width or on how far |V_dev| exceeds the
threshold: these are the behavioural models of the literature, parameterized per pulse, not per
volt-second. A segment of zero duration is not a pulse. Below the threshold the state holds
exactly (non-volatile; reads do not disturb).

The state holds during the segment and the update registers at its end, so the current during the
segment is I = G(x₀)·V_dev (ohmic read). The device voltage is the one the circuit actually
delivers: with a series resistance R_s, V_dev = V_s/(1 + G·R_s); under a binding current limit
I_lim, V_dev = ±I_lim/G (exact for an ohmic device). A pulse under compliance therefore writes
if, and only if, the voltage left across the device still reaches ``v_write``. That is why these
models override :meth:`DeviceModel.evolve`: there is no continuous dynamics to integrate
(``derivatives`` returns zeros) and the threshold is applied to the true device voltage instead
of the source voltage.

Weight update rules (state w; d2d-spread, per-device values carry the index i)
------------------------------------------------------------------------------
Step scales:  α⁺ᵢ = Δw_min,i·(1 + β),  α⁻ᵢ = Δw_min,i·(1 − β)   (β = ``up_down``); bounds
b_min,i < b_max,i; cycle-to-cycle factor f = 1 + σ_c2c·ξ, ξ ~ N(0, 1), drawn per pulse; after each
step w ← clip(w, b_min,i, b_max,i).

soft bounds (aihwkit LinearStep with γ = 1 and the device's own bounds as reference)::

    up:    w ← w + α⁺·(1 − w/b_max)·f          down:  w ← w − α⁻·(1 − w/b_min)·f

  (b_min < 0 < b_max); without noise the distance to the bound shrinks by the constant factor
  1 − α⁺/b_max (up) or 1 − α⁻/|b_min| (down) per pulse.

exp step::

    z = 2·a·w/(b_max − b_min) + b
    up:    w ← w + max(1 − A⁺·e^( γ⁺·z), 0)·α⁺·f
    down:  w ← w − max(1 − A⁻·e^(−γ⁻·z), 0)·α⁻·f

pow step (ω = (b_max − w)/(b_max − b_min), the relative distance to the upper bound)::

    up:    w ← w + α⁺·ω^γ⁺·f                   down:  w ← w − α⁻·(1 − ω)^γ⁻·f
    γ⁺ = γ·(1 + β_pow),  γ⁻ = γ·(1 − β_pow)

For these three the state is aihwkit's normalized weight; each device's weight window
[b_min,i, b_max,i] maps linearly onto its conductance window [G_min,i, G_max,i]:

    G = G_min + (G_max − G_min)·(w_read − b_min)/(b_max − b_min)                       [S]

NeuroSim G(P) (state in S; A⁺, A⁻ in pulses; P_max pulses span the window)::

    LTP:  G(P) = B⁺·(1 − e^(−P/A⁺)) + G_min,          B⁺ = (G_max − G_min)/(1 − e^(−P_max/A⁺))
    LTD:  G(P) = −B⁻·(1 − e^((P − P_max)/A⁻)) + G_max, B⁻ = (G_max − G_min)/(1 − e^(−P_max/A⁻))

A potentiation pulse moves the device from its P on the LTP curve to P + 1; a depression pulse from
its P on the LTD curve to P − 1 (NeuroSim's ``RealDevice::Write`` inverts the curve, adds the pulse
and evaluates it again). Eliminating P gives the same step exactly, with c2c on the step:

    up:    G ← G + (G_min + B⁺ − G)·(1 − e^(−1/A⁺))·f
    down:  G ← G − (G − G_max + B⁻)·(1 − e^(−1/A⁻))·f,     then G ← clip(G, G_min, G_max)

(NeuroSim itself adds its c2c as an absolute σ·(G_max − G_min)·√|ΔP| to G; here, as for the
other models, c2c multiplies the step.)

Noise (all from the model's ``numpy.random.Generator``)
-------------------------------------------------------
device-to-device — the fields marked ``d2d`` (step size, bounds, conductance window) are drawn
once per device, log-normal with spread ``d2d_sigma`` (the base class's p·e^(σξ); aihwkit uses
Gaussian relative spreads p·(1 + σξ), the same to first order). cycle-to-cycle — f above, one
draw per device per pulse. write noise (aihwkit ``write_noise_std``) — the update acts on the
persistent weight ``w``; a read sees ``w_read = w + σ_w·Δw_nom·ξ``, redrawn whenever the device is
pulsed (Δw_nom: the nominal step, ``dw_min``, or (G_max − G_min)/P_max for NeuroSim). read noise —
``read_noise``, relative, applied by :meth:`DeviceModel.add_read_noise`.

Random-draw order, shared by :meth:`PulsedDevice.apply_pulses`, :meth:`evolve` and
:meth:`apply_pulse_train`: per call in which at least one device is pulsed, n normals for c2c
(if σ_c2c > 0) and then n normals for write noise (if σ_w > 0), one per device, pulsed or not.
A call with no pulse draws nothing.
"""
from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from labsuite.simulator.models.base import Evolution, OhmicDeviceModel, param


# --- parameters ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PulsedParams:
    """Common parameters of the pulsed models (SI units; weights are dimensionless)."""

    v_write: float = param(1.0, "V", above=0)           # |V_dev| ≥ v_write: one write pulse of polarity sign(V)
    c2c_sigma: float = param(0.1, low=0)                 # σ_c2c: relative cycle-to-cycle spread of each step
    d2d_sigma: float = param(0.0, low=0)                 # log-normal device-to-device spread
    write_noise: float = param(0.0, low=0)               # σ_w, in units of the nominal step (aihwkit write_noise_std)
    read_noise: float = param(0.002, low=0)              # relative read noise


@dataclass(frozen=True)
class WeightPulsedParams(PulsedParams):
    """The aihwkit families: normalized weight w in [w_min, w_max] mapped onto [g_min, g_max]."""

    ordered: ClassVar[tuple[tuple[str, str], ...]] = (("g_min", "g_max"), ("w_min", "w_max"))

    g_min: float = param(20e-6, "S", d2d=True, above=0)  # conductance at w = w_min
    g_max: float = param(200e-6, "S", d2d=True, above=0)  # conductance at w = w_max
    w_min: float = param(-1.0, d2d=True)                # lower weight bound b_min
    w_max: float = param(1.0, d2d=True)                 # upper weight bound b_max
    dw_min: float = param(0.01, d2d=True, above=0)      # Δw_min: nominal step
    up_down: float = param(0.0, low=-1, high=1)          # β: up step Δw_min(1 + β), down step Δw_min(1 − β)
    w_initial: float = param(0.0)                        # starting weight (clipped to each device's bounds)


@dataclass(frozen=True)
class SoftBoundsParams(WeightPulsedParams):
    """Parameters of :class:`SoftBoundsDevice` (needs w_min < 0 < w_max)."""

    w_min: float = param(-1.0, d2d=True, below=0)       # lower weight bound b_min
    w_max: float = param(1.0, d2d=True, above=0)        # upper weight bound b_max


@dataclass(frozen=True)
class ExpStepParams(WeightPulsedParams):
    """Parameters of :class:`ExpStepDevice`; defaults are aihwkit's ``ExpStepDevice`` fit."""

    A_up: float = param(0.00081, low=0)                  # A⁺
    A_down: float = param(0.36833, low=0)                # A⁻
    gamma_up: float = param(12.44625, low=0)             # γ⁺
    gamma_down: float = param(12.78785, low=0)           # γ⁻
    a: float = param(0.244)                              # global slope a
    b: float = param(0.2425)                             # global offset b


@dataclass(frozen=True)
class PowStepParams(WeightPulsedParams):
    """Parameters of :class:`PowStepDevice`; defaults are aihwkit's ``PowStepDevice``."""

    pow_gamma: float = param(1.0, low=0)                 # γ
    pow_up_down: float = param(0.0, low=-1, high=1)      # β_pow: γ⁺ = γ(1 + β_pow), γ⁻ = γ(1 − β_pow)


@dataclass(frozen=True)
class NeuroSimParams(PulsedParams):
    """Parameters of :class:`NeuroSimDevice` (state: conductance in S)."""

    ordered: ClassVar[tuple[tuple[str, str], ...]] = (("g_min", "g_max"),)

    g_min: float = param(20e-6, "S", d2d=True, above=0)  # G_min
    g_max: float = param(200e-6, "S", d2d=True, above=0)  # G_max
    p_max: float = param(100.0, "", d2d=True, above=0)  # P_max: pulses that span the window
    a_ltp: float = param(25.0, above=0)                  # A⁺, pulses (NeuroSim's normalized A = A/P_max)
    a_ltd: float = param(25.0, above=0)                  # A⁻, pulses
    level_initial: float = param(0.0, low=0, high=1)     # starting G as a fraction of the window


# --- shared machinery ----------------------------------------------------------------------------
class PulsedDevice(OhmicDeviceModel):
    """Shared machinery: threshold → one pulse per segment; vectorized update; ohmic read.

    State rows: ``w`` — the persistent state the update rule acts on; ``w_read`` — what a read
    sees (``w`` plus write noise). Subclasses define the per-device coefficients in ``_prepare``
    and the noise-free signed step in ``_step`` (vectorized) and ``_step_scalar`` (one device).
    """

    state_names = ("w", "w_read")
    params_type = PulsedParams

    def __init__(self, params=None, *, n: int = 1, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, n=n, rng=rng)
        if not self.params.v_write > 0:
            raise ValueError(f"{self.name}: v_write must be positive, got {self.params.v_write}")
        self._lo, self._hi = self._bounds()
        self._prepare()
        self._write_sigma = self.params.write_noise * self._nominal_step()
        self._buf_step = np.empty(self.n)
        self._buf_xi = np.empty(self.n)
        self._buf_tmp = np.empty(self.n)

    # --- what a pulsed model defines ------------------------------------------------------------
    @abstractmethod
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-device (lower, upper) bounds of the weight."""

    def _prepare(self) -> None:
        """Per-device coefficient arrays."""

    @abstractmethod
    def _nominal_step(self) -> float:
        """The step size without noise (for write noise)."""

    @abstractmethod
    def _step(self, w: np.ndarray, up: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Noise-free signed step of every device (up where ``up``, else down), written to ``out``."""

    @abstractmethod
    def _step_scalar(self, w: float, up: bool) -> float:
        """The same step for device 0, in Python floats (same operations, same order)."""

    # --- DeviceModel interface --------------------------------------------------------------------
    def initial_state(self, n: int) -> np.ndarray:
        lo, hi = self._bounds()
        w0 = self._initial(lo, hi)
        return np.stack([w0, w0.copy()])

    @abstractmethod
    def _initial(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Initial weight of every device within (lo, hi)."""

    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Zero: nothing evolves continuously inside a segment (the update is one discrete step)."""
        return np.zeros_like(x)

    def closed_form(self, v: np.ndarray, duration: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact: the state after holding device voltage ``v`` for ``duration`` (one pulse where
        |v| ≥ v_write and duration > 0, drawing its noise from the generator), and the mean
        current G(x)·v (the state holds until the segment ends)."""
        x1 = np.array(x, dtype=float, copy=True)
        self._pulse(x1, self.polarity(v) if duration > 0 else np.zeros(self.n, np.int8))
        return x1, self.conductance(x) * v

    def clip_state(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float, copy=True)
        x[0] = np.clip(x[0], self._lo, self._hi)
        return x

    def evolve(self, v_source, duration: float, *, series_resistance: float = 0.0, compliance: float = np.inf,
               sample_times: np.ndarray | None = None) -> Evolution:
        """Hold the source at ``v_source`` (V) for ``duration`` (s): at most one pulse per device.

        The state is constant during the segment, so the current, the device voltage and the
        compliance state are exact and constant; the update (if |V_dev| ≥ v_write) registers at
        the end. ``sample_times`` therefore all read the pre-pulse current.
        """
        v_s = np.broadcast_to(np.asarray(v_source, dtype=float), (self.n,)).copy()
        v_dev, i, limited = self.operating_point(v_s, series_resistance, compliance)
        v_term = np.where(limited, v_dev + i * series_resistance, v_s)
        samples = None if sample_times is None else np.tile(i, (len(np.asarray(sample_times)), 1))
        result = Evolution(i, v_dev, v_term, v_dev * i * duration, limited, samples)
        if duration > 0:
            self._pulse(self.x, self.polarity(v_dev))
        return result

    # --- pulses -----------------------------------------------------------------------------------
    def polarity(self, v_dev: np.ndarray) -> np.ndarray:
        """+1 / −1 where |V_dev| ≥ v_write (sign of V), 0 below the threshold; int8, shape (n,)."""
        v = np.asarray(v_dev, dtype=float)
        return (np.sign(v) * (np.abs(v) >= self.params.v_write)).astype(np.int8)

    def apply_pulses(self, polarity: np.ndarray) -> None:
        """One pulse per device, all devices at once: ``polarity`` is −1/0/+1, shape (n,).

        Exactly what :meth:`evolve` does for one segment whose device voltages have these
        polarities (same arithmetic, same random draws, bit for bit).
        """
        pol = np.asarray(polarity)
        if pol.shape != (self.n,):
            raise ValueError(f"polarity must have shape ({self.n},), got {pol.shape}")
        self._pulse(self.x, pol)

    def _pulse(self, x: np.ndarray, pol: np.ndarray) -> None:
        touched = pol != 0
        if not touched.any():
            return
        w = x[0]
        dw = self._step(w, pol > 0, self._buf_step)
        sigma = self.params.c2c_sigma
        if sigma:
            xi = self.rng.standard_normal(out=self._buf_xi)
            xi *= sigma
            xi += 1.0
            dw *= xi
        if not touched.all():
            dw *= touched
        w += dw
        np.minimum(w, self._hi, out=w)
        np.maximum(w, self._lo, out=w)
        if self._write_sigma:
            xi = self.rng.standard_normal(out=self._buf_xi)
            xi *= self._write_sigma
            xi += w
            np.copyto(x[1], xi, where=touched)
        else:
            np.copyto(x[1], w, where=touched)

    def apply_pulse_train(self, polarities) -> np.ndarray:
        """A sequence of pulses (−1/0/+1 each) on a single device; returns ``w_read`` after each.

        For n = 1 this runs the update in Python floats with all random numbers drawn in one call:
        the same operations in the same order and the same random sequence as ``len(polarities)``
        calls of :meth:`apply_pulses`, without numpy's per-call overhead. For n > 1 it falls back
        to those calls (``polarities`` of shape (K, n)); the result then has shape (K, n).
        """
        pols = np.asarray(polarities)
        if self.n != 1:
            out = np.empty((len(pols), self.n))
            for k, pol in enumerate(pols):
                self.apply_pulses(pol)
                out[k] = self.x[1]
            return out
        pols = pols.reshape(-1).astype(np.int64)
        sigma, w_sigma = self.params.c2c_sigma, self._write_sigma
        per_pulse = (1 if sigma else 0) + (1 if w_sigma else 0)
        draws = self.rng.standard_normal(per_pulse * int(np.count_nonzero(pols))).tolist()
        lo, hi = float(self._lo[0]), float(self._hi[0])
        w, w_read = float(self.x[0, 0]), float(self.x[1, 0])
        step = self._step_scalar
        trace = [0.0] * len(pols)
        j = 0
        for k, p in enumerate(pols.tolist()):
            if p:
                dw = step(w, p > 0)
                if sigma:
                    dw *= draws[j] * sigma + 1.0
                    j += 1
                w += dw
                w = min(w, hi)
                w = max(w, lo)
                if w_sigma:
                    w_read = draws[j] * w_sigma + w
                    j += 1
                else:
                    w_read = w
            trace[k] = w_read
        self.x[0, 0], self.x[1, 0] = w, w_read
        return np.array(trace)


# --- the aihwkit families --------------------------------------------------------------------------
class _WeightDevice(PulsedDevice):
    params_type = WeightPulsedParams

    def _bounds(self):
        return self.p.w_min.copy(), self.p.w_max.copy()

    def _initial(self, lo, hi):
        return np.clip(np.full(lo.shape, float(self.params.w_initial)), lo, hi)

    def _nominal_step(self) -> float:
        return float(self.params.dw_min)

    def _prepare(self) -> None:
        beta = self.params.up_down
        self._alpha_up = self.p.dw_min * (1 + beta)
        self._alpha_down = self.p.dw_min * (1 - beta)
        self._g_scale = (self.p.g_max - self.p.g_min) / (self._hi - self._lo)
        self._g_offset = self.p.g_min - self._g_scale * self._lo

    def conductance(self, x=None):
        x = self.x if x is None else x
        return self._g_offset + self._g_scale * x[1]


class _LinearStep(PulsedDevice):
    """Step affine in the state: dw = c0 + c1·w with (c0, c1) chosen by the polarity."""

    def _step(self, w, up, out):
        np.multiply(np.where(up, self._c1_up, self._c1_down), w, out=out)
        out += np.where(up, self._c0_up, self._c0_down)
        return out

    def _step_scalar(self, w, up):
        if up:
            return self._s_c1_up * w + self._s_c0_up
        return self._s_c1_down * w + self._s_c0_down

    def _scalars(self) -> None:
        self._s_c0_up, self._s_c1_up = float(self._c0_up[0]), float(self._c1_up[0])
        self._s_c0_down, self._s_c1_down = float(self._c0_down[0]), float(self._c1_down[0])


class SoftBoundsDevice(_LinearStep, _WeightDevice):
    """aihwkit ``SoftBoundsDevice``: the step falls linearly to zero at the bound.

    up: w ← w + α⁺(1 − w/b_max)·f; down: w ← w − α⁻(1 − w/b_min)·f; clip to [b_min, b_max].
    Gokmen & Vlasov, Front. Neurosci. 10, 333 (2016); Frascaroli et al., Sci. Rep. 8, 7178 (2018).
    """

    name = "soft-bounds"
    params_type = SoftBoundsParams

    def _prepare(self) -> None:
        super()._prepare()
        if not (np.all(self._lo < 0) and np.all(self._hi > 0)):
            raise ValueError("soft-bounds: the rule w ± α(1 − w/b) needs w_min < 0 < w_max")
        self._c0_up, self._c1_up = self._alpha_up, -self._alpha_up / self._hi
        self._c0_down, self._c1_down = -self._alpha_down, self._alpha_down / self._lo
        self._scalars()


class ExpStepDevice(_WeightDevice):
    """aihwkit ``ExpStepDevice``: z = 2a·w/(b_max − b_min) + b;
    up: w ← w + max(1 − A⁺e^(γ⁺z), 0)·α⁺·f; down: w ← w − max(1 − A⁻e^(−γ⁻z), 0)·α⁻·f."""

    name = "exp-step"
    params_type = ExpStepParams

    def _prepare(self) -> None:
        super()._prepare()
        p = self.params
        self._kz = 2.0 * p.a / (self._hi - self._lo)
        self._s = (float(self._kz[0]), float(p.b), float(p.gamma_up), float(-p.gamma_down), float(p.A_up),
                   float(p.A_down), float(self._alpha_up[0]), float(-self._alpha_down[0]))

    def _step(self, w, up, out):
        p = self.params
        np.multiply(self._kz, w, out=out)
        out += p.b                                                    # z
        out *= np.where(up, p.gamma_up, -p.gamma_down)
        np.exp(out, out=out)
        out *= np.where(up, p.A_up, p.A_down)
        np.subtract(1.0, out, out=out)
        np.maximum(out, 0.0, out=out)                                 # y
        out *= np.where(up, self._alpha_up, -self._alpha_down)
        return out

    def _step_scalar(self, w, up):
        kz, b, g_up, g_down, a_up, a_down, s_up, s_down = self._s
        z = kz * w + b
        y = 1.0 - (a_up if up else a_down) * math.exp(z * (g_up if up else g_down))
        return max(y, 0.0) * (s_up if up else s_down)


class PowStepDevice(_WeightDevice):
    """aihwkit ``PowStepDevice`` (shifted Fusi & Abbott synapse): ω = (b_max − w)/(b_max − b_min);
    up: w ← w + α⁺ω^γ⁺·f; down: w ← w − α⁻(1 − ω)^γ⁻·f (written as ((w − b_min)/(b_max − b_min))^γ⁻)."""

    name = "pow-step"
    params_type = PowStepParams

    def _prepare(self) -> None:
        super()._prepare()
        p = self.params
        self._gamma_up = p.pow_gamma * (1 + p.pow_up_down)
        self._gamma_down = p.pow_gamma * (1 - p.pow_up_down)
        if self._gamma_up < 0 or self._gamma_down < 0:
            raise ValueError("pow-step: the exponents γ(1 ± β_pow) must be non-negative")
        self._range = self._hi - self._lo
        self._s = (float(self._lo[0]), float(self._hi[0]), float(self._range[0]), float(self._alpha_up[0]),
                   float(-self._alpha_down[0]))

    def _step(self, w, up, out):
        np.subtract(self._hi, w, out=out)
        np.subtract(w, self._lo, out=self._buf_tmp)
        np.copyto(out, self._buf_tmp, where=~up)
        out /= self._range
        np.maximum(out, 0.0, out=out)
        gamma = self._gamma_up if self._gamma_up == self._gamma_down else np.where(up, self._gamma_up,
                                                                                     self._gamma_down)
        np.power(out, gamma, out=out)
        out *= np.where(up, self._alpha_up, -self._alpha_down)
        return out

    def _step_scalar(self, w, up):
        lo, hi, rng_, s_up, s_down = self._s
        base = max(((hi - w) if up else (w - lo)) / rng_, 0.0)
        return math.pow(base, self._gamma_up if up else self._gamma_down) * (s_up if up else s_down)


# --- NeuroSim ------------------------------------------------------------------------------------
class NeuroSimDevice(_LinearStep):
    """NeuroSim nonlinear G(P): each pulse moves the device one pulse along its LTP or LTD curve.

    Chen, Peng & Yu, "NeuroSim: A Circuit-Level Macro Model for Benchmarking Neuro-Inspired
    Architectures in Online Learning", IEEE TCAD 37, 3067 (2018). State in S.
    """

    name = "neurosim"
    params_type = NeuroSimParams

    def __init__(self, params=None, *, n: int = 1, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, n=n, rng=rng)
        self.state_scale = np.array([self.params.g_max, self.params.g_max])

    def _bounds(self):
        return self.p.g_min.copy(), self.p.g_max.copy()

    def _initial(self, lo, hi):
        return lo + float(self.params.level_initial) * (hi - lo)

    def _nominal_step(self) -> float:
        return float((self.params.g_max - self.params.g_min) / self.params.p_max)

    def _prepare(self) -> None:
        p = self.params
        if not (p.a_ltp > 0 and p.a_ltd > 0):
            raise ValueError("neurosim: a_ltp and a_ltd must be positive (pulses)")
        span = self._hi - self._lo
        self.b_ltp = span / -np.expm1(-self.p.p_max / p.a_ltp)
        self.b_ltd = span / -np.expm1(-self.p.p_max / p.a_ltd)
        k_up, k_down = -math.expm1(-1.0 / p.a_ltp), -math.expm1(-1.0 / p.a_ltd)
        self._c1_up, self._c0_up = np.full(self.n, -k_up), (self._lo + self.b_ltp) * k_up
        self._c1_down, self._c0_down = np.full(self.n, -k_down), (self._hi - self.b_ltd) * k_down
        self._scalars()

    def conductance(self, x=None):
        x = self.x if x is None else x
        return x[1].copy()

    def g_ltp(self, pulses) -> np.ndarray:
        """G_LTP(P) of device 0, S."""
        return self.b_ltp[0] * -np.expm1(-np.asarray(pulses, float) / self.params.a_ltp) + self._lo[0]

    def g_ltd(self, pulses) -> np.ndarray:
        """G_LTD(P) of device 0, S (P on the LTP axis: P_max at G_max, 0 at G_min)."""
        p = np.asarray(pulses, float)
        return -self.b_ltd[0] * -np.expm1((p - self.p.p_max[0]) / self.params.a_ltd) + self._hi[0]


PULSED_MODELS = {cls.name: cls for cls in (SoftBoundsDevice, ExpStepDevice, PowStepDevice, NeuroSimDevice)}
