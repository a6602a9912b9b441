"""labsuite: characterize memristors and artificial synapses on real or simulated benches.

The objects most scripts need are importable from here::

    from labsuite import Bench, run_protocol
    bench = Bench.simulated(seed=1)
    result = run_protocol("potentiation", bench, amplitude="1.2 V", width="100 us")
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("labsuite")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from labsuite.bench import Bench, Limits  # noqa: E402
from labsuite.core.events import RunState  # noqa: E402
from labsuite.core.program import PulseProgram, Segment, Train  # noqa: E402
from labsuite.experiment import RunResult, make_protocol, run_protocol  # noqa: E402
from labsuite.runner import Runner  # noqa: E402
from labsuite.store import read_run  # noqa: E402

__all__ = ["Bench", "Limits", "RunResult", "make_protocol", "run_protocol", "PulseProgram", "Segment",
           "Train", "Runner", "RunState", "read_run", "__version__"]
