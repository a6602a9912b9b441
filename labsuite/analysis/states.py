r"""Repeated-cycle analyses: distinguishable states, LTP/LTD asymmetry, cycle-to-cycle variation,
and the ON/OFF window of an endurance run. Plain functions on numpy arrays.

Layout used throughout: ``levels[c, j]`` is the conductance read at the same position j (the same
pulse number of the same half) of cycle c; a row per cycle.

**Distinguishable states** (:func:`distinguishable_states`). For each position j, the mean
μ_j and the cycle-to-cycle spread σ_j (sample standard deviation over cycles, ddof = 1) of the
level. Positions are sorted by μ and counted greedily from the lowest: a level counts as a new
state if μ − μ_last ≥ k·max(σ, σ_last), where "last" is the last level counted. k = k_sigma is the
separation criterion (k = 3: the two levels are 3 of the larger standard deviations apart; with
Gaussian spreads a midpoint threshold then misreads either level with probability ≤ Φ(−k/2) =
6.7 %, and k = 6 gives ≤ 0.13 %). A noise-free device (σ = 0) has as many states as distinct
levels. Needs ≥ 2 cycles (σ is undefined otherwise: NaN).

**Asymmetry** (:func:`asymmetry`). |A_LTP − A_LTD| / (|A_LTP| + |A_LTD|) of the NeuroSim A of the
two halves (normalized or in pulses, the same for both): 0 for a symmetric update, → 1 when one
half is far more nonlinear than the other. NeuroSim itself carries the two labels separately
(``NL_LTP``, ``NL_LTD``; symmetric when NL_LTD = −NL_LTP; Chen, Peng & Yu, IEEE TCAD 37, 3067, 2018).

**Cycle-to-cycle variation** (:func:`cycle_to_cycle_variation`). For the NeuroSim curve every
step is a fixed fraction of the distance to the saturation level, G_P − G_∞ = (G_{P−1} − G_∞)·e^(−1/A),
so the expected step from the level actually read before it is linear in that level:
ΔG_exp = α + β·G_{P−1}. α, β are fitted (least squares) to all steps of the half in all cycles;
the residual r = ΔG − ΔG_exp is the step's variation. This is how NeuroSim generates its noisy
curves: ``nonlinear_fit.m`` draws each step as the model step from the present conductance plus
N(0, σ²), and Cell.cpp sets σ = ``sigmaCtoC`` = (fraction)·(G_max − G_min). Two numbers:

- ``neurosim``: σ_r / (G_max − G_min), NeuroSim's definition (the per-cycle range of the half,
  median over cycles, as G_max − G_min). Jo et al.'s Ag:a-Si synapse is quoted at 3.5 % (LTP)
  and 2.5 % (LTD) in ``nonlinear_fit.m``.
- ``relative``: σ_r relative to the expected step, sqrt(Σ r² / Σ ΔG_exp²) — the spread of the
  step as a fraction of the mean step, the convention of a model that scales each update by
  (1 + σ·ξ) (labsuite's ``synaptic-memristor`` ``c2c_sigma``). The sums weight the large early
  steps, where read noise matters least.

With ≥ 2 cycles, r is taken about its mean over cycles at each pulse number (r − r̄_j, with the
(C − 1)/C degrees-of-freedom correction), so any systematic departure from the model that repeats
every cycle does not count as variation; with one cycle the raw residuals are used. Read noise
σ_read adds about √2·σ_read·G to every step's spread: the estimate is meaningful when that is
small against the step.

**Endurance** (:func:`on_off_ratio`, :func:`cycles_to_failure`): ON/OFF = G_on/G_off per cycle;
the device fails at the first cycle (numbered from 1) whose ON/OFF falls below the failure ratio.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class States:
    """Distinguishable conductance states of a cycled train."""

    count: float            # number of distinguishable states (NaN with < 2 cycles)
    means: np.ndarray       # S, mean level of each position, ascending
    sigmas: np.ndarray      # S, cycle-to-cycle spread of each position (same order)
    chosen: np.ndarray      # S, the mean levels counted as states
    k_sigma: float


def distinguishable_states(levels: np.ndarray, k_sigma: float = 3.0) -> States:
    """Count levels (``levels[cycle, position]``, S) separated by k·max(σ) (see module docstring)."""
    g = np.atleast_2d(np.asarray(levels, float))
    mu = g.mean(axis=0)
    order = np.argsort(mu)
    mu = mu[order]
    if g.shape[0] < 2:
        return States(float("nan"), mu, np.full_like(mu, np.nan), np.empty(0), float(k_sigma))
    sigma = g.std(axis=0, ddof=1)[order]
    chosen = [0]
    for j in range(1, mu.size):
        last = chosen[-1]
        if mu[j] - mu[last] >= k_sigma * max(sigma[j], sigma[last]) and mu[j] > mu[last]:
            chosen.append(j)
    return States(float(len(chosen)), mu, sigma, mu[chosen], float(k_sigma))


def asymmetry(a_ltp: float, a_ltd: float) -> float:
    """|A_LTP − A_LTD| / (|A_LTP| + |A_LTD|) on magnitudes (NeuroSim's LTD A is negative)."""
    p, d = abs(float(a_ltp)), abs(float(a_ltd))
    if not np.isfinite(p + d) or p + d == 0:
        return float("nan")
    return abs(p - d) / (p + d)


@dataclass(frozen=True)
class CycleToCycle:
    """Cycle-to-cycle variation of the conductance steps of one half (LTP or LTD)."""

    relative: float         # σ of the step / expected step
    neurosim: float         # σ of the step / (G_max − G_min)
    sigma_step: float       # S, σ of the step
    alpha: float            # S, expected step ΔG_exp = alpha + beta·G_prev
    beta: float
    steps: int              # steps used


def cycle_to_cycle_variation(start: np.ndarray, levels: np.ndarray) -> CycleToCycle:
    """C2C variation of one half: ``start[c]`` is the level read before the half's first pulse in
    cycle c, ``levels[c, j]`` after pulse j + 1 (S). See the module docstring for the definitions."""
    g = np.column_stack([np.asarray(start, float).ravel(), np.atleast_2d(np.asarray(levels, float))])
    cycles, n = g.shape[0], g.shape[1] - 1
    if n < 2:
        raise ValueError("a cycle-to-cycle estimate needs at least 2 steps per half")
    prev, step = g[:, :-1], np.diff(g, axis=1)
    beta, alpha = np.polyfit(prev.ravel(), step.ravel(), 1)
    expected = alpha + beta * prev
    residual = step - expected
    if cycles >= 2:
        residual = residual - residual.mean(axis=0)
        dof = (cycles - 1) / cycles
    else:
        dof = 1.0
    sigma = float(np.sqrt(np.sum(residual ** 2) / (dof * residual.size)))
    relative = float(np.sqrt(np.sum(residual ** 2) / (dof * np.sum(expected ** 2))))
    span = float(np.median(np.ptp(g, axis=1)))
    return CycleToCycle(relative=relative, neurosim=sigma / span if span > 0 else float("nan"),
                        sigma_step=sigma, alpha=float(alpha), beta=float(beta), steps=int(step.size))


def on_off_ratio(g_on: np.ndarray, g_off: np.ndarray) -> np.ndarray:
    """ON/OFF = G_on / G_off per cycle (NaN where G_off ≤ 0)."""
    on, off = np.asarray(g_on, float), np.asarray(g_off, float)
    return np.divide(on, off, out=np.full(np.broadcast(on, off).shape, np.nan), where=off > 0)


def cycles_to_failure(ratio: np.ndarray, failure_ratio: float) -> int | None:
    """First cycle (numbered from 1) whose ON/OFF is below ``failure_ratio`` (a NaN ratio, e.g. an
    unreadable OFF state, counts as failed); None if the window held for every cycle."""
    r = np.asarray(ratio, float)
    failed = np.nonzero(~(r >= failure_ratio))[0]
    return int(failed[0]) + 1 if failed.size else None
