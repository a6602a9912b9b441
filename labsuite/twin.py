"""Re-run a stored run's protocol on a simulated twin and compare: figures of merit side by side,
the two results overlaid in one plot.

With ``fit=True`` the twin's device parameters are first fitted to the run's measured currents
(every reading, through the same program played straight on the model); the free parameters are
the model's device-to-device parameters, each between 1/1000 and 1000 times its default.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from labsuite.bench import Bench
from labsuite.core.events import RunObserver
from labsuite.core.names import resolve
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.experiment import RunResult, make_protocol, run_protocol
from labsuite.store import read_run


@dataclass
class Comparison:
    measured: dict[str, float]
    simulated: RunResult
    model: str
    model_params: dict[str, float]
    fit_relative_rms: float | None
    plot: PlotSpec

    def table(self) -> dict[str, tuple[float | None, float | None]]:
        """{figure: (measured, simulated)} for every figure either side reports."""
        names = list(dict.fromkeys([*self.measured, *self.simulated.figures]))
        return {n: (self.measured.get(n), self.simulated.figures.get(n)) for n in names}

    def summary(self) -> dict[str, Any]:
        return {"model": self.model, "model_params": self.model_params, "fit_relative_rms": self.fit_relative_rms,
                "simulated_run_file": str(self.simulated.path) if self.simulated.path else None,
                "figures": {n: {"measured": m, "simulated": s} for n, (m, s) in self.table().items()},
                "figure_units": {n: self.simulated.protocol.figure_units.get(n, "") for n in self.table()}}


def resimulate(run_file: str | Path, *, model: str | None = None, fit: bool = False, seed: int | None = None,
               out_dir: str | Path | None = None, observers: list[RunObserver] | tuple = (),
               fit_progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Run ``run_file``'s protocol, with its parameters, on a simulated twin (see module docstring).

    ``observers`` follow the twin's run; ``fit_progress(runs, most)`` follows the fit
    (:func:`labsuite.simulator.fitting.fit_model`)."""
    from labsuite.simulator.fitting import fit_model
    from labsuite.simulator.models import DEFAULT_MODEL, MODELS

    run = read_run(run_file)
    provenance = json.loads(run.attrs.get("provenance", "{}"))
    protocol = make_protocol(run.attrs["protocol"], {**run.parameters, **provenance.get("options", {})})
    stored_sim = json.loads(run.attrs.get("bench", "{}")).get("simulator") or {}
    name = model or stored_sim.get("model", {}).get("model") or DEFAULT_MODEL
    params: dict[str, float] = {}
    if not model and stored_sim:       # a simulated run: start from its own device parameters
        params = {k: v for k, v in stored_sim["model"].items() if k != "model"}
    rms = None
    name = resolve(MODELS, name, "model")   # a run file's stored model, or a name given to this function
    if fit:
        cls = MODELS[name]
        free = {f.name: (params.get(f.name, f.default), f.default / 1000, f.default * 1000)
                for f in fields(cls.params_type) if f.metadata.get("d2d") and f.default > 0}
        free = {k: (float(np.clip(v0, lo, hi)), lo, hi) for k, (v0, lo, hi) in free.items()}
        result = fit_model(name, protocol.program(), run.samples["current"], free,
                           fixed={k: v for k, v in params.items() if k not in free},
                           observable=lambda samples: samples["current"], progress=fit_progress)
        params.update(result.params)
        rms = result.relative_rms
    sim_seed = seed if seed is not None else int(stored_sim.get("seed", 0)) if stored_sim else 0
    with Bench.simulated(name, sim_seed, model_params=params) as bench:
        simulated = run_protocol(protocol, bench, out_dir=out_dir, observers=observers,
                                 device_id=f"twin of {run.attrs.get('device_id', '')}")
    measured_spec = protocol.plot(run.samples, dict(run.analysis))
    simulated_spec = protocol.plot(simulated.samples, simulated.figures)
    series = (Series("measured", measured_spec.series[0].x, measured_spec.series[0].y, "points"),
              Series(f"twin ({name}{', fitted' if fit else ''})", simulated_spec.series[0].x,
                     simulated_spec.series[0].y, "line"))
    plot = PlotSpec(f"{measured_spec.title}: measured vs simulated twin", measured_spec.x_label, measured_spec.x_unit,
                    measured_spec.y_label, measured_spec.y_unit, series, measured_spec.log_x, measured_spec.log_y)
    return Comparison({k: float(v) for k, v in run.analysis.items() if k != "units"}, simulated, name, params, rms,
                      plot)
