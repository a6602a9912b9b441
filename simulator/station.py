"""A simulated station: one device model, the circuit around it, and the instruments driving it.

Every part shares one clock. ``resources`` maps VISA resource names to instruments, both for the
in-process pyvisa backend (:meth:`visa_library`) and for the loopback TCP server.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labsuite.clock import VirtualClock
from labsuite.simulator.circuit import SourceCircuit
from labsuite.simulator.instruments.keithley2450 import Keithley2450
from labsuite.simulator.models import DEFAULT_MODEL, make_model
from labsuite.simulator.visa import SimulatedVisaLibrary

SIMULATED_SMUS = {"keithley2450": Keithley2450}


@dataclass
class SimulatedStation:
    """A device under test on a simulated SMU.

    ``seed`` fixes every random draw of the device (read noise, cycle-to-cycle variation).
    """

    model_name: str = DEFAULT_MODEL
    seed: int = 0
    smu: str = "keithley2450"
    series_resistance: float = 0.0      # Ω between the SMU and the device
    model_params: dict[str, str | float] = field(default_factory=dict)   # overrides, units allowed
    clock: VirtualClock = field(default_factory=VirtualClock)

    def __post_init__(self) -> None:
        if self.smu not in SIMULATED_SMUS:
            raise ValueError(f"no simulated SMU {self.smu!r}; choose one of {', '.join(SIMULATED_SMUS)}")
        self.model = make_model(self.model_name, np.random.default_rng(self.seed), params=self.model_params)
        self.circuit = SourceCircuit(self.model, self.series_resistance)
        self.instruments = {"smu": SIMULATED_SMUS[self.smu](self.circuit, self.clock)}
        self.resources = {"smu": f"TCPIP0::sim.labsuite::{self.smu}::INSTR"}

    def visa_library(self) -> SimulatedVisaLibrary:
        """An in-process pyvisa backend serving this station's instruments."""
        return SimulatedVisaLibrary({self.resources[role]: inst for role, inst in self.instruments.items()})
