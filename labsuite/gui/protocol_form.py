"""A protocol's parameter form, generated from its declarations, and its validation.

Each :class:`~labsuite.core.parameters.Number` becomes a field that takes units (``100 us``,
``1.2 V``) and shows its unit, range and help as a tooltip; each
:class:`~labsuite.core.parameters.Choice` (a PPF's interval ``order``, an STDP ``waveform``) a
drop-down list of its choices, editable where a file may be given instead. The form is checked
as a run would be, and sends nothing: each field against its declared range, relations between
fields, the bench limits, then the program against what the bench's instruments can play. A default the connected bench cannot play
is run at the nearest value it can (as ``labsuite run`` does): the field is marked and a note above
the form gives both values.
"""
from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from labsuite.bench import Bench, Limits
from labsuite.core.errors import InvalidParameter, LabsuiteError
from labsuite.core.parameters import Choice, Number
from labsuite.core.units import format_quantity
from labsuite.experiment import adjusted_provenance, describe_adjusted, make_protocol
from labsuite.protocols import PROTOCOLS, Protocol
from labsuite.refusal import adapt_defaults

INVALID_STYLE = "background: #fde0e0; border: 1px solid #d62728;"
ADJUSTED_STYLE = "background: #e0ecfa; border: 1px solid #1f77b4;"


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
        self.adjusted: dict[str, tuple[float, float]] = {}   # defaults the bench changed: {name: (default, value)}
        self.bench_note = QLabel()

    def set_protocol(self, name: str, values: dict[str, object] | None = None) -> None:
        """Rebuild the form for protocol ``name``, with its defaults or ``values`` (SI numbers or text)."""
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.protocol_class = PROTOCOLS[name]
        self.fields, self.choice_fields, self.tooltips = {}, {}, {}
        self.bench_note = QLabel()
        self.bench_note.setObjectName("bench_note")
        self.bench_note.setWordWrap(True)
        self.bench_note.setStyleSheet("color: #1f77b4;")
        self.bench_note.hide()
        self.layout_.addRow(self.bench_note)
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
        ``timing`` (as a run checks it, with the refusal told in the protocol's parameters). Fields
        at their default that the bench cannot play are moved to values it can (``adjusted``),
        marked, and named in the note above the form; a field the user changed is refused instead.
        """
        bad: dict[str, str] = {}
        adjusted: dict[str, tuple[float, float]] = {}
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
                    kept = frozenset(n for n in self.fields
                                     if protocol.values[n] != self.protocol_class.parameter(n).default)
                    protocol, adjusted = adapt_defaults(protocol, bench, timing, kept)
            except (LabsuiteError, ValueError, OSError) as exc:   # e.g. an STDP waveform CSV that is not there
                reason = str(exc)
                field = getattr(exc, "field", "")
                if field in self.fields or field in self.choice_fields:
                    bad[field] = reason
                protocol = None
        for name, widget in (*self.fields.items(), *self.choice_fields.items()):
            style = INVALID_STYLE if name in bad else ADJUSTED_STYLE if name in adjusted else ""
            widget.setStyleSheet(f"{type(widget).__name__} {{ {style} }}" if style else "")
            widget.setToolTip(self.tooltips[name] + (f"<br><span style='color:#d62728'>{bad[name]}</span>"
                                                     if name in bad else ""))
        if adjusted:
            self.bench_note.setText(describe_adjusted(adjusted, protocol.units, bench))
        self.bench_note.setVisible(bool(adjusted))
        self.protocol, self.reason, self.adjusted = protocol, reason, adjusted
        return reason

    def provenance(self) -> dict[str, object]:
        """What a run of the validated form stores besides its parameters: the defaults the bench changed."""
        if not self.adjusted or self.protocol is None:
            return {}
        return adjusted_provenance(self.adjusted, self.protocol.units)
