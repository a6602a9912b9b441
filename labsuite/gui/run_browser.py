"""Run browser: the data folder's runs (labsuite/catalog.py); open, overlay, export CSV/PNG, replay."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                             QTableWidgetItem, QVBoxLayout, QWidget)

from labsuite.catalog import Catalog, CatalogEntry
from labsuite.core.errors import LabsuiteError
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.experiment import make_protocol
from labsuite.gui.live_plots import Overlay, has_log_current
from labsuite.protocols import Protocol
from labsuite.store import RunData, read_run

log = logging.getLogger(__name__)

REPLAY_SPEEDS = {"as fast as possible": float("inf"), "1× (recorded pace)": 1.0, "10×": 10.0, "100×": 100.0}
COLUMNS = ("start (UTC)", "protocol", "device", "status", "samples", "run file")


def stored_protocol(run: RunData) -> Protocol:
    """The protocol a run file was made with, its parameters and non-numeric options included."""
    options = json.loads(run.attrs.get("provenance", "{}")).get("options", {})
    return make_protocol(run.attrs["protocol"], {**run.parameters, **options})


def stored_figures(run: RunData) -> dict[str, float]:
    return {k: float(v) for k, v in run.analysis.items() if k != "units"}


def run_spec(run: RunData) -> PlotSpec:
    """The figure of a stored run, as ``labsuite run --plot`` drew it."""
    return stored_protocol(run).plot(run.samples, stored_figures(run))


def overlay(specs: list[tuple[str, PlotSpec]]) -> PlotSpec:
    """Several runs' figures on one set of axes; each series named after its run. The axes must agree."""
    first = specs[0][1]
    axes = (first.x_label, first.x_unit, first.y_label, first.y_unit, first.log_x, first.log_y)
    for label, spec in specs[1:]:
        if (spec.x_label, spec.x_unit, spec.y_label, spec.y_unit, spec.log_x, spec.log_y) != axes:
            raise LabsuiteError(f"cannot overlay {label}: its axes ({spec.x_label} vs {spec.y_label}) differ from "
                                f"those of {specs[0][0]} ({first.x_label} vs {first.y_label})")
    series = tuple(Series(f"{label}: {s.name}" if s.name else "", s.x, s.y, s.style)
                   for label, spec in specs for s in spec.series)
    titles = sorted({spec.title for _, spec in specs})
    return PlotSpec(f"{', '.join(titles)}: {len(specs)} runs", first.x_label, first.x_unit, first.y_label, first.y_unit,
                    series, first.log_x, first.log_y)


def run_label(run: RunData) -> str:
    """``D12 13:05:09``: device and start time, short enough for a legend."""
    return f"{run.attrs.get('device_id', '')} {str(run.attrs.get('start_time', ''))[11:19]}".strip()


