"""Refusals that say what to change.

When the connected bench cannot play a protocol's program as programmed, the Runner's check names
a segment (``write duration = 100 µs … at least 735 µs``) or an instrument limit. This module
tells it again in the protocol's own parameters: which parameter the user set, the bench's limit,
and the ``--set`` values (or the bench option) with which the program plays, found by changing
parameters and checking again, so a suggestion is only made once the Runner has accepted it::

    width = 100 µs is shorter than the Keithley 2400 SourceMeter can time (735 µs):
    use --set width=1ms, or add a pulse generator

or, for a run of a recipe (``BenchRefusal.in_recipe``), ``edit width in the recipe r.toml (step 1):
width = "1 ms"``.

A segment's duration is set by a parameter; :data:`DURATION_SOURCES` declares, per protocol and
segment label, which parameters may set it (a parameter whose value equals the segment's duration
is tried first). Nothing is sent to an instrument here.
"""
from __future__ import annotations

import json
import math
import re
from typing import Callable

import numpy as np

from labsuite.bench import Bench
from labsuite.burst_plan import plays_on_generator
from labsuite.core.errors import InvalidParameter, LabsuiteError, LimitError, ParameterError, RangeError
from labsuite.core.program import SAMPLE_DTYPE, PulseProgram, Segment
from labsuite.core.units import format_quantity
from labsuite.protocols import AdaptiveProtocol, Protocol
from labsuite.runner import SOFTWARE_MIN_SEGMENT, Runner

_IDLE_PULSE = ("read_delay", "period")
DURATION_SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "potentiation": {"write": ("width",), "read": ("read_time",), "idle": _IDLE_PULSE},
    "depression": {"write": ("width",), "read": ("read_time",), "idle": _IDLE_PULSE},
    "ltp-ltd": {"write": ("width",), "read": ("read_time",), "idle": _IDLE_PULSE},
    "ppf": {"write": ("width",), "read": ("read_time",), "idle": ("interval_min",), "rest": ("rest",)},
    "stdp": {"spike": ("time_step", "width", "peak_width"), "read": ("read_time",), "rest": ("read_delay",)},
    "srdp": {"write": ("width",), "read": ("read_time",), "settle": ("read_delay",), "rest": ("rest",)},
    "retention": {"write": ("width",), "read": ("read_time",), "idle": ("read_delay", "period")},
    "iv": {"sweep": ("dwell",)},
    "pulsed-iv": {"write": ("width",), "read": ("read_time",)},
    "endurance": {"set": ("set_width",), "reset": ("reset_width",), "read": ("read_time",)},
    "forming": {"write": ("width",), "read": ("read_time",), "idle": ("read_delay",)},
    "write-verify": {"write": ("width",), "read": ("read_time",), "idle": ("read_delay",)},
}
SEARCH_STEPS = 8          # parameter changes tried before giving up on a suggestion


class BenchRefusal(LimitError):
    """A protocol this bench cannot play as set: the parameter, the bench's limit, what plays.

    ``problem`` says what is wrong (``width = 100 µs is shorter than …``); ``changes`` are the
    parameter values ({name: (SI value, unit)}) with which it plays (empty if none does, ``why`` then
    says why), ``alternative`` a bench option that plays too. The fix is told as ``--set`` values,
    or, for a run of a recipe (:meth:`in_recipe`), as the recipe's keys to edit.
    """

    def __init__(self, field: str, value: float, limit: float | None, unit: str, problem: str,
                 changes: dict[str, tuple[float, str]], alternative: str = "", why: str = "",
                 recipe: str = "") -> None:
        self.problem, self.changes, self.alternative, self.recipe = problem, changes, alternative, recipe
        super().__init__(field, value, limit, None, unit, why)

    def in_recipe(self, where: str) -> BenchRefusal:
        """This refusal for a run of the recipe ``where`` (its file, and the step): the fix names the
        recipe's keys to edit, not ``--set`` values."""
        return BenchRefusal(self.field, self.value, self.low, self.unit, self.problem, self.changes,
                            self.alternative, self.why, where)

    def _message(self) -> str:
        if not self.changes:
            return f"{self.problem}; {self.why}"
        if self.recipe:
            keys = ", ".join(f"{n} = {json.dumps(format_quantity(v, u)) if u else _typed(v, u)}"
                             for n, (v, u) in self.changes.items())
            fix = f"edit {' and '.join(self.changes)} in the recipe {self.recipe}: {keys}"
        else:
            fix = "use " + " ".join(f"--set {n}={_typed(v, u)}" for n, (v, u) in self.changes.items())
        return f"{self.problem}: {fix}" + (f", or {self.alternative}" if self.alternative else "")


