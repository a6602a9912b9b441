r"""Energy per write event: measured where the current was measured during the pulse, else estimated.

Measured (:func:`pulse_energy`). The energy a pulse delivers to the device is E = ∫ V·I dt over
the pulse. A bench holds the source at a constant level V for the pulse width t_p and an SMU
reading integrates the current over the segment, so the reading is the mean current Ī and

    E = V·Ī·t_p                                                       [J]

exactly (∫ V·I dt = V·∫ I dt = V·Ī·t_p for constant V). V is the voltage across the device (the
source readback). Under a current limit for the whole pulse the current is the constant I_lim and
the voltage varies, so E = I_lim·V̄·t_p is again exact with V̄ the mean readback; a pulse that
enters the limit part-way (an abrupt SET) makes V̄·Ī·t_p an approximation of ∫V·I dt.

Estimated (:func:`estimated_pulse_energy`), when the current was not measured during the pulse
(the usual case: write pulses are shorter than an SMU's shortest integration, and a train's
measured segments must share one aperture). For an ohmic read at conductance G,

    E ≈ V_write²·G_before·t_p                                          [J]

with G_before the conductance read just before the pulse. This is an **estimate**, labelled as
one (protocols report ``energy_is_estimate`` = 1.0). Its error comes from three assumptions:

- the conductance does not change during the pulse. If G moves monotonically from G_start to
  G_end during the pulse, the true energy lies between V²·G_start·t_p and V²·G_end·t_p, so the
  relative error is at most |G_end − G_start| / G_start — the conductance change the pulse
  causes (including any volatile part that has relaxed again by the next read);
- the device is ohmic up to V_write (I = G·V). A device whose I–V is superlinear (tunnelling,
  Schottky, Poole–Frenkel) carries more current at V_write than G_read·V_write, so the estimate
  is then a lower bound;
- no current limit acts during the pulse (under compliance the current is at most I_lim, so
  V·I_lim·t_p bounds the energy from above).
"""
from __future__ import annotations

import numpy as np


def pulse_energy(voltage, current, duration) -> np.ndarray:
    """Measured energy (J) of pulses held at ``voltage`` (V) carrying mean ``current`` (A) for
    ``duration`` (s): E = V·Ī·t_p, element by element (arrays broadcast)."""
    return np.asarray(voltage, float) * np.asarray(current, float) * np.asarray(duration, float)


def estimated_pulse_energy(v_write, g_before, width) -> np.ndarray:
    """Estimated energy (J) of write pulses of ``v_write`` (V) and ``width`` (s) on a device of
    conductance ``g_before`` (S, read before the pulse): E ≈ V²·G·t_p. An estimate; see the
    module docstring for its error bound."""
    v = np.asarray(v_write, float)
    return v * v * np.asarray(g_before, float) * np.asarray(width, float)


def estimate_error_bound(v_write, g_start, g_end, width) -> np.ndarray:
    """Largest error (J) of :func:`estimated_pulse_energy` with G = ``g_start`` for an ohmic device
    whose conductance moves monotonically from ``g_start`` to ``g_end`` (S) during the pulse:
    V²·|G_end − G_start|·t_p."""
    v = np.asarray(v_write, float)
    return v * v * np.abs(np.asarray(g_end, float) - np.asarray(g_start, float)) * np.asarray(width, float)
