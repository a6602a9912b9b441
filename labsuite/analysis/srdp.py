r"""Spike-rate-dependent plasticity (SRDP): conductance change vs the rate of a pulse train.

Each train of N identical pulses at rate f changes the conductance by

    ΔG(f) = G_after − G_before                                                    [S]

G_before read at rest before the train, G_after a settle time after its last pulse. With a settle
time long against the device's volatile relaxation, ΔG is the lasting (long-term) change; with a
short one it includes the short-term part. A device that consolidates short-term into long-term
memory when pulses come fast (Ohno et al., Nat. Mater. 10, 591, 2011; Chang, Jo & Lu, ACS Nano
5, 7669, 2011) shows ΔG rising with f; the BCM-like rate rule (Bienenstock, Cooper & Munro,
J. Neurosci. 2, 32, 1982) appears as depression at low and potentiation at high rates.

Half-maximum rate. ΔG_max is the change of largest magnitude (its sign kept) and f½ the lowest
rate at which ΔG reaches ΔG_max/2, interpolated linearly in ΔG against log f between the two
rates that bracket the crossing. It is NaN when no pair brackets it (ΔG already at or above half
the maximum at the lowest rate, or fewer than two rates).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RateResponse:
    """ΔG (S) vs train rate (Hz) and the figures read from it."""

    rate: np.ndarray             # Hz, ascending
    delta_g: np.ndarray          # S
    delta_g_max: float           # S, ΔG of largest magnitude
    rate_at_max: float           # Hz, where it occurs
    half_max_rate: float         # Hz, f½ (NaN if not bracketed)


def conductance_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """ΔG = G_after − G_before (S)."""
    return np.asarray(after, float) - np.asarray(before, float)


def half_max_rate(rate: np.ndarray, delta_g: np.ndarray) -> float:
    """Lowest rate (Hz) at which ΔG reaches half its extreme value, log-f interpolated; NaN if none."""
    f, dg = np.asarray(rate, float), np.asarray(delta_g, float)
    order = np.argsort(f)
    f, dg = f[order], dg[order]
    if f.size < 2 or not np.all(f > 0):
        return float("nan")
    peak = dg[np.argmax(np.abs(dg))]
    if peak == 0:
        return float("nan")
    u = dg / peak                                   # 1 at the extreme, whatever its sign
    if u[0] >= 0.5:
        return float("nan")
    k = int(np.argmax(u >= 0.5))                    # first rate at or above half
    x0, x1 = np.log(f[k - 1]), np.log(f[k])
    return float(np.exp(x0 + (0.5 - u[k - 1]) * (x1 - x0) / (u[k] - u[k - 1])))


def rate_response(rate: np.ndarray, delta_g: np.ndarray) -> RateResponse:
    """ΔG vs rate, sorted by rate, with its extreme and half-maximum rate."""
    f, dg = np.asarray(rate, float), np.asarray(delta_g, float)
    if f.size == 0:
        raise ValueError("no trains to analyze")
    order = np.argsort(f)
    f, dg = f[order], dg[order]
    k = int(np.argmax(np.abs(dg)))
    return RateResponse(f, dg, float(dg[k]), float(f[k]), half_max_rate(f, dg))
