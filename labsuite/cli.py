"""Command line: ``labsuite run``, ``protocols``, ``runs``, ``export``, ``replay``, ``resim``,
``instruments``, ``sim serve``, ``gui``, ``new protocol``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from labsuite import registry
from labsuite.bench_settings import BenchSettings
from labsuite.core.errors import InstrumentError, LabsuiteError
from labsuite.core.events import Progress, RunObserver, RunState
from labsuite.core.names import aliases, did_you_mean, find, resolve
from labsuite.core.parameters import declaration
from labsuite.core.program import TIMINGS
from labsuite.core.units import format_quantity, parse_quantity
from labsuite.core.version import __version__
from labsuite.interrupts import Interrupted, stop_on_signals
from labsuite.protocols import PROTOCOLS

if TYPE_CHECKING:
    from tqdm import tqdm

    from labsuite.bench import Bench

# Each command imports what it runs (the bench, the run store, the drivers) inside it, so `labsuite --help`
# and `labsuite protocols` load neither pymeasure nor h5py, pandas or Qt (tests/test_layering.py).


class _RegisteredNames(Sequence[str]):
    """The registered instrument names of one kind, as argparse choices: read from the registry (which
    imports every driver, and pymeasure) only when a value is checked or a command's help is printed."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __getitem__(self, index: int) -> str:
        return registry.names(self.kind)[index]

    def __len__(self) -> int:
        return len(registry.names(self.kind))


def _name(resolve_name: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type: the name ``resolve_name`` finds for the text (letter case ignored, aliases
    accepted); an unknown name is refused with the closest one and the choices."""
    def parse(text: str) -> str:
        try:
            return resolve_name(text)
        except LabsuiteError as exc:   # argparse names the option already
            raise argparse.ArgumentTypeError(str(exc).removeprefix(": ")) from None
    return parse


def _instrument(kind: str) -> dict:
    """add_argument's type, choices and metavar for the registered name of an instrument of ``kind``."""
    return {"type": _name(lambda text: registry.lookup(kind, text, "").name), "choices": _RegisteredNames(kind),
            "metavar": "SMU" if kind == "smu" else "GENERATOR"}


def _protocol_name(text: str) -> str:
    """The protocol ``text`` names."""
    return resolve(PROTOCOLS, text, "")


def _model_name(text: str) -> str:
    """The simulated device model ``text`` names (the models load only when a name is given)."""
    from labsuite.simulator.models import MODELS

    return resolve(MODELS, text, "")


class ProgressBar(RunObserver):
    """One progress display per run on stderr: source time played of the total, and the wall time
    still to go. A closed loop's stages (forming, write-verify) add their program to the same bar as
    they come; a run that completes ends at 100 %. :meth:`close` ends the display after the run."""

    bar: tqdm | None = None

    def __init__(self, label: str = "run") -> None:
        self.label = label
        self.stages = 0
        self.before = 0.0   # s of program in the stages already played

    def on_start(self, runner) -> None:
        from tqdm import tqdm

        self.stages += 1
        if self.bar is None:
            self.bar = tqdm(total=runner.program.duration, unit="s", desc=self.label, file=sys.stderr,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.3g}/{total:.3g} s of program "
                                       "[{elapsed}<{remaining}]", mininterval=0.2)
        else:   # the next stage of a closed loop
            self.before = self.bar.total
            self.bar.total += runner.program.duration
            self.bar.set_description_str(f"{self.label}, stage {self.stages}", refresh=False)
        self.bar.refresh()

    def on_samples(self, samples, progress: Progress) -> None:
        # never past the total: tqdm would warn "clamping frac to range [0, 1]"
        self.bar.update(min(self.before + progress.done, self.bar.total) - self.bar.n)

    def on_finish(self, state: RunState, error: BaseException | None) -> None:
        if state is RunState.COMPLETED:   # the last reading comes before the program's end
            self.bar.n = self.bar.total
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class FitProgress:
    """A fit's progress on stderr: the plays of the program on the model so far, of the most the fit
    may take, and the wall time that leaves at most; when the fit ends, 100 % of the plays it took."""

    bar: tqdm | None = None

    def __call__(self, runs: int, most: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=most, desc="fit", file=sys.stderr, mininterval=0.2,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} model runs at most "
                                       "[{elapsed}<{remaining} at most]")
        if runs == most:   # the fit has ended
            self.bar.total = self.bar.n = runs
            self.bar.bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n} model runs [{elapsed}]"
            self.close()
        else:
            self.bar.update(runs - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _parse_sets(items: list[str], option: str = "--set") -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise LabsuiteError(f"{option} {item!r}: write name=value, e.g. {option} amplitude=1.2V")
        if not name.strip().isidentifier():
            raise LabsuiteError(f"{option} {item!r}: {name.strip()!r} is not a parameter name; write name=value, "
                                f"e.g. {option} amplitude=1.2V")
        if name.strip() in values:
            raise LabsuiteError(f"{option} {item!r}: {name.strip()} is already set to {values[name.strip()]!r}; "
                                f"give each parameter once")
        values[name.strip()] = value.strip()
    return values


def _add_setting(parser: argparse.ArgumentParser, name: str, context: str = "", unset: str = "none",
                 **kwargs) -> None:
    """Add the option ``--NAME`` for the bench setting ``name`` (labsuite.bench_settings): its type,
    range and help come from the one declaration the bench file and the GUI use too. ``unset``
    says what a default of None means."""
    option = "--" + name.replace("_", "-")
    parameter = declaration(BenchSettings, name, option)

    def parse(text: str):
        try:
            return parameter.parse(text)
        except LabsuiteError as exc:   # argparse names the option already
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{option}: ")) from None

    default = kwargs.setdefault("default", parameter.default)
    unit = getattr(parameter, "unit", "")
    shown = unset if default is None else format_quantity(default, unit) if unit else default
    metavar = unit.upper() if unit else ("N" if getattr(parameter, "integer", False) else name.upper())
    parser.add_argument(option, type=parse, metavar=metavar,
                        help=f"{context}{parameter.help}; {parameter.allowed()} (default {shown})", **kwargs)


PORT_MAX = 65535


def _whole(name: str, low: int, high: int, example: str):
    """An argparse type: a whole number in [low, high]; the error names the range and an example."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give {name} from {low} to {high}, "
                                             f"e.g. {example}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {name} from {low} to {high}, "
                                             f"e.g. {example}")
        return value
    return parse


def _positive_seconds(text: str) -> float:
    """An argparse type: a positive time in s (units allowed: 500ms)."""
    try:
        value = parse_quantity(text, "s", "--timeout")
    except LabsuiteError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive time, e.g. 2 or 500ms")
    return value


def _speed(text: str) -> float:
    """An argparse type: a replay speed factor > 0 (inf: as fast as possible)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a factor > 0, e.g. 1 or 10") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0 (1 = the recorded pace, inf = as fast as possible)")
    return value


