"""Fit a device model's parameters to measured data, so a simulated twin can stand in for a device.

The model plays the same PulseProgram the measurement used (see :mod:`playback`, noise off);
``observable(samples)`` turns the simulated samples into whatever was measured — currents, a
conductance trace, a paired-pulse ratio curve, an I–V loop — and scipy's trust-region least
squares moves the free parameters until it matches ``target``. Positive parameters are fitted on
a log scale (they span decades). One-sigma uncertainties come from the Jacobian at the optimum,
scaled by the residual variance.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from labsuite.core.program import PulseProgram
from labsuite.simulator.models import MODELS
from labsuite.simulator.models.base import DeviceModel
from labsuite.simulator.playback import play

NOISE_FIELDS = ("c2c_sigma", "d2d_sigma", "read_noise", "write_noise")
MAX_EVALUATIONS = 400   # of the residual by the least-squares steps (finite differences not counted)


def conductance(samples: np.ndarray) -> np.ndarray:
    """G = I/V of each reading, S (the usual observable of a pulse-train measurement)."""
    return samples["current"] / samples["voltage"]


@dataclass(frozen=True)
class ModelFit:
    """Fitted parameters of ``model`` with one-sigma errors, and how well they fit."""

    model: str
    params: dict[str, float]
    errors: dict[str, float]
    fixed: dict[str, float]
    rms: float                 # RMS residual, in the units of the target
    relative_rms: float        # RMS residual / peak-to-peak of the target
    evaluations: int

    def twin(self, n: int = 1, rng: np.random.Generator | None = None, **overrides: float) -> DeviceModel:
        """A model with the fitted parameters (noise as in ``fixed``/``overrides``, default off)."""
        cls = MODELS[self.model]
        return cls(replace(cls.params_type(), **{**self.fixed, **self.params, **overrides}), n=n, rng=rng)


def fit_model(model: str, program: PulseProgram, target: np.ndarray,
              free: Mapping[str, tuple[float, float, float]], *, fixed: Mapping[str, float] | None = None,
              observable: Callable[[np.ndarray], np.ndarray] = conductance,
              series_resistance: float = 0.0,
              progress: Callable[[int, int], None] | None = None) -> ModelFit:
    """Fit ``free`` parameters ({name: (initial, low, high)}, SI) of the model called ``model``.

    ``fixed`` sets other parameters; noise parameters default to zero so the fit sees the
    deterministic response. ``progress(runs, most)`` is called after each play of the program on
    the model, with the plays so far and the most the fit may take (it usually stops well before),
    and once more with both the plays it took when the fit has ended.
    Raises ValueError for unknown parameter names or bad bounds.
    """
    cls = MODELS[model]
    names = {f for f in cls.params_type.__dataclass_fields__}
    fixed = {**{k: 0.0 for k in NOISE_FIELDS if k in names}, **dict(fixed or {})}
    for name, (initial, low, high) in free.items():
        if name not in names:
            raise ValueError(f"{model} has no parameter {name!r}; it has {', '.join(sorted(names))}")
        if not low <= initial <= high or low >= high:
            raise ValueError(f"{name}: need low ≤ initial ≤ high with low < high, got {(initial, low, high)}")
    target = np.asarray(target, dtype=float)
    scale = float(np.ptp(target)) or float(np.max(np.abs(target))) or 1.0
    keys = list(free)
    logs = np.array([free[k][1] > 0 for k in keys])

    def to_params(z: np.ndarray) -> dict[str, float]:
        return {k: float(np.exp(v) if log else v) for k, v, log in zip(keys, z, logs)}

    most = MAX_EVALUATIONS * (len(keys) + 1)   # each evaluation, and a finite-difference Jacobian per step
    runs = 0

    def residual(z: np.ndarray) -> np.ndarray:
        nonlocal runs
        device = cls(replace(cls.params_type(), **fixed, **to_params(z)), rng=np.random.default_rng(0))
        simulated = observable(play(program, device, series_resistance=series_resistance, read_noise=False))
        runs += 1
        if progress is not None:
            progress(runs, most)
        return (np.asarray(simulated, dtype=float) - target) / scale

    def z_of(values: np.ndarray) -> np.ndarray:
        return np.where(logs, np.log(np.where(logs, values, 1.0)), values)

    lows, highs = (np.array([free[k][i] for k in keys]) for i in (1, 2))
    result = least_squares(residual, z_of(np.array([free[k][0] for k in keys])), bounds=(z_of(lows), z_of(highs)),
                           x_scale="jac", diff_step=1e-4, ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=MAX_EVALUATIONS)
    if progress is not None:
        progress(runs, runs)
    values = to_params(result.x)
    dof = max(1, target.size - len(keys))
    variance = float(np.sum(result.fun ** 2)) / dof
    try:
        cov = np.linalg.inv(result.jac.T @ result.jac) * variance
        sigma_z = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        sigma_z = np.full(len(keys), np.inf)
    errors = {k: float(values[k] * s if log else s) for k, s, log in zip(keys, sigma_z, logs)}
    rms = float(np.sqrt(np.mean(result.fun ** 2))) * scale
    return ModelFit(model, values, errors, dict(fixed), rms, rms / (float(np.ptp(target)) or 1.0), int(result.nfev))


def describe(fit: ModelFit, units: Mapping[str, str] | None = None) -> dict[str, Any]:
    """JSON-ready summary of a fit."""
    return {"model": fit.model, "params": fit.params, "errors": fit.errors, "fixed": fit.fixed,
            "rms": fit.rms, "relative_rms": fit.relative_rms, "evaluations": fit.evaluations,
            "units": dict(units or {})}
