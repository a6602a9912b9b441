"""A protocol's parameter form, generated from its declarations, and its validation.

Each :class:`~labsuite.parameters.Number` becomes a field that takes units (``100 us``,
``1.2 V``) and shows its unit, range and help as a tooltip; each
:class:`~labsuite.parameters.Choice` (a PPF's interval ``order``, an STDP ``waveform``) a
drop-down list of its choices, editable where a file may be given instead. The form is checked
as a run would be, and sends nothing: each field against its declared range, relations between
fields, the bench limits, then the program against what the bench's instruments can play.
"""
from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from labsuite.bench import Bench, Limits
from labsuite.errors import InvalidParameter, LabsuiteError
from labsuite.experiment import make_protocol
from labsuite.parameters import Choice, Number
from labsuite.protocols import PROTOCOLS, Protocol
from labsuite.refusal import check_protocol
from labsuite.units import format_quantity

INVALID_STYLE = "background: #fde0e0; border: 1px solid #d62728;"


def shown_value(parameter: Number, value: float) -> str:
    """A value as the form shows it: ``1.5 V``, ``100 µs``, ``50``."""
    return format_quantity(value, parameter.unit, digits=12)


class ProtocolForm(QWidget):
    """Fields of one protocol; :meth:`validate` marks invalid ones and says why."""

    changed = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QFormLayout(self)
        self.protocol_class: type[Protocol] = next(iter(PROTOCOLS.values()))
        self.fields: dict[str, QLineEdit] = {}
        self.choice_fields: dict[str, QComboBox] = {}
        self.tooltips: dict[str, str] = {}
        self.protocol: Protocol | None = None     # the validated protocol, None while invalid
        self.reason = ""

    def set_protocol(self, name: str, values: dict[str, object] | None = None) -> None:
        """Rebuild the form for protocol ``name``, with its defaults or ``values`` (SI numbers or text)."""
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.protocol_class = PROTOCOLS[name]
        self.fields, self.choice_fields, self.tooltips = {}, {}, {}
        values = values or {}
        for p in self.protocol_class.parameters:
            if isinstance(p, Choice):
                self._add_choice(p, values.get(p.name, p.default))
                continue
            value = values.get(p.name, p.default)
            field = QLineEdit(value if isinstance(value, str) else shown_value(p, value))
            field.setObjectName(p.name)
            field.setToolTip(f"<b>{p.name}</b>: {p.help}<br>allowed {p.allowed()}"
                             + (f"; units accepted, e.g. “{shown_value(p, p.default)}”" if p.unit else
                                ("; a whole number" if p.integer else "")))
            field.textChanged.connect(self.changed)
            self.fields[p.name] = field
            self.tooltips[p.name] = field.toolTip()
            label = QLabel(f"{p.name} ({p.unit})" if p.unit else p.name)
            label.setToolTip(field.toolTip())
            self.layout_.addRow(label, field)
        self.changed.emit()

    def _add_choice(self, p: Choice, value: object) -> None:
        """A drop-down list of ``p``'s choices showing ``value``; editable where a file may be given."""
        box = QComboBox()
        box.setObjectName(p.name)
        box.setEditable(bool(p.file))
        box.addItems(([""] if p.default is None else []) + [str(c) for c in p.choices])
        shown = "" if value is None else str(value)
        if box.findText(shown) < 0:
            box.addItem(shown)
        box.setCurrentText(shown)
        if p.default is None and box.lineEdit() is not None:
            box.lineEdit().setPlaceholderText("unset")
        box.setToolTip(f"<b>{p.name}</b>: {p.help}<br>choose {p.allowed()}")
        box.currentTextChanged.connect(self.changed)
        self.tooltips[p.name] = box.toolTip()
        self.choice_fields[p.name] = box
        self.layout_.addRow(p.name, box)

    def texts(self) -> dict[str, str]:
        """Every field as typed (choices left empty are left out)."""
        found = {name: field.text().strip() for name, field in self.fields.items()}
        found.update({name: box.currentText().strip() for name, box in self.choice_fields.items()
                      if box.currentText().strip()})
        return found

    def build(self) -> Protocol:
        """The protocol the fields describe; raises the first field's error."""
        return make_protocol(self.protocol_class.name, self.texts())

    def validate(self, limits: Limits | None, bench: Bench | None, timing: str = "auto") -> str:
        """Check the form as a run would, sending nothing; mark invalid fields; return the reason ("" if valid).

        Fields are first parsed one by one (so every bad field is marked), then the protocol's
        relations, the bench ``limits`` and, with a ``bench``, what its instruments can play with
        ``timing`` (as a run checks it, with the refusal told in the protocol's parameters).
        """
        bad: dict[str, str] = {}
        for name, text in self.texts().items():
            try:
                self.protocol_class.parameter(name).parse(text)
            except LabsuiteError as exc:
                bad[name] = str(exc)
        reason = next(iter(bad.values()), "")
        protocol = None
        if not bad:
            try:
                protocol = self.build()
                if limits is None:
                    raise InvalidParameter("bench limits", "fix the limits in the Device panel")
                limits.check_parameters(protocol.values, protocol.units)
                if bench is not None:
                    check_protocol(protocol, bench, timing)
            except (LabsuiteError, ValueError, OSError) as exc:   # e.g. an STDP waveform CSV that is not there
                reason = str(exc)
                field = getattr(exc, "field", "")
                if field in self.fields or field in self.choice_fields:
                    bad[field] = reason
                protocol = None
        for name, widget in (*self.fields.items(), *self.choice_fields.items()):
            widget.setStyleSheet(f"{type(widget).__name__} {{ {INVALID_STYLE} }}" if name in bad else "")
            widget.setToolTip(self.tooltips[name] + (f"<br><span style='color:#d62728'>{bad[name]}</span>"
                                                     if name in bad else ""))
        self.protocol, self.reason = protocol, reason
        return reason
