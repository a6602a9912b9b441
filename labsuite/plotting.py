"""Static figures of a run (PNG/PDF/SVG via matplotlib, no display needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from labsuite.analysis.nonlinearity import conductance_model  # noqa: E402
from labsuite.units import format_quantity  # noqa: E402


def plot_conductance_updates(pulses: np.ndarray, conductance: np.ndarray, figures: dict[str, float],
                             path: str | Path, title: str = "") -> Path:
    """G vs pulse number with the NeuroSim fit, saved to ``path``."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.plot(pulses, conductance * 1e6, "o", ms=3.5, label="measured")
    if "nonlinearity_a" in figures:
        p = np.linspace(0, pulses.max(), 400)
        a = figures["nonlinearity_a"]
        ax.plot(p, conductance_model(p, a, figures["fit_b"], figures["fit_g0"]) * 1e6, "-", lw=1.5,
                label=f"fit: A = {a:.3g} pulses (A/P_max = {figures['nonlinearity_a_normalized']:.3g})")
    ax.set_xlabel("pulse number")
    ax.set_ylabel("conductance (µS)")
    ax.set_title(title or "conductance vs pulse number")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    lines = [f"G_min {format_quantity(figures['g_min'], 'S')}", f"G_max {format_quantity(figures['g_max'], 'S')}",
             f"G_max/G_min {figures['dynamic_range']:.3g}"]
    ax.text(0.98, 0.04, "\n".join(lines), transform=ax.transAxes, ha="right", va="bottom", fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
