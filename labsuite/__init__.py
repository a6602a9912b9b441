"""labsuite: characterize memristors and artificial synapses on real or simulated benches.

The objects most scripts need are importable from here::

    from labsuite import Bench, run_protocol
    bench = Bench.simulated(seed=1)
    result = run_protocol("potentiation", bench, amplitude="1.2 V", width="100 us")

They load on first use (PEP 562), so importing a part of labsuite (``labsuite.protocols``, a
driver) does not load the rest: the bench, the run store (h5py) or the drivers (pymeasure).
"""
from importlib import import_module

# public name -> the module that defines it
_EXPORTS = {
    "__version__": "labsuite.core.version",
    "Bench": "labsuite.bench",
    "Limits": "labsuite.bench",
    "RunResult": "labsuite.experiment",
    "make_protocol": "labsuite.experiment",
    "run_protocol": "labsuite.experiment",
    "PulseProgram": "labsuite.core.program",
    "Segment": "labsuite.core.program",
    "Train": "labsuite.core.program",
    "RunState": "labsuite.core.events",
    "Runner": "labsuite.runner",
    "read_run": "labsuite.store",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> object:
    """Import the module that defines ``name`` the first time ``name`` is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'labsuite' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
