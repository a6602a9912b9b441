r"""A second-order memristor: a filament state whose switching rate is set by a local temperature.

S. Kim, C. Du, P. Sheridan, W. Ma, S. Choi & W. D. Lu, "Experimental Demonstration of a
Second-Order Memristor and Its Ability to Biorealistically Implement Synaptic Plasticity",
Nano Lett. 15, 2203 (2015), describe a Pd/Ta₂O₅₋ₓ/TaO_y/Pd memristor with two state
variables: a first-order variable w (the conduction-channel / oxygen-vacancy state that sets
the conductance) and a second-order variable, the internal temperature T, which does not show
in the conductance but sets how fast w can move. Each pulse raises T by Joule heating; T
relaxes to ambient within a thermal time of the order of a microsecond or less. A second pulse
that arrives while the device is still warm moves w much further than the same pulse on a
cold device, so the device's response encodes how recently it was last stimulated — the
"Ca²⁺-like" timing memory that gives spike-timing-dependent plasticity with simple,
non-overlapping spikes.

State per device: ``w`` ∈ [0, 1] (dimensionless) and ``T`` (K). Equations, V in V across the
device:

    G   = G_min + (G_max − G_min)·w                                              [S]
    I   = G·V                                                                    [A]
    dT/dt = (R_th·I·V − (T − T_0)) / τ_T                                         [K/s]
    dw/dt = ν·exp(−E_a/(k_B·T))·sinh(V/V_0)·{1 − w  if V > 0;  w  if V < 0}      [1/s]

- Heating: the lumped thermal circuit C_th·dT/dt = P − (T − T_0)/R_th with P = I·V (Joule power)
  and τ_T = R_th·C_th; a long pulse heats the filament to T_0 + R_th·P, and at zero bias T
  relaxes as T_0 + (T − T_0)·e^(−t/τ_T). Kim et al. attribute the second-order dynamics to this
  heating and its decay.
- Switching: thermally activated ionic (oxygen-vacancy) drift, an Arrhenius factor times a
  field-driven sinh — the form of the vacancy drift velocity in oxide memristors, v ∝
  exp(−E_a/k_B T)·sinh(qaE/2k_B T) (D. B. Strukov & R. S. Williams, "Exponential ionic drift",
  Appl. Phys. A 94, 515, 2009), here with a temperature-independent voltage scale V_0 so that
  the strong temperature dependence Kim et al. rely on sits in the Arrhenius factor. The soft
  bounds (1 − w) for set and w for reset keep w in [0, 1].
- The full text / supporting information of Kim et al. was not at hand when this was written:
  the equations above implement the model as the paper describes it (w driven at a rate set
  exponentially by T; T driven by Joule heating and relaxing with τ_T), stated exactly as coded
  so that they can be checked against the paper. The STDP spike shapes of the paper (a short
  programming pulse followed by a long, lower heating pulse, opposite polarities for the pre-
  and post-synaptic spikes) are reproduced in the tests; see docs/models/iontronic_thermal.md.

With the defaults (τ_T = 500 ns, R_th = 5 MK/W, E_a = 0.8 eV, V_0 = 0.1 V, ν = 3·10¹¹ s⁻¹,
w = 0.3) a 1.0 V, 50 ns programming pulse on a cold device moves w by 3.5·10⁻⁵ and a 0.6 V,
500 ns heating pulse by 1.6·10⁻⁴ (heating the filament to 384 K), while the same programming
pulse right after the heating pulse moves w by 9.6·10⁻³, 280× more.

Integration: at V = 0 the state is exact (w holds, T relaxes exponentially), so idle gaps and
retention cost nothing; biased segments are integrated (Radau, error-controlled) by the base
class.

Noise: device-to-device — G_min, G_max, ν, τ_T and R_th drawn once per device, log-normal with
spread σ_d2d; cycle-to-cycle — each update Δw is scaled by (1 + σ_c2c·ξ); read noise — each
reading is scaled by (1 + σ_read·ξ).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from labsuite.simulator.models.base import OhmicDeviceModel, param

K_B_EV = 8.617333262e-5     # Boltzmann constant, eV/K
_EXP_MAX = 700.0


@dataclass(frozen=True)
class ThermalSecondOrderParams:
    """Parameters of :class:`ThermalSecondOrderMemristor` (SI units; E_a in eV)."""

    ordered: ClassVar[tuple[tuple[str, str], ...]] = (("g_min", "g_max"),)

    g_min: float = param(20e-6, "S", d2d=True, above=0)  # conductance at w = 0
    g_max: float = param(200e-6, "S", d2d=True, above=0)  # conductance at w = 1
    rate_prefactor: float = param(3e11, "1/s", d2d=True, above=0)  # ν: attempt-rate prefactor of dw/dt
    activation_energy: float = param(0.8, low=0)        # E_a in eV: barrier of vacancy motion
    v_0: float = param(0.1, "V", above=0)                # voltage scale of the field-driven sinh
    t_ambient: float = param(300.0, "K", above=0)        # T_0
    tau_thermal: float = param(500e-9, "s", d2d=True, above=0)  # τ_T = R_th·C_th, thermal relaxation time
    r_thermal: float = param(5e6, "K/W", d2d=True, low=0)  # R_th: filament thermal resistance
    c2c_sigma: float = param(0.02, low=0)                # relative cycle-to-cycle variation of each update
    d2d_sigma: float = param(0.0, low=0)                 # log-normal device-to-device spread
    read_noise: float = param(0.002, low=0)              # relative read noise
    w_initial: float = param(0.3, low=0, high=1)         # state at start, 0 (G_min) to 1 (G_max)


class ThermalSecondOrderMemristor(OhmicDeviceModel):
    """Kim et al. (2015) second-order memristor; state rows ``w`` (–) and ``T`` (K)."""

    name = "thermal-second-order"
    params_type = ThermalSecondOrderParams
    state_names = ("w", "T")
    state_scale = (1.0, 300.0)

    def initial_state(self, n: int) -> np.ndarray:
        return np.stack([np.full(n, self.params.w_initial), np.full(n, self.params.t_ambient)])

    def conductance(self, x: np.ndarray | None = None) -> np.ndarray:
        """G of each device, S."""
        w = (self.x if x is None else x)[0]
        return self.p.g_min + (self.p.g_max - self.p.g_min) * w

    def temperature(self) -> np.ndarray:
        """Internal (filament) temperature of each device, K."""
        return self.x[1].copy()

    def switching_rate(self, v: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        """ν·exp(−E_a/k_B T)·sinh(V/V_0), 1/s (signed: > 0 sets, < 0 resets)."""
        v = np.asarray(v, dtype=float)
        t = np.maximum(np.asarray(temperature, dtype=float), 1.0)
        arrhenius = np.exp(-self.params.activation_energy / (K_B_EV * t))
        return self.p.rate_prefactor * arrhenius * np.sinh(np.clip(v / self.params.v_0, -_EXP_MAX, _EXP_MAX))

    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        w, t = x
        v = np.asarray(v, dtype=float)
        rate = self.switching_rate(v, t)
        dw = rate * np.where(v > 0, 1.0 - w, w)
        dt = (self.p.r_thermal * self.current(v, x) * v - (t - self.params.t_ambient)) / self.p.tau_thermal
        return np.stack([dw, dt])

    def closed_form(self, v: np.ndarray, duration: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact at zero bias only: w holds and T − T_0 decays as e^(−t/τ_T); no current flows."""
        v = np.asarray(v, dtype=float)
        if np.any(v != 0):
            return None
        w, t = x
        t_amb = self.params.t_ambient
        t1 = t_amb + (t - t_amb) * np.exp(-duration / self.p.tau_thermal)
        return np.stack([w.copy(), t1]), np.zeros_like(w)

    def cycle_noise(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        return self.scale_update(x0, x1, row=0)

    def clip_state(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)
        x[0] = np.clip(x[0], 0.0, 1.0)
        x[1] = np.maximum(x[1], 1.0)
        return x
