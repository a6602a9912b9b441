"""Protocol panel: the protocol picker, its parameter form, recipes (load/save) and the run queue."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QListWidget, QPushButton,
                             QScrollArea, QVBoxLayout, QWidget)

from labsuite.core.errors import LabsuiteError
from labsuite.gui.protocol_form import ProtocolForm, shown_value
from labsuite.protocols import PROTOCOLS
from labsuite.recipe import load_recipe, recipe_text
from labsuite.core.program import TIMINGS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuedRun:
    """One run waiting in the queue: a protocol and its parameter values (text with units or SI numbers)."""

    label: str
    protocol: str
    values: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)


class ProtocolPanel(QWidget):
    """Pick a protocol, set its parameters, keep recipes and a queue of runs."""

    changed = pyqtSignal()          # the protocol or a field changed: validate again
    queue_changed = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.picker = QComboBox()
        for name, cls in PROTOCOLS.items():
            self.picker.addItem(f"{cls.title}  [{name}]", name)
        self.picker.setToolTip("the protocol to run; its parameters appear below")
        self.form = ProtocolForm()
        self.form.changed.connect(self.changed)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        self.timing = QComboBox()
        self.timing.addItems(TIMINGS)
        self.timing.setToolTip("auto: each train timed by the instrument where it can be, else from the computer; "
                               "hardware: instrument-timed only; software: one command per segment")
        self.timing.currentTextChanged.connect(self.changed)
        timing_row = QHBoxLayout()
        timing_row.addWidget(QLabel("timing"))
        timing_row.addWidget(self.timing, 1)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #d62728")
        self.reason.setMinimumHeight(3 * self.reason.fontMetrics().lineSpacing())   # a reason takes up to 3 lines

        self.load_button = QPushButton("Load recipe…")
        self.save_button = QPushButton("Save recipe…")
        self.load_button.setToolTip("a recipe .toml: one protocol fills the form, a sequence fills the queue")
        self.save_button.setToolTip("save this protocol and its values as a recipe .toml")
        self.load_button.clicked.connect(self._choose_recipe)
        self.save_button.clicked.connect(self._choose_save)
        recipes = QHBoxLayout()
        recipes.addWidget(self.load_button)
        recipes.addWidget(self.save_button)

        self.queue: list[QueuedRun] = []
        self.queue_list = QListWidget()
        self.queue_list.setMaximumHeight(120)
        self.add_button = QPushButton("Add to queue")
        self.add_button.setToolTip("queue this protocol with these values (Run queue plays them in order)")
        self.remove_button = QPushButton("Remove")
        self.clear_button = QPushButton("Clear")
        self.add_button.clicked.connect(self.add_current)
        self.remove_button.clicked.connect(self._remove_selected)
        self.clear_button.clicked.connect(self.clear_queue)
        queue_buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.clear_button):
            queue_buttons.addWidget(button)
        queue_box = QGroupBox("Queue")
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.addWidget(self.queue_list)
        queue_layout.addLayout(queue_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addWidget(scroll, 1)
        layout.addLayout(timing_row)
        layout.addWidget(self.reason)
        layout.addLayout(recipes)
        layout.addWidget(queue_box)
        self.picker.currentIndexChanged.connect(lambda _: self.form.set_protocol(self.picker.currentData()))
        self.form.set_protocol(self.picker.currentData())

    @property
    def protocol_name(self) -> str:
        return self.picker.currentData()

    def select(self, name: str, values: dict[str, Any] | None = None) -> None:
        """Show protocol ``name`` with ``values`` (text with units or SI numbers; defaults for the rest)."""
        self.picker.blockSignals(True)
        self.picker.setCurrentIndex(self.picker.findData(name))
        self.picker.blockSignals(False)
        self.form.set_protocol(name, values)

    def show_reason(self, reason: str) -> None:
        self.reason.setText(reason)
        self.save_button.setEnabled(self.form.protocol is not None)
        self.add_button.setEnabled(self.form.protocol is not None)

    # --- recipes ------------------------------------------------------------------------
    def load_recipe(self, path: str | Path) -> None:
        """One protocol run once fills the form; anything else (a sequence, repeats) goes to the queue."""
        try:
            recipe = load_recipe(path)
        except LabsuiteError as exc:
            self.reason.setText(str(exc))
            log.error("recipe %s: %s", path, exc)
            return
        if recipe.total_runs == 1:
            step = recipe.steps[0]
            self.select(step.protocol, step.parameters)
            log.info("recipe %s: %s", Path(path).name, step.protocol)
            return
        for i, step in enumerate(recipe.steps):
            for r in range(step.repeat):
                self._enqueue(QueuedRun(f"{recipe.name}: step {i + 1}, run {r + 1} ({step.protocol})", step.protocol,
                                        dict(step.parameters), {"recipe": recipe.name, "recipe_file": str(path),
                                                                "step": i + 1, "repeat": r + 1}))
        log.info("recipe %s: %d runs queued", Path(path).name, recipe.total_runs)

    def save_recipe(self, path: str | Path) -> Path:
        """Write the form's protocol and values as a recipe (the form must be valid)."""
        path = Path(path)
        path.write_text(recipe_text(self.form.protocol, f"{self.form.protocol.title}, saved from the labsuite GUI; run "
                                                         f"with `labsuite run {path.name}` in its folder"),
                        encoding="utf-8")
        log.info("recipe saved: %s", path)
        return path

    def _choose_recipe(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load recipe", "", "recipes (*.toml)")
        if path:
            self.load_recipe(path)

    def _choose_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", f"{self.protocol_name}.toml", "recipes (*.toml)")
        if path:
            self.save_recipe(path)

    # --- queue --------------------------------------------------------------------------
    def add_current(self) -> None:
        """Queue the form's protocol with its values as typed, and those the bench adjusted as it plays them."""
        protocol = self.form.protocol
        if protocol is not None:
            values = {**self.form.texts(),
                      **{n: shown_value(protocol.parameter(n), protocol.values[n]) for n in self.form.adjusted}}
            changed = [f"{k} = {v}" for k, v in values.items()
                       if k in protocol.values and protocol.values[k] != protocol.parameter(k).default]
            self._enqueue(QueuedRun(f"{protocol.title}" + (f": {', '.join(changed)}" if changed else ""),
                                    protocol.name, values, self.form.provenance()))

    def _enqueue(self, run: QueuedRun) -> None:
        self.queue.append(run)
        self.queue_list.addItem(run.label)
        self.queue_changed.emit()

    def take_next(self) -> QueuedRun | None:
        """Remove and return the first queued run."""
        if not self.queue:
            return None
        self.queue_list.takeItem(0)
        run = self.queue.pop(0)
        self.queue_changed.emit()
        return run

    def _remove_selected(self) -> None:
        for row in sorted((i.row() for i in self.queue_list.selectedIndexes()), reverse=True):
            self.queue_list.takeItem(row)
            del self.queue[row]
        self.queue_changed.emit()

    def clear_queue(self) -> None:
        self.queue.clear()
        self.queue_list.clear()
        self.queue_changed.emit()