def instrument_name(instrument: object) -> str:
    """The name its driver gives an instrument (``Keithley 2400 SourceMeter``), else its class name."""
    return getattr(instrument, "name", type(instrument).__name__)


def stage_programs(protocol: Protocol) -> list[PulseProgram]:
    """``protocol``'s program and, for a closed-loop protocol, the next stages it would play after a
    device far below and far above any target (so their pulses are checked before anything is
    sent); a stage that cannot be foreseen this way is left to the check before it runs."""
    first = protocol.program()
    programs = [first]
    if not isinstance(protocol, AdaptiveProtocol):
        return programs
    repeat, segment, ends = first.trains[-1].measurements()
    for conductance in (1e-9, 1.0):
        samples = np.zeros(ends.size, SAMPLE_DTYPE)
        samples["t"], samples["repeat"], samples["segment"] = ends, repeat, segment
        samples["voltage"] = first.trains[-1].levels[repeat, segment]
        samples["current"] = samples["voltage"] * conductance
        try:
            following = protocol.next_program(samples)
        except (LabsuiteError, ArithmeticError, ValueError, IndexError):
            continue
        if following is not None:
            programs.append(following)
    return programs


def _checker(bench: Bench, timing: str) -> Callable[[Protocol], None]:
    """A function raising if ``bench`` cannot play a protocol's foreseeable stages with ``timing``."""
    def check(candidate: Protocol) -> None:
        for stage in stage_programs(candidate):
            Runner(bench, stage, timing=timing).check()
    return check


def check_protocol(protocol: Protocol, bench: Bench, timing: str = "auto") -> None:
    """Raise, sending nothing, if ``bench`` cannot play ``protocol`` (every stage that can be
    foreseen): a timing refusal comes told in the protocol's parameters (:func:`explain`)."""
    check = _checker(bench, timing)
    try:
        check(protocol)
    except (LimitError, InvalidParameter) as exc:
        raise explain(protocol, bench, timing, exc, check) from None


def adapt_defaults(protocol: Protocol, bench: Bench, timing: str = "auto", kept: frozenset[str] = frozenset()
                   ) -> tuple[Protocol, dict[str, tuple[float, float]]]:
    """``protocol`` as ``bench`` plays it, and the defaults changed for that ({name: (default,
    bench value)}, SI units; empty if it plays as it is). Only durations outside ``kept`` (those
    the user set) change, to the nearest round values :func:`check_protocol` accepts (a current
    limit never changes by itself: a lower RESET limit could leave a device unswitched); if none do,
    the refusal is raised as :func:`check_protocol` raises it (naming the parameter, the limit and
    ``--set`` values that play). Nothing is sent to an instrument."""
    check = _checker(bench, timing)
    try:
        check(protocol)
        return protocol, {}
    except (LimitError, InvalidParameter) as exc:
        refusal = exc
    changes, _ = _search(protocol, check, kept, limits=False)   # a bench-aware default is a duration, never a limit
    if not changes:
        raise explain(protocol, bench, timing, refusal, check) from None
    adapted = type(protocol)(**{**protocol.values, **getattr(protocol, "options", {}), **changes})
    return adapted, {n: (protocol.values[n], v) for n, v in changes.items()}


def explain(protocol: Protocol, bench: Bench, timing: str, error: LabsuiteError,
            check: Callable[[Protocol], None]) -> LabsuiteError:
    """``error`` (raised by ``check(protocol)``) told in ``protocol``'s parameters, with a
    suggestion that ``check`` accepts; ``error`` itself when it is not about timing."""
    program = _joined(stage_programs(protocol))
    smu = instrument_name(bench.smu)
    cause = _cause(protocol, program, error, smu)
    if cause is None:
        return error
    name, value, limit, unit, what = cause
    changes, last = _search(protocol, check)
    problem = f"{name} = {format_quantity(value, unit)} {what}"
    if not changes:
        return BenchRefusal(name, value, limit, unit, problem, {}, why=f"no longer duration makes {protocol.name} "
                                                                      f"play on this bench: {_without_segments(last)}")
    generator = bench.pulse_generator is None and _generator_would_play(program, error)
    return BenchRefusal(name, value, limit, unit, problem, {n: (v, protocol.units[n]) for n, v in changes.items()},
                        "add a pulse generator" if generator else "")


