"""Bench: the instruments on the table, how they reach the device, and the limits never to pass.

Build one from code, from a ``bench.toml``, or on simulators with :meth:`Bench.simulated`::

    [bench]
    name = "probe station 2"

    [limits]
    max_voltage = "5 V"          # largest |V| any program may apply
    max_compliance = "10 mA"     # largest current limit any program may set

    [smu]
    driver = "keithley2450"
    resource = "TCPIP0::192.168.1.20::inst0::INSTR"

    [pulse_generator]             # optional: plays the write pulses, the SMU reads
    driver = "keysight33500"
    resource = "TCPIP0::192.168.1.21::inst0::INSTR"
    series_resistance = "2 kohm"  # in its path to the device: limits what a short could draw

or, for the simulated bench, instead of ``[smu]``::

    [simulator]
    model = "synaptic-memristor"
    seed = 1
    smu = "keithley2450"          # any simulated SMU (see `labsuite instruments --simulated`)
    pulse_generator = "keysight33500"   # optional
    series_resistance = "1 kohm"
    [simulator.device]            # device-model parameters, units allowed
    tau_volatile = "20 ms"
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsuite import link
from labsuite.clock import Clock, RealClock
from labsuite.discovery import check_resource
from labsuite.drivers import PULSE_GENERATORS, SOURCE_METERS, match_driver
from labsuite.errors import InstrumentError, InvalidParameter, LimitError
from labsuite.instruments import PulseGenerator, SourceMeter
from labsuite.parameters import Number, declared
from labsuite.program import PulseProgram
from labsuite.units import parse_quantity

log = logging.getLogger("labsuite")


@dataclass(frozen=True)
class Limits:
    """What this bench may apply to a device, whatever a program asks for."""

    max_voltage: float = field(default=10.0, metadata={"parameter": Number(
        "", "V", 10.0, 0.0, None, "largest |V| any program may apply", open_minimum=True)})
    max_compliance: float = field(default=10e-3, metadata={"parameter": Number(
        "", "A", 10e-3, 0.0, None, "largest current limit any program may set", open_minimum=True)})

    def __post_init__(self) -> None:
        for p in declared(Limits):
            value = getattr(self, p.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not p.contains(value):
                raise InvalidParameter(f"limits.{p.name}", f"{value!r} {p.unit} must be a positive, finite limit")

    def check_parameters(self, values: dict[str, float], units: dict[str, str]) -> None:
        """Raise :class:`LimitError` naming the parameter that asks for more than the bench allows."""
        for name, value in values.items():
            if units.get(name) == "V" and abs(value) > self.max_voltage:
                raise LimitError(name, value, -self.max_voltage, self.max_voltage, "V", "bench limit max_voltage")
            if units.get(name) == "A" and value > self.max_compliance:
                raise LimitError(name, value, None, self.max_compliance, "A", "bench limit max_compliance")

    def check(self, program: PulseProgram) -> None:
        """Raise :class:`LimitError` if ``program`` would pass a limit; nothing is sent before."""
        level = program.max_abs_level
        if level > self.max_voltage:
            raise LimitError("|level|", level, None, self.max_voltage, "V", "bench limit max_voltage")
        if program.max_compliance > self.max_compliance:
            raise LimitError("compliance", program.max_compliance, None, self.max_compliance, "A",
                             "bench limit max_compliance")


@dataclass
class Bench:
    """An SMU (and optionally a pulse generator) wired to one device, the bench's limits and its clock."""

    smu: SourceMeter
    limits: Limits = field(default_factory=Limits)
    clock: Clock = field(default_factory=RealClock)
    name: str = "bench"
    resources: dict[str, str] = field(default_factory=dict)
    simulator: dict[str, Any] | None = None   # model, parameters and seed of a simulated bench
    closers: list = field(default_factory=list, repr=False)
    pulse_generator: PulseGenerator | None = None
    pulse_series_resistance: float = 0.0   # Ω between the generator's output and the device
    station: Any = field(default=None, repr=False)   # a simulated bench's SimulatedStation (faults, inspection)

    @classmethod
    def connect(cls, resource: str, driver: str = "keithley2450", limits: Limits | None = None,
                visa_library: Any = "", name: str = "bench", pulse_generator: tuple[str, str] | None = None,
                pulse_series_resistance: float = 0.0) -> Bench:
        """Open a real SMU at VISA ``resource`` with the driver named ``driver`` (and a pulse
        generator, ``(resource, driver)``, behind ``pulse_series_resistance`` Ω)."""
        smu = open_instrument(SOURCE_METERS, "SMU", driver, resource, visa_library)
        bench = cls(smu, limits or Limits(), RealClock(), name, {"smu": resource}, closers=[smu.adapter.close],
                    pulse_series_resistance=pulse_series_resistance)
        if pulse_generator is not None:
            pg_resource, pg_driver = pulse_generator
            try:
                bench.pulse_generator = open_instrument(PULSE_GENERATORS, "pulse generator", pg_driver, pg_resource,
                                                        visa_library)
            except BaseException:
                bench.close()
                raise
            bench.resources["pulse_generator"] = pg_resource
            bench.closers.append(bench.pulse_generator.adapter.close)
        return bench

    @classmethod
    def simulated(cls, model: str | None = None, seed: int = 0, limits: Limits | None = None,
                  series_resistance: float = 0.0, transport: str = "inprocess",
                  name: str = "simulated bench", model_params: dict[str, Any] | None = None,
                  smu: str = "keithley2450", pulse_generator: str | None = None,
                  pulse_series_resistance: float = 0.0) -> Bench:
        """A bench of simulated instruments on a device model, in virtual time.

        ``transport="inprocess"`` talks to the simulated instruments through an in-process
        pyvisa backend; ``"tcp"`` serves them on loopback and connects with pyvisa-py, as a
        LAN instrument would be reached. Either way the driver sends the same SCPI.
        ``model_params`` overrides device-model parameters (``{"w_initial": 0.9}``); ``smu``
        names the simulated SMU (a key of ``SOURCE_METERS`` with a simulated twin);
        ``pulse_generator`` adds a simulated generator wired to the same device through its
        output impedance plus ``pulse_series_resistance`` Ω.
        """
        from labsuite.simulator.models import DEFAULT_MODEL
        from labsuite.simulator.server import InstrumentServer, ServedClock
        from labsuite.simulator.station import SimulatedStation

        for registry, kind, wanted in ((SOURCE_METERS, "SMU", smu), (PULSE_GENERATORS, "pulse generator", pulse_generator)):
            if wanted is not None:
                _driver(registry, kind, wanted)
        station = SimulatedStation(model or DEFAULT_MODEL, seed, smu=smu, series_resistance=series_resistance,
                                   model_params=dict(model_params or {}), pulse_generator=pulse_generator,
                                   pulse_series_resistance=pulse_series_resistance)
        closers = []
        if transport == "inprocess":
            library = station.visa_library()
            resources = {role: station.resources[role] for role in station.instruments}
            closers.append(library.close_library)
        elif transport == "tcp":
            server = InstrumentServer(station.served(with_control=False)).start()
            resources, library = {e.role: e.resource for e in server.endpoints}, "@py"
            closers.append(server.close)
        else:
            raise InvalidParameter("transport", f"{transport!r}: choose 'inprocess' or 'tcp'")
        # the drivers make their own adapters, so their termination and timeout settings apply
        driver = open_instrument(SOURCE_METERS, "SMU", station.smu, resources["smu"], library)
        closers.insert(0, driver.adapter.close)
        generator = None
        if pulse_generator is not None:
            generator = open_instrument(PULSE_GENERATORS, "pulse generator", pulse_generator,
                                        resources["pulse_generator"], library)
            closers.insert(0, generator.adapter.close)
        clock = station.clock
        if transport == "tcp":   # virtual time passes only once the instruments have executed what was sent
            clock = ServedClock(station.clock, server)
            for role, instrument in (("smu", driver), ("pulse_generator", generator)):
                if instrument is not None:
                    clock.watch(instrument.adapter.connection, role)
        sim = {"model": station.model.describe(), "seed": seed, "series_resistance": series_resistance,
               "transport": transport}
        if pulse_generator is not None:
            sim["pulse_series_resistance"] = pulse_series_resistance
        return cls(driver, limits or Limits(), clock, name, resources, sim, closers, generator, pulse_series_resistance,
                   station)

    @classmethod
    def replayed(cls, run_file: str | Path) -> Bench:
        """A bench whose SMU answers from ``run_file``'s recorded transcript, with its recorded
        limits: run the same protocol with the same parameters, writing a run file as the
        recording did, and the samples come out bit for bit; anything else stops at the first
        message that differs (``ReplayDiverged``)."""
        import json

        from labsuite.clock import VirtualClock
        from labsuite.simulator.instruments.transcript import TranscriptInstrument
        from labsuite.simulator.visa import SimulatedVisaLibrary
        from labsuite.store import open_run

        with open_run(run_file) as f:
            snapshot = json.loads(f.attrs["bench"])
            if "pulse_generator" in snapshot["instruments"]:
                raise InvalidParameter("run_file", "its bench had a pulse generator; only the SMU's messages "
                                                   "are recorded, so it cannot be replayed")
            traffic = f["transcript"]
            entries = list(zip(traffic["t"][:].tolist(), traffic["direction"].asstr()[:],
                               traffic["message"].asstr()[:]))
        clock = VirtualClock()
        instrument = TranscriptInstrument(entries, clock, snapshot["instruments"]["smu"]["settings"].get("idn", ""))
        resource = "TCPIP0::replay.labsuite::smu::INSTR"
        library = SimulatedVisaLibrary({resource: instrument})
        driver = snapshot["instruments"]["smu"]["driver"].lower()
        smu = SOURCE_METERS[driver](resource, visa_library=library)
        limits = Limits(**snapshot["limits"])
        return cls(smu, limits, clock, f"replay of {Path(run_file).name}", {"smu": resource},
                   snapshot.get("simulator"), [smu.adapter.close, library.close_library])

    @classmethod
    def from_toml(cls, path: str | Path) -> Bench:
        """Load a bench description (see the module docstring). Every key, type, driver name and
        VISA resource is checked before any instrument is opened."""
        from labsuite.tomlfile import load_toml

        spec = load_toml(path, "bench description")
        _keys(spec, "", {"bench", "limits", "smu", "pulse_generator", "simulator"})
        bench = _table(spec, "bench", {"name"})
        raw = _table(spec, "limits", {"max_voltage", "max_compliance"})
        limits = Limits(parse_quantity(raw.get("max_voltage", 10.0), "V", "limits.max_voltage"),
                        parse_quantity(raw.get("max_compliance", 10e-3), "A", "limits.max_compliance"))
        name = bench.get("name", Path(path).stem)
        if not isinstance(name, str):
            raise InvalidParameter("bench.name", f"{name!r} must be text, e.g. name = \"probe station 2\"")
        if "simulator" in spec:
            if "smu" in spec or "pulse_generator" in spec:
                raise InvalidParameter(str(path), "give either a [simulator] table or [smu] (and [pulse_generator]) "
                                                  "tables, not both")
            sim = _table(spec, "simulator", {"model", "seed", "smu", "pulse_generator", "series_resistance",
                                             "pulse_series_resistance", "transport", "device"})
            seed = sim.get("seed", 0)
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**63 - 1:
                raise InvalidParameter("simulator.seed", f"{seed!r} must be a whole number from 0 to {2**63 - 1}")
            device = _table(sim, "device", None, "simulator.")
            for key in ("model", "smu", "pulse_generator", "transport"):
                if key in sim and not isinstance(sim[key], str):
                    raise InvalidParameter(f"simulator.{key}", f"{sim[key]!r} must be a name in quotes")
            return cls.simulated(sim.get("model"), seed, limits,
                                 _resistance(sim, "series_resistance", "simulator."),
                                 sim.get("transport", "inprocess"), name, device,
                                 sim.get("smu", "keithley2450"), sim.get("pulse_generator"),
                                 _resistance(sim, "pulse_series_resistance", "simulator."))
        if "smu" not in spec:
            raise InvalidParameter(str(path), "needs an [smu] table (driver, resource) or a [simulator] table")
        smu = _table(spec, "smu", {"driver", "resource"})
        if "resource" not in smu:
            raise InvalidParameter("smu.resource", "give the VISA resource of the SMU")
        driver = smu.get("driver", "keithley2450")
        _driver(SOURCE_METERS, "SMU", driver, "smu.driver")
        resource = check_resource(smu["resource"], "smu.resource")
        generator = _table(spec, "pulse_generator", {"driver", "resource", "series_resistance"}) \
            if "pulse_generator" in spec else None
        if generator is not None:
            if not {"resource", "driver"} <= set(generator):
                raise InvalidParameter("pulse_generator",
                                       "give the driver and the VISA resource of the pulse generator")
            _driver(PULSE_GENERATORS, "pulse generator", generator["driver"], "pulse_generator.driver")
            check_resource(generator["resource"], "pulse_generator.resource")
        return cls.connect(resource, driver, limits, name=name,
                           pulse_generator=None if generator is None else (generator["resource"], generator["driver"]),
                           pulse_series_resistance=0.0 if generator is None else _resistance(
                               generator, "series_resistance", "pulse_generator."))

    def snapshot(self) -> dict[str, Any]:
        """What the run file keeps about the bench: limits, instruments with *IDN? and settings."""
        instruments = {"smu": {"driver": type(self.smu).__name__, "resource": self.resources.get("smu"),
                               "settings": self.smu.settings()}}
        if self.pulse_generator is not None:
            instruments["pulse_generator"] = {"driver": type(self.pulse_generator).__name__,
                                              "resource": self.resources.get("pulse_generator"),
                                              "series_resistance": self.pulse_series_resistance,
                                              "settings": self.pulse_generator.settings()}
        limits = {p.name: getattr(self.limits, p.name) for p in declared(Limits)}
        return {"name": self.name, "limits": limits, "instruments": instruments,
                "simulator": self.simulator}

    def close(self, error: BaseException | None = None) -> None:
        """Turn outputs off (reconnecting once to a resource whose link dropped) and release the
        instruments. With ``error`` (what is ending the program), a failure here is added to it as
        a note instead of replacing it; without, an output that could not be switched off raises
        :class:`~labsuite.link.LinkError`."""
        outcomes = []
        try:
            for instrument in (self.pulse_generator, self.smu):
                if instrument is not None and self.closers:   # closed already: nothing to switch off
                    outcomes.append(link.switch_off(instrument, isinstance(error, link.LinkError)))
        finally:
            for close in self.closers:
                try:
                    close()
                except Exception:   # noqa: BLE001 - a session on a dead link may refuse to close; it is gone
                    log.debug("closing a session failed", exc_info=True)
            self.closers.clear()
        notes = [o.note for o in outcomes if o.note]
        known = getattr(error, "__notes__", [])
        for note in notes:
            if error is not None and note not in known:
                error.add_note(note)
        left_on = [o for o in outcomes if not o.off]
        if left_on and error is None:
            raise link.LinkError(left_on[0].resource, left_on[0].note)

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        self.close(exc)


