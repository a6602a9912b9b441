"""Bench panel: a simulated bench or real instruments, connect/disconnect, status, output lamps.

Every instrument call (discovery, connect, the output query, disconnect) runs in a
:class:`~labsuite.gui.worker.Task`, so a silent instrument never freezes the window. The panel
queries outputs only while no run plays; during a run the lamps follow the Runner's state.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                             QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QTabWidget,
                             QVBoxLayout, QWidget)

from labsuite import registry
from labsuite.bench import Bench, Limits
from labsuite.bench_settings import BenchSettings
from labsuite.core.parameters import declaration
from labsuite.core.errors import LabsuiteError
from labsuite.discovery import FoundInstrument, discover
from labsuite.gui.worker import Task
from labsuite.core.events import RunState
# the model names only; the simulated bench itself is built by Bench.simulated (see tests/test_layering.py)
from labsuite.simulator.models import DEFAULT_MODEL, MODELS
from labsuite.traffic import TrafficLog
from labsuite.core.units import format_quantity

log = logging.getLogger(__name__)

ON_COLOR, OFF_COLOR, UNKNOWN_COLOR = "#d62728", "#2ca02c", "#7f7f7f"
NO_GENERATOR = "none"
PULSE_PATH_LABEL = "pulse series resistance"   # the bench setting pulse_series_resistance




def role_of(found: FoundInstrument) -> str | None:
    """The bench role a discovered instrument's driver fills: "smu", "pulse_generator", or None."""
    return registry.INSTRUMENTS[found.driver].kind if found.driver else None


def role_name(role: str) -> str:
    """``smu`` → ``SMU``, ``pulse_generator`` → ``pulse generator``."""
    return registry.KIND_NAMES.get(role, role.replace("_", " "))


class OutputLamp(QLabel):
    """A coloured label: output ON (red), OFF (green) or unknown (grey).

    With a ``role`` it names the instrument and keeps the detail (queried, run playing…) for its
    tooltip, compact enough for the control bar; without one it shows the detail.
    """

    def __init__(self, role: str = "") -> None:
        super().__init__()
        self.role = role
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.show_state(None, "not connected")

    def show_state(self, on: bool | None, detail: str = "") -> None:
        self.on = on
        text = {True: "ON", False: "OFF", None: "?"}[on]
        color = {True: ON_COLOR, False: OFF_COLOR, None: UNKNOWN_COLOR}[on]
        if self.role:
            self.setText(f"{role_name(self.role)} output {text}")
            self.setToolTip(f"{role_name(self.role)} output {text}" + (f": {detail}" if detail else ""))
        else:
            self.setText(text + (f" · {detail}" if detail else ""))
        self.setStyleSheet(f"QLabel {{ background: {color}; color: white; font-weight: bold; "
                           f"border-radius: 4px; padding: 2px 8px; }}")


