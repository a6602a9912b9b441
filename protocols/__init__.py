"""Pulse protocols: typed parameters with units and limits, a pulse program, and an analysis."""
from labsuite.protocols.parameters import Parameter
from labsuite.protocols.potentiation import Depression, Potentiation
from labsuite.protocols.protocol import Protocol

PROTOCOLS: dict[str, type[Protocol]] = {p.name: p for p in (Potentiation, Depression)}

__all__ = ["PROTOCOLS", "Protocol", "Parameter", "Potentiation", "Depression"]