def _pace(text: str) -> float:
    """An argparse type: ``realtime`` (1) or a finite speed factor > 0 for ``sim serve --pace``."""
    if text.strip().lower() == "realtime":
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither realtime nor a number; give realtime or a "
                                         f"factor > 0, e.g. --pace 10") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite factor > 0 (1 = real time, 10 = ten times "
                                         f"faster), or realtime")
    return value


def _iso_date(text: str) -> str:
    """An argparse type: an ISO date or date-time (2026-12-07, 2026-12-07T13:00)."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date; write e.g. 2026-12-07 or "
                                         f"2026-12-07T13:00 (UTC)") from None
    return text


def _path(text: str) -> Path:
    """An argparse type: a file or folder name (no NUL byte, not empty)."""
    if not text or "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a usable file name")
    return Path(text)


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _run_file(text: str) -> Path:
    """An argparse type: an existing, readable file that starts as an HDF5 run file does."""
    path = _path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a .h5 run file in it")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: no such run file (give a .h5 file `labsuite runs` lists)")
    try:
        with open(path, "rb") as f:
            head = f.read(len(_HDF5_SIGNATURE))
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: cannot read it ({exc.strerror or exc})") from None
    if head != _HDF5_SIGNATURE:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HDF5 run file (no HDF5 signature at its start)")
    return path


def _label(text: str) -> str:
    """An argparse type: a device id or tag stored in the run file: 1 to 200 printable characters."""
    if not (0 < len(text) <= 200 and text.isprintable()):
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 to 200 printable characters (no control characters), "
                                         f"e.g. D1-wafer3")
    return text


def _check_out_folder(folder: Path, option: str = "--out") -> None:
    """Refuse, before anything runs, a folder that exists as a file or cannot be created or written."""
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    target = "folder" if ancestor == folder else f"folder (its parent {str(ancestor)!r} must be a writable folder)"
    if not ancestor.is_dir():
        raise LabsuiteError(f"{option} {str(folder)!r}: {str(ancestor)!r} is not a folder; give a {target}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise LabsuiteError(f"{option} {str(folder)!r}: {str(ancestor)!r} is not writable; give a writable {target}")


def _check_plot_file(path: Path, option: str = "--plot") -> None:
    """Refuse, before the run, a plot file whose folder is missing or whose format matplotlib cannot write."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in formats:
        raise LabsuiteError(f"{option} {str(path)!r}: unknown format {path.suffix or '(no extension)'!r}; "
                            f"end the name with one of {', '.join('.' + f for f in sorted(formats))}")
    folder = path.parent
    if not folder.is_dir():
        raise LabsuiteError(f"{option} {str(path)!r}: the folder {str(folder)!r} does not exist; create it or "
                            f"give a path in an existing folder")
    if path.is_dir():
        raise LabsuiteError(f"{option} {str(path)!r} is a folder; give a file name such as plot.png")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise LabsuiteError(f"{option} {str(path)!r}: the folder {str(folder)!r} is not writable")


