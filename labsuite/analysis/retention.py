r"""Retention and volatility: how a written conductance decays with time.

Two models are fitted to G(t), t the time since the end of the last write pulse (s):

**Stretched exponential** (Kohlrausch–Williams–Watts)::

    G(t) = G_∞ + ΔG·exp(−(t/τ)^β)                                        [S]

τ is the characteristic decay time, β ∈ (0, 1] the stretching exponent: β = 1 is a single
exponential (one relaxation process, e.g. one volatile component relaxing with τ), β < 1 a
distribution of relaxation times (several components, dispersive transport). G_∞ is what is
retained for good (the long-term memory), ΔG the volatile part. Kohlrausch, Ann. Phys. 167, 179
(1854); Williams & Watts, Trans. Faraday Soc. 66, 80 (1970); for memristive synapses e.g. Chang,
Jo & Lu, ACS Nano 5, 7669 (2011) and Ohno et al., Nat. Mater. 10, 591 (2011), who fit retention
curves with this form and read the STM → LTM transition from G_∞ and τ.

**Power-law drift**::

    G(t) = G₁·(t/t₁)^(−ν)                                                [S]

t₁ the first read time, G₁ the conductance there, ν the drift exponent: the form of the
resistance drift of phase-change and filamentary memories (R ∝ t^ν; Ielmini, Lacaita &
Mantegazza, IEEE TED 54, 308, 2007). Fitted as a straight line in log G vs log t.

**Retained fraction**: (G(t_end) − G_base)/(G(t_first) − G_base), the part of the change written
by the stimulus (measured at the first read, relative to the baseline read before the write)
that is still there at the last read. 0: fully volatile, 1: nothing decayed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StretchedExponentialFit:
    """G(t) = g_inf + delta_g·exp(−(t/tau)^beta), with one-sigma errors."""

    tau: float           # s
    tau_err: float       # s
    beta: float          # –
    beta_err: float      # –
    g_inf: float         # S
    g_inf_err: float     # S
    delta_g: float       # S
    delta_g_err: float   # S
    rms: float           # S, root-mean-square residual

    def predict(self, t: np.ndarray) -> np.ndarray:
        return stretched_exponential(np.asarray(t, float), self.tau, self.beta, self.g_inf, self.delta_g)


@dataclass(frozen=True)
class PowerLawFit:
    """G(t) = g1·(t/t1)^(−nu), with one-sigma errors."""

    nu: float            # –
    nu_err: float        # –
    g1: float            # S, conductance at t1
    g1_err: float        # S
    t1: float            # s, reference time (the first read)
    rms: float           # S

    def predict(self, t: np.ndarray) -> np.ndarray:
        return power_law(np.asarray(t, float), self.nu, self.g1, self.t1)


def stretched_exponential(t: np.ndarray, tau: float, beta: float, g_inf: float, delta_g: float) -> np.ndarray:
    """G_∞ + ΔG·exp(−(t/τ)^β), S."""
    return g_inf + delta_g * np.exp(-(np.maximum(t, 0.0) / tau) ** beta)


def power_law(t: np.ndarray, nu: float, g1: float, t1: float) -> np.ndarray:
    """G₁·(t/t₁)^(−ν), S."""
    return g1 * (t / t1) ** (-nu)


def fit_stretched_exponential(t: np.ndarray, g: np.ndarray) -> StretchedExponentialFit:
    """Least-squares fit of the Kohlrausch form to G (S) at times t > 0 (s).

    Fitted in ln τ (τ bounded to [t_min/100, 100·t_max]: outside, the decay is complete before the
    first read or has not begun by the last) and β ∈ [0.05, 2] (β > 1, a compressed exponential,
    is allowed so that a misfit shows rather than sticking at 1). Conductances are scaled to order
    one for the solver. A ValueError says when the trace does not determine the decay (τ or β at
    a bound, or an error as large as the value).
    """
    from scipy.optimize import curve_fit

    t = np.asarray(t, float)
    g = np.asarray(g, float)
    keep = t > 0
    t, g = t[keep], g[keep]
    if t.size < 5:
        raise ValueError(f"a stretched-exponential fit needs at least 5 reads at t > 0, got {t.size}")
    scale = max(np.ptp(g), np.abs(g).max() * 1e-6, 1e-30)
    y = g / scale
    span = y[0] - y[-1]
    # τ guess: where the curve has fallen by 1 − 1/e of its span (log-interpolated)
    target = y[-1] + span / np.e
    below = np.nonzero((y - target) * np.sign(span or 1.0) <= 0)[0]
    tau0 = float(t[below[0]]) if below.size else float(np.sqrt(t[0] * t[-1]))
    lo, hi = np.log(t.min() / 100), np.log(t.max() * 100)
    ln_tau0 = float(np.clip(np.log(tau0), lo + 1e-6, hi - 1e-6))

    def model(x, ln_tau, beta, g_inf, delta_g):
        return stretched_exponential(x, np.exp(ln_tau), beta, g_inf, delta_g)

    best = None
    for beta0 in (0.8, 0.5, 1.2):
        try:
            popt, pcov = curve_fit(model, t, y, p0=(ln_tau0, beta0, y[-1], span),
                                   bounds=([lo, 0.05, -np.inf, -np.inf], [hi, 2.0, np.inf, np.inf]),
                                   maxfev=20_000)
        except RuntimeError:
            continue
        cost = float(np.sum((model(t, *popt) - y) ** 2))
        if best is None or cost < best[0]:
            best = (cost, popt, pcov)
    if best is None:
        raise RuntimeError("the stretched-exponential fit did not converge")
    _, popt, pcov = best
    err = np.sqrt(np.abs(np.diag(pcov)))
    ln_tau, beta, g_inf, delta_g = popt
    tau = float(np.exp(ln_tau))
    at_bound = not (lo + 0.01 < ln_tau < hi - 0.01 and 0.05 * 1.01 < beta < 2.0 / 1.01)
    if at_bound or not (err[0] < 1 and err[1] < beta and err[3] < abs(delta_g)):
        raise ValueError(f"the decay is not determined by this trace (τ = {tau:.3g} s, β = {beta:.3g}): "
                         f"no relaxation within the read window, or one outside it")
    residual = g - model(t, *popt) * scale
    return StretchedExponentialFit(tau=tau, tau_err=float(tau * err[0]), beta=float(beta), beta_err=float(err[1]),
                                   g_inf=float(g_inf * scale), g_inf_err=float(err[2] * scale),
                                   delta_g=float(delta_g * scale), delta_g_err=float(err[3] * scale),
                                   rms=float(np.sqrt(np.mean(residual ** 2))))


def fit_power_law(t: np.ndarray, g: np.ndarray) -> PowerLawFit:
    """ln G = ln G₁ − ν·ln(t/t₁), least squares on the reads with t > 0 and G > 0; t₁ = first such t."""
    t = np.asarray(t, float)
    g = np.asarray(g, float)
    keep = (t > 0) & (g > 0)
    t, g = t[keep], g[keep]
    if t.size < 3:
        raise ValueError(f"a power-law fit needs at least 3 reads with t > 0 and G > 0, got {t.size}")
    t1 = float(t[0])
    x, y = np.log(t / t1), np.log(g)
    (slope, intercept), cov = np.polyfit(x, y, 1, cov="unscaled")
    residual = y - (slope * x + intercept)
    dof = max(t.size - 2, 1)
    cov = cov * float(np.sum(residual ** 2)) / dof
    g1 = float(np.exp(intercept))
    fit_g = g1 * (t / t1) ** slope
    return PowerLawFit(nu=float(-slope), nu_err=float(np.sqrt(cov[0, 0])), g1=g1, g1_err=float(g1 * np.sqrt(cov[1, 1])),
                       t1=t1, rms=float(np.sqrt(np.mean((g - fit_g) ** 2))))


def retained_fraction(g_base: float, g_first: float, g_end: float) -> float:
    """(G_end − G_base)/(G_first − G_base): the share of the written change left at the end."""
    written = g_first - g_base
    if written == 0:
        return float("nan")
    return float((g_end - g_base) / written)
