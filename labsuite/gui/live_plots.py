"""Live plots: the protocol's :class:`~labsuite.core.plotspec.PlotSpec` drawn with pyqtgraph as samples arrive.

The figure is the one ``labsuite run --plot`` renders with matplotlib: ``Protocol.plot(samples,
figures)`` on the samples so far (from memory, never from the run file). I–V protocols also get
|I| on a log axis. Below, the raw V and I of the latest chunk; beside, the figures of merit once
the run ends. Large traces stay fast: a long series is drawn peak-decimated to the plot's width
(:func:`peak_decimate`), clipped to the visible range once the user zooms.
"""
from __future__ import annotations

import functools
import html
import inspect
import logging
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem,
                             QVBoxLayout, QWidget)

from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import SAMPLE_DTYPE
from labsuite.core.units import format_quantity
from labsuite.protocols import Protocol

#: matplotlib's tab10, so the GUI and ``--plot`` colour series alike
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
#: units pyqtgraph may prefix (µS, ms); others ("%", counts) go into the label as they are
SI_UNITS = {"V": "V", "A": "A", "S": "S", "s": "s", "Hz": "Hz", "ohm": "Ω", "J": "J", "W": "W"}
DEFAULT_PIXELS = 1000    # px, the width decimation assumes until the plot has been laid out
REDRAW_MS = 50      # ms, at most one redraw per interval however fast chunks arrive

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overlay:
    """Several stored runs on one figure: the spec, |I| on a log axis (I–V) or None, and each run's
    figures of merit by run label, in the units ``figure_units``."""

    spec: PlotSpec
    log_spec: PlotSpec | None
    figures: dict[str, dict[str, float]]
    figure_units: dict[str, str]


def _monotonic(x: np.ndarray) -> bool:
    return x.size < 2 or bool(np.all(x[1:] >= x[:-1]))