def _cmd_run(args: argparse.Namespace) -> int:
    from labsuite.bench import Bench
    from labsuite.experiment import describe_adjusted, make_protocol, run_protocol
    from labsuite.recipe import find_recipe, load_recipe, recipe_name, recipe_names
    from labsuite.refusal import BenchRefusal, adapt_defaults

    if args.resume is not None:
        if args.target is not None or args.set:
            raise LabsuiteError("--resume continues a stored run with its own protocol and parameters; "
                                "give no PROTOCOL|RECIPE and no --set")
        runs = [("", None, None, ())]
    elif args.target is None:
        raise LabsuiteError("give a protocol or a recipe .toml to run, or --resume RUN.h5")
    elif (name := find(args.target, PROTOCOLS, aliases(PROTOCOLS))) is not None and not Path(args.target).is_file():
        sets = _parse_sets(args.set)
        runs = [("", make_protocol(name, sets), None,
                 tuple(p.name for p in PROTOCOLS[name].parameters if p.name not in sets))]
    elif (path := find_recipe(args.target)) is not None:
        if args.set:
            raise LabsuiteError("--set changes a single protocol; edit the recipe's [parameters] instead")
        recipe = load_recipe(path)
        runs = [(f"{recipe.name}: step {i + 1}, run {r + 1}", protocol,
                 {"recipe": recipe.name, "recipe_file": str(path), "step": i + 1, "repeat": r + 1,
                  "defaults": list(recipe.steps[i].defaults)}, recipe.steps[i].defaults)
                for i, r, protocol in recipe.runs()]
    else:
        recipes = recipe_names()
        near = did_you_mean(recipe_name(args.target), [*PROTOCOLS, *aliases(PROTOCOLS), *recipes])
        what = "no such recipe file, nor a recipe of that name" if recipe_name(args.target) != args.target \
            else "neither a protocol nor a recipe"
        raise LabsuiteError(f"{args.target!r}: {what}{near}; protocols: "
                            f"{', '.join(PROTOCOLS)}; recipes (a .toml file, or by name): {', '.join(recipes)}")
    if args.device_param and not args.sim:
        raise LabsuiteError("--device-param sets the simulated device; use it with --sim")
    _check_out_folder(args.out)
    if args.plot:
        _check_plot_file(args.plot)
    if args.bench:
        bench = Bench.from_toml(args.bench)
    elif args.sim:
        bench = Bench.simulated(model=args.model, seed=args.seed, transport=args.transport,
                                model_params=_parse_sets(args.device_param, "--device-param"),
                                smu=args.smu, pulse_generator=args.pulse_generator,
                                series_resistance=args.series_resistance,
                                pulse_series_resistance=args.pulse_series_resistance)
    else:
        raise LabsuiteError("choose a bench: --sim for the simulated bench, or --bench bench.toml")
    summaries, status = [], 0
    with stop_on_signals(), bench:   # a stop signal between runs still switches the outputs off
        for label, protocol, provenance, defaults in runs:   # every run checked against the bench before the first
            if protocol is not None:   # a resumed run is checked against the bench by resume_run
                bench.limits.check_parameters(protocol.values, protocol.units)
                # defaults the bench cannot play, moved to values it can (a parameter the user set is refused)
                try:
                    _, adjusted = adapt_defaults(protocol, bench, args.timing,
                                                 frozenset(protocol.values) - set(defaults))
                except BenchRefusal as exc:   # a recipe's run is fixed in the recipe, not with --set
                    if provenance is None:
                        raise
                    raise exc.in_recipe(f"{args.target} (step {provenance['step']})") from None
                if adjusted:
                    print(f"labsuite: {label + ': ' if label else ''}"
                          f"{describe_adjusted(adjusted, protocol.units, bench)}", file=sys.stderr)
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LabsuiteError(f"--out {str(args.out)!r}: cannot create the folder ({exc.strerror or exc}); "
                                f"give a writable folder") from None
        for n, (label, protocol, provenance, defaults) in enumerate(runs, start=1):
            observers = [] if args.no_progress else [ProgressBar(label or "run")]
            try:
                if args.resume is not None:
                    from labsuite.resume import resume_run

                    result = resume_run(args.resume, bench, timing=args.timing, observers=observers)
                else:
                    result = run_protocol(protocol, bench, out_dir=args.out, device_id=args.device_id,
                                          timing=args.timing, observers=observers, provenance=provenance,
                                          tags=args.tag, adapt_defaults=defaults)
            finally:
                for bar in observers:
                    bar.close()
            protocol = result.protocol
            if result.warning:
                print(f"labsuite: warning: {label + ': ' if label else ''}{result.warning}", file=sys.stderr)
            plot = None
            if args.plot and result.samples.size:
                from labsuite.plotting import render
                plot = args.plot if len(runs) == 1 else args.plot.with_name(f"{args.plot.stem}_{n}{args.plot.suffix}")
                spec = protocol.plot(result.samples, result.figures)
                if result.warning:
                    spec = dataclasses.replace(spec, notes=(*spec.notes, f"WARNING: {result.warning}"))
                render(spec, plot)
            summaries.append(result.summary())
            if not args.json:
                print(f"{label + ': ' if label else ''}{protocol.title}: {result.state.value}, "
                      f"{result.samples.size} readings")
                for name, value in result.figures.items():
                    print(f"  {name:28s} {format_quantity(value, protocol.figure_units.get(name, ''))}")
                print(f"run file: {result.path}")
                if plot:
                    print(f"plot: {plot}")
            if result.state is not RunState.COMPLETED:
                status = 3
                break
    if args.json:
        print(json.dumps(summaries[0] if len(runs) == 1 else summaries))
    return status


