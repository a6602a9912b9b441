"""Run data for other tools: CSV with units, a pandas DataFrame, pymeasure Results CSV.

Column names carry their unit as ``name (unit)``; each value is written as the shortest text that
reads back as the very float stored (``0.1``, not ``0.10000000000000001``). The CSV opens a
commented header (``# key: value``) with the run's protocol, parameters with their units, figures
of merit with theirs, device and status; ``pandas.read_csv(path, comment="#")`` skips it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from labsuite.core.program import SAMPLE_DTYPE, SAMPLE_UNITS
from labsuite.store import RunData, read_run

def _run(run: RunData | str | Path) -> RunData:
    return run if isinstance(run, RunData) else read_run(run)


def column_names() -> list[str]:
    """``t (s)``, ``voltage (V)``, ``current (A)``, ``train``, ``repeat``, ``segment``."""
    return [f"{n} ({SAMPLE_UNITS[n]})" if SAMPLE_UNITS[n] else n for n in SAMPLE_DTYPE.names]


def _number(value: float | int | np.number) -> str:
    """The shortest text that reads back as ``value`` exactly (Python's float repr, without a
    trailing ``.0``): ``0.1``, ``5``, ``1e-05``."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value)).removesuffix(".0")


def _rows(samples: np.ndarray) -> list[str]:
    return [",".join(_number(row[n]) for n in SAMPLE_DTYPE.names) for row in samples]


def to_csv(run: RunData | str | Path, path: str | Path) -> Path:
    """Write the run's samples to ``path`` as CSV with a commented metadata header."""
    run = _run(run)
    units = json.loads(run.attrs.get("parameter_units", "{}"))
    figure_units = json.loads(run.analysis.get("units", "{}"))
    header = [f"# labsuite run: {run.path.name}"]
    header += [f"# {key}: {run.attrs[key]}" for key in ("protocol", "device_id", "status", "start_time", "seed")
               if key in run.attrs]
    header += [f"# parameter {k}: {_number(v)} {units.get(k, '')}".rstrip() for k, v in run.parameters.items()]
    header += [f"# figure {k}: {_number(v)} {figure_units.get(k, '')}".rstrip() for k, v in run.analysis.items()
               if k != "units"]
    path = Path(path)
    path.write_text("\n".join(header + [",".join(column_names())] + _rows(run.samples)) + "\n", encoding="utf-8")
    return path


def to_dataframe(run: RunData | str | Path):
    """The samples as a pandas DataFrame (columns ``t (s)`` …); metadata in ``DataFrame.attrs``."""
    import pandas as pd

    run = _run(run)
    frame = pd.DataFrame({name: run.samples[key] for name, key in zip(column_names(), SAMPLE_DTYPE.names)})
    frame.attrs.update({"protocol": run.attrs.get("protocol"), "device_id": run.attrs.get("device_id"),
                        "status": run.status, "parameters": run.parameters, "run_file": str(run.path)})
    return frame


def to_pymeasure_csv(run: RunData | str | Path, path: str | Path) -> Path:
    """Write a pymeasure Results file: ``Results.load(path)`` rebuilds the procedure and the data."""
    from pymeasure.experiment import Results

    run = _run(run)
    procedure = pymeasure_procedure(run.attrs["protocol"])()
    for name, value in run.parameters.items():
        setattr(procedure, name, value)
    procedure.device_id = run.attrs.get("device_id", "")
    path = Path(path)
    path.unlink(missing_ok=True)
    Results(procedure, str(path))                   # pymeasure writes its own header and column labels
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(_rows(run.samples)) + "\n")
    return path


def pymeasure_procedure(protocol_name: str):
    """A pymeasure ``Procedure`` class describing a labsuite protocol's parameters (for loading files)."""
    from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter, Parameter, Procedure

    from labsuite.core.parameters import Choice
    from labsuite.protocols import PROTOCOLS

    def described(p):   # a choice that may be a file is free text
        if isinstance(p, Choice):
            return Parameter(p.name, default=p.default) if p.file else \
                ListParameter(p.name, choices=list(p.choices), default=p.default)
        return (IntegerParameter if p.integer else FloatParameter)(p.name, units=p.unit or None, default=p.default)

    protocol = PROTOCOLS[protocol_name]
    attrs: dict = {p.name: described(p) for p in protocol.parameters}
    attrs["device_id"] = Parameter("device_id", default="")
    attrs["DATA_COLUMNS"] = column_names()
    attrs["__module__"] = __name__
    attrs["__doc__"] = f"{protocol.title}, as stored by labsuite (for pymeasure's Results.load)."
    return type(_procedure_class_name(protocol_name), (Procedure,), attrs)


def _procedure_class_name(protocol_name: str) -> str:
    return "".join(part.capitalize() for part in protocol_name.replace("-", "_").split("_")) + "Procedure"


def __getattr__(name: str):
    """``labsuite.export.PotentiationProcedure`` and the like, for pymeasure's ``Results.load``."""
    from labsuite.protocols import PROTOCOLS

    for protocol_name in PROTOCOLS:
        if _procedure_class_name(protocol_name) == name:
            return pymeasure_procedure(protocol_name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
