"""Which protocols play on a bench at their defaults, and how: the bench matrix.

Each protocol is checked, as ``run_protocol(..., adapt_defaults=True)`` would check it, against a
connected bench: it plays hardware-timed (the SMU's sequencer), software-timed (stepped from the
computer), as pulse-generator bursts sequenced from the computer, with defaults the bench changed
(which), or it is refused (why, in the protocol's parameters). Nothing is sent to an instrument:
the check reads the drivers' capabilities, so a real bench needs no more than the ``*IDN?`` of
connecting. ``labsuite protocols --bench bench.toml`` prints it; the README's table of the
simulated benches is :func:`readme_section`, kept true by a test and rewritten with::

    python -m labsuite.matrix README.md
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labsuite.bench import Bench
from labsuite.core.errors import InvalidParameter, LabsuiteError
from labsuite.experiment import adjusted_text
from labsuite.protocols import PROTOCOLS
from labsuite.refusal import adapt_defaults, stage_programs
from labsuite.runner import Runner

SIMULATED_SMUS = {"keithley2450": "2450", "keithley2600": "2600B", "keysightb2900": "B2900", "keithley2400": "2400"}
SIMULATED_GENERATORS = {None: "", "keysight33500": " + 33500", "tektronixafg31000": " + AFG31000"}
README_SERIES_RESISTANCE = 2e3   # Ω between the simulated generator and the device in the README's matrix
SEQUENCING = {"hardware": "hardware-timed", "smu_pulses": "hardware-timed, the SMU plays the pulses (generator off)",
              "triggered": "hardware-timed, the generator plays the pulses on the SMU's trigger, SMU reads",
              "software": "software-timed", "bursts": "generator bursts, SMU reads (computer-sequenced)"}
ABBREVIATION = {"hardware": "HW", "smu_pulses": "SMU", "triggered": "TG", "software": "SW", "bursts": "GB"}
START, END = "<!-- bench-matrix:start -->", "<!-- bench-matrix:end -->"


@dataclass(frozen=True)
class Cell:
    """How one protocol plays at its defaults on one bench."""

    protocol: str
    sequencing: tuple[str, ...] = ()          # keys of SEQUENCING, one per way its trains play
    adjusted: dict[str, tuple[float, float]] = field(default_factory=dict)   # {name: (default, bench value)}, SI
    refusal: str = ""                         # why the bench cannot play it ("" if it plays)

    def describe(self) -> str:
        """The cell as one line of text: how it plays, the adjusted defaults, or the refusal."""
        if self.refusal:
            return f"refused: {self.refusal}"
        text = " + ".join(SEQUENCING[s] for s in self.sequencing)
        if not self.adjusted:
            return text
        return f"{text}, with {adjusted_text(self.adjusted, PROTOCOLS[self.protocol]().units)}"


def bench_matrix(bench: Bench, timing: str = "auto") -> list[Cell]:
    """Every protocol of :data:`~labsuite.protocols.PROTOCOLS` at its defaults on ``bench``."""
    cells = []
    for name, cls in PROTOCOLS.items():
        try:
            protocol, adjusted = adapt_defaults(cls(), bench, timing)
        except LabsuiteError as exc:
            cells.append(Cell(name, refusal=str(exc)))
            continue
        ways = [Runner(bench, program, timing=timing).sequencing(train)
                for program in stage_programs(protocol) for train in program.trains]
        cells.append(Cell(name, tuple(s for s in SEQUENCING if s in ways), adjusted))
    return cells


def render_text(cells: list[Cell]) -> str:
    """The matrix as ``labsuite protocols --bench`` prints it: a line per protocol."""
    width = max(len(c.protocol) for c in cells)
    return "\n".join(f"{c.protocol:{width}s}  {c.describe()}" for c in cells)


def simulated_bench(smu: str, generator: str | None) -> Bench:
    """The README's simulated bench: ``smu`` alone, or with ``generator`` behind 2 kΩ."""
    wiring = {"pulse_generator": generator, "pulse_series_resistance": README_SERIES_RESISTANCE} if generator else {}
    return Bench.simulated(seed=1, smu=smu, **wiring)


def readme_section() -> str:
    """The README's matrix of the simulated benches (markdown between :data:`START` and :data:`END`)."""
    columns, rows, notes = [], {name: [] for name in PROTOCOLS}, []
    for generator, with_generator in SIMULATED_GENERATORS.items():
        for smu, title in SIMULATED_SMUS.items():
            columns.append(title + with_generator)
            with simulated_bench(smu, generator) as bench:
                for cell in bench_matrix(bench):
                    rows[cell.protocol].append(_short(cell, notes))
    lines = [START, "", "| Protocol | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| `{name}` | " + " | ".join(row) + " |" for name, row in rows.items()]
    lines += ["", "HW: hardware-timed on the SMU's sequencer; SMU: hardware-timed, the SMU's sequencer plays the "
              "write pulses too and the generator stays off (bursts triggered from the computer cannot keep "
              "the timing); TG: hardware-timed, the generator plays the pulses, each started by the SMU's "
              "trigger output (where the SMU has one: the 2450's and 2600B's digital I/O), and the SMU reads; "
              "SW: stepped from the computer; GB: pulse-generator "
              "bursts and SMU reads sequenced from the computer; *n*: with defaults the bench adjusts, "
              "or refused (see below). Generators are declared behind 2 kΩ.", ""]
    lines += [f"{n}. {text}" for n, text in enumerate(notes, start=1)]
    return "\n".join([*lines, "", END])


def update_readme(path: Path) -> bool:
    """Rewrite the matrix section of the README at ``path``; whether it changed."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise InvalidParameter(str(path), f"has no section between {START} and {END}")
    updated = pattern.sub(lambda _: readme_section(), text)
    path.write_text(updated, encoding="utf-8")
    return updated != text


def _short(cell: Cell, notes: list[str]) -> str:
    """A README cell: HW/SW/GB, with a note number for adjusted defaults or a refusal."""
    how = "/".join(ABBREVIATION[s] for s in cell.sequencing)
    if not cell.refusal and not cell.adjusted:
        return how
    text = cell.describe()
    if text not in notes:
        notes.append(text)
    number = notes.index(text) + 1
    if cell.refusal:
        return f"refused *{number}*"
    return f"{how} *{number}*"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print(f"{target}: {'updated' if update_readme(target) else 'already up to date'}")
