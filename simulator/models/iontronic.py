r"""A mixed ionic–electronic (halide-perovskite) memristor with a chemical-inductor branch.

Bisquert and co-workers describe the slow, ion-controlled current of halide perovskites and other
mixed ionic–electronic conductors as a *chemical inductor*: a fast conduction channel in
parallel with a current that follows the voltage only through a slow internal relaxation
(J. Bisquert & A. Guerrero, "Chemical Inductor", J. Am. Chem. Soc. 144, 5996, 2022). The
equations used here are the two-branch, one-state-variable form of that model:

    I   = V/R_b + I_L                                                            [A]
    τ_k(V)·dI_L/dt = I_L,eq(V) − I_L

with a voltage-activated equilibrium of the slow (inductive) current,

    I_L,eq(V) = (V/R_a)·f(V),      f(V) = 1 / (1 + exp(−(V − V_m)/V_w))         [A]

and a voltage-dependent kinetic relaxation time

    τ_k(V) = τ_k0·exp(−V/V_τ)                                                    [s]

(V across the device in V; R_b, R_a in Ω; V_m, V_w, V_τ in V; τ_k0 in s).

Where each piece comes from:

- a fast branch V/R_b in parallel with a slow current obeying τ_k·dI_d/dt = V/R_a − I_d is the
  chemical inductor of Bisquert & Guerrero (2022), with inductance L = R_a·τ_k; it is the
  model with which E. Hernández-Balaguera & J. Bisquert, "Negative Transient Spikes in Halide
  Perovskites", ACS Energy Lett. 7, 2602 (2022), explain the delayed current rise and negative
  spikes of perovskite transients, and with which J. Bisquert, "Hysteresis in Organic
  Electrochemical Transistors: Distinction of Capacitive and Inductive Effects", J. Phys.
  Chem. Lett. 14, 10951 (2023), separates *inverted* (inductive) hysteresis from the
  *regular* (capacitive) hysteresis of a capacitor in parallel;
- the voltage activation of the slow current by a Boltzmann (sigmoidal) open probability f(V)
  follows J. Bisquert, "Iontronic Nanopore Model for Artificial Neurons: The Requisites of
  Spiking", J. Phys. Chem. Lett. 14, 9027 (2023), where the channel conductance is a Boltzmann
  open-channel probability times the ohmic drive (the inactivation/blocking function of that
  paper, needed for spiking, is not included: this is a memristor, not a neuron);
- the exponential voltage dependence τ_k = τ_k0·exp(−V/V_τ) (field-accelerated ionic
  relaxation, faster under forward bias) is this model's assumption, not a formula taken from
  the papers above; set V_τ very large for a constant τ_k.

Nothing here was copied from the papers' full text, which was not at hand: the equations are
stated exactly as implemented so that they can be checked against the sources.

Deliberately left out: the geometric/chemical capacitance C_m·dV/dt of the published circuits.
The bench drives piecewise-constant voltages, for which a capacitor carries only a charge
impulse at each step and nothing while a level is held; it cannot produce hysteresis in the
per-segment mean currents. The hysteresis of this model is therefore purely inductive: inverted
where the inductive branch is active and follows the sweep partly, vanishing elsewhere.

Inverted hysteresis. On a cyclic sweep 0 → V_max → 0 the slow current lags its rising
equilibrium on the way up (I_L < I_L,eq) and stays above its falling equilibrium on the way
back, so at the same voltage the return current is larger than the forward current: with V
on the abscissa the loop runs counter-clockwise, ∮ I dV < 0, and the signed area reported here,
A = ∫(I_ret − I_fwd) dV = −∮ I dV, is positive (a capacitor in parallel would make it negative).
It needs (i) V_max above the activation, V_max ≳ V_m + 2V_w, and (ii) a sweep time comparable to
τ_k(V) at the voltages where the branch is active. Much slower sweeps let I_L track I_L,eq (the
loop closes onto the steady-state curve V/R_b + I_L,eq(V)); much faster ones leave I_L where
it was (the loop closes onto V/R_b + I_L(0)). Numbers for the defaults are in
docs/models/iontronic_thermal.md.

Integration: while V is held, the state relaxes exponentially at rate 1/τ_k(V), so each segment
is exact, I_L(t) = I_L,eq + (I_L0 − I_L,eq)·e^(−t/τ_k), with the exact mean current. Under a
current limit or a series resistance the base class integrates the same equation (Radau).

Noise: device-to-device — R_b, R_a and τ_k0 are drawn once per device, log-normal with spread
σ_d2d; read noise — each reading is scaled by (1 + σ_read·ξ). No cycle-to-cycle term: the
model has no stochastic switching event.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from labsuite.simulator.models.base import DeviceModel, param

_EXP_MAX = 700.0   # keeps exp() finite for absurd voltages; τ_k stays positive and finite


@dataclass(frozen=True)
class IontronicMemristorParams:
    """Parameters of :class:`IontronicMemristor` (SI units). Defaults: illustrative values giving
    inverted hysteresis for 0.5–1.5 V sweeps of 0.1–10 s period."""

    r_b: float = param(100e3, "ohm", d2d=True, above=0)  # fast (electronic) branch resistance R_b
    r_a: float = param(5e3, "ohm", d2d=True, above=0)  # inductive branch resistance R_a when fully activated
    v_m: float = param(0.5, "V")                   # activation midpoint V_m of f(V)
    v_w: float = param(0.05, "V", above=0)         # activation width V_w of f(V)
    tau_k0: float = param(1.0, "s", d2d=True, above=0)  # kinetic relaxation time at V = 0
    v_tau: float = param(0.5, "V", above=0)        # voltage scale V_τ of τ_k(V) = τ_k0·exp(−V/V_τ)
    d2d_sigma: float = param(0.0, low=0)           # log-normal device-to-device spread
    read_noise: float = param(0.002, low=0)        # relative read noise
    i_l_initial: float = param(0.0, "A")           # slow current at start (0: equilibrium at 0 V)


class IontronicMemristor(DeviceModel):
    """Fast ohmic branch plus a voltage-activated chemical-inductor branch; state row ``i_l`` (A)."""

    name = "iontronic"
    params_type = IontronicMemristorParams
    state_names = ("i_l",)

    def __init__(self, params=None, *, n: int = 1, rng=None) -> None:
        super().__init__(params, n=n, rng=rng)
        # I_L is a current in A: scale the absolute tolerance by the branch current at 1 V.
        self.state_scale = np.array([float(np.max(1.0 / self.p.r_a))])

    def initial_state(self, n: int) -> np.ndarray:
        return np.full((1, n), self.params.i_l_initial)

    # --- the physics ------------------------------------------------------------------------
    def activation(self, v: np.ndarray) -> np.ndarray:
        """f(V) = 1/(1 + exp(−(V − V_m)/V_w)), dimensionless."""
        return expit((np.asarray(v, dtype=float) - self.p.v_m) / self.p.v_w)

    def equilibrium_current(self, v: np.ndarray) -> np.ndarray:
        """I_L,eq(V) = (V/R_a)·f(V) in A."""
        v = np.asarray(v, dtype=float)
        return v / self.p.r_a * self.activation(v)

    def tau(self, v: np.ndarray) -> np.ndarray:
        """τ_k(V) = τ_k0·exp(−V/V_τ) in s."""
        v = np.asarray(v, dtype=float)
        return self.p.tau_k0 * np.exp(np.clip(-v / self.p.v_tau, -_EXP_MAX, _EXP_MAX))

    def steady_state_current(self, v: np.ndarray) -> np.ndarray:
        """I once the slow branch has settled at V: V/R_b + I_L,eq(V), A."""
        v = np.asarray(v, dtype=float)
        return v / self.p.r_b + self.equilibrium_current(v)

    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=float) / self.p.r_b + x[0]

    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return ((self.equilibrium_current(v) - x[0]) / self.tau(v))[None, :]

    def closed_form(self, v: np.ndarray, duration: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact for constant V: I_L(t) = I_eq + (I_L0 − I_eq)e^(−t/τ_k); mean over [0, T] is
        I_eq + (I_L0 − I_eq)(1 − e^(−T/τ_k))·τ_k/T."""
        v = np.asarray(v, dtype=float)
        i_eq = self.equilibrium_current(v)
        lt = duration / self.tau(v)
        frac = np.divide(-np.expm1(-lt), lt, out=np.ones_like(lt), where=lt > 1e-12)
        i0 = x[0]
        i1 = i_eq + (i0 - i_eq) * np.exp(-lt)
        i_mean = i_eq + (i0 - i_eq) * frac
        return i1[None, :], v / self.p.r_b + i_mean

    def inductance(self, v: np.ndarray) -> np.ndarray:
        """Small-signal chemical inductance L = τ_k(V)/(dI_L,eq/dV) in H (Bisquert's L = R_a·τ_k
        when the branch is fully active)."""
        v = np.asarray(v, dtype=float)
        f = self.activation(v)
        dieq = (f + v * f * (1 - f) / self.p.v_w) / self.p.r_a
        return np.divide(self.tau(v), dieq, out=np.full_like(v, np.inf), where=dieq > 0)