def _cmd_runs(args: argparse.Namespace) -> int:
    from labsuite.catalog import Catalog, describe

    if not args.dir.is_dir():
        raise LabsuiteError(f"--dir {str(args.dir)!r}: no such folder; give the data folder runs were written to "
                            f"(`labsuite run --out`, default ./runs)")
    entries = Catalog(args.dir).query(device=args.device, protocol=args.protocol, since=args.since,
                                      status=args.status, tag=args.tag)
    if args.json:
        print(json.dumps([describe(e) for e in entries]))
        return 0
    print(f"{'start (UTC)':25} {'protocol':14} {'device':12} {'status':10} {'samples':>7}  run file")
    for e in entries:
        print(f"{e.start_time:25} {e.protocol:14} {e.device_id:12} {e.status:10} {e.samples:>7}  {e.path}")
    print(f"{len(entries)} run{'s' if len(entries) != 1 else ''}")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from labsuite.replay import replay

    if args.plot:
        _check_plot_file(args.plot)
    observers = [] if args.no_progress else [ProgressBar(f"replay {args.run.name}")]
    try:
        protocol, samples, figures = replay(args.run, observers, speed=args.speed)
    finally:
        for bar in observers:
            bar.close()
    if args.plot and samples.size:
        from labsuite.plotting import render
        render(protocol.plot(samples, figures), args.plot)
    print(f"{protocol.title} (replayed): {samples.size} readings")
    for name, value in figures.items():
        print(f"  {name:28s} {format_quantity(value, protocol.figure_units.get(name, ''))}")
    return 0


def _cmd_resim(args: argparse.Namespace) -> int:
    from labsuite.twin import resimulate

    if args.plot:
        _check_plot_file(args.plot)
    if args.out:
        _check_out_folder(args.out)
    fit_progress = FitProgress() if args.fit and not args.no_progress else None
    observers = [] if args.no_progress else [ProgressBar("twin")]
    try:
        comparison = resimulate(args.run, model=args.model, fit=args.fit, seed=args.seed, out_dir=args.out,
                                observers=observers, fit_progress=fit_progress)
    finally:
        for bar in (*observers, *([fit_progress] if fit_progress else [])):
            bar.close()
    if args.plot:
        from labsuite.plotting import render
        render(comparison.plot, args.plot)
    if args.json:
        print(json.dumps(comparison.summary()))
        return 0
    units = comparison.simulated.protocol.figure_units
    print(f"{comparison.simulated.protocol.title}: measured vs simulated {comparison.model}"
          + (f" (fitted, relative RMS {comparison.fit_relative_rms:.3g})" if comparison.fit_relative_rms is not None
             else ""))
    for name, (measured, simulated) in comparison.table().items():
        shown = [format_quantity(v, units.get(name, "")) if v is not None else "—" for v in (measured, simulated)]
        print(f"  {name:28s} {shown[0]:>14s} {shown[1]:>14s}")
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    """Export each file; a file that cannot be read is named on stderr and the rest still exported."""
    from labsuite.export import to_csv, to_pymeasure_csv
    from labsuite.store import RunFileError

    if args.out:
        _check_out_folder(args.out)
    skipped = 0
    for run in args.runs:
        out = Path(run).with_suffix(".pymeasure.csv" if args.pymeasure else ".csv")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            out = args.out / out.name
        try:
            (to_pymeasure_csv if args.pymeasure else to_csv)(run, out)
        except RunFileError as exc:
            print(f"labsuite: error: {exc}; skipped, the others exported", file=sys.stderr)
            skipped += 1
            continue
        print(out)
    return 2 if skipped else 0


