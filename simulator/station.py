"""A simulated station: one device model, the wiring around it, and the instruments driving it.

Every part shares one clock. The SMU reaches the device through ``series_resistance``; a pulse
generator, when the station has one, through its own output impedance plus
``pulse_series_resistance`` (see ``circuit.py`` for how outputs combine). With ``trigger_line``
(the default) a cable runs from the SMU's trigger output (digital I/O line 1 of a Keithley 2450
or 2600B) to the generator's Trig In, where the SMU's twin has one (``trigger_out``);
``trigger_line`` then says whether it was wired. ``resources`` maps each role to the VISA resource name that the in-process pyvisa backend (:meth:`visa_library`)
serves it under; the loopback TCP server serves :meth:`served` on one port each. Transports
reach every instrument through its :class:`~labsuite.simulator.faults.FaultInjector`
(``station.faults[role]``).

The ``simulator`` role is a pseudo-instrument for a remote client: ``WAIT <s>`` lets virtual
time pass (``TIME?`` reads it) and ``FAULT <role>,<DROP|LATE|GARBLE|POWER|BREAKDOWN>[,<value>]``
arms a fault. Letting virtual time pass during idle waits: a client in the same process calls
``station.clock.sleep(s)``; a client over TCP either talks to a station whose clock follows the
wall clock (``labsuite sim serve`` does), so its own ``time.sleep`` is enough, or writes ``WAIT``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labsuite.core.clock import VirtualClock
from labsuite.core.plugins import Catalog, built_in
from labsuite.simulator import instruments as simulated_instruments
from labsuite.simulator.circuit import DeviceNode, SourcePort
from labsuite.simulator.faults import Fault, FaultInjector
from labsuite.simulator.instruments.scpi import ScpiError, ScpiInstrument, command, parse_number
from labsuite.simulator.models import DEFAULT_MODEL, make_model
from labsuite.simulator.pacing import Pacer
from labsuite.simulator.visa import SimulatedVisaLibrary


@dataclass(frozen=True)
class Twin:
    """A simulated instrument class standing in for one registered instrument (``simulates``)."""

    cls: type
    model: str | None   # passed to the class as ``model=``

    def build(self, port: SourcePort) -> Any:
        """The simulated instrument driving ``port``."""
        return self.cls(port) if self.model is None else self.cls(port, model=self.model)


def twins_of(cls: object) -> dict[str, Twin]:
    """``{registry name: Twin}`` for what class ``cls`` declares in its own ``simulates`` (none for
    anything else: a driver class of a ``labsuite.instruments`` plugin goes to the registry)."""
    declared = vars(cls).get("simulates", {}) if isinstance(cls, type) else {}
    return {name: Twin(cls, model) for name, model in declared.items()}


# the built-in twins, then those of ``labsuite.instruments`` plugins (labsuite.core.plugins)
TWINS: Catalog[Twin] = Catalog("labsuite.instruments", "simulated instrument",
                               built_in(simulated_instruments, twins_of, "simulated"),
                               lambda entry_point, obj: twins_of(obj))


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
    trigger_line: bool = True   # the SMU's trigger output to the generator's Trig In, where the SMU has one
    paced: bool = False   # sequences play against the wall clock at clock.speed (simulator/pacing.py)

    def __post_init__(self) -> None:
        for name in (self.smu, self.pulse_generator):
            if name is not None and name not in TWINS:
                raise ValueError(f"no simulated instrument {name!r}; choose one of {', '.join(TWINS)}")
        self.model = make_model(self.model_name, np.random.default_rng(self.seed), params=self.model_params)
        self.node = DeviceNode(self.model, self.clock)
        if self.paced:
            self.node.pacer = Pacer(self.clock)
        self.instruments = {"smu": TWINS[self.smu].build(self.node.port("smu", self.series_resistance))}
        self.resources = {"smu": f"TCPIP0::sim.labsuite::{self.smu}::INSTR"}
        if self.pulse_generator is not None:
            twin = TWINS[self.pulse_generator]
            port = self.node.port("pulse_generator", twin.cls.output_impedance + self.pulse_series_resistance)
            self.instruments["pulse_generator"] = twin.build(port)
            self.resources["pulse_generator"] = f"TCPIP0::sim.labsuite::{self.pulse_generator}::INSTR"
            outputs = getattr(self.instruments["smu"], "trigger_out", None)
            self.trigger_line = self.trigger_line and outputs is not None
            if self.trigger_line:
                outputs.append(self.instruments["pulse_generator"].trigger_in)
        else:
            self.trigger_line = False
        self.faults = {role: FaultInjector(inst, self.node) for role, inst in self.instruments.items()}
        self.resources["simulator"] = "TCPIP0::sim.labsuite::simulator::INSTR"

    def served(self, with_control: bool = True) -> dict[str, FaultInjector]:
        """``{role: instrument as transports serve it}``, with the ``simulator`` pseudo-instrument."""
        served = dict(self.faults)
        if with_control:
            served["simulator"] = FaultInjector(SimulatorControl(self.clock, self.faults))
        return served

    def visa_library(self, with_control: bool = False) -> SimulatedVisaLibrary:
        """An in-process pyvisa backend serving this station's instruments (and ``simulator``)."""
        return SimulatedVisaLibrary({self.resources[role]: inst for role, inst in self.served(with_control).items()})


class SimulatorControl(ScpiInstrument):
    """The ``simulator`` pseudo-instrument: virtual time and fault injection for remote clients."""

    idn = "LABSUITE,SIMULATOR CONTROL,0,1"

    def __init__(self, clock: VirtualClock, faults: dict[str, FaultInjector]) -> None:
        super().__init__()
        self.clock = clock
        self.faults = faults

    @command(":FAULt")
    def _fault(self, role: str, kind: str, value: str | None = None) -> None:
        injector = self.faults.get(role.strip().lower())
        try:
            fault = Fault(kind.strip().upper())
        except ValueError:
            raise ScpiError(-224, "Illegal parameter value; no such fault") from None
        if injector is None:
            raise ScpiError(-224, "Illegal parameter value; no such role")
        try:
            injector.arm(fault, None if value is None else parse_number(value))
        except ValueError as exc:
            raise ScpiError(-221, f"Settings conflict; {exc}") from None

    @command(":WAIT")
    def _wait(self, seconds: str) -> None:
        self.clock.advance(max(0.0, parse_number(seconds)))

    @command(":TIME?")
    def _time(self) -> str:
        return f"{self.clock.now():.9f}"

    @command(":SYSTem:ERRor[:NEXT]?")
    def _error(self) -> str:
        return self.errors.pop()
