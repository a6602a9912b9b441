"""Bench: the instruments on the table, how they reach the device, and the limits never to pass.

A bench is built by :mod:`labsuite.bench_factory` (real instruments, simulated ones, a recorded
run's transcript, or a ``bench.toml``), also reached as ``Bench.connect``, ``Bench.simulated``,
``Bench.replayed`` and ``Bench.from_toml``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsuite import link
from labsuite.core.clock import Clock, RealClock
from labsuite.core.errors import InvalidParameter, LimitError
from labsuite.core.instruments import PulseGenerator, SourceMeter
from labsuite.core.program import PulseProgram
from labsuite.registry import DEFAULT_SMU, name_of
from labsuite.core.parameters import Number, declared

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
    trigger_line: bool = False   # a cable from the SMU's trigger output to the generator's trigger input
    station: Any = field(default=None, repr=False)   # a simulated bench's SimulatedStation (faults, inspection)

    @classmethod
    def connect(cls, resource: str, driver: str = DEFAULT_SMU, limits: Limits | None = None,
                visa_library: Any = "", name: str = "bench", pulse_generator: tuple[str, str] | None = None,
                pulse_series_resistance: float = 0.0, trigger_line: bool = False) -> Bench:
        """Real instruments (see :func:`labsuite.bench_factory.connect`)."""
        from labsuite import bench_factory

        return bench_factory.connect(resource, driver, limits, visa_library, name, pulse_generator,
                                     pulse_series_resistance, trigger_line)

    @classmethod
    def simulated(cls, model: str | None = None, seed: int = 0, limits: Limits | None = None,
                  series_resistance: float = 0.0, transport: str = "inprocess",
                  name: str = "simulated bench", model_params: dict[str, Any] | None = None,
                  smu: str = DEFAULT_SMU, pulse_generator: str | None = None,
                  pulse_series_resistance: float = 0.0, trigger_line: bool = True) -> Bench:
        """Simulated instruments on a device model (see :func:`labsuite.bench_factory.simulated`)."""
        from labsuite import bench_factory

        return bench_factory.simulated(model, seed, limits, series_resistance, transport, name, model_params, smu,
                                       pulse_generator, pulse_series_resistance, trigger_line)

    @classmethod
    def replayed(cls, run_file: str | Path) -> Bench:
        """An SMU answering from a run file's transcript (see :func:`labsuite.bench_factory.replayed`)."""
        from labsuite import bench_factory

        return bench_factory.replayed(run_file)

    @classmethod
    def from_toml(cls, path: str | Path) -> Bench:
        """A bench description file (see :func:`labsuite.bench_factory.from_toml`)."""
        from labsuite import bench_factory

        return bench_factory.from_toml(path)

    def snapshot(self) -> dict[str, Any]:
        """What the run file keeps about the bench: limits, instruments with *IDN? and settings."""
        instruments = {"smu": {"driver": name_of(self.smu), "resource": self.resources.get("smu"),
                               "settings": self.smu.settings()}}
        if self.pulse_generator is not None:
            instruments["pulse_generator"] = {"driver": name_of(self.pulse_generator),
                                              "resource": self.resources.get("pulse_generator"),
                                              "series_resistance": self.pulse_series_resistance,
                                              "trigger_line": self.trigger_line,
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
