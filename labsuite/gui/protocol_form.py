"""A protocol's parameter form, generated from its declarations, and its validation.

Each :class:`~labsuite.protocols.Parameter` becomes a field that takes units (``100 us``,
``1.2 V``) and shows its unit, range and help as a tooltip. Non-numeric choices (a PPF's
interval ``order``, an STDP ``waveform``) come from the protocol's constructor keywords. The
form is checked as a run would be, and sends nothing: each field against its declared range,
relations between fields, the bench limits, then the program against what the bench's
instruments can play.
"""
from __future__ import annotations

import inspect
import sys

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from labsuite.bench import Bench, Limits
from labsuite.core.errors import InvalidParameter, LabsuiteError
from labsuite.core.units import format_quantity
from labsuite.experiment import make_protocol
from labsuite.protocols import PROTOCOLS, Parameter, Protocol
from labsuite.refusal import check_protocol

INVALID_STYLE = "background: #fde0e0; border: 1px solid #d62728;"


def shown_value(parameter: Parameter, value: float) -> str:
    """A value as the form shows it: ``1.5 V``, ``100 µs``, ``50``."""
    return format_quantity(value, parameter.unit, digits=12)


def options_of(protocol: type[Protocol]) -> dict[str, str]:
    """The protocol's non-numeric constructor keywords and their defaults ("" when the default is None)."""
    signature = inspect.signature(protocol.__init__)
    return {name: "" if p.default is None else str(p.default) for name, p in signature.parameters.items()
            if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def choices_of(protocol: type[Protocol], default: str) -> tuple[str, ...]:
    """The named choices of an option: a tuple of strings holding ``default``, on the protocol class
    or in its module (``PairedPulse.ORDERS``, the STDP module's ``SHAPES``)."""
    module = vars(sys.modules[protocol.__module__])
    for value in (*vars(protocol).values(), *module.values()):
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value) and default in value:
            return value
    return (default,) if default else ()


class ProtocolForm(QWidget):
    """Fields of one protocol; :meth:`validate` marks invalid ones and says why."""

    changed = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QFormLayout(self)
        self.protocol_class: type[Protocol] = next(iter(PROTOCOLS.values()))
        self.fields: dict[str, QLineEdit] = {}
        self.option_fields: dict[str, QComboBox] = {}
        self.tooltips: dict[str, str] = {}
        self.protocol: Protocol | None = None     # the validated protocol, None while invalid
        self.reason = ""

    def set_protocol(self, name: str, values: dict[str, object] | None = None) -> None:
        """Rebuild the form for protocol ``name``, with its defaults or ``values`` (SI numbers or text)."""
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.protocol_class = PROTOCOLS[name]
        self.fields, self.option_fields, self.tooltips = {}, {}, {}
        values = values or {}
        for p in self.protocol_class.parameters:
            value = values.get(p.name, p.default)
            field = QLineEdit(value if isinstance(value, str) else shown_value(p, value))
            field.setObjectName(p.name)
            lo, hi = shown_value(p, p.minimum), shown_value(p, p.maximum)
            field.setToolTip(f"<b>{p.name}</b>: {p.help}<br>allowed {lo} to {hi}"
                             + (f"; units accepted, e.g. “{shown_value(p, p.default)}”" if p.unit else
                                ("; a whole number" if p.integer else "")))
            field.textChanged.connect(self.changed)
            self.fields[p.name] = field
            self.tooltips[p.name] = field.toolTip()
            label = QLabel(f"{p.name} ({p.unit})" if p.unit else p.name)
            label.setToolTip(field.toolTip())
            self.layout_.addRow(label, field)
        for name, default in options_of(self.protocol_class).items():
            box = QComboBox()
            box.setEditable(True)
            box.setObjectName(name)
            box.addItems(choices_of(self.protocol_class, default))
            box.setEditText(str(values.get(name, default)))
            if not default:
                box.lineEdit().setPlaceholderText("default")
            box.setToolTip(f"<b>{name}</b>: a choice of {self.protocol_class.title} that is not a number")
            box.editTextChanged.connect(self.changed)
            self.tooltips[name] = box.toolTip()
            self.option_fields[name] = box
            self.layout_.addRow(name, box)
        self.changed.emit()

    def texts(self) -> dict[str, str]:
        """Every field as typed (options left empty are left out)."""
        found = {name: field.text().strip() for name, field in self.fields.items()}
        found.update({name: box.currentText().strip() for name, box in self.option_fields.items()
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
        for name, field in self.fields.items():
            try:
                self.protocol_class.parameter(name).parse(field.text())
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
                if field in self.fields or field in self.option_fields:
                    bad[field] = reason
                protocol = None
        for name, widget in (*self.fields.items(), *self.option_fields.items()):
            widget.setStyleSheet(f"{type(widget).__name__} {{ {INVALID_STYLE} }}" if name in bad else "")
            widget.setToolTip(self.tooltips[name] + (f"<br><span style='color:#d62728'>{bad[name]}</span>"
                                                     if name in bad else ""))
        self.protocol, self.reason = protocol, reason
        return reason
