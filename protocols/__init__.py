"""Pulse protocols: typed parameters with units and limits, a pulse program, and an analysis."""
from labsuite.protocols.cycling import PlasticityCycling
from labsuite.protocols.endurance import Endurance
from labsuite.protocols.forming import Forming
from labsuite.protocols.iv import IVSweep, PulsedIV
from labsuite.protocols.potentiation import Depression, Potentiation
from labsuite.protocols.ppf import PairedPulse
from labsuite.protocols.protocol import AdaptiveProtocol, Protocol
from labsuite.protocols.retention import Retention
from labsuite.protocols.srdp import SpikeRate
from labsuite.protocols.stdp import SpikeTiming
from labsuite.protocols.write_verify import WriteVerify

PROTOCOLS: dict[str, type[Protocol]] = {p.name: p for p in (
    Potentiation, Depression, PlasticityCycling, PairedPulse, SpikeTiming, SpikeRate, Retention, IVSweep,
    PulsedIV, Endurance, Forming, WriteVerify)}

__all__ = ["PROTOCOLS", "Protocol", "AdaptiveProtocol", "Potentiation", "Depression", "PairedPulse",
           "SpikeRate", "Retention", "IVSweep", "PulsedIV", "Forming", "WriteVerify", "PlasticityCycling", "Endurance",
           "SpikeTiming"]
