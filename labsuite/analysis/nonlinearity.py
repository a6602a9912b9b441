r"""Conductance-update nonlinearity: the NeuroSim G(P) model.

    G(P) = G₀ + B·(1 − e^(−P/A))

P is the pulse number (P = 0 before the first pulse), A the nonlinearity constant in pulses
(small A: strongly saturating; A → ∞: linear), B the span (B > 0 potentiation, B < 0
depression). NeuroSim (Chen, Peng & Yu, IEEE TCAD 37, 3067, 2018) quotes A on a pulse axis
normalized to the train length, A_norm = A / P_max; both are reported.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NonlinearityFit:
    """Fitted G(P) = g0 + b·(1 − exp(−P/a)) with one-sigma uncertainties."""

    a: float          # pulses
    a_err: float      # pulses
    b: float          # S
    b_err: float      # S
    g0: float         # S
    g0_err: float     # S
    rms: float        # S, root-mean-square residual
    p_max: float      # pulses in the fitted train
    determined: bool = True   # the trace fixes A: see fit_nonlinearity

    @property
    def a_normalized(self) -> float:
        """A on NeuroSim's normalized pulse axis (P / P_max)."""
        return self.a / self.p_max

    def predict(self, pulses: np.ndarray) -> np.ndarray:
        return conductance_model(np.asarray(pulses, float), self.a, self.b, self.g0)


def conductance_model(pulses: np.ndarray, a: float, b: float, g0: float) -> np.ndarray:
    """G(P) = g0 + b·(1 − exp(−P/a)), S."""
    return g0 + b * -np.expm1(-pulses / a)


def fit_nonlinearity(pulses: np.ndarray, conductance: np.ndarray) -> NonlinearityFit:
    """Least-squares fit of the NeuroSim model to G (S) vs pulse number.

    A is bounded to [0.01, 1000·P_max] pulses: beyond that the response is linear within any
    measurement noise and A, B are no longer separately determined. ``determined`` is False when
    the trace does not fix A: no change beyond its noise (|B| ≤ 3·rms), A at a bound or with an
    error as large as itself, or a span B far beyond the data (an accelerating, convex trace,
    which this saturating form cannot take). Report A only when it is True.
    """
    from scipy.optimize import curve_fit

    p = np.asarray(pulses, float)
    g = np.asarray(conductance, float)
    if p.size < 4:
        raise ValueError(f"a nonlinearity fit needs at least 4 points, got {p.size}")
    p_max = float(p.max())
    span = g[-1] - g[0]
    scale = max(np.ptp(g), np.abs(g).max() * 1e-6, 1e-30)
    a0 = max(p_max / 3, 0.1)
    # fit in units of the conductance scale so that the solver sees numbers of order one
    popt, pcov = curve_fit(lambda x, a, b, g0: conductance_model(x, a, b, g0), p, g / scale,
                           p0=(a0, span / scale / -np.expm1(-p_max / a0), g[0] / scale),
                           bounds=([0.01, -np.inf, -np.inf], [1000 * max(p_max, 1), np.inf, np.inf]),
                           maxfev=20_000)
    err = np.sqrt(np.diag(pcov))
    a, b, g0 = popt
    residual = g - conductance_model(p, a, b * scale, g0 * scale)
    rms = float(np.sqrt(np.mean(residual ** 2)))
    a_high = 1000 * max(p_max, 1)
    determined = bool(0.01 * 1.01 < a < a_high / 1.01 and np.isfinite(err[0]) and err[0] < a
                      and abs(b * scale) > 3 * rms and abs(b * scale) < 100 * float(np.ptp(g)))
    return NonlinearityFit(a=float(a), a_err=float(err[0]), b=float(b * scale), b_err=float(err[1] * scale),
                           g0=float(g0 * scale), g0_err=float(err[2] * scale), rms=rms, p_max=p_max,
                           determined=determined)