def _cause(protocol: Protocol, program: PulseProgram, error: LabsuiteError, smu: str
           ) -> tuple[str, float, float | None, str, str] | None:
    """(parameter, its value, bench limit, unit, what is wrong) behind ``error`` on the SMU named
    ``smu``, or None."""
    if isinstance(error, LimitError) and error.field.endswith(" duration") and error.low is not None:
        label = error.field[:-len(" duration")]
        name = next(iter(_duration_candidates(protocol, label, error.value)), None)
        if name is None:
            return None
        if "computer" in error.why:     # a wait the computer times between pulse-generator bursts
            what = (f"is shorter than a computer can time between pulse-generator bursts "
                    f"({format_quantity(error.low, 's')}), and the {smu} cannot play the pulses itself")
        elif "generator plays" in error.why:   # a read after a pulse the SMU's trigger starts on the generator
            what = (f"is shorter than the {smu} needs to read after a pulse the generator plays on its trigger "
                    f"({format_quantity(error.low, 's')}: its output stays open for its shortest segment)")
        else:
            what = f"is shorter than the {smu} can time ({format_quantity(error.low, 's')})"
        return name, protocol.values[name], error.low, protocol.units[name], what
    if isinstance(error, InvalidParameter) and "bursts follow each other" in str(error):
        labels = [s.label for t in program.trains for s in t.pattern if plays_on_generator(s, 1.0)]
        names = [n for label in dict.fromkeys(labels) for n in _duration_candidates(protocol, label, -1.0)]
        if not names:
            return None
        what = (f"makes pulses the generator plays as separate bursts, and a computer triggers bursts "
                f"≥ {format_quantity(SOFTWARE_MIN_SEGMENT, 's')} apart (a burst holds only equal pulses with "
                f"equal gaps), and the {smu} cannot play the pulses itself")
        return names[0], protocol.values[names[0]], None, protocol.units[names[0]], what
    if isinstance(error, InvalidParameter) and _mixed_limits(program) and ("limit" in str(error)
                                                                            or "compliance" in str(error)):
        limits = {s.compliance for t in program.trains for s in t.pattern if s.compliance is not None}
        own = [n for n, unit in protocol.units.items() if unit == "A" and protocol.values[n] in limits
               and protocol.values[n] != program.compliance]
        if not own:
            return None
        name = own[0]
        what = (f"differs from the {format_quantity(program.compliance, 'A')} limit of the other segments, and the "
                f"{smu} holds one current limit through a hardware-timed train (segments this short cannot "
                f"be stepped from a computer)")
        return name, protocol.values[name], None, "A", what
    return None


def _duration_candidates(protocol: Protocol, label: str, duration: float) -> list[str]:
    """Parameters that may set the duration of ``label`` segments: those equal to it first."""
    seconds = [n for n, unit in protocol.units.items() if unit == "s"]
    equal = [n for n in seconds if math.isclose(protocol.values[n], duration, rel_tol=1e-9)]
    declared = [n for n in DURATION_SOURCES.get(protocol.name, {}).get(label, ()) if n in seconds]
    return list(dict.fromkeys([n for n in declared if n in equal] + equal + declared))


def _search(protocol: Protocol, check: Callable[[Protocol], None], kept: frozenset[str] = frozenset(),
            limits: bool = True) -> tuple[dict[str, float] | None, LabsuiteError | None]:
    """Parameter changes (SI values), none to a parameter in ``kept`` and to a current limit only if
    ``limits``, with which ``check`` accepts the protocol (None if none was found) and the last
    refusal met on the way."""
    changes: dict[str, float] = {}
    current, last = protocol, None
    for _ in range(SEARCH_STEPS):
        try:
            check(current)
            return changes, last
        except (LimitError, InvalidParameter) as exc:
            step, last = _step(current, exc, kept, limits), exc
        if step is None:
            return None, last
        changes.update(step)
        try:
            current = type(protocol)(**{**protocol.values, **getattr(protocol, "options", {}), **changes})
        except (RangeError, InvalidParameter) as exc:
            return None, exc
    return None, last


