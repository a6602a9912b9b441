"""Play a PulseProgram straight on a device model: no instruments, no SCPI, same physics.

The simulated instruments add what a bench adds (command grammar, buffers, aperture timing);
model fitting and large device studies need only the device's response, many times over. A
measured segment's reading is the mean current over the whole segment, which is what the 2450
driver measures when every measured segment of a train has the same length (its aperture).
"""
from __future__ import annotations

import numpy as np

from labsuite.core.program import SAMPLE_DTYPE, PulseProgram
from labsuite.simulator.models.base import DeviceModel


def play(program: PulseProgram, model: DeviceModel, *, series_resistance: float = 0.0,
         read_noise: bool = True) -> np.ndarray:
    """Apply ``program`` to every device of ``model`` (all in parallel); return the samples.

    Returns a SAMPLE_DTYPE table for a single device, or, for n devices, an array of shape
    (n, readings) of that dtype. The state of ``model`` advances.
    """
    rows = []
    start = 0.0
    for index, train in enumerate(program.trains):
        for r in range(train.repeats):
            for k, segment in enumerate(train.pattern):
                result = model.evolve(train.levels[r, k], segment.duration, series_resistance=series_resistance,
                                      compliance=program.compliance_of(segment))
                start += segment.duration
                if segment.measure:
                    current = model.add_read_noise(result.current) if read_noise else result.current
                    rows.append((start, result.source_voltage, current, index, r, k))
    samples = np.empty((model.n, len(rows)), SAMPLE_DTYPE)
    for j, (t, v, i, index, r, k) in enumerate(rows):
        samples["t"][:, j], samples["voltage"][:, j], samples["current"][:, j] = t, v, i
        samples["train"][:, j], samples["repeat"][:, j], samples["segment"][:, j] = index, r, k
    return samples[0] if model.n == 1 else samples
