"""Pulse protocols: typed parameters with units and limits, a pulse program, and an analysis."""
from labsuite.protocols.forming import Forming
from labsuite.protocols.parameters import Parameter
from labsuite.protocols.potentiation import Depression, Potentiation
from labsuite.protocols.protocol import AdaptiveProtocol, Protocol
from labsuite.protocols.write_verify import WriteVerify

PROTOCOLS: dict[str, type[Protocol]] = {p.name: p for p in (Potentiation, Depression, Forming, WriteVerify)}

__all__ = ["PROTOCOLS", "Protocol", "AdaptiveProtocol", "Parameter", "Potentiation", "Depression"]
