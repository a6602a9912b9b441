"""PlotSpec: what a protocol's plot shows, as data, for any renderer.

A protocol describes its figure once (``Protocol.plot(samples, figures)``); the CLI renders it
to PNG with matplotlib (:mod:`labsuite.plotting`) and the GUI draws the same description live
with pyqtgraph, so the two never disagree about axes, units or what is overlaid.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Series:
    """One set of points or one curve; values in SI units of the axes."""

    name: str
    x: np.ndarray
    y: np.ndarray
    style: str = "points"          # "points", "line" (a measured trace) or "fit" (a model curve)


@dataclass(frozen=True)
class PlotSpec:
    """Axes (label, SI unit, log or linear), series, and a text box of figures of merit."""

    title: str
    x_label: str
    x_unit: str
    y_label: str
    y_unit: str
    series: tuple[Series, ...]
    log_x: bool = False
    log_y: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