class BenchPanel(QWidget):
    """Choose, connect and watch the bench. ``bench`` is the connected one, or None."""

    connected = pyqtSignal(object)       # Bench
    disconnected = pyqtSignal()
    busy_changed = pyqtSignal(bool)
    outputs_changed = pyqtSignal(object)  # {role: (on: True | False | None, detail)}; {} when disconnected

    def __init__(self, visa_library: Any = "") -> None:
        super().__init__()
        self.bench: Bench | None = None
        self.traffic: TrafficLog | None = None
        self.limits = Limits()
        self.visa_library = visa_library    # "" (system VISA), "@py", or a pyvisa library object
        self._tasks: list[Task] = []
        self._running = False
        self._released = False
        self._found: list[FoundInstrument] = []

        self.source = QTabWidget()
        self.source.addTab(self._simulated_tab(), "Simulated")
        self.source.addTab(self._instruments_tab(), "Instruments")

        self.generator_path = _setting_field("pulse_series_resistance")
        generator_row = QHBoxLayout()
        generator_row.addWidget(QLabel(PULSE_PATH_LABEL))
        generator_row.addWidget(self.generator_path, 1)

        self.connect_button = QPushButton("Connect")
        self.disconnect_button = QPushButton("Disconnect")
        self.connect_button.clicked.connect(self.connect_bench)
        self.disconnect_button.clicked.connect(self.disconnect_bench)
        buttons = QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.disconnect_button)

        self.status = QLabel("Not connected")
        self.status.setWordWrap(True)
        self.instruments = QTableWidget(0, 3)
        self.instruments.setHorizontalHeaderLabels(["role", "output", "*IDN?"])
        self.instruments.verticalHeader().hide()
        self.instruments.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.instruments.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.lamps: dict[str, OutputLamp] = {}
        connected_box = QGroupBox("Connected instruments")
        box_layout = QVBoxLayout(connected_box)
        box_layout.addWidget(self.status)
        box_layout.addWidget(self.instruments)

        layout = QVBoxLayout(self)
        layout.addWidget(self.source)
        layout.addLayout(generator_row)
        layout.addLayout(buttons)
        layout.addWidget(connected_box, 1)
        self._update_buttons()

    # --- layout -------------------------------------------------------------------------
    def _simulated_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.model = QComboBox()
        self.model.addItems(sorted(MODELS))
        self.model.setCurrentText(DEFAULT_MODEL)
        self.model.setToolTip("device model of the simulated device under test (docs/models.md)")
        self.seed = _setting_field("seed")
        self.smu_driver = QComboBox()
        self.smu_driver.addItems(registry.names("smu"))
        self.smu_driver.setToolTip("the simulated SMU: the same driver and SCPI as the real instrument")
        self.generator_driver = QComboBox()
        self.generator_driver.addItems([NO_GENERATOR, *registry.names("pulse_generator")])
        self.generator_driver.setToolTip("optional: a simulated pulse generator that plays the write pulses "
                                         "while the SMU reads")
        form.addRow("device model", self.model)
        form.addRow("seed", self.seed)
        form.addRow("SMU", self.smu_driver)
        form.addRow("pulse generator", self.generator_driver)
        return tab

    def _instruments_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.library_field = QLineEdit(self.visa_library if isinstance(self.visa_library, str) else "")
        self.library_field.setPlaceholderText("system VISA (or @py for pyvisa-py)")
        self.library_field.setToolTip("VISA library to search: empty for the system VISA, @py for pyvisa-py")
        self.discover_button = QPushButton("Discover")
        self.discover_button.setToolTip("list the VISA resources and ask each for *IDN?")
        self.discover_button.clicked.connect(self.discover)
        row = QHBoxLayout()
        row.addWidget(QLabel("VISA library"))
        row.addWidget(self.library_field, 1)
        row.addWidget(self.discover_button)
        self.found = QTableWidget(0, 3)
        self.found.setHorizontalHeaderLabels(["resource", "*IDN?", "driver"])
        self.found.verticalHeader().hide()
        self.found.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.found.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.found.setSelectionMode(QTableWidget.SelectionMode.MultiSelection)
        self.found.setToolTip("select one SMU, and optionally one pulse generator")
        self.found.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.found.itemSelectionChanged.connect(self._update_buttons)
        self.toml_button = QPushButton("Load bench.toml…")
        self.toml_button.setToolTip("connect the bench a bench.toml describes (its limits apply)")
        self.toml_button.clicked.connect(self._choose_toml)
        layout.addLayout(row)
        layout.addWidget(self.found, 1)
        layout.addWidget(self.toml_button)
        return tab

    # --- state --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while an instrument call of this panel is in flight."""
        return bool(self._tasks)

    def _start(self, call, on_success, what: str) -> None:
        task = Task(call)
        self._tasks.append(task)
        task.succeeded.connect(on_success)
        task.failed.connect(lambda exc: self._failed(what, exc))
        task.finished.connect(lambda: self._task_done(task))
        task.start()
        self._update_buttons()
        self.busy_changed.emit(True)

    def _task_done(self, task: Task) -> None:
        task.wait()
        self._tasks.remove(task)
        task.deleteLater()
        self._update_buttons()
        self.busy_changed.emit(self.busy)

    def _failed(self, what: str, exc: BaseException) -> None:
        self.status.setText(f"<span style='color:{ON_COLOR}'>{what} failed: {exc}</span>")
        log.error("%s failed: %s", what, exc)

    def _update_buttons(self) -> None:
        idle = not self._tasks and not self._running
        chosen = self.source.currentIndex() == 0 or self._selected() is not None
        self.connect_button.setEnabled(idle and self.bench is None and chosen)
        self.disconnect_button.setEnabled(idle and self.bench is not None)
        self.discover_button.setEnabled(idle)
        self.toml_button.setEnabled(idle and self.bench is None)
        self.source.setEnabled(self.bench is None)
        self.generator_path.setEnabled(self.bench is None)

    def set_running(self, running: bool) -> None:
        """No connect or disconnect while a run plays."""
        self._running = running
        self._update_buttons()

    def set_limits(self, limits: Limits) -> None:
        """Limits for the next connection, and for the connected bench at once."""
        self.limits = limits
        if self.bench is not None:
            self.bench.limits = limits

    # --- discovery ----------------------------------------------------------------------
    def _library(self) -> Any:
        text = self.library_field.text().strip()
        return text if text or isinstance(self.visa_library, str) else self.visa_library

    def discover(self) -> None:
        """List the VISA resources and their *IDN? replies (off the GUI thread)."""
        self.status.setText("Discovering VISA resources…")
        library = self._library()
        self._start(lambda: discover(library), self._show_found, "discovery")

    def _show_found(self, found: list[FoundInstrument]) -> None:
        self._found = found
        self.found.setRowCount(len(found))
        for row, inst in enumerate(found):
            shown = (inst.resource, inst.idn or f"no reply: {inst.error}", inst.driver or "no driver")
            for col, text in enumerate(shown):
                self.found.setItem(row, col, QTableWidgetItem(text))
        self.found.resizeColumnToContents(0)
        usable = [i for i, inst in enumerate(found) if inst.driver]
        smus = [i for i in usable if role_of(found[i]) == "smu"]
        if smus:
            self.found.selectRow(smus[0])
        self.status.setText(f"{len(found)} resource{'s' if len(found) != 1 else ''} found, "
                            f"{len(usable)} with a driver")
        log.info("discovery: %s", ", ".join(f"{i.resource} ({i.driver or 'no driver'})" for i in found) or "nothing")

    def _selected(self) -> tuple[FoundInstrument, FoundInstrument | None] | None:
        """The selected SMU and pulse generator (or None); None unless exactly one SMU and at most
        one generator are selected."""
        chosen = [self._found[row] for row in sorted({i.row() for i in self.found.selectedIndexes()})]
        smus = [f for f in chosen if role_of(f) == "smu"]
        generators = [f for f in chosen if role_of(f) == "pulse_generator"]
        if len(smus) != 1 or len(generators) > 1 or len(smus) + len(generators) != len(chosen):
            return None
        return smus[0], (generators[0] if generators else None)

    # --- connect / disconnect -----------------------------------------------------------
    def connect_bench(self) -> None:
        """Connect what the panel shows: the simulated bench, or the selected instrument."""
        try:
            path = _setting_value(self.generator_path, "pulse_series_resistance", PULSE_PATH_LABEL)
            seed = _setting_value(self.seed, "seed")
        except LabsuiteError as exc:
            self._failed("connect", exc)
            return
        if self.source.currentIndex() == 0:
            generator = self.generator_driver.currentText()
            self.connect_simulated(self.model.currentText(), seed, self.smu_driver.currentText(),
                                   None if generator == NO_GENERATOR else generator, path)
            return
        selected = self._selected()
        if selected is not None:
            smu, generator = selected
            library, limits = self._library(), self.limits
            wired = (generator.resource, generator.driver) if generator is not None else None
            self.status.setText(f"Connecting {smu.resource}…")
            self._start(lambda: _opened(Bench.connect(smu.resource, smu.driver, limits, library, name=smu.resource,
                                                      pulse_generator=wired, pulse_series_resistance=path)),
                        self._on_connected, "connect")

    def connect_simulated(self, model: str = DEFAULT_MODEL, seed: int = 0, smu: str = "keithley2450",
                          pulse_generator: str | None = None, pulse_series_resistance: float = 0.0) -> None:
        """Connect a simulated bench: device ``model``, noise ``seed``, the ``smu`` and an optional
        ``pulse_generator`` (registry names in labsuite.drivers) behind ``pulse_series_resistance`` Ω."""
        self.model.setCurrentText(model)
        self.seed.setText(str(seed))
        self.smu_driver.setCurrentText(smu)
        self.generator_driver.setCurrentText(pulse_generator or NO_GENERATOR)
        self.generator_path.setText(format_quantity(pulse_series_resistance, "ohm"))
        self.source.setCurrentIndex(0)
        limits = self.limits
        self.status.setText(f"Starting the simulated bench ({model}, seed {seed})…")
        self._start(lambda: _opened(Bench.simulated(model, seed, limits, smu=smu, pulse_generator=pulse_generator,
                                                    pulse_series_resistance=pulse_series_resistance)),
                    self._on_connected, "connect")

    def connect_toml(self, path: str | Path) -> None:
        """Connect the bench described by a bench.toml (with its own limits)."""
        self.status.setText(f"Connecting {Path(path).name}…")
        self._start(lambda: _opened(Bench.from_toml(path)), self._on_connected, "connect")

    def _choose_toml(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Bench description", "", "bench description (*.toml)")
        if path:
            self.connect_toml(path)

    def release(self) -> None:
        """Let instrument calls in flight end, then turn the outputs off and release the bench (window closing)."""
        self._released = True
        for task in list(self._tasks):
            task.wait()
        if self.traffic is not None:
            self.traffic.detach()
            self.traffic = None
        if self.bench is not None:
            self.bench.close()
            self.bench = None

    def _on_connected(self, opened: tuple[Bench, dict[str, str], dict[str, bool | None]]) -> None:
        bench, idns, outputs = opened
        if self._released:      # the window closed while connecting
            bench.close()
            return
        self.bench = bench
        self.limits = bench.limits
        if hasattr(bench.smu, "adapter"):
            self.traffic = TrafficLog.attach(bench.smu, bench.clock)
        roles = list(instruments_of(bench))
        self.instruments.setRowCount(len(roles))
        self.lamps = {}
        for row, role in enumerate(roles):
            self.instruments.setItem(row, 0, QTableWidgetItem(role_name(role)))
            self.lamps[role] = OutputLamp()
            self.instruments.setCellWidget(row, 1, self.lamps[role])
            maker, model, *rest = [*idns.get(role, "").split(","), "", ""]   # *IDN?: maker, model, serial, firmware
            identity = QTableWidgetItem("\n".join(f for f in (maker, model, ", ".join(r for r in rest if r)) if f))
            identity.setToolTip(f"resource {bench.resources[role]}\n*IDN? {idns.get(role, '')}")
            self.instruments.setItem(row, 2, identity)
        self.instruments.resizeColumnToContents(0)
        self.instruments.setColumnWidth(1, 150)
        self.instruments.resizeRowsToContents()
        what = (f"{bench.simulator['model']['model']}, seed {bench.simulator['seed']}" if bench.simulator
                else bench.resources.get("smu"))
        self.status.setText(f"Connected: {bench.name} ({what})")
        log.info("connected %s: %s", bench.name, "; ".join(f"{r} {idns.get(r, '')}" for r in roles))
        self._show_outputs(outputs)
        self._update_buttons()
        self.connected.emit(bench)

    def disconnect_bench(self) -> None:
        """Turn the outputs off and release the instruments."""
        bench = self.bench
        if bench is None:
            return
        if self.traffic is not None:
            self.traffic.detach()
            self.traffic = None
        self.bench = None
        self.status.setText("Disconnecting…")
        self._start(bench.close, lambda _: self._on_disconnected(bench), "disconnect")

    def _on_disconnected(self, bench: Bench) -> None:
        self.instruments.setRowCount(0)
        self.lamps = {}
        self.status.setText("Not connected")
        log.info("disconnected %s (outputs off)", bench.name)
        self.outputs_changed.emit({})
        self._update_buttons()
        self.disconnected.emit()

    # --- outputs ------------------------------------------------------------------------
    def refresh_outputs(self) -> None:
        """Ask every instrument whether its output is on (call only while no run plays)."""
        bench = self.bench
        if bench is not None:
            self._start(lambda: _outputs(bench), self._show_outputs, "output query")

    def _show_outputs(self, outputs: dict[str, bool | None]) -> None:
        shown = {role: (on, "queried" if on is not None else "driver cannot tell") for role, on in outputs.items()}
        self._paint(shown)

    def show_run_state(self, state: RunState) -> None:
        """During a run: outputs are on while trains play and off while paused (the Runner's contract)."""
        on, detail = (False, "paused") if state is RunState.PAUSED else (True, "run playing")
        self._paint({role: (on, detail) for role in self.lamps})

    def _paint(self, shown: dict[str, tuple[bool | None, str]]) -> None:
        for role, (on, detail) in shown.items():
            if role in self.lamps:
                self.lamps[role].show_state(on, detail)
        self.outputs_changed.emit(shown)


def instruments_of(bench: Bench) -> dict[str, Any]:
    """The bench's instruments by role (``smu``, …): each role in ``bench.resources`` that is a Bench attribute."""
    return {role: getattr(bench, role) for role in bench.resources if getattr(bench, role, None) is not None}


def _opened(bench: Bench) -> tuple[Bench, dict[str, str], dict[str, bool | None]]:
    """A just-connected bench with each instrument's *IDN? and output state (on the task's thread)."""
    try:
        bench.snapshot()   # reads what drivers read once (the line frequency…) here, not when the form is checked
        return bench, {role: inst.identify() for role, inst in instruments_of(bench).items()}, _outputs(bench)
    except BaseException:
        bench.close()
        raise


def _outputs(bench: Bench) -> dict[str, bool | None]:
    return {role: inst.output_enabled() for role, inst in instruments_of(bench).items()}


def _setting_field(name: str) -> QLineEdit:
    """A text field for the bench setting ``name``, showing its default, with its help and range as
    the tooltip (labsuite.bench_settings)."""
    parameter = declaration(BenchSettings, name)
    unit = getattr(parameter, "unit", "")
    field = QLineEdit(format_quantity(parameter.default, unit) if unit else str(parameter.default))
    field.setToolTip(f"{parameter.help}; {parameter.allowed()}")
    return field


def _setting_value(field: QLineEdit, name: str, label: str | None = None) -> Any:
    """The bench setting ``name`` read from ``field`` (labelled ``label``), checked by its declaration."""
    return declaration(BenchSettings, name, label).parse(field.text())
