r"""Paired-pulse facilitation (PPF) / depression (PPD): the index and its multi-exponential decay.

Definition used here. Two identical pulses separated by a gap Δt (end of pulse 1 to start of
pulse 2). G_base is read at rest just before the pair, G₁ right after pulse 1 and G₂ right after
pulse 2 (same read, same delay after its pulse). The responses are the conductance increases over
the resting baseline and the index is their ratio:

    A₁ = G₁ − G_base,   A₂ = G₂ − G_base,   PPF(Δt) = A₂/A₁                        [–]

PPF > 1 is facilitation, PPF < 1 depression; it is often quoted in %, 100·A₂/A₁ (Zucker &
Regehr, Annu. Rev. Physiol. 64, 355, 2002, who also use the alternative (A₂ − A₁)/A₁ = PPF − 1;
Ohno et al., Nat. Mater. 10, 591, 2011 and most memristor papers use A₂/A₁). With repeated pairs
the responses are averaged first, PPF = ⟨A₂⟩/⟨A₁⟩: a ratio of means is not biased by a noisy A₁
in the denominator the way a mean of ratios is.

The decay with Δt is fitted by the double exponential used for biological and memristive
synapses (Zucker & Regehr 2002; e.g. Wang et al., Nat. Mater. 16, 101, 2017):

    PPF(Δt) = 1 + C₁·e^(−Δt/τ₁) + C₂·e^(−Δt/τ₂),   τ₁ < τ₂                           [–]

so that PPF → 1 once the short-term state has relaxed. For a device whose volatile components
add linearly (e.g. the simulator's ``multi-timescale`` model) this form is exact, with C_i the
share of the first response carried by component i. A device whose pulses also leave a
non-volatile increment does not relax to 1: the second response keeps the first pulse's lasting
step, so PPF(Δt → ∞) = P∞ > 1. A third candidate, P∞ + C₁·e^(−Δt/τ₁) with P∞ free, covers it
(``baseline``); without it the fit would invent a slow second term to reach the plateau.

Choosing one or two terms. Both the single exponential 1 + C·e^(−Δt/τ) and the double one are
fitted (least squares; the start values come from a log grid of time constants with the C's
solved linearly, then bounded trust-region least squares refines all parameters). The double
exponential is kept only if (i) its small-sample Akaike criterion is lower by more than 2,
AICc = n·ln(SSR/n) + 2k + 2k(k+1)/(n − k − 1) with k = 2 or 4 parameters (Burnham & Anderson,
*Model Selection and Multimodel Inference*, 2002: ΔAICc > 2 is substantial support), and (ii)
each of its four parameters is determined, |value| > its one-sigma error, with τ₂/τ₁ > 1.2.
Otherwise the single exponential is reported (``terms == 1``; C₂ = 0 and τ₂ = NaN). The
free-baseline candidate (k = 3) enters the same way: it replaces the current choice only if its
AICc is lower by more than 2 and its parameters are determined; the double exponential must
then beat it by more than 2 as well.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


def ppf_index(base: np.ndarray, g1: np.ndarray, g2: np.ndarray, axis: int | None = None) -> np.ndarray:
    """PPF = A₂/A₁ with A_i = g_i − base (conductances in S, any consistent unit).

    With ``axis`` the responses are averaged over that axis (the repeated pairs) before the
    ratio is taken, PPF = ⟨A₂⟩/⟨A₁⟩; without it the index is taken element by element.
    """
    base, g1, g2 = (np.asarray(a, float) for a in (base, g1, g2))
    a1, a2 = g1 - base, g2 - base
    if axis is not None:
        a1, a2 = a1.mean(axis=axis), a2.mean(axis=axis)
    return a2 / a1


def ppf_standard_error(base: np.ndarray, g1: np.ndarray, g2: np.ndarray, axis: int = -1) -> np.ndarray:
    """One-sigma error of ⟨A₂⟩/⟨A₁⟩ over ``axis`` (first-order propagation with the A₁–A₂
    covariance of the repeats); NaN with fewer than two repeats."""
    base, g1, g2 = (np.asarray(a, float) for a in (base, g1, g2))
    a1, a2 = np.moveaxis(g1 - base, axis, -1), np.moveaxis(g2 - base, axis, -1)
    n = a1.shape[-1]
    if n < 2:
        return np.full(a1.shape[:-1], np.nan)
    m1, m2 = a1.mean(-1), a2.mean(-1)
    d1, d2 = a1 - m1[..., None], a2 - m2[..., None]
    v1, v2, c12 = (d1 * d1).sum(-1) / (n - 1), (d2 * d2).sum(-1) / (n - 1), (d1 * d2).sum(-1) / (n - 1)
    r = m2 / m1
    return np.abs(r) * np.sqrt(np.maximum(v1 / m1 ** 2 + v2 / m2 ** 2 - 2 * c12 / (m1 * m2), 0.0) / n)


def double_exponential(dt: np.ndarray, c1: float, tau1: float, c2: float, tau2: float) -> np.ndarray:
    """1 + c1·exp(−dt/tau1) + c2·exp(−dt/tau2) (dt, tau in s)."""
    dt = np.asarray(dt, float)
    return 1.0 + c1 * np.exp(-dt / tau1) + c2 * np.exp(-dt / tau2)


def single_exponential(dt: np.ndarray, c1: float, tau1: float) -> np.ndarray:
    """1 + c1·exp(−dt/tau1) (dt, tau in s)."""
    return 1.0 + c1 * np.exp(-np.asarray(dt, float) / tau1)


def offset_exponential(dt: np.ndarray, baseline: float, c1: float, tau1: float) -> np.ndarray:
    """baseline + c1·exp(−dt/tau1): a plateau left by non-volatile increments (dt, tau in s)."""
    return baseline + c1 * np.exp(-np.asarray(dt, float) / tau1)


@dataclass(frozen=True)
class PPFFit:
    """PPF(Δt) = 1 + c1·e^(−Δt/tau1) + c2·e^(−Δt/tau2) with one-sigma errors (tau in s).

    ``terms`` is 2 for the double exponential, 1 when the single one was chosen (then c2 = 0,
    tau2 = NaN and their errors NaN). ``aicc_1``/``aicc_2`` are the criteria of both fits
    (``aicc_2`` NaN when there were too few points to fit four parameters).
    """

    c1: float
    c1_err: float
    tau1: float
    tau1_err: float
    c2: float
    c2_err: float
    tau2: float
    tau2_err: float
    terms: int
    rms: float
    aicc_1: float
    aicc_2: float
    baseline: float = 1.0          # PPF at long intervals: 1 unless a plateau was fitted
    baseline_err: float = np.nan

    def predict(self, dt: np.ndarray) -> np.ndarray:
        if self.terms == 1:
            return offset_exponential(dt, self.baseline, self.c1, self.tau1)
        return double_exponential(dt, self.c1, self.tau1, self.c2, self.tau2)


def _aicc(ssr: float, n: int, k: int) -> float:
    if n - k - 1 <= 0:
        return np.nan
    ssr = max(ssr, 1e-300 * n)
    return n * np.log(ssr / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def _fit(model, dt, y, p0, lower, upper, sigma):
    from scipy.optimize import OptimizeWarning, curve_fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        popt, pcov = curve_fit(model, dt, y, p0=p0, bounds=(lower, upper), sigma=sigma,
                               absolute_sigma=False, maxfev=20_000)
    return popt, np.sqrt(np.abs(np.diag(pcov)))


def fit_double_exponential(dt: np.ndarray, ppf: np.ndarray, sigma: np.ndarray | None = None) -> PPFFit:
    """Fit PPF (A₂/A₁, not %) vs Δt (s); choose one or two exponentials (module docstring).

    ``sigma``: optional one-sigma errors of the PPF points, used as relative weights (the
    parameter errors are scaled by the residuals either way). Time constants are bounded to
    [min Δt/100, 100·max Δt]: outside that span the data do not determine them.
    """
    dt, y = np.asarray(dt, float), np.asarray(ppf, float)
    ok = np.isfinite(dt) & np.isfinite(y)
    if sigma is not None:
        sigma = np.asarray(sigma, float)
        ok &= np.isfinite(sigma) & (sigma > 0)
    dt, y = dt[ok], y[ok]
    sigma = sigma[ok] if sigma is not None else None
    n = dt.size
    if n < 3:
        raise ValueError(f"a PPF fit needs at least 3 intervals, got {n}")
    w = 1.0 / sigma if sigma is not None else np.ones(n)
    t_lo, t_hi = dt.min() / 100, dt.max() * 100
    grid = np.geomspace(max(dt.min() / 10, t_lo), min(dt.max() * 10, t_hi), 48)
    basis = np.exp(-dt[:, None] / grid[None, :])                 # (n, grid)
    z = (y - 1.0) * w

    # single exponential: for each τ the best C is linear
    bw = basis * w[:, None]
    c_single = (bw * z[:, None]).sum(0) / np.maximum((bw * bw).sum(0), 1e-300)
    ssr_single = ((z[:, None] - bw * c_single) ** 2).sum(0)
    j = int(np.argmin(ssr_single))
    p1, e1 = _fit(single_exponential, dt, y, (c_single[j], grid[j]), [-np.inf, t_lo], [np.inf, t_hi], sigma)
    ssr1 = float(np.sum(((y - single_exponential(dt, *p1)) * w) ** 2))
    aicc1 = _aicc(ssr1, n, 2)
    single = PPFFit(float(p1[0]), float(e1[0]), float(p1[1]), float(e1[1]), 0.0, np.nan, np.nan, np.nan, 1,
                    float(np.sqrt(np.mean((y - single_exponential(dt, *p1)) ** 2))), aicc1, np.nan)
    return _checked(_best(single, aicc1, dt, y, w, sigma, grid, c_single[j], n, t_lo, t_hi), t_lo, t_hi)


def _checked(fit: PPFFit, t_lo: float, t_hi: float) -> PPFFit:
    """The fit, if the intervals determine it: every amplitude larger than its error, every τ inside
    its bounds with an error smaller than itself. Otherwise a ValueError saying so."""
    taus = [(fit.tau1, fit.tau1_err)] + ([(fit.tau2, fit.tau2_err)] if fit.terms == 2 else [])
    amplitudes = [(fit.c1, fit.c1_err)] + ([(fit.c2, fit.c2_err)] if fit.terms == 2 else [])
    ok = all(t_lo * 1.01 < t < t_hi / 1.01 and np.isfinite(e) and e < t for t, e in taus) \
        and all(np.isfinite(e) and abs(c) > e for c, e in amplitudes)
    if not ok:
        raise ValueError(f"the PPF decay is not determined by these intervals (τ1 = {fit.tau1:.3g} ± "
                         f"{fit.tau1_err:.3g} s, C1 = {fit.c1:.3g} ± {fit.c1_err:.3g}): no short-term "
                         f"response, or one slower than the longest interval")
    return fit


def _best(single: PPFFit, aicc1: float, dt, y, w, sigma, grid, c_start, n, t_lo, t_hi) -> PPFFit:
    """Among the single exponential, the free plateau and the double exponential, the one the
    data support (module docstring)."""
    if n < 5:
        return single
    chosen, chosen_aicc = single, aicc1
    try:
        p3, e3 = _fit(offset_exponential, dt, y, (y[np.argmax(dt)], c_start, single.tau1),
                      [-np.inf, -np.inf, t_lo], [np.inf, np.inf, t_hi], sigma)
        residual3 = y - offset_exponential(dt, *p3)
        aicc3 = _aicc(float(np.sum((residual3 * w) ** 2)), n, 3)
        if np.all(np.isfinite(e3)) and np.all(np.abs(p3[1:]) > e3[1:]) and aicc3 < aicc1 - 2:
            chosen = PPFFit(float(p3[1]), float(e3[1]), float(p3[2]), float(e3[2]), 0.0, np.nan, np.nan, np.nan, 1,
                            float(np.sqrt(np.mean(residual3 ** 2))), aicc1, np.nan, float(p3[0]), float(e3[0]))
            chosen_aicc = aicc3
    except (RuntimeError, ValueError):
        pass
    if n < 6:
        return chosen

    # double exponential: start from the best pair of the grid (C's by linear least squares)
    z = (y - 1.0) * w
    bw = np.exp(-dt[:, None] / grid[None, :]) * w[:, None]
    best, start = np.inf, None
    for a in range(grid.size):
        for b in range(a + 2, grid.size):
            m = bw[:, [a, b]]
            c, *_ = np.linalg.lstsq(m, z, rcond=None)
            ssr = float(np.sum((z - m @ c) ** 2))
            if ssr < best:
                best, start = ssr, (c[0], grid[a], c[1], grid[b])
    try:
        p2, e2 = _fit(double_exponential, dt, y, start, [-np.inf, t_lo, -np.inf, t_lo],
                      [np.inf, t_hi, np.inf, t_hi], sigma)
    except (RuntimeError, ValueError):
        return chosen
    if p2[1] > p2[3]:                                             # order the terms: τ1 < τ2
        p2, e2 = p2[[2, 3, 0, 1]], e2[[2, 3, 0, 1]]
    residual = y - double_exponential(dt, *p2)
    aicc2 = _aicc(float(np.sum((residual * w) ** 2)), n, 4)
    determined = bool(np.all(np.isfinite(e2)) and np.all(np.abs(p2) > e2) and p2[3] / p2[1] > 1.2)
    if not (determined and aicc2 < chosen_aicc - 2):
        return PPFFit(**{**chosen.__dict__, "aicc_2": aicc2})
    return PPFFit(float(p2[0]), float(e2[0]), float(p2[1]), float(e2[1]), float(p2[2]), float(e2[2]),
                  float(p2[3]), float(e2[3]), 2, float(np.sqrt(np.mean(residual ** 2))), aicc1, aicc2)