def _step(protocol: Protocol, error: LabsuiteError, kept: frozenset[str] = frozenset(), limits: bool = True
          ) -> dict[str, float] | None:
    """One parameter change, to parameters not in ``kept`` (and to a current limit only if
    ``limits``), that removes the cause of ``error``, or None."""
    if isinstance(error, LimitError) and error.field.endswith(" duration") and error.low is not None:
        label = error.field[:-len(" duration")]
        for name in _duration_candidates(protocol, label, error.value):
            if name in kept:
                continue
            step = {name: _nice_ceil(protocol.values[name] + (error.low - error.value))}
            changed = _related(protocol, step, kept)
            if changed is None:
                continue
            shortest = min((s.duration for p in stage_programs(changed) for t in p.trains for s in t.pattern
                            if s.label == label), default=0.0)
            if shortest >= error.low * (1 - 1e-9):
                return {n: v for n, v in changed.values.items() if v != protocol.values[n]}
        return None
    if limits and isinstance(error, InvalidParameter) and _mixed_limits(protocol.program()):
        program = protocol.program()
        cause = _cause(protocol, program, error, "")
        return None if cause is None or cause[0] in kept else {cause[0]: program.compliance}
    return None


def _mixed_limits(program: PulseProgram) -> bool:
    """Whether some train's segments run under different current limits."""
    return any(len({program.compliance_of(s) for s in t.pattern}) > 1 for t in program.trains)


def _related(protocol: Protocol, step: dict[str, float], kept: frozenset[str] = frozenset()) -> Protocol | None:
    """``protocol`` with ``step`` applied, and every parameter (not in ``kept``) that relation checks
    then find too small raised to a round value at its new floor; None if that does not settle."""
    values = {**protocol.values, **step}
    for _ in range(SEARCH_STEPS):
        try:
            return type(protocol)(**{**values, **getattr(protocol, "options", {})})
        except ParameterError as exc:
            if exc.field in step or exc.field in kept or exc.low is None or exc.field not in values:
                return None
            values[exc.field] = _nice_ceil(exc.low)
        except (InvalidParameter, ValueError):
            return None
    return None


def _joined(programs: list[PulseProgram]) -> PulseProgram:
    """Every train of ``programs`` as one program (to look segments up by label)."""
    return PulseProgram(tuple(t for p in programs for t in p.trains), programs[0].compliance)


def _generator_would_play(program: PulseProgram, error: LabsuiteError) -> bool:
    """Whether the segments behind ``error`` are writes a pulse generator plays."""
    if not (isinstance(error, LimitError) and error.field.endswith(" duration")):
        return False
    label = error.field[:-len(" duration")]
    segments: list[Segment] = [s for t in program.trains for s in t.pattern if s.label == label]
    return bool(segments) and all(plays_on_generator(s, 1.0) for s in segments)


def _without_segments(error: LabsuiteError | None) -> str:
    """Why the last change did not play, in the bench's terms, without segment numbers or labels."""
    if isinstance(error, LimitError) and error.field.endswith(" duration") and error.low is not None:
        return f"some of its segments stay shorter than {format_quantity(error.low, 's')} whatever is set"
    text = str(error).removeprefix("timing: ").replace("segment durations", "its durations")
    return re.sub(r"segment \d+ \([^)]*\)|segment \d+", "a segment", text)


def _nice_ceil(value: float) -> float:
    """The smallest 1-2-5 × 10ⁿ value ≥ ``value`` (a round number to type)."""
    exponent = math.floor(math.log10(value))
    for mantissa in (1, 2, 5, 10):
        nice = mantissa * 10.0 ** exponent
        if nice >= value * (1 - 1e-9):
            return float(f"{nice:.12g}")
    return value


def _typed(value: float, unit: str) -> str:
    """``value`` as one types it after ``--set name=``: ``1ms``, ``2mA``, ``200us``."""
    return format_quantity(value, unit).replace(" ", "").replace("µ", "u")
