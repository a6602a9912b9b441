"""Live-plot axes: a unit without SI prefixes never inherits the previous protocol's scale."""
import numpy as np

from labsuite.core.plotspec import PlotSpec, Series
from labsuite.gui.live_plots import SpecPlot


def spec(y_label: str, y_unit: str, y: np.ndarray) -> PlotSpec:
    return PlotSpec("t", "pulse number", "", y_label, y_unit, (Series("measured", np.arange(y.size, dtype=float), y),))


def test_a_percent_axis_after_a_microsiemens_axis_is_not_scaled(qtbot):
    plot = SpecPlot(True)
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show_spec(spec("conductance", "S", np.linspace(20e-6, 160e-6, 50)))
    plot.grab()
    axis = plot.getPlotItem().getAxis("left")
    assert axis.autoSIPrefixScale == 1e6                    # µS, as it should be
    plot.show_spec(spec("ΔG/G", "%", np.linspace(-1.0, 1.0, 50)))
    plot.grab()
    assert axis.autoSIPrefixScale == 1.0 and axis.labelUnitPrefix == ""