def _cmd_protocols(args: argparse.Namespace) -> int:
    if args.bench or args.sim:
        from labsuite.matrix import bench_matrix, render_text
        from labsuite.refusal import instrument_name

        with _protocols_bench(args) as bench:
            instruments = " + ".join(instrument_name(i) for i in (bench.smu, bench.pulse_generator) if i is not None)
            print(f"{bench.name} ({instruments}): the protocols at their defaults, checked without sending anything")
            print(render_text(bench_matrix(bench, args.timing)))
        return 0
    if args.smu or args.pulse_generator or args.pulse_series_resistance:
        raise LabsuiteError("--smu, --pulse-generator and --pulse-series-resistance choose a simulated bench; "
                            "use them with --sim")
    other_names = aliases(PROTOCOLS)
    for name, cls in PROTOCOLS.items():
        also = ", ".join(alias for alias, target in other_names.items() if target == name)
        print(f"{name}{f' (also {also})' if also else ''}: {cls.title}")
        for p in cls.parameters:
            print(f"    {p.describe()}")
    return 0


def _protocols_bench(args: argparse.Namespace) -> Bench:
    """The bench ``labsuite protocols`` checks the protocols against."""
    from labsuite.bench import Bench

    if args.bench:
        return Bench.from_toml(args.bench)
    return Bench.simulated(smu=args.smu or "keithley2450", pulse_generator=args.pulse_generator,
                           pulse_series_resistance=args.pulse_series_resistance or 0.0)


def _cmd_new_protocol(args: argparse.Namespace) -> int:
    from labsuite.scaffold import new_protocol

    folder = args.dir or Path(args.name)
    for path in new_protocol(args.name, folder):
        print(path)
    print(f"next: pip install -e {folder}; labsuite run {args.name} --sim; pytest {folder} (docs/extending.md)")
    return 0