def peak_decimate(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) cut into ``bins`` consecutive slices, each drawn as two points: its smallest y at its
    first x and its largest y at its last x.

    Every extreme survives (a spike stays visible) and the x extent is kept, so the picture
    matches the full data at the screen's resolution; NaNs are skipped.
    """
    step = -(-x.size // bins)
    starts = np.arange(0, x.size, step)
    ends = np.append(starts[1:] - 1, x.size - 1)
    lows, highs = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)
    return np.column_stack((x[starts], x[ends])).ravel(), np.column_stack((lows, highs)).ravel()


def has_log_current(protocol: Protocol) -> bool:
    """Whether the protocol also draws |I| on a log axis (``plot(..., log_current=True)``: the I–V protocols)."""
    return "log_current" in inspect.signature(protocol.plot).parameters


def raw_specs(chunk: np.ndarray) -> tuple[PlotSpec, PlotSpec]:
    """The voltage and the current of one chunk of samples vs time."""
    t = chunk["t"]
    return (PlotSpec("Latest chunk: voltage", "time", "s", "voltage", "V", (Series("V", t, chunk["voltage"], "line"),)),
            PlotSpec("Latest chunk: current", "time", "s", "current", "A", (Series("I", t, chunk["current"], "line"),)))


class DecadeAxis(pg.AxisItem):
    """An axis that, on a log scale spanning a decade or more, labels only the decades (1, 10, 100…):
    the minor ticks at 2…9 × 10ⁿ stay as grid lines, their labels would overprint one another."""

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        if spacing is None:        # the level of 1…9 × 10ⁿ (pyqtgraph gives it no spacing)
            decade = np.isclose(np.asarray(values, dtype=float), np.round(values))
            if decade.any() or self._decades_shown:
                return [text if is_decade else "" for text, is_decade in zip(strings, decade)]
        return strings

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        self._decades_shown = any(spacing is not None and len(values) for spacing, values in ticks)
        return ticks

    _decades_shown = False


class SpecPlot(pg.PlotWidget):
    """One pyqtgraph plot showing a PlotSpec; :meth:`show_spec` again updates it in place.

    A series whose x grows (pulse number, time) and that has more points than the plot has
    pixels is drawn peak-decimated to about two points per pixel of the visible x range, and
    re-decimated when the view is zoomed, panned or resized. ``decimate=False`` draws every point
    (the reference benchmarks/gui_plot.py compares with).
    """

    def __init__(self, decimate: bool = True) -> None:
        super().__init__(background="w", axisItems={"left": DecadeAxis("left"), "bottom": DecadeAxis("bottom")})
        self.decimate = decimate
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.3)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen("k")
            axis.setTextPen("k")
            axis.setStyle(maxTickLevel=1)     # major and minor ticks: a third level makes painting 3x slower
        # semi-transparent, and draggable (pyqtgraph's LegendItem); placed in the emptiest corner
        self.legend = item.addLegend(offset=(-10, 10), labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 170),
                                     pen=pg.mkPen("#bbbbbb"))
        self.legend_corner = (1, 0)
        self.legend.setVisible(False)
        self.curves: list[pg.PlotDataItem] = []
        self.data: list[tuple[np.ndarray, np.ndarray]] = []   # each series in full; curves may show less
        self.spec: PlotSpec | None = None
        self._styles: list[tuple[str, int]] = []
        self._names: tuple[str, ...] = ()
        view = item.getViewBox()
        view.sigXRangeChanged.connect(self._range_changed)
        view.sigResized.connect(self._redecimate)

    def show_spec(self, spec: PlotSpec) -> None:
        """Draw ``spec``: axes, log scales, title with the notes, one item per series."""
        item = self.getPlotItem()
        if self.spec is None or (spec.title, spec.notes) != (self.spec.title, self.spec.notes):
            notes = html.escape("   ·   ".join(spec.notes))
            item.setTitle(f"<p align='center' style='margin:0'><span style='color:#000;font-size:11pt'>"
                          f"<b>{html.escape(spec.title)}</b></span>"
                          + (f"<br><span style='color:#333;font-size:9pt'>{notes}</span>" if notes else "") + "</p>")
            self._fit_title()
        if self.spec is None or (spec.x_label, spec.x_unit, spec.y_label, spec.y_unit, spec.log_x, spec.log_y) != (
                self.spec.x_label, self.spec.x_unit, self.spec.y_label, self.spec.y_unit, self.spec.log_x,
                self.spec.log_y):
            item.setLogMode(x=spec.log_x, y=spec.log_y)
            self._label("bottom", spec.x_label, spec.x_unit, spec.log_x)
            self._label("left", spec.y_label, spec.y_unit, spec.log_y)
        self.spec = spec
        while len(self.curves) > len(spec.series):
            item.removeItem(self.curves.pop())
            self._styles.pop()
        self.data = [(np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float)) for s in spec.series]
        for index, series in enumerate(spec.series):
            if index == len(self.curves):
                self.curves.append(item.plot())
                self._styles.append(("", -1))
            self._style(index, series)
            self.curves[index].setData(*self._shown(*self.data[index]))
        names = tuple(s.name for s in spec.series)
        if names != self._names:
            self.legend.clear()
            for curve, name in zip(self.curves, names):
                if name:
                    self.legend.addItem(curve, html.escape(name))
            self.legend.setVisible(len(spec.series) > 1)
            self._names = names
            self.place_legend()

    def place_legend(self) -> None:
        """Anchor the legend in the corner of the plot that holds the fewest data points (top right
        on ties), 10 px in from the frame. The user may still drag it elsewhere."""
        corners = [(1, 0), (0, 0), (1, 1), (0, 1)]       # (x, y) of the corner, y down: top right first
        counts = [0] * 4
        spec = self.spec
        points = [(x, y) for x, y in self.data if x.size]
        if spec is not None and points:
            x = np.concatenate([p[0] for p in points])
            y = np.concatenate([p[1] for p in points])
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.log10(np.abs(x)) if spec.log_x else x
                y = np.log10(np.abs(y)) if spec.log_y else y
            keep = np.isfinite(x) & np.isfinite(y)
            x, y = x[keep], y[keep]
            if x.size:
                nx = (x - x.min()) / ((x.max() - x.min()) or 1.0)
                ny = (y.max() - y) / ((y.max() - y.min()) or 1.0)      # 0 at the top
                for i, (cx, cy) in enumerate(corners):
                    counts[i] = int(np.count_nonzero((np.abs(nx - cx) < 0.4) & (np.abs(ny - cy) < 0.35)))
        corner = corners[int(np.argmin(counts))]
        self.legend_corner = corner
        self.legend.anchor(itemPos=corner, parentPos=corner, offset=(10 - 20 * corner[0], 10 - 20 * corner[1]))

    def _shown(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What a curve draws of (x, y): all of it, or, for long monotonic x on a linear axis, the
        visible part (while the view is not auto-ranged) peak-decimated to the plot's width."""
        view = self.getPlotItem().getViewBox()
        pixels = int(view.width()) or DEFAULT_PIXELS
        if not self.decimate or self.spec.log_x or x.size <= 2 * pixels or not _monotonic(x):
            return x, y
        if not view.autoRangeEnabled()[0]:
            lo, hi = view.viewRange()[0]
            # one point beyond each edge, so that lines run on to the frame
            first, last = max(0, np.searchsorted(x, lo) - 1), np.searchsorted(x, hi, side="right") + 1
            x, y = x[first:last], y[first:last]
            if x.size <= 2 * pixels:
                return x, y
        return peak_decimate(x, y, pixels)

    def _range_changed(self) -> None:
        """Zoomed or panned by the user: decimate again for what is now visible. (An auto-ranged
        view decimates all the data whatever its range, so following the data changes nothing.)"""
        if not self.getPlotItem().getViewBox().autoRangeEnabled()[0]:
            self._redecimate()

    def _redecimate(self) -> None:
        if self.spec is not None and self.decimate:
            for curve, data in zip(self.curves, self.data):
                curve.setData(*self._shown(*data))

    def _fit_title(self, width: int | None = None) -> None:
        """Wrap the title and notes to the plot's ``width`` (px) and give them the height they take
        (pyqtgraph fixes one 30 px line, and a long line would widen the plot past its frame)."""
        item = self.getPlotItem()
        label = item.titleLabel
        # the title sits over the view only: leave the left axis its width, or the item overflows
        label.item.setTextWidth(max(120, (width or self.width()) - 40 - item.getAxis("left").width()))
        label.updateMin()
        height = label.item.boundingRect().height()
        label.setMaximumHeight(height)
        item.layout.setRowFixedHeight(0, height)

    def resizeEvent(self, event) -> None:
        # pyqtgraph calls this with no event, and once before the plot item exists
        if event is not None and self.getPlotItem() is not None:
            self._fit_title(event.size().width())
        super().resizeEvent(event)

    def _label(self, axis: str, label: str, unit: str, log: bool) -> None:
        ax = self.getPlotItem().getAxis(axis)
        si = SI_UNITS.get(unit)
        if si and not log:
            ax.enableAutoSIPrefix(True)
            ax.setLabel(label, units=si, color="#000")
        else:
            ax.enableAutoSIPrefix(False)   # which keeps the last scale: reset it, or a % axis drawn
            ax.autoSIPrefixScale, ax.labelUnitPrefix = 1.0, ""   # after a µS one reads 10⁶ times too big
            shown = si or unit
            ax.setLabel(f"{label} ({shown})" if shown else label, color="#000")

    def _style(self, index: int, series: Series) -> None:
        fits_before = sum(1 for s in self._styles[:index] if s[0] == "fit")
        color = PALETTE[(index if series.style != "fit" else 3 + fits_before) % len(PALETTE)]
        wanted = (series.style, PALETTE.index(color))
        if self._styles[index] == wanted:
            return
        curve = self.curves[index]
        if series.style == "points":
            curve.setPen(None)
            curve.setSymbol("o")
            curve.setSymbolSize(5)
            curve.setSymbolPen(pg.mkPen(color))
            curve.setSymbolBrush(pg.mkBrush(color))
        else:
            curve.setSymbol(None)
            curve.setPen(pg.mkPen(color, width=2.2 if series.style == "fit" else 1.4))
        self._styles[index] = wanted

    def point_count(self) -> int:
        """Points held by all series (before decimation)."""
        return sum(x.size for x, _ in self.data)

    def drawn_count(self) -> int:
        """Points the curves draw (after decimation)."""
        return sum(0 if c.xData is None else c.xData.size for c in self.curves)


