r"""Spike-timing-dependent plasticity: the exponential STDP window.

    ΔG/G(Δt) =  A₊·e^(−Δt/τ₊)     for Δt > 0   (post after pre)
    ΔG/G(Δt) = −A₋·e^( Δt/τ₋)     for Δt < 0   (post before pre)

with Δt = t_post − t_pre and ΔG/G = (G_after − G_before)/G_before, the relative lasting change of
one pre/post spike pair. This is the form Bi & Poo measured on hippocampal synapses (J. Neurosci.
18, 10464, 1998) and the one used in models of STDP learning (Song, Miller & Abbott, Nat.
Neurosci. 3, 919, 2000). Hebbian STDP has A₊, A₋ > 0 (potentiation for causal pairs, depression
for anti-causal ones); the fit does not force the signs, so an anti-Hebbian device shows
A₊ < 0 or A₋ < 0.

Each branch is fitted separately by least squares (scipy.optimize.curve_fit), every pair a
point (repeats at the same Δt are separate points); the one-sigma errors are the square roots
of the covariance diagonal, scaled by the residuals. Δt = 0 belongs to neither branch and is
ignored. Units: Δt and τ in s, A± and ΔG/G as fractions (0.1 = 10 %).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StdpFit:
    """Fitted STDP window with one-sigma uncertainties (A± fractions, τ± in s)."""

    a_plus: float
    a_plus_err: float
    tau_plus: float
    tau_plus_err: float
    a_minus: float
    a_minus_err: float
    tau_minus: float
    tau_minus_err: float
    rms: float            # root-mean-square residual of ΔG/G over both branches

    def predict(self, dt: np.ndarray) -> np.ndarray:
        return stdp_window(np.asarray(dt, float), self.a_plus, self.tau_plus, self.a_minus, self.tau_minus)


def stdp_window(dt: np.ndarray, a_plus: float, tau_plus: float, a_minus: float, tau_minus: float) -> np.ndarray:
    """ΔG/G at Δt (s): A₊e^(−Δt/τ₊) for Δt > 0, −A₋e^(Δt/τ₋) for Δt < 0; 0 at 0, NaN at NaN."""
    dt = np.asarray(dt, dtype=float)
    out = np.where(np.isnan(dt), np.nan, 0.0)
    pos, neg = dt > 0, dt < 0
    out[pos] = a_plus * np.exp(-dt[pos] / tau_plus)
    out[neg] = -a_minus * np.exp(dt[neg] / tau_minus)
    return out


def _fit_branch(lag: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Fit y = a·e^(−lag/τ), lag > 0; return (a, a_err, τ, τ_err)."""
    from scipy.optimize import curve_fit

    if np.unique(lag).size < 2 or lag.size < 3:
        raise ValueError(f"an STDP branch needs at least 3 pairs at 2 or more |Δt|, got {lag.size} "
                         f"at {np.unique(lag).size}")
    span = float(lag.max() - lag.min())
    # start: a log-linear fit on the points of the dominant sign
    sign = 1.0 if y.sum() >= 0 else -1.0
    ok = sign * y > 0
    tau0 = span / 2
    if np.unique(lag[ok]).size >= 2:
        slope = np.polyfit(lag[ok], np.log(sign * y[ok]), 1)[0]
        if slope < 0:
            tau0 = float(np.clip(-1.0 / slope, span / 50, 20 * lag.max()))
    scale = max(float(np.abs(y).max()), 1e-30)
    a0 = float(np.mean(y[lag == lag.min()])) / scale * np.exp(lag.min() / tau0)
    low, high = lag.min() / 100, 100 * lag.max()
    popt, pcov = curve_fit(lambda x, a, tau: a * np.exp(-x / tau), lag, y / scale, p0=(a0, tau0),
                           bounds=([-np.inf, low], [np.inf, high]), maxfev=20_000)
    err = np.sqrt(np.diag(pcov))
    tau, tau_err = float(popt[1]), float(err[1])
    if not low * 1.01 < tau < high / 1.01 or not tau_err < tau:
        raise ValueError(f"the STDP window is not determined by these pairs (τ = {tau:.3g} ± {tau_err:.3g} s): "
                         f"it is narrower than the shortest |Δt| or buried in the read noise")
    return float(popt[0] * scale), float(err[0] * scale), tau, tau_err


def fit_stdp(dt: np.ndarray, dg_over_g: np.ndarray) -> StdpFit:
    """Least-squares fit of the exponential STDP window to ΔG/G (fraction) vs Δt (s).

    Each branch (Δt > 0, Δt < 0) needs at least 3 pairs at 2 or more distinct |Δt|. τ is bounded
    to [min |Δt|/100, 100·max |Δt|]: outside that range the branch is flat or a step within
    the sampled Δt and τ is not determined.
    """
    dt = np.asarray(dt, dtype=float)
    y = np.asarray(dg_over_g, dtype=float)
    if dt.shape != y.shape:
        raise ValueError(f"Δt and ΔG/G must have the same shape, got {dt.shape} and {y.shape}")
    keep = np.isfinite(dt) & np.isfinite(y)
    dt, y = dt[keep], y[keep]
    pos, neg = dt > 0, dt < 0
    a_p, a_p_err, tau_p, tau_p_err = _fit_branch(dt[pos], y[pos])
    a_m, a_m_err, tau_m, tau_m_err = _fit_branch(-dt[neg], -y[neg])
    residual = y[pos | neg] - stdp_window(dt[pos | neg], a_p, tau_p, a_m, tau_m)
    return StdpFit(a_plus=a_p, a_plus_err=a_p_err, tau_plus=tau_p, tau_plus_err=tau_p_err,
                   a_minus=a_m, a_minus_err=a_m_err, tau_minus=tau_m, tau_minus_err=tau_m_err,
                   rms=float(np.sqrt(np.mean(residual ** 2))))
