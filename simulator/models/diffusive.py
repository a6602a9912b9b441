r"""A diffusive (volatile, threshold-switching) memristor with second-order dynamics.

Physics (Z. Wang, S. Joshi, S. E. Savel'ev, … Q. Xia & J. J. Yang, "Memristors with diffusive
dynamics as synaptic emulators for neuromorphic computing", Nat. Mater. 16, 101, 2017): in a
SiOxNy:Ag diffusive memristor a voltage above threshold drives Ag from nanoclusters into a
conducting bridge after a delay; when the voltage is removed the bridge breaks up on its own, the
Ag diffusing back into clusters to lower its interfacial energy, and the device relaxes to its
high-resistance state. The switching delay, the spontaneous relaxation and the local Joule heating
that speeds both up are the internal dynamics from which short-term facilitation emerges (and, in
Wang et al., STDP with the diffusive memristor in series with a drift memristor); there is no
explicit facilitation term.

Wang et al.'s own simulations follow the Ag nanoparticles stochastically. This module is a
deterministic compact form of the same two coupled mechanisms — an Ag bridge variable driven by
field-assisted, thermally activated ionic hopping and relaxing by thermally activated diffusion,
and the temperature raised by Joule heating — built from standard pieces: the hopping rate
ν·e^(−E_a/kT)·2sinh(βV/kT) (Mott & Gurney, Electronic Processes in Ionic Crystals, 1940; as in ECM
cell models, Menzel, Böttger & Waser, J. Appl. Phys. 111, 014501, 2012), temperature as the
second state variable of a second-order memristor (Kim, Du, Sheridan, Ma, Choi & Lu, Nano Lett.
15, 2203, 2015), and tunnelling through the remaining gap for the conductance. The equations
below are this module's; they are not transcribed from Wang et al.

State per device: bridge variable ``r`` ∈ [0, 1] (0: Ag in clusters, 1: continuous bridge) and
temperature rise ``dT`` = T − T₀ (K).

    G(r) = G_off + (G_on − G_off)·(e^(r/λ) − 1)/(e^(1/λ) − 1)          [S]  (tunnel gap ∝ 1 − r)
    I    = G(r)·V
    k_on(V, T)  = ν·exp(−E_a/(k_B·T))·2·sinh(β·|V|/(k_B·T))             [1/s] (field-assisted hopping)
    k_off(T)    = (1/τ_r)·exp(−(E_d/k_B)·(1/T − 1/T₀))                  [1/s] (diffusive relaxation)
    dr/dt  = k_on·(1 − r) − k_off·r
    d(dT)/dt = (R_th·I·V − dT)/τ_th                                     (Joule heating, Newton cooling)

with E_a, E_d, β·V and k_B·T in eV. Below threshold k_on is negligible and r relaxes to 0 with
τ_r; k_on(V) = 0 at V = 0, so nothing is left after a long rest (volatile). Above threshold r
grows slowly while the gap is wide, then G, the Joule heat and k_on run away together: the device
switches on abruptly after a delay that shortens exponentially with V. A second pulse arriving
before the bridge has relaxed starts from a larger r and a warm device, so it switches further:
paired-pulse facilitation that fades over a few τ_r (and, within τ_th, a thermal component).

No closed form: the base class integrates these equations (Radau, error-controlled).

Noise (from the ``numpy.random.Generator`` passed in): device-to-device — G_off, G_on, ν and τ_r
drawn once, log-normal with spread σ_d2d; read noise (1 + σ_read·ξ).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from labsuite.simulator.models.base import DeviceModel, param

K_B = 8.617333262e-5     # eV/K


@dataclass(frozen=True)
class DiffusiveMemristorParams:
    """Parameters of :class:`DiffusiveMemristor` (SI units; energies in eV)."""

    ordered: ClassVar[tuple[tuple[str, str], ...]] = (("g_off", "g_on"),)

    g_off: float = param(1e-9, "S", d2d=True, above=0)   # G at r = 0 (Ag in clusters)
    g_on: float = param(100e-6, "S", d2d=True, above=0)  # G at r = 1 (bridge)
    tunnel_length: float = param(0.1, above=0)            # λ: tunnelling length / gap, sets the on/off curve
    attempt_rate: float = param(1e10, "1/s", d2d=True, above=0)  # ν
    activation_energy: float = param(0.7, "eV", low=0)   # E_a: hopping barrier
    barrier_lowering: float = param(0.4, low=0)           # β: barrier lowered by β·|V| (eV per V)
    tau_relax: float = param(10e-3, "s", d2d=True, above=0)  # τ_r: relaxation time at T₀
    relax_energy: float = param(0.3, "eV", low=0)        # E_d: activation energy of the diffusive relaxation
    thermal_resistance: float = param(1e6, "K/W", low=0)  # R_th
    tau_thermal: float = param(0.5e-6, "s", above=0)     # τ_th = R_th·C_th
    t_ambient: float = param(300.0, "K", above=0)        # T₀
    d2d_sigma: float = param(0.0, low=0)                 # log-normal device-to-device spread
    read_noise: float = param(0.002, low=0)              # relative read noise


class DiffusiveMemristor(DeviceModel):
    """Volatile threshold switch; state rows ``r`` (bridge) and ``dT`` (temperature rise, K)."""

    name = "diffusive"
    params_type = DiffusiveMemristorParams
    state_names = ("r", "dT")
    state_scale = (1.0, 100.0)

    def initial_state(self, n: int) -> np.ndarray:
        return np.zeros((2, n))

    def conductance(self, x: np.ndarray | None = None) -> np.ndarray:
        """Small-signal conductance G of each device, S."""
        r = (self.x if x is None else x)[0]
        p = self.p
        shape = np.expm1(np.clip(r, 0.0, 1.0) / p.tunnel_length) / np.expm1(1.0 / p.tunnel_length)
        return p.g_off + (p.g_on - p.g_off) * shape

    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.conductance(x) * v

    def temperature(self, x: np.ndarray | None = None) -> np.ndarray:
        """Device temperature T₀ + dT, K."""
        return self.p.t_ambient + (self.x if x is None else x)[1]

    def rates(self, v: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k_on, k_off) in 1/s at device voltage ``v`` and state ``x``."""
        p = self.p
        kt = K_B * (p.t_ambient + np.maximum(x[1], -0.5 * p.t_ambient))
        lowering = p.barrier_lowering * np.abs(np.asarray(v, float))
        # ν·e^(−E_a/kT)·2·sinh(βV/kT) = ν·(e^(−(E_a − βV)/kT) − e^(−(E_a + βV)/kT)), overflow-safe
        k_on = p.attempt_rate * (np.exp(np.minimum(-(p.activation_energy - lowering) / kt, 600.0))
                                 - np.exp(-(p.activation_energy + lowering) / kt))
        k_off = np.exp(-(p.relax_energy / K_B) * (1.0 / (kt / K_B) - 1.0 / p.t_ambient)) / p.tau_relax
        return k_on, k_off

    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        r, dtemp = x
        k_on, k_off = self.rates(v, x)
        power = self.current(v, x) * v
        return np.stack([k_on * (1 - r) - k_off * r,
                         (self.p.thermal_resistance * power - dtemp) / self.p.tau_thermal])

    def clip_state(self, x: np.ndarray) -> np.ndarray:
        x = x.copy()
        x[0] = np.clip(x[0], 0.0, 1.0)
        return x