class SampleBuffer:
    """The samples of a run so far, appended chunk by chunk without copying everything each time."""

    def __init__(self) -> None:
        self._data = np.empty(1024, SAMPLE_DTYPE)
        self.size = 0

    def append(self, chunk: np.ndarray) -> None:
        if self.size + chunk.size > self._data.size:
            grown = np.empty(max(2 * self._data.size, self.size + chunk.size), SAMPLE_DTYPE)
            grown[:self.size] = self._data[:self.size]
            self._data = grown
        self._data[self.size:self.size + chunk.size] = chunk
        self.size += chunk.size

    @property
    def samples(self) -> np.ndarray:
        return self._data[:self.size]


def _guarded(method):
    """A LivePlots method that never raises: a plotting error (a protocol's plot() that fails on
    the samples so far) is logged once and reported through ``plot_failed``; the run goes on."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:       # a plot must never stop a run or the window's bookkeeping
            message = f"plot error ({method.__name__}): {type(exc).__name__}: {exc}"
            if message != self.error:
                self.error = message
                log.error("%s", message, exc_info=True)
                self.plot_failed.emit(message)
            return None
    return guarded


class LivePlots(QWidget):
    """The protocol's figure (and |I| on a log axis for I–V), the latest chunk, the figures of merit.

    ``decimate``: see :class:`SpecPlot`. Drawing never raises: see :func:`_guarded`.
    """

    plot_failed = pyqtSignal(str)      # a message, once per distinct plotting error

    def __init__(self, decimate: bool = True) -> None:
        super().__init__()
        self.main = SpecPlot(decimate)
        self.log_plot = SpecPlot(decimate)
        self.voltage = SpecPlot()
        self.current = SpecPlot()
        self.figures_table = QTableWidget(0, 2)
        self.figures_table.setHorizontalHeaderLabels(["figure of merit", "value"])
        self.figures_table.verticalHeader().hide()
        self.figures_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.figures_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.figures_title = QLabel("<b>Figures of merit</b>")
        self.figures_title.setWordWrap(True)

        figure_row = QWidget()
        figure_layout = QHBoxLayout(figure_row)      # the log |I| plot, when shown, takes half
        figure_layout.setContentsMargins(0, 0, 0, 0)
        figure_layout.addWidget(self.main, 1)
        figure_layout.addWidget(self.log_plot, 1)
        raw_row = QSplitter(Qt.Orientation.Horizontal)
        raw_row.addWidget(self.voltage)
        raw_row.addWidget(self.current)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(figure_row)
        plots.addWidget(raw_row)
        plots.setSizes([620, 280])
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.figures_title)
        side_layout.addWidget(self.figures_table)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(plots)
        splitter.addWidget(side)
        splitter.setSizes([900, 300])
        layout.addWidget(splitter)

        self.protocol: Protocol | None = None
        self.buffer = SampleBuffer()
        self.latest = np.empty(0, SAMPLE_DTYPE)
        self.figures: dict[str, float] = {}
        self.log_current = False
        self.error = ""                 # the last plotting error reported ("" since the last begin)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self.log_plot.hide()
        self._show_raw(self.latest)
        self.main.show_spec(PlotSpec("No run yet: connect a bench, pick a protocol, Run", "", "", "", "", ()))

    # --- a run, live --------------------------------------------------------------------
    @_guarded
    def begin(self, protocol: Protocol) -> None:
        """Start showing a run (or a replay) of ``protocol``: empty plots, no figures yet."""
        self.error = ""
        self.protocol = protocol
        self.buffer = SampleBuffer()
        self.latest = np.empty(0, SAMPLE_DTYPE)
        self._show_raw(self.latest)
        self.figures = {}
        self.log_current = has_log_current(protocol)
        self.log_plot.setVisible(self.log_current)
        self._show_figures({}, protocol.title)
        self.redraw()

    def add(self, chunk: np.ndarray) -> None:
        """Samples that just arrived (RunObserver.on_samples, relayed to the GUI thread)."""
        self.buffer.append(chunk)
        self.latest = chunk
        if not self._timer.isActive():
            self._timer.start()

    @_guarded
    def finish(self, figures: dict[str, float], title: str = "") -> None:
        """The run ended: draw it with the fits, list the figures of merit."""
        self._timer.stop()
        self.figures = figures
        self.redraw()
        if self.protocol is not None:
            self._show_figures(figures, title or self.protocol.title)
        for plot in (self.main, self.log_plot):
            plot.place_legend()

    @_guarded
    def redraw(self) -> None:
        if self.protocol is None:
            return
        samples = self.buffer.samples
        self.main.show_spec(self.protocol.plot(samples, self.figures))
        if self.log_current:
            self.log_plot.show_spec(self.protocol.plot(samples, self.figures, log_current=True))
        for plot in (self.main, self.log_plot):
            plot._fit_title()      # the left axis may have widened with the new tick labels
        if self.latest.size:
            self._show_raw(self.latest)

    def _show_raw(self, chunk: np.ndarray) -> None:
        for plot, spec in zip((self.voltage, self.current), raw_specs(chunk)):
            plot.show_spec(spec)

    # --- stored runs --------------------------------------------------------------------
    @_guarded
    def show_run(self, protocol: Protocol, samples: np.ndarray, figures: dict[str, float], title: str) -> None:
        """Show a stored run as it looked when it ended."""
        self.begin(protocol)
        self.buffer.append(samples)
        self.latest = samples[samples["train"] == samples["train"][-1]] if samples.size else samples
        self.finish(figures, title)

    @_guarded
    def show_overlay(self, overlay: Overlay) -> None:
        """Several stored runs on one figure, their figures of merit side by side (no live run meanwhile)."""
        self._timer.stop()
        self.protocol = None
        self.latest = np.empty(0, SAMPLE_DTYPE)
        self._show_raw(self.latest)
        self.main.show_spec(overlay.spec)
        self.log_current = overlay.log_spec is not None
        self.log_plot.setVisible(self.log_current)
        if overlay.log_spec is not None:
            self.log_plot.show_spec(overlay.log_spec)
        self._show_table(overlay.figures, overlay.figure_units, overlay.spec.title)
        for plot in (self.main, self.log_plot):
            plot.place_legend()

    def _show_figures(self, figures: dict[str, float], title: str) -> None:
        self._show_table({"value": figures}, self.protocol.figure_units, title)

    def _show_table(self, columns: dict[str, dict[str, float]], units: dict[str, str], title: str) -> None:
        """Figures of merit, one row each in the protocol's order, one column per run."""
        names = [n for n in units if any(n in c for c in columns.values())]
        names += sorted({n for c in columns.values() for n in c} - set(names))
        self.figures_title.setText(f"<b>Figures of merit</b><br>{html.escape(title)}")
        self.figures_table.setColumnCount(1 + len(columns))
        self.figures_table.setHorizontalHeaderLabels(["figure of merit", *columns])
        self.figures_table.setRowCount(len(names))
        for row, name in enumerate(names):
            self.figures_table.setItem(row, 0, QTableWidgetItem(name))
            for col, figures in enumerate(columns.values(), start=1):
                shown = format_quantity(figures[name], units.get(name, "")) if name in figures else "—"
                self.figures_table.setItem(row, col, QTableWidgetItem(shown))
