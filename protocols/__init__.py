"""Pulse protocols: typed parameters with units and limits, a pulse program, and an analysis.

``PROTOCOLS`` maps each protocol's name to its class: the built-in ones below, then those that
installed distributions add through the ``labsuite.protocols`` entry point (labsuite.core.plugins).
"""
from labsuite.core.plugins import Catalog, subclasses
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

PROTOCOLS: Catalog[type[Protocol]] = Catalog("labsuite.protocols", "protocol", {p.name: p for p in (
    Potentiation, Depression, PlasticityCycling, PairedPulse, SpikeTiming, SpikeRate, Retention, IVSweep,
    PulsedIV, Endurance, Forming, WriteVerify)}, subclasses(Protocol))

__all__ = ["PROTOCOLS", "Protocol", "AdaptiveProtocol", "Potentiation", "Depression", "PairedPulse",
           "SpikeRate", "Retention", "IVSweep", "PulsedIV", "Forming", "WriteVerify", "PlasticityCycling", "Endurance",
           "SpikeTiming"]