def _cmd_sim_serve(args: argparse.Namespace) -> int:
    import threading

    from labsuite.core.clock import VirtualClock
    from labsuite.simulator.models import DEFAULT_MODEL
    from labsuite.simulator.server import InstrumentServer
    from labsuite.simulator.station import SimulatedStation

    clock = VirtualClock(follow_wall=True, speed=args.pace or 1.0)
    station = SimulatedStation(args.model or DEFAULT_MODEL, args.seed, smu=args.smu,
                               series_resistance=args.series_resistance, clock=clock,
                               pulse_generator=args.pulse_generator,
                               pulse_series_resistance=args.pulse_series_resistance, paced=args.pace is not None)
    served = station.served()
    if args.port and args.port + len(served) - 1 > PORT_MAX:
        raise LabsuiteError(f"--port {args.port}: {len(served)} instruments need ports {args.port} to "
                            f"{args.port + len(served) - 1}; give a first port ≤ {PORT_MAX - len(served) + 1}, "
                            f"or 0 for any free ports")
    try:
        server = InstrumentServer(served, args.port)
    except OSError as exc:
        raise LabsuiteError(f"--port {args.port}: cannot listen ({exc.strerror or exc}); give a free port "
                            f"from 1024 to {PORT_MAX - len(served) + 1}, or 0 for any free ports") from None
    with server:
        for endpoint in server.endpoints:
            print(f"{endpoint.role}\t{endpoint.resource}\t{endpoint.instrument.idn}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _cmd_gui(args: argparse.Namespace) -> int:
    from labsuite.gui.app import launch

    if args.run and not args.sim:
        raise LabsuiteError("--run plays a protocol on the simulated bench; use it with --sim")
    return launch(sim=args.sim, seed=args.seed, model=args.model, data_dir=args.out, protocol=args.run,
                  parameters=_parse_sets(args.set), screenshot=args.screenshot)


def _cmd_instruments(args: argparse.Namespace) -> int:
    from labsuite.discovery import discover

    if args.simulated:
        from labsuite.simulator.station import TWINS

        for kind in ("smu", "pulse_generator"):
            for name in registry.names(kind):
                if name in TWINS:
                    print(f"{kind}\t{name}")
        return 0
    if args.sim:
        from labsuite.simulator.station import SimulatedStation

        station = SimulatedStation(smu=args.smu, pulse_generator=args.pulse_generator)
        library = station.visa_library(with_control=True)
        found = discover(library, timeout=args.timeout)
        library.close_library()
    else:
        found = discover(args.visa_library, timeout=args.timeout)
    for item in found:
        match = f"{item.driver} ({registry.INSTRUMENTS[item.driver].driver.__module__})" if item.driver \
            else "no labsuite driver"
        print(f"{item.resource}\t{item.idn or item.error}\t{match if item.idn else ''}".rstrip("\t"))
    if not found:
        print("no VISA resources found", file=sys.stderr)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line ``labsuite: error: ...`` and exit status 2, and the
    closest choice to a mistyped one (a command, --timing, --status)."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if action.choices is not None and value not in action.choices and isinstance(value, str):
            choices = ", ".join(map(str, action.choices))
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}{did_you_mean(value, action.choices)} "
                                                 f"(choose from {choices})")
        super()._check_value(action, value)

    def error(self, message: str) -> None:
        command = self.prog.removeprefix("labsuite").strip()
        where = f"labsuite {command} " if command else "labsuite "
        self.exit(2, f"labsuite: error: {command + ': ' if command else ''}{message} (see `{where}--help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labsuite", description="Characterize memristors and artificial synapses.")
    parser.add_argument("--version", action="version", version=f"labsuite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a protocol or a recipe and write run files",
                         epilog="exit status: 0 completed; 1 a bug (LABSUITE_DEBUG=1 shows the traceback); "
                                "2 refused (bad input); 3 a run aborted or failed, or an instrument failed; 128+N "
                                "stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP). Every exit "
                                "switches the outputs off first. A run with readings at the current compliance "
                                "completes with one warning line on stderr.")
    run.add_argument("target", metavar="PROTOCOL|RECIPE", nargs="?",
                     help=f"a protocol ({', '.join(sorted(PROTOCOLS))}; letter case ignored; field names such "
                          f"as ltp, ltd accepted), or a recipe: a .toml file, or the name of a shipped recipe or "
                          f"one in your recipe folder, $LABSUITE_RECIPES (README, Protocols)")
    run.add_argument("--resume", type=Path, metavar="RUN.h5",
                     help="continue a failed, aborted or killed run from the first repeat its file does not hold, "
                          "on the same bench, into RUN_resumed1.h5 next to it (see docs/run-file.md)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--sim", action="store_true", help="use the simulated bench")
    where.add_argument("--bench", type=_path, help="bench description (bench.toml)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="protocol parameter, units allowed: --set amplitude=1.2V --set width=100us")
    _add_setting(run, "seed", "with --sim: ")
    run.add_argument("--model", type=_name(_model_name), help="simulated device model (default: synaptic-memristor)")
    run.add_argument("--device-param", action="append", default=[], metavar="NAME=VALUE",
                     help="simulated device parameter, units allowed: --device-param w_initial=0.9 "
                          "--device-param tau_volatile=20ms")
    _add_setting(run, "transport", "with --sim: ")
    run.add_argument("--smu", default=registry.DEFAULT_SMU, **_instrument("smu"),
                     help="simulated SMU with --sim (default keithley2450); one of %(choices)s")
    _add_setting(run, "series_resistance", "with --sim: ")
    _add_setting(run, "pulse_series_resistance", "with --sim: ")
    run.add_argument("--pulse-generator", **_instrument("pulse_generator"),
                     help="also wire a simulated pulse generator to the device with --sim "
                                               "(it plays the write pulses, the SMU reads); one of %(choices)s")
    run.add_argument("--timing", choices=TIMINGS, default="auto",
                     help="hardware: trains run on the instrument; software: one command per segment; "
                          "auto (default): hardware where the instrument can time the train")
    run.add_argument("--out", type=_path, default=Path("runs"), help="folder for run files (default ./runs)")
    run.add_argument("--device-id", type=_label, default="device", help="device identifier stored with the run")
    run.add_argument("--tag", type=_label, action="append", default=[], help="tag stored with the run (repeatable)")
    run.add_argument("--plot", type=_path, metavar="FILE.png", help="save a plot of the run")
    run.add_argument("--json", action="store_true", help="print the run summary as one JSON object")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    runs = sub.add_parser("runs", help="list the runs in a data folder (indexed, filtered)")
    runs.add_argument("--dir", type=_path, default=Path("runs"), help="data folder (default ./runs)")
    runs.add_argument("--device", help="only this device id")
    runs.add_argument("--protocol", type=_name(_protocol_name), help="only this protocol")
    runs.add_argument("--since", type=_iso_date, metavar="DATE", help="only runs started at or after DATE (ISO, UTC)")
    runs.add_argument("--status", choices=("running", "completed", "aborted", "failed"))
    runs.add_argument("--tag", help="only runs with this tag")
    runs.add_argument("--json", action="store_true", help="one JSON list")
    runs.set_defaults(func=_cmd_runs)

    replay_cmd = sub.add_parser("replay", help="re-emit a stored run through the live pipeline, then analyze it")
    replay_cmd.add_argument("run", type=_run_file, metavar="RUN.h5")
    replay_cmd.add_argument("--speed", type=_speed, default=float("inf"),
                            help="1 = the recorded pace, 10 = ten times faster (default: as fast as possible)")
    replay_cmd.add_argument("--plot", type=_path, metavar="FILE.png")
    replay_cmd.add_argument("--no-progress", action="store_true")
    replay_cmd.set_defaults(func=_cmd_replay)

    resim = sub.add_parser("resim", help="re-run a stored run's protocol on a simulated twin and compare")
    resim.add_argument("run", type=_run_file, metavar="RUN.h5")
    resim.add_argument("--model", type=_name(_model_name),
                       help="device model of the twin (default: the run's own, or synaptic-memristor)")
    resim.add_argument("--fit", action="store_true", help="fit the twin's device parameters to the run first")
    _add_setting(resim, "seed", "for the twin: ", "the run's", default=None)
    resim.add_argument("--out", type=_path, help="also write the twin's run file here")
    resim.add_argument("--plot", type=_path, metavar="FILE.png", help="measured and simulated, overlaid")
    resim.add_argument("--json", action="store_true")
    resim.add_argument("--no-progress", action="store_true", help="no progress bars (the fit's, the twin's run)")
    resim.set_defaults(func=_cmd_resim)

    export = sub.add_parser("export", help="write run files as CSV (units in the header) for other tools")
    export.add_argument("runs", nargs="+", type=_run_file, metavar="RUN.h5")
    export.add_argument("--pymeasure", action="store_true", help="pymeasure Results format (Results.load reads it)")
    export.add_argument("--out", type=_path, help="folder for the CSV files (default: next to each run file)")
    export.set_defaults(func=_cmd_export)

    protocols = sub.add_parser("protocols", help="list protocols and their parameters; with a bench, which "
                                                 "protocols play on it at their defaults, and how")
    bench_of = protocols.add_mutually_exclusive_group()
    bench_of.add_argument("--sim", action="store_true", help="check against a simulated bench")
    bench_of.add_argument("--bench", type=_path, help="check against this bench (bench.toml; only *IDN? is asked)")
    protocols.add_argument("--smu", **_instrument("smu"),
                           help="SMU of the simulated bench (default keithley2450); one of %(choices)s")
    protocols.add_argument("--pulse-generator", **_instrument("pulse_generator"),
                           help="pulse generator of the simulated bench (default: none); one of %(choices)s")
    _add_setting(protocols, "pulse_series_resistance", "with --sim: ", "0 ohm", default=None)
    protocols.add_argument("--timing", choices=TIMINGS, default="auto", help="timing to check (default auto)")
    protocols.set_defaults(func=_cmd_protocols)

    new = sub.add_parser("new", help="write the skeleton of a plugin (docs/extending.md)")
    new_sub = new.add_subparsers(dest="new_command", required=True)
    new_protocol = new_sub.add_parser("protocol", help="a protocol module, its recipe, a pytest test and a "
                                                       "pyproject declaring its entry point")
    new_protocol.add_argument("name", metavar="NAME", help="the protocol's name: lowercase words joined by hyphens, "
                                                           "e.g. ramp-read")
    new_protocol.add_argument("--dir", type=_path, help="folder to write, new or empty (default ./NAME)")
    new_protocol.set_defaults(func=_cmd_new_protocol)

    gui = sub.add_parser("gui", help="the desktop GUI (PyQt6): bench, protocol form, live plots, run browser")
    gui.add_argument("--sim", action="store_true", help="open with the simulated bench connected")
    _add_setting(gui, "seed", "with --sim: ")
    gui.add_argument("--model", type=_name(_model_name), help="simulated device model (default: synaptic-memristor)")
    gui.add_argument("--out", type=_path, default=Path("runs"), help="data folder: run files and the run browser")
    gui.add_argument("--run", metavar="PROTOCOL", type=_name(_protocol_name),
                     help="with --sim --screenshot: run this protocol before the shot")
    gui.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="parameter of the protocol in the form, units allowed: --set pulses=30")
    gui.add_argument("--screenshot", type=_path, metavar="FILE.png",
                     help="draw the window offscreen, save it as a PNG and exit")
    gui.set_defaults(func=_cmd_gui)

    instruments = sub.add_parser("instruments", help="list VISA instruments, their *IDN? and the matching driver")
    instruments.add_argument("--visa-library", default="", help="pyvisa backend, e.g. @py (default: pyvisa's choice)")
    instruments.add_argument("--timeout", type=_positive_seconds, default=2.0,
                             help="s to wait for each *IDN? (default 2)")
    instruments.add_argument("--sim", action="store_true", help="discover a simulated station instead")
    instruments.add_argument("--smu", default=registry.DEFAULT_SMU, **_instrument("smu"),
                             help="simulated SMU with --sim; one of %(choices)s")
    instruments.add_argument("--pulse-generator", **_instrument("pulse_generator"),
                             help="simulated pulse generator with --sim; one of %(choices)s")
    instruments.add_argument("--simulated", action="store_true", help="list the instruments the simulator has")
    instruments.set_defaults(func=_cmd_instruments)

    sim = sub.add_parser("sim", help="the simulated bench")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    serve = sim_sub.add_parser("serve", help="serve simulated instruments on loopback TCP")
    serve.add_argument("--smu", default=registry.DEFAULT_SMU, **_instrument("smu"),
                       help="simulated SMU model (default keithley2450; see `labsuite instruments --simulated`); one of %(choices)s")
    serve.add_argument("--pulse-generator", **_instrument("pulse_generator"),
                       help="also serve a simulated pulse generator wired to the same device; one of %(choices)s")
    _add_setting(serve, "series_resistance")
    _add_setting(serve, "pulse_series_resistance")
    serve.add_argument("--model", type=_name(_model_name), help="device model (default synaptic-memristor)")
    _add_setting(serve, "seed")
    serve.add_argument("--port", type=_whole("the first TCP port", 0, PORT_MAX, "--port 5025"), default=0,
                       help="first TCP port, 1 to 65535 (default 0: any free port)")
    serve.add_argument("--pace", type=_pace, metavar="realtime|FACTOR",
                       help="play sequences against the wall clock, FACTOR times real time: a trigger model, list "
                            "sweep or burst runs in the background (status queries see it running, readings "
                            "arrive as taken, an abort or device clear stops it mid-sequence) and measurements "
                            "take their time; the virtual clock then also runs FACTOR times the wall clock "
                            "(default: virtual time, every sequence plays inside the command that starts it)")
    serve.set_defaults(func=_cmd_sim_serve)
    return parser


