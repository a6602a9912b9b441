"""Building a :class:`~labsuite.bench.Bench`: real instruments, simulated ones, a recorded run's
transcript, or a bench description file.

Every instrument is named as :mod:`labsuite.registry` knows it. A ``bench.toml``::

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
    trigger_line = true           # a cable from the SMU's trigger output (a 2450's or a 2600B's
                                  # digital I/O line 1) to its trigger input: it can play pulses shorter than
                                  # the SMU can time, started by the SMU's sequencer

or, for the simulated bench, instead of ``[smu]``::

    [simulator]
    model = "synaptic-memristor"
    seed = 1
    smu = "keithley2450"          # any registered SMU (see `labsuite instruments --simulated`)
    pulse_generator = "keysight33500"   # optional
    pulse_series_resistance = "2 kohm"
    trigger_line = false          # the default wires the SMU's trigger output to it, where it has one
    [simulator.device]            # device-model parameters, units allowed
    tau_volatile = "20 ms"
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from labsuite import link, registry
from labsuite.bench import Bench, Limits
from labsuite.bench_settings import BenchSettings
from labsuite.core.clock import RealClock, VirtualClock
from labsuite.discovery import check_resource
from labsuite.core.errors import InstrumentError, InvalidParameter
from labsuite.core.instruments import Kind
from labsuite.registry import DEFAULT_SMU
from labsuite.core.parameters import declaration, declared

log = logging.getLogger("labsuite")


def connect(resource: str, driver: str = DEFAULT_SMU, limits: Limits | None = None, visa_library: Any = "",
            name: str = "bench", pulse_generator: tuple[str, str] | None = None,
            pulse_series_resistance: float = 0.0, trigger_line: bool = False) -> Bench:
    """Open a real SMU at VISA ``resource`` with the instrument registered as ``driver`` (and a pulse
    generator, ``(resource, driver)``, behind ``pulse_series_resistance`` Ω, its trigger input wired
    to the SMU's trigger output if ``trigger_line``)."""
    smu = open_instrument("smu", driver, resource, visa_library)
    bench = Bench(smu, limits or Limits(), RealClock(), name, {"smu": resource}, closers=[smu.adapter.close],
                  pulse_series_resistance=pulse_series_resistance,
                  trigger_line=trigger_line and pulse_generator is not None)
    if pulse_generator is not None:
        pg_resource, pg_driver = pulse_generator
        try:
            bench.pulse_generator = open_instrument("pulse_generator", pg_driver, pg_resource, visa_library)
        except BaseException:
            bench.close()
            raise
        bench.resources["pulse_generator"] = pg_resource
        bench.closers.append(bench.pulse_generator.adapter.close)
    return bench


def simulated(model: str | None = None, seed: int = 0, limits: Limits | None = None,
              series_resistance: float = 0.0, transport: str = "inprocess",
              name: str = "simulated bench", model_params: dict[str, Any] | None = None,
              smu: str = DEFAULT_SMU, pulse_generator: str | None = None,
              pulse_series_resistance: float = 0.0, trigger_line: bool = True) -> Bench:
    """A bench of simulated instruments on a device model, in virtual time.

    ``transport="inprocess"`` talks to the simulated instruments through an in-process
    pyvisa backend; ``"tcp"`` serves them on loopback and connects with pyvisa-py, as a
    LAN instrument would be reached. Either way the driver sends the same SCPI.
    ``model_params`` overrides device-model parameters (``{"w_initial": 0.9}``); ``smu``
    names the registered SMU whose simulated twin plays; ``pulse_generator`` adds a simulated
    generator wired to the same device through its output impedance plus
    ``pulse_series_resistance`` Ω, and (``trigger_line``, where the SMU has a trigger output) its
    trigger input to the SMU's trigger output.
    """
    from labsuite.simulator.models import DEFAULT_MODEL
    from labsuite.simulator.server import InstrumentServer, ServedClock
    from labsuite.simulator.station import SimulatedStation

    registry.lookup("smu", smu, "smu")
    if pulse_generator is not None:
        registry.lookup("pulse_generator", pulse_generator, "pulse_generator")
    station = SimulatedStation(model or DEFAULT_MODEL, seed, smu=smu, series_resistance=series_resistance,
                               model_params=dict(model_params or {}), pulse_generator=pulse_generator,
                               pulse_series_resistance=pulse_series_resistance, trigger_line=trigger_line)
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
    driver = open_instrument("smu", station.smu, resources["smu"], library)
    closers.insert(0, driver.adapter.close)
    generator = None
    if pulse_generator is not None:
        generator = open_instrument("pulse_generator", pulse_generator, resources["pulse_generator"], library)
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
        sim["trigger_line"] = station.trigger_line
    return Bench(driver, limits or Limits(), clock, name, resources, sim, closers, generator, pulse_series_resistance,
                 station.trigger_line, station)


def replayed(run_file: str | Path) -> Bench:
    """A bench whose SMU answers from ``run_file``'s recorded transcript, with its recorded
    limits: run the same protocol with the same parameters, writing a run file as the
    recording did, and the samples come out bit for bit; anything else stops at the first
    message that differs (``ReplayDiverged``)."""
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
    entry = registry.lookup("smu", registry.recorded(snapshot["instruments"]["smu"]["driver"]), "driver")
    smu = entry.open(resource, library)
    limits = Limits(**snapshot["limits"])
    return Bench(smu, limits, clock, f"replay of {Path(run_file).name}", {"smu": resource},
                 snapshot.get("simulator"), [smu.adapter.close, library.close_library])


def from_toml(path: str | Path) -> Bench:
    """Load a bench description (see the module docstring). Every key, type, driver name and
    VISA resource is checked before any instrument is opened."""
    from labsuite.tomlfile import load_toml

    spec = load_toml(path, "bench description")
    _keys(spec, "", {"bench", "limits", "smu", "pulse_generator", "simulator"})
    bench = _table(spec, "bench", {"name"})
    raw = _table(spec, "limits", {p.name for p in declared(Limits)})
    limits = Limits(**{p.name: _setting(raw, Limits, p.name, "limits.") for p in declared(Limits)})
    name = bench.get("name", Path(path).stem)
    if not isinstance(name, str):
        raise InvalidParameter("bench.name", f"{name!r} must be text, e.g. name = \"probe station 2\"")
    if "simulator" in spec:
        if "smu" in spec or "pulse_generator" in spec:
            raise InvalidParameter(str(path), "give either a [simulator] table or [smu] (and [pulse_generator]) "
                                              "tables, not both")
        settings = {p.name for p in declared(BenchSettings)}
        sim = _table(spec, "simulator", {"model", "smu", "pulse_generator", "trigger_line", "device"} | settings)
        device = _table(sim, "device", None, "simulator.")
        for key in ("model", "smu", "pulse_generator"):
            if key in sim and not isinstance(sim[key], str):
                raise InvalidParameter(f"simulator.{key}", f"{sim[key]!r} must be a name in quotes")
        given = {key: _setting(sim, BenchSettings, key, "simulator.") for key in settings}
        return simulated(sim.get("model"), given["seed"], limits, given["series_resistance"], given["transport"],
                         name, device, sim.get("smu", DEFAULT_SMU), sim.get("pulse_generator"),
                         given["pulse_series_resistance"], _flag(sim, "trigger_line", True, "simulator."))
    if "smu" not in spec:
        raise InvalidParameter(str(path), "needs an [smu] table (driver, resource) or a [simulator] table")
    smu = _table(spec, "smu", {"driver", "resource"})
    if "resource" not in smu:
        raise InvalidParameter("smu.resource", "give the VISA resource of the SMU")
    driver = smu.get("driver", DEFAULT_SMU)
    registry.lookup("smu", driver, "smu.driver")
    resource = check_resource(smu["resource"], "smu.resource")
    generator = _table(spec, "pulse_generator", {"driver", "resource", "series_resistance", "trigger_line"}) \
        if "pulse_generator" in spec else None
    if generator is not None:
        if not {"resource", "driver"} <= set(generator):
            raise InvalidParameter("pulse_generator", "give the driver and the VISA resource of the pulse generator")
        registry.lookup("pulse_generator", generator["driver"], "pulse_generator.driver")
        check_resource(generator["resource"], "pulse_generator.resource")
    return connect(resource, driver, limits, name=name,
                   pulse_generator=None if generator is None else (generator["resource"], generator["driver"]),
                   pulse_series_resistance=0.0 if generator is None else _setting(
                       generator, BenchSettings, "pulse_series_resistance", "pulse_generator.", "series_resistance"),
                   trigger_line=generator is not None and _flag(generator, "trigger_line", False, "pulse_generator."))


def open_instrument(kind: Kind, name: str, resource: str, visa_library: Any = "") -> Any:
    """Connect the instrument of ``kind`` registered as ``name`` to ``resource`` and check, before
    anything else is sent, that ``*IDN?`` names an instrument that entry is for; then drain (and
    log) errors a previous session left in its queue. Failures are one line naming the resource."""
    entry = registry.lookup(kind, name)
    check_resource(resource, f"{registry.KIND_NAMES[kind]} resource")
    try:
        instrument = entry.open(resource, visa_library)
    except Exception as exc:   # noqa: BLE001 - every VISA backend raises its own types on open
        raise link.translate_opening(exc, resource) from exc
    try:
        try:
            idn = instrument.ask("*IDN?").strip()
        except Exception as exc:   # noqa: BLE001
            raise link.translate_opening(exc, resource) from exc
        if not entry.matches(idn):
            other = registry.match(idn)
            hint = f'driver "{other.name}" matches it' if other else "no labsuite driver matches it"
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


def _setting(table: dict[str, Any], settings: type, name: str, where: str, key: str | None = None) -> Any:
    """The value of the declared setting ``name`` of ``settings`` given as ``key`` (default: ``name``)
    in a bench-file table (its default if absent), parsed and checked by its declaration."""
    key = key or name
    parameter = declaration(settings, name, f"{where}{key}")
    return parameter.parse(table[key]) if key in table else parameter.default


def _flag(table: dict[str, Any], key: str, default: bool, where: str) -> bool:
    """A true/false setting from a bench table."""
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise InvalidParameter(f"{where}{key}", f"{value!r} must be true or false")
    return value
