"""An experiment: one protocol run on one bench, written to a run file and analyzed.

This is the single code path behind the CLI, recipes, scripts and the GUI::

    from labsuite import Bench, run_protocol
    with Bench.simulated(seed=1) as bench:
        result = run_protocol("potentiation", bench, {"amplitude": "1.2 V"}, out_dir="runs")
    print(result.figures["nonlinearity_a"], result.path)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection

import numpy as np

from labsuite import link
from labsuite.bench import Bench
from labsuite.catalog import Catalog, CatalogUnavailable
from labsuite.core.errors import InvalidParameter, RunAborted
from labsuite.core.names import resolve
from labsuite.core.events import RunObserver, RunState
from labsuite.protocols import PROTOCOLS, AdaptiveProtocol, Protocol
from labsuite.refusal import adapt_defaults as adapted_to, check_protocol, instrument_name
from labsuite.core.renames import renamed
from labsuite.runner import COMPLIANCE_FRACTION, Runner
from labsuite.core.units import format_quantity
from labsuite.store import Continuation, RunWriter, read_run, resumed_filename, run_filename
from labsuite.traffic import TrafficLog

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced."""

    protocol: Protocol
    state: RunState
    samples: np.ndarray
    figures: dict[str, float]
    path: Path | None
    error: BaseException | None = None
    compliance_hits: int = 0   # readings at the current compliance (see labsuite.runner.compliance_hits)
    adjusted: dict[str, tuple[float, float]] = field(default_factory=dict)   # {name: (default, bench value)}, SI
    pulses_played_by: str | None = None   # on a generator bench, who played the write pulses (Runner.pulses_played_by)

    @property
    def pulses_on_smu(self) -> bool:
        """A generator bench whose SMU played the write pulses (Runner.pulses_on_smu)."""
        return self.pulses_played_by == "smu"

    @property
    def warning(self) -> str:
        """One line if the run sat at compliance (a breakdown, a short, a limit set too low), else ""."""
        return compliance_warning(self.compliance_hits, self.samples.size)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: run file, protocol, parameters (SI), figures of merit, state, warning."""
        return {"run_file": str(self.path) if self.path else None, "protocol": self.protocol.name,
                "status": self.state.value, "parameters": self.protocol.values,
                "parameter_units": self.protocol.units, "figures": self.figures,
                "figure_units": self.protocol.figure_units, "samples": int(self.samples.size),
                "error": None if self.error is None else str(self.error),
                "compliance_hits": self.compliance_hits, "warning": self.warning or None,
                **adjusted_provenance(self.adjusted, self.protocol.units),
                **({"pulses_played_by": self.pulses_played_by} if self.pulses_played_by else {})}


def compliance_warning(hits: int, readings: int) -> str:
    """The warning for a run with ``hits`` of its ``readings`` at compliance ("" if none)."""
    if not hits:
        return ""
    return (f"{hits} of {readings} readings at the current compliance (|I| ≥ {COMPLIANCE_FRACTION:.0%} of the "
            "limit): a SET limited by design, or the device broke down or shorted")


def make_protocol(protocol: str | Protocol, parameters: dict[str, Any] | None = None) -> Protocol:
    """A protocol instance from its name and parameter values (numbers in SI or strings with units)."""
    if isinstance(protocol, Protocol):
        if parameters:
            raise InvalidParameter("parameters", "give parameters either to the protocol or here, not both")
        return protocol
    name = resolve(PROTOCOLS, protocol, "protocol")
    return PROTOCOLS[name](**renamed(name, parameters or {}))


def run_protocol(protocol: str | Protocol, bench: Bench, parameters: dict[str, Any] | None = None, *,
                 out_dir: str | Path | None = "runs", device_id: str = "device", timing: str = "auto",
                 observers: list[RunObserver] | tuple = (), runner_hook=None,
                 provenance: dict[str, Any] | None = None, tags: tuple[str, ...] | list[str] = (),
                 continues: Continuation | None = None,
                 adapt_defaults: bool | Collection[str] = False) -> RunResult:
    """Run ``protocol`` on ``bench``; write ``out_dir/<time>_<protocol>_<device>.h5``; analyze.

    An aborted run is analyzed on the samples it took. A run stopped by a signal (Ctrl-C, SIGTERM,
    SIGHUP) keeps its file, marked ``aborted`` with the signal, and re-raises
    :class:`~labsuite.interrupts.Interrupted`; a failed run keeps its file, marked ``failed`` with
    the error, and re-raises it. Readings at the current compliance are counted
    (``RunResult.compliance_hits``, run-file attributes ``compliance_hits`` and ``warning``).
    ``runner_hook(runner)`` is called once the Runner exists (a GUI or test uses it to keep a
    handle for pause/abort). ``provenance`` (e.g. the recipe, step and repeat that asked for this
    run) is stored with the run.
    ``continues`` (see :func:`labsuite.resume.resume_run`) plays only the rest of the program into
    a continuation file whose times run on; the result then holds the whole run.

    ``adapt_defaults`` (opt-in) lets the bench change defaults it cannot play to the nearest round
    values it can (:func:`labsuite.refusal.adapt_defaults`), e.g. 100 µs writes to 1 ms on a
    Keithley 2400: ``True`` for the parameters this call does not set (with a protocol name, those
    missing from ``parameters``; with a Protocol, those at their declared default), or the names of
    the parameters that may change. A parameter the user set is never changed: the run is refused
    naming it, the bench's limit and a ``--set`` value that plays. The changes are logged and stored
    in the run file's provenance under ``adjusted_defaults`` ({name: {"default", "bench", "unit"}}),
    and ``RunResult.adjusted`` holds them.
    """
    proto = make_protocol(protocol, parameters)
    bench.limits.check_parameters(proto.values, proto.units)
    adjusted: dict[str, tuple[float, float]] = {}
    if adapt_defaults:
        proto, adjusted = adapted_to(proto, bench, timing, _kept(protocol, proto, parameters, adapt_defaults))
        if adjusted:
            log.info("%s", describe_adjusted(adjusted, proto.units, bench))
            provenance = {**(provenance or {}), **adjusted_provenance(adjusted, proto.units)}
    options = getattr(proto, "options", None)   # choices that are not numbers, e.g. an STDP waveform
    if options:
        provenance = {**(provenance or {}), "options": options}
    program = proto.program()
    writer = None
    runner = Runner(bench, program, timing=timing, observers=list(observers),
                    start=continues.start if continues else (0, 0))
    check_protocol(proto, bench, timing)   # refuse, in the protocol's terms, before a file or a byte
    if runner.pulses_played_by:
        provenance = {**(provenance or {}), "pulses_played_by": runner.pulses_played_by}
    transcript = TrafficLog.attach(bench.smu, bench.clock) if out_dir is not None and hasattr(bench.smu, "adapter") \
        else None
    if out_dir is not None:
        seed = bench.simulator["seed"] if bench.simulator else None
        try:
            snapshot = bench.snapshot()   # asks the instruments their settings: the link may fail here
        except Exception as exc:   # noqa: BLE001 - a link failure as one line; anything else unchanged
            failure = link.translate(exc, bench.resources.get("smu", "SMU"))
            if failure is exc:
                raise
            raise failure from exc
        name = resumed_filename(continues.source) if continues else run_filename(proto.name, device_id)
        writer = RunWriter(Path(out_dir) / name, protocol=proto.name,
                           parameters=proto.values, parameter_units=proto.units, program=program,
                           bench=snapshot, device_id=device_id, seed=seed, provenance=provenance,
                           tags=tags, transcript=transcript, continues=continues,
                           time_offset=continues.t_end - bench.clock.now() if continues else 0.0)
        runner.observers.insert(0, writer)
        writer.stages_to_come = isinstance(proto, AdaptiveProtocol)
    stages: list[np.ndarray] = []
    hits = 0   # readings at compliance, over the stages
    try:
        for stage in range(getattr(proto, "max_stages", 1)):
            if stage:
                runner = Runner(bench, program, timing=timing, observers=runner.observers,
                                train_offset=runner.train_offset + len(runner.program.trains))
                runner.check()
                if writer is not None:
                    writer.add_program(program)
            if runner_hook is not None:
                runner_hook(runner)
            try:
                stages.append(runner.run())
            finally:
                hits += runner.compliance_hits
            if runner.state is not RunState.COMPLETED or not isinstance(proto, AdaptiveProtocol):
                break
            program = proto.next_program(np.concatenate(stages))
            if program is None:
                break
        if writer is not None and writer.stages_to_come and runner.state is RunState.COMPLETED:
            writer.mark(RunState.COMPLETED)      # the last stage has played
        samples = np.concatenate(stages)
        if continues is not None and writer is not None:
            samples["t"] += writer.time_offset
            samples = np.concatenate([read_run(continues.source).samples[:continues.kept], samples])
        # a figure the data do not define is left out, never stored or printed as NaN
        figures = {k: v for k, v in (proto.analyze(samples) if samples.size else {}).items()
                   if v is not None and np.isfinite(v)}
        if writer is not None and figures:
            writer.write_analysis(figures, proto.figure_units)
    except BaseException as exc:
        # between stages (the closed loop's next_program, a stage refused) or before the first
        if writer is not None and not writer.ended:
            stopped = isinstance(exc, (RunAborted, KeyboardInterrupt))
            writer.mark(RunState.ABORTED if stopped else RunState.FAILED, exc)
        raise
    finally:
        if transcript is not None:
            transcript.detach()
        if writer is not None:
            try:   # the run file says whether the run sat at compliance
                if writer.file.id.valid:
                    writer.file.attrs.update({"compliance_hits": hits, "warning": compliance_warning(
                        hits, writer.stored)})
            except Exception:   # noqa: BLE001 - never hides what ended the run; the samples are stored
                log.warning("could not record the compliance count in %s", writer.path, exc_info=True)
            writer.close()
            _index(out_dir, writer.path)
    return RunResult(proto, runner.state, samples, figures, writer.path if writer else None, runner.error, hits,
                     adjusted, runner.pulses_played_by)


def _kept(protocol: str | Protocol, proto: Protocol, parameters: dict[str, Any] | None,
          adapt_defaults: bool | Collection[str]) -> frozenset[str]:
    """The parameters of ``proto`` that adapting to the bench must leave as they are."""
    if adapt_defaults is True:
        if isinstance(protocol, Protocol):
            return frozenset(p.name for p in proto.parameters if proto.values[p.name] != p.parse(p.default))
        return frozenset(parameters or {})
    return frozenset(proto.values) - frozenset(adapt_defaults)


def adjusted_provenance(adjusted: dict[str, tuple[float, float]], units: dict[str, str]) -> dict[str, Any]:
    """The run file's record of defaults a bench changed: ``{"adjusted_defaults": {name: {"default",
    "bench", "unit"}}}`` (SI values)."""
    return {"adjusted_defaults": {n: {"default": old, "bench": new, "unit": units[n]}
                                  for n, (old, new) in adjusted.items()}}


def describe_adjusted(adjusted: dict[str, tuple[float, float]], units: dict[str, str], bench: Bench) -> str:
    """One line saying which defaults ``bench`` changed: ``defaults adjusted to the Keithley 2400
    SourceMeter: width 100 µs → 1 ms (the defaults do not play on it)``."""
    generator = " and pulse generator" if bench.pulse_generator else ""
    return (f"defaults adjusted to the {instrument_name(bench.smu)}{generator}: {adjusted_text(adjusted, units)} "
            "(the defaults do not play on it)")


def adjusted_text(adjusted: dict[str, tuple[float, float]], units: dict[str, str]) -> str:
    """The changes as text: ``width 100 µs → 1 ms, reset_compliance 10 mA → 2 mA``."""
    return ", ".join(f"{n} {format_quantity(old, units[n])} → {format_quantity(new, units[n])}"
                     for n, (old, new) in adjusted.items())


def _index(out_dir: str | Path, path: Path) -> None:
    """Add a finished run to its folder's catalog; a busy catalog only delays that to the next listing."""
    try:
        Catalog(out_dir).index(path)
    except CatalogUnavailable as exc:
        log.warning("%s; the run is saved, the index will catch up at the next listing", exc)
