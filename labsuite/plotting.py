"""Render a :class:`~labsuite.core.plotspec.PlotSpec` to a file (PNG/PDF/SVG) with matplotlib, headless."""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from labsuite.core.plotspec import PlotSpec  # noqa: E402
from labsuite.core.units import unit_registry  # noqa: E402


def _scale(values: np.ndarray, unit: str) -> tuple[float, str]:
    """A factor and prefixed unit that make ``values`` read well (S → µS)."""
    if not unit or unit == "1" or not np.any(np.isfinite(values)):
        return 1.0, unit
    peak = float(np.nanmax(np.abs(values))) or 1.0
    compact = unit_registry().Quantity(peak, unit).to_compact()
    return float(compact.magnitude / peak), f"{compact.units:~P}"


def render(spec: PlotSpec, path: str | Path) -> Path:
    """Draw ``spec`` and save it to ``path``."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    xs = np.concatenate([s.x for s in spec.series]) if spec.series else np.zeros(1)
    ys = np.concatenate([s.y for s in spec.series]) if spec.series else np.zeros(1)
    fx, ux = (1.0, spec.x_unit) if spec.log_x else _scale(xs, spec.x_unit)
    fy, uy = (1.0, spec.y_unit) if spec.log_y else _scale(ys, spec.y_unit)
    for s in spec.series:
        kwargs = {"points": dict(ls="", marker="o", ms=3.5), "line": dict(lw=1.2),
                  "fit": dict(lw=1.6, ls="-")}[s.style]
        ax.plot(s.x * fx, s.y * fy, label=s.name, **kwargs)
    ax.set_xscale("log" if spec.log_x else "linear")
    ax.set_yscale("log" if spec.log_y else "linear")
    ax.set_xlabel(f"{spec.x_label} ({ux})" if ux else spec.x_label)
    ax.set_ylabel(f"{spec.y_label} ({uy})" if uy else spec.y_label)
    notes = textwrap.wrap("   ·   ".join(spec.notes), width=80) if spec.notes else []
    ax.set_title("\n".join([spec.title, *notes]), fontsize=11 if notes else None)
    ax.grid(alpha=0.3)
    if len(spec.series) > 1:
        ax.legend(frameon=False)
    path = Path(path)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