def open_instrument(registry: dict[str, type], kind: str, name: str, resource: str, visa_library: Any = "") -> Any:
    """Connect the driver registered as ``name`` to ``resource`` and check, before anything else is
    sent, that ``*IDN?`` names an instrument that driver is for; then drain (and log) errors a
    previous session left in its queue. Failures are one line naming the resource."""
    cls = _driver(registry, kind, name)
    check_resource(resource, f"{kind} resource")
    try:
        instrument = cls(resource, visa_library=visa_library)
    except Exception as exc:   # noqa: BLE001 - every VISA backend raises its own types on open
        raise link.translate_opening(exc, resource) from exc
    try:
        try:
            idn = instrument.ask("*IDN?").strip()
        except Exception as exc:   # noqa: BLE001
            raise link.translate_opening(exc, resource) from exc
        if not re.search(cls.idn_pattern, idn, re.IGNORECASE):
            other = match_driver(idn)
            hint = f'driver "{other}" matches it' if other else "no labsuite driver matches it"
            raise InstrumentError(resource, f"*IDN? answered {idn!r}, not a {name} ({hint})")
        try:
            stale = instrument.check_errors()
        except Exception as exc:   # noqa: BLE001
            raise link.translate(exc, resource) from exc
        for error in stale:
            log.warning("%s: error left in the queue by an earlier session: %s", resource,
                        ", ".join(str(e) for e in (error if isinstance(error, (list, tuple)) else [error])))
    except BaseException:
        instrument.adapter.close()
        raise
    return instrument