_WARNING_LOGGERS = ("labsuite.core.renames", "labsuite.discovery")   # their warnings: one stderr line each


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the exit status: 0 done, 1 a bug (an unexpected exception), 2 refused
    (bad input), 3 a run that did not complete or an instrument that failed (link, wrong
    instrument, an error it reported), 128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129
    SIGHUP). A failure never returns 0; each is one ``labsuite: error:`` line on stderr."""
    args = build_parser().parse_args(argv)
    # an old parameter name, an interface discovery skips: `labsuite: warning: ...`
    warned = logging.StreamHandler(sys.stderr)
    warned.setFormatter(logging.Formatter("labsuite: warning: %(message)s"))
    for name in _WARNING_LOGGERS:
        logging.getLogger(name).addHandler(warned)
    try:
        return args.func(args)
    except InstrumentError as exc:   # a link failure, an error the instrument reported, a wrong instrument
        _report(f"error: {exc}", exc)
        return 3
    except LabsuiteError as exc:   # refused input: 2; a run its file stopped partway (RunStopped): 3
        _report(f"error: {exc}", exc)
        return getattr(exc, "exit_status", 2)
    except KeyboardInterrupt as exc:
        signame = str(exc).removeprefix("interrupted by ") if isinstance(exc, Interrupted) else "SIGINT"
        _report(f"stopped by {signame}; the run file is kept, marked aborted", exc)
        return exc.exit_status if isinstance(exc, Interrupted) else 130
    except BrokenPipeError as exc:
        if not _from_print(exc):   # a socket or a pipe to an instrument, not our stdout
            _report(f"error: broken pipe ({exc})", exc)
            return 3
        # stdout piped into `head` and the like: what was asked for has been printed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:   # a link failure outside a run, or a bug: still one line, outputs already off
        from labsuite import link

        failure = link.translate(exc, "")
        if isinstance(failure, LabsuiteError):
            _report(f"error: {failure}", exc)
            return 3
        if os.environ.get("LABSUITE_DEBUG"):
            traceback.print_exc()
        where = "" if os.environ.get("LABSUITE_DEBUG") else "; LABSUITE_DEBUG=1 shows the traceback"
        _report(f"error: unexpected {type(exc).__name__}: {exc} (a bug: please report it{where})", exc)
        return 1
    finally:
        for name in _WARNING_LOGGERS:
            logging.getLogger(name).removeHandler(warned)


def _report(message: str, exc: BaseException) -> None:
    """``labsuite: <message>`` on stderr, then one line per note (how the outputs were switched off)."""
    print(f"labsuite: {message}", file=sys.stderr)
    for note in getattr(exc, "__notes__", []):
        print(f"labsuite: {note}", file=sys.stderr)


def _from_print(exc: BaseException) -> bool:
    """Whether ``exc`` was raised writing to stdout from this module (print), not deeper down."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__") == __name__


if __name__ == "__main__":
    sys.exit(main())
