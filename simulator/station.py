"""A simulated station: one device model, the wiring around it, and the instruments driving it.

Every part shares one clock. The SMU reaches the device through ``series_resistance``; a pulse
generator, when the station has one, through its own output impedance plus
``pulse_series_resistance`` (see ``circuit.py`` for how outputs combine). ``resources`` maps
each role to the VISA resource name that the in-process pyvisa backend (:meth:`visa_library`)
serves it under; the loopback TCP server serves ``instruments`` on one port each.

Letting virtual time pass: a client in the same process calls ``station.clock.sleep(s)``. A
client over TCP either serves the station with a clock that follows the wall clock (``labsuite
sim serve`` does), so its own ``time.sleep`` is enough, or writes ``WAIT <seconds>`` to the
``clock`` role, a pseudo-instrument that advances virtual time (``TIME?`` reads it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labsuite.clock import VirtualClock
from labsuite.simulator.circuit import DeviceNode
from labsuite.simulator.instruments.keithley2450 import Keithley2450
from labsuite.simulator.instruments.scpi import ScpiInstrument, command, parse_number
from labsuite.simulator.models import DEFAULT_MODEL, make_model
from labsuite.simulator.visa import SimulatedVisaLibrary

SIMULATED_SMUS: dict[str, type] = {"keithley2450": Keithley2450}
SIMULATED_PULSE_GENERATORS: dict[str, type] = {}


@dataclass
class SimulatedStation:
    """A device under test on a simulated SMU, optionally with a pulse generator wired to it too.

    ``seed`` fixes every random draw of the device (read noise, cycle-to-cycle variation).
    """

    model_name: str = DEFAULT_MODEL
    seed: int = 0
    smu: str = "keithley2450"
    series_resistance: float = 0.0      # Ω between the SMU and the device
    model_params: dict[str, str | float] = field(default_factory=dict)   # overrides, units allowed
    clock: VirtualClock = field(default_factory=VirtualClock)
    pulse_generator: str | None = None
    pulse_series_resistance: float = 0.0   # Ω between the generator's output and the device

    def __post_init__(self) -> None:
        if self.smu not in SIMULATED_SMUS:
            raise ValueError(f"no simulated SMU {self.smu!r}; choose one of {', '.join(SIMULATED_SMUS)}")
        if self.pulse_generator is not None and self.pulse_generator not in SIMULATED_PULSE_GENERATORS:
            raise ValueError(f"no simulated pulse generator {self.pulse_generator!r}; choose one of "
                             f"{', '.join(SIMULATED_PULSE_GENERATORS)}")
        self.model = make_model(self.model_name, np.random.default_rng(self.seed), params=self.model_params)
        self.node = DeviceNode(self.model, self.clock)
        self.instruments = {"smu": SIMULATED_SMUS[self.smu](self.node.port("smu", self.series_resistance))}
        self.resources = {"smu": f"TCPIP0::sim.labsuite::{self.smu}::INSTR"}
        if self.pulse_generator is not None:
            cls = SIMULATED_PULSE_GENERATORS[self.pulse_generator]
            port = self.node.port("pulse_generator", cls.output_impedance + self.pulse_series_resistance)
            self.instruments["pulse_generator"] = cls(port)
            self.resources["pulse_generator"] = f"TCPIP0::sim.labsuite::{self.pulse_generator}::INSTR"

    def visa_library(self, with_clock: bool = False) -> SimulatedVisaLibrary:
        """An in-process pyvisa backend serving this station's instruments (and the ``clock`` role)."""
        served = {self.resources[role]: inst for role, inst in self.instruments.items()}
        if with_clock:
            served["TCPIP0::sim.labsuite::clock::INSTR"] = VirtualClockInstrument(self.clock)
        return SimulatedVisaLibrary(served)


class VirtualClockInstrument(ScpiInstrument):
    """The ``clock`` pseudo-instrument: lets a remote client pass virtual time while it waits."""

    idn = "LABSUITE,VIRTUAL CLOCK,0,1"

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self.clock = clock

    @command("*IDN?")
    def _idn(self) -> str:
        return self.idn

    @command(":WAIT")
    def _wait(self, seconds: str) -> None:
        self.clock.advance(max(0.0, parse_number(seconds)))

    @command(":TIME?")
    def _time(self) -> str:
        return f"{self.clock.now():.9f}"

    @command(":SYSTem:ERRor[:NEXT]?")
    def _error(self) -> str:
        return self.errors.pop()