def _driver(registry: dict[str, type], kind: str, name: object, field: str = "driver") -> type:
    """The driver class registered as ``name``, or an error listing the supported ones."""
    if isinstance(name, str) and name in registry:
        return registry[name]
    raise InvalidParameter(field, f"{name!r} is not a supported {kind}; choose one of "
                                  f"{', '.join(registry) or 'none yet'}")


def _keys(table: dict[str, Any], where: str, allowed: set[str]) -> None:
    """Refuse a key the bench description does not know (a typo would otherwise be ignored)."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InvalidParameter(f"{where}{unknown[0]}", f"unknown key; {'[' + where.rstrip('.') + '] ' if where else ''}"
                                                      f"takes {', '.join(sorted(allowed))}")


def _table(spec: dict[str, Any], key: str, allowed: set[str] | None, where: str = "") -> dict[str, Any]:
    """``spec[key]`` (empty if absent), which must be a table with only ``allowed`` keys (None: any)."""
    table = spec.get(key, {})
    if not isinstance(table, dict):
        raise InvalidParameter(f"{where}{key}",
                               f"must be a table: write [{where}{key}] and name = value lines under it")
    if allowed is not None:
        _keys(table, f"{where}{key}.", allowed)
    return table


def _resistance(table: dict[str, Any], key: str, where: str) -> float:
    """A series resistance from a bench table, in Ω, ≥ 0 and finite."""
    value = parse_quantity(table.get(key, 0.0), "ohm", f"{where}{key}")
    if value < 0:
        raise InvalidParameter(f"{where}{key}", f"{value:g} ohm must not be negative; give 0 or more, e.g. \"1 kohm\"")
    return value
