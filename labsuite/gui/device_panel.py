"""Device panel: which sample and device is on the bench, notes, and the bench limits (max |V|, compliance)."""
from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from labsuite.bench import Limits
from labsuite.core.errors import LabsuiteError
from labsuite.core.parameters import declared
from labsuite.core.units import format_quantity, parse_quantity

INVALID_STYLE = "QLineEdit { background: #fde0e0; border: 1px solid #d62728; }"


class DevicePanel(QWidget):
    """Sample, device id and notes (stored with every run) and the limits no run may pass."""

    limits_changed = pyqtSignal(object)    # Limits, or None while a limit field is invalid

    def __init__(self) -> None:
        super().__init__()
        self.sample = QLineEdit()
        self.sample.setPlaceholderText("e.g. wafer3")
        self.sample.setToolTip("sample the device is on (stored in the run file's provenance)")
        self.device = QLineEdit("device")
        self.device.setToolTip("device identifier: stored with the run and part of its file name")
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("anything worth keeping with the runs: anneal, probe, light…")
        self.notes.setMaximumHeight(90)
        identity = QGroupBox("Device under test")
        form = QFormLayout(identity)
        form.addRow("sample", self.sample)
        form.addRow("device id", self.device)
        form.addRow("notes", self.notes)

        defaults = Limits()
        self.limit_fields: dict[str, QLineEdit] = {}
        self.limit_error = QLabel()
        self.limit_error.setWordWrap(True)
        self.limit_error.setStyleSheet("color: #d62728")
        limits_box = QGroupBox("Bench limits")
        limits_form = QFormLayout(limits_box)
        for p in declared(Limits):
            field = QLineEdit(format_quantity(getattr(defaults, p.name), p.unit))
            field.setToolTip(f"{p.help}, e.g. {format_quantity(p.default / 2, p.unit)}")
            field.textChanged.connect(self._limits_edited)
            self.limit_fields[p.name] = field
            limits_form.addRow(f"{p.name} ({p.unit})", field)
        limits_form.addRow(self.limit_error)

        layout = QVBoxLayout(self)
        layout.addWidget(identity)
        layout.addWidget(limits_box)
        layout.addStretch(1)
        self.limits: Limits | None = defaults

    @property
    def device_id(self) -> str:
        return self.device.text().strip() or "device"

    def provenance(self) -> dict[str, Any]:
        """Sample and notes, as stored with a run (empty fields left out)."""
        found = {"sample": self.sample.text().strip(), "notes": self.notes.toPlainText().strip()}
        return {k: v for k, v in found.items() if v}

    def show_limits(self, limits: Limits) -> None:
        """Display the limits in force (e.g. those a bench.toml brought)."""
        for p in declared(Limits):
            self.limit_fields[p.name].setText(format_quantity(getattr(limits, p.name), p.unit))

    def _limits_edited(self) -> None:
        self.limits = None
        errors = []
        values = {}
        for p in declared(Limits):
            field = self.limit_fields[p.name]
            try:
                values[p.name] = parse_quantity(field.text(), p.unit, f"limits.{p.name}")
                Limits(**{p.name: values[p.name]})
                field.setStyleSheet("")
            except LabsuiteError as exc:
                field.setStyleSheet(INVALID_STYLE)
                errors.append(str(exc))
        self.limit_error.setText("\n".join(errors))
        if not errors:
            self.limits = Limits(**values)
        self.limits_changed.emit(self.limits)