class RunBrowser(QWidget):
    """A table of the folder's runs and what can be done with the selected ones."""

    open_requested = pyqtSignal(object, object, object, str)    # Protocol, samples, figures, title
    overlay_requested = pyqtSignal(object)                      # Overlay
    replay_requested = pyqtSignal(object, float)                # run file (Path), speed

    def __init__(self, folder: str | Path = "runs") -> None:
        super().__init__()
        self.folder = Path(folder)
        self.entries: list[CatalogEntry] = []
        self.folder_label = QLabel()
        choose = QPushButton("Data folder…")
        choose.clicked.connect(self._choose_folder)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(choose)
        top.addWidget(self.refresh_button)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _: self.open_selected())

        self.open_button = QPushButton("Open")
        self.overlay_button = QPushButton("Overlay")
        self.replay_button = QPushButton("Replay")
        self.speed = QComboBox()
        self.speed.addItems(REPLAY_SPEEDS)
        self.csv_button = QPushButton("Export CSV…")
        self.png_button = QPushButton("Export PNG…")
        self.open_button.setToolTip("show the selected run's figure and figures of merit")
        self.overlay_button.setToolTip("the selected runs on one figure")
        self.replay_button.setToolTip("re-emit the selected run through the live plots at the chosen pace")
        self.csv_button.setToolTip("the selected runs' samples as CSV with units (labsuite export)")
        self.png_button.setToolTip("the selected runs' figure as PNG (as labsuite run --plot draws it)")
        self.open_button.clicked.connect(self.open_selected)
        self.overlay_button.clicked.connect(self.overlay_selected)
        self.replay_button.clicked.connect(self.replay_selected)
        self.csv_button.clicked.connect(lambda: self._choose_export(self.export_csv))
        self.png_button.clicked.connect(lambda: self._choose_export(self.export_png))
        buttons = QHBoxLayout()
        for widget in (self.open_button, self.overlay_button, self.replay_button, self.speed, self.csv_button,
                       self.png_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.set_folder(self.folder)

    def set_folder(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder_label.setText(f"Data folder: {self.folder}")
        self.refresh()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", str(self.folder))
        if folder:
            self.set_folder(folder)

    def refresh(self) -> None:
        """Re-read the folder's index (newest run first)."""
        self.entries = list(reversed(Catalog(self.folder).query())) if self.folder.is_dir() else []
        self.table.setRowCount(len(self.entries))
        for row, e in enumerate(self.entries):
            for col, text in enumerate((e.start_time.replace("T", " ")[:19], e.protocol, e.device_id, e.status,
                                        str(e.samples), e.path.name)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self._update_buttons()

    def selected(self) -> list[Path]:
        """Run files of the selected rows, in table order."""
        return [self.entries[row].path for row in sorted({i.row() for i in self.table.selectedIndexes()})]

    def select(self, *paths: Path) -> None:
        """Select the rows of ``paths``."""
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QTableWidget.SelectionMode.MultiSelection)
        wanted = {Path(p).resolve() for p in paths}
        for row, e in enumerate(self.entries):
            if e.path.resolve() in wanted:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _update_buttons(self) -> None:
        n = len(self.selected())
        for button in (self.open_button, self.replay_button):
            button.setEnabled(n == 1)
        self.overlay_button.setEnabled(n >= 2)
        self.csv_button.setEnabled(n >= 1)
        self.png_button.setEnabled(n >= 1)

    # --- actions ------------------------------------------------------------------------
    def open_selected(self) -> None:
        paths = self.selected()
        if len(paths) == 1:
            run = read_run(paths[0])
            self.open_requested.emit(stored_protocol(run), run.samples, stored_figures(run),
                                     f"{run.attrs['protocol']} {run_label(run)} ({run.status})")

    def overlay_selected(self) -> None:
        runs = [read_run(p) for p in self.selected()]
        if len(runs) < 2:
            return
        try:
            shown = self._overlay(runs)
        except LabsuiteError as exc:
            log.error("%s", exc)
            return
        self.overlay_requested.emit(shown)

    def _overlay(self, runs: list[RunData]) -> Overlay:
        labels = [run_label(r) for r in runs]
        labels = [f"{label} #{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]
        protocols = [stored_protocol(r) for r in runs]
        figures = [stored_figures(r) for r in runs]
        spec = overlay([(label, p.plot(r.samples, f)) for label, p, r, f in zip(labels, protocols, runs, figures)])
        log_spec = overlay([(label, p.plot(r.samples, f, log_current=True))
                            for label, p, r, f in zip(labels, protocols, runs, figures)]) \
            if all(has_log_current(p) for p in protocols) else None
        units = {name: unit for p in protocols for name, unit in p.figure_units.items()}
        return Overlay(spec, log_spec, dict(zip(labels, figures)), units)

    def replay_selected(self) -> None:
        paths = self.selected()
        if len(paths) == 1:
            self.replay_requested.emit(paths[0], REPLAY_SPEEDS[self.speed.currentText()])

    def _choose_export(self, export) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", str(self.folder))
        if folder:
            export(Path(folder))

    def export_csv(self, folder: Path) -> list[Path]:
        """Each selected run as ``folder/<run>.csv`` (labsuite.export.to_csv: units in the header)."""
        from labsuite.export import to_csv

        folder.mkdir(parents=True, exist_ok=True)
        written = [to_csv(p, folder / p.with_suffix(".csv").name) for p in self.selected()]
        log.info("exported %s", ", ".join(str(p) for p in written))
        return written

    def export_png(self, folder: Path) -> Path:
        """The selected run's figure, or the selected runs overlaid, as a PNG drawn like ``--plot``."""
        from labsuite.plotting import render

        runs = [read_run(p) for p in self.selected()]
        folder.mkdir(parents=True, exist_ok=True)
        if len(runs) == 1:
            path = render(run_spec(runs[0]), folder / runs[0].path.with_suffix(".png").name)
        else:
            path = render(self._overlay(runs).spec, folder / f"overlay_{len(runs)}_runs.png")
        log.info("exported %s", path)
        return path
