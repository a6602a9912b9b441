r"""The interface every device model implements, and the integration they share.

A model holds ``n`` devices of one kind (a crossbar is an array). Its state ``x`` has shape
``(k, n)``: k state variables named in ``state_names``. Parameters are a frozen dataclass whose
fields carry a unit and, where marked ``d2d=True``, a device-to-device spread: each device draws
its own value once, ``p_i = p·exp(σ_d2d·ξ_i)`` (log-normal, median p), from the seeded generator.

A model provides the physics, vectorized over devices:

- ``current(v, x)`` — I(V, x) in A for device voltages ``v`` (shape (n,));
- ``derivatives(v, x)`` — dx/dt, shape (k, n), for models integrated numerically;
- optionally ``closed_form(v, duration, x)`` — the exact state after holding ``v`` and the mean
  current over the hold, used whenever the source does not limit;
- optionally ``cycle_noise(x0, x1)`` — cycle-to-cycle variation of a segment's state change.
  It applies per *cycle*, a stretch of constant drive that :meth:`new_cycle` ends (a simulated
  bench calls it whenever an output changes; otherwise every :meth:`evolve` is a cycle). Within
  a cycle the model follows the noiseless path and the state is always the cycle's start plus
  the noisy change along it, with one draw per device (:meth:`scale_update`), so an instrument
  that holds a segment in several slices gets the same variation as one that holds it at once.

:meth:`DeviceModel.evolve` drives the devices from a voltage source through a series resistance
R_s under a current limit I_lim, as a bench does: the device voltage solves
V_dev + I(V_dev, x)·R_s = V_source unless |I| would pass I_lim, where the source turns into a
current source and I(V_dev, x) = ±I_lim. Without a closed form, or while the limit or R_s
couples the source to the state, the state is integrated by a scipy ODE solver with error control
(stepped directly, without ``solve_ivp``'s bookkeeping; dense output only where samples are asked for):
by default with the stiff-safe implicit Radau IIA method, whose Jacobian is block-diagonal over
devices (thermal and filament variables, window functions and abrupt set transitions need it);
a model known to be non-stiff sets ``integrator = "DOP853"`` (explicit Dormand-Prince 8(5,3),
an order of magnitude fewer right-hand-side calls on a write pulse). Charge, energy ∫V·I dt and
∫V dt are integrated with the state (under DOP853 to ``rtol`` of what they gather over the segment).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from scipy.integrate import DOP853, OdeSolution, Radau
from scipy.sparse import block_diag, csr_matrix

from labsuite.core.errors import InvalidParameter
from labsuite.core.parameters import Choice, Number, declared


def param(default: float, unit: str = "", *, d2d: bool = False, low: float | None = None,
          high: float | None = None, above: float | None = None, below: float | None = None,
          choices: tuple[float, ...] = ()) -> Any:
    """A model parameter: its default, SI unit, whether it varies from device to device, and its
    allowed values: ``low ≤ value ≤ high``, ``above < value < below`` (any bound may be left out), or
    one of ``choices``; declared as a :class:`~labsuite.core.parameters.Number` or
    :class:`~labsuite.core.parameters.Choice` (named after its field by :func:`declared`).
    :func:`check_params` enforces them."""
    declaration = Choice("", choices, default, "") if choices else \
        Number("", unit, default, low if above is None else above, high if below is None else below, "",
               open_minimum=above is not None, open_maximum=below is not None)
    return field(default=default, metadata={"parameter": declaration, "d2d": d2d})


def check_params(params: Any, model: str) -> None:
    """Raise :class:`InvalidParameter` naming the first parameter of ``model`` outside its declared
    range (see :func:`param`), or the first pair breaking one of ``params.ordered`` (``a < b``)."""
    for p in declared(type(params)):
        value = getattr(params, p.name)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidParameter(p.name, f"{value!r} must be a number ({model})")
        if isinstance(p, Choice) and value not in p.choices or isinstance(p, Number) and not p.contains(value):
            unit = getattr(p, "unit", "")
            raise InvalidParameter(p.name, f"{value:g}{' ' + unit if unit else ''} is out of range for the {model} "
                                           f"model: allowed {p.allowed()}; the default is {p.default:g}")
    for smaller, larger in getattr(params, "ordered", ()):
        a, b = getattr(params, smaller), getattr(params, larger)
        if not a < b:
            raise InvalidParameter(smaller, f"{smaller} = {a:g} must be less than {larger} = {b:g} ({model}): "
                                            f"lower {smaller} or raise {larger}")


@dataclass(frozen=True)
class Evolution:
    """What each device did during one held segment (arrays of shape (n,))."""

    current: np.ndarray          # A, mean current
    device_voltage: np.ndarray   # V, mean voltage across the device
    source_voltage: np.ndarray   # V, mean voltage at the source terminals
    energy: np.ndarray           # J, ∫ V_dev·I dt
    limited: np.ndarray          # bool, the source reached its current limit
    samples: np.ndarray | None = None   # A, currents at the requested times, shape (times, n)


@dataclass(frozen=True)
class TrainEvolution:
    """What the one device did over the first ``done`` segments of a train (arrays of shape (done,));
    the source never limited and sat on the device (no series resistance)."""

    done: int                # segments evolved; the rest need the per-segment path (the limit may bind)
    current: np.ndarray      # A, mean current of each segment
    reading: np.ndarray      # A, mean of each read segment's noisy conversions (NaN where not read)


class DeviceModel(ABC):
    """``n`` devices with per-device parameters ``self.p`` and state ``self.x`` of shape (k, n)."""

    name: ClassVar[str]
    params_type: ClassVar[type]
    state_names: ClassVar[tuple[str, ...]]
    rtol: ClassVar[float] = 1e-6          # relative tolerance of the numerical integration
    integrator: ClassVar[str] = "Radau"   # scipy solver: implicit (stiff-safe), or "DOP853" for a non-stiff model
    cycles_by_drive = False   # True once a bench marks cycles with new_cycle(); else every evolve is one

    def __init__(self, params: Any = None, *, n: int = 1, rng: np.random.Generator | None = None) -> None:
        self.params = params if params is not None else self.params_type()
        self.rng = rng if rng is not None else np.random.default_rng(0)
        sigma = getattr(self.params, "d2d_sigma", 0.0)
        values = {}
        for f in fields(self.params):
            value = getattr(self.params, f.name)
            if f.metadata.get("d2d") and sigma > 0:
                values[f.name] = value * np.exp(sigma * self.rng.standard_normal(n))
            else:
                values[f.name] = np.full(n, value, dtype=float)
        self.p = SimpleNamespace(**values)
        self.x = np.array(self.initial_state(n), dtype=float).reshape(len(self.state_names), n)
        self._cycle_factor = np.full(n, np.nan)   # this cycle's c2c draw per device (NaN: not drawn)
        self._cycle_start: np.ndarray | None = None    # state when the cycle began
        self._cycle_path: np.ndarray | None = None     # noiseless state along the cycle so far

    # --- what a model defines ---------------------------------------------------------------
    @abstractmethod
    def initial_state(self, n: int) -> np.ndarray:
        """State of fresh devices, shape (k, n)."""

    @abstractmethod
    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """I(V, x) in A for device voltages ``v`` (V), shape (n,)."""

    @abstractmethod
    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """dx/dt at device voltages ``v`` (V), shape (k, n)."""

    def closed_form(self, v: np.ndarray, duration: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(state after holding ``v`` for ``duration`` s, mean current in A), or None if there is none."""
        return None

    def evolve_train(self, v: np.ndarray, compliance: np.ndarray, durations: np.ndarray, reads: np.ndarray,
                     cycle_starts: np.ndarray) -> TrainEvolution | None:
        """Evolve one device (``n`` = 1) held at ``v`` V under ``compliance`` A for ``durations`` s,
        segment after segment, with no series resistance, in one call; or None if the model has no
        whole-train form (the caller holds each segment through :meth:`evolve`).

        Same states, currents and random draws, in the same order, as one :meth:`evolve` per segment
        with :meth:`new_cycle` before each segment where ``cycle_starts`` (the first segment goes on
        with the open cycle, if any) and ``reads[k]`` conversions of read noise after segment k
        (:meth:`add_read_noise`). Stops before the first segment where the current limit could bind.
        """
        return None

    def cycle_noise(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """State after a segment with cycle-to-cycle variation; default: none."""
        return x1

    def clip_state(self, x: np.ndarray) -> np.ndarray:
        """Keep the state inside its physical bounds; default: unbounded."""
        return x

    def new_cycle(self) -> None:
        """The drive changed: the next state change starts a new cycle with new draws."""
        self._cycle_factor[:] = np.nan
        self._cycle_start = self._cycle_path = None

    def scale_update(self, x0: np.ndarray, x1: np.ndarray, row: int = 0) -> np.ndarray:
        """Cycle-to-cycle variation of state ``row``: each device's change over the segment is
        scaled by (1 + σ_c2c·ξ), ξ ~ N(0, 1), drawn once per cycle (see :meth:`new_cycle`);
        devices whose state did not move draw nothing."""
        written = x1[row] != x0[row]
        sigma = getattr(self.params, "c2c_sigma", 0.0)
        if not np.any(written) or not sigma:
            return x1
        undrawn = written & np.isnan(self._cycle_factor)
        self._cycle_factor[undrawn] = 1 + sigma * self.rng.standard_normal(int(undrawn.sum()))
        x1 = x1.copy()
        step = x1[row, written] - x0[row, written]
        x1[row, written] = x0[row, written] + step * self._cycle_factor[written]
        return x1

    # --- common ------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.x.shape[1]

    def state(self) -> np.ndarray:
        return self.x.copy()

    def set_state(self, x: np.ndarray) -> None:
        self.x = np.array(x, dtype=float).reshape(self.x.shape)
        self.new_cycle()

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, **asdict(self.params)}

    def add_read_noise(self, current: np.ndarray) -> np.ndarray:
        """A reading of ``current`` (A) with relative read noise ``params.read_noise``."""
        current = np.asarray(current, dtype=float)
        sigma = getattr(self.params, "read_noise", 0.0)
        if not sigma:
            return current
        return current * (1.0 + sigma * self.rng.standard_normal(current.shape))

    def operating_point(self, v_source: np.ndarray, series_resistance: float, compliance: float,
                        x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(V_dev, I, limited) of every device for source voltages ``v_source`` (V).

        Assumes I(V, x) increases with V at fixed state (a passive device). Solved by vectorized
        bisection to 1e-12 of the bracket.
        """
        x = self.x if x is None else x
        v_s = np.broadcast_to(np.asarray(v_source, dtype=float), (self.n,)).copy()
        if series_resistance > 0:
            i_s = self.current(v_s, x)
            reach = np.abs(i_s) * series_resistance
            v_dev = _bisect(lambda v: v + self.current(v, x) * series_resistance - v_s, v_s - reach, v_s + reach)
        else:
            v_dev = v_s
        i = self.current(v_dev, x)
        limited = np.abs(i) > compliance
        if np.any(limited):
            target = np.sign(i) * compliance
            lo, hi = v_dev.copy(), v_dev.copy()
            span = np.maximum(np.abs(v_dev), 1e-3)
            for _ in range(200):   # widen until the target current is bracketed
                below = self.current(lo, x) > np.where(limited, target, -np.inf)
                above = self.current(hi, x) < np.where(limited, target, np.inf)
                if not (np.any(below & limited) or np.any(above & limited)):
                    break
                lo, hi, span = np.where(below, lo - span, lo), np.where(above, hi + span, hi), span * 2
            solved = _bisect(lambda v: self.current(v, x) - target, lo, hi)
            v_dev = np.where(limited, solved, v_dev)
            i = np.where(limited, target, i)
        return v_dev, i, limited

    def evolve(self, v_source: float | np.ndarray, duration: float, *, series_resistance: float = 0.0,
               compliance: float = np.inf, sample_times: np.ndarray | None = None) -> Evolution:
        """Hold the source at ``v_source`` (V) for ``duration`` (s); advance the state.

        ``sample_times`` (s from the segment start, within [0, duration]) asks for the current
        at those instants as well (no read noise added).
        """
        v_s = np.full(self.n, v_source, dtype=float) if np.ndim(v_source) == 0 else np.asarray(v_source, float)
        if self._cycle_start is None:
            self._cycle_start = self.x.copy()
        else:
            self.x = self._cycle_path      # go on along this cycle's noiseless path
        x0 = self.x.copy()
        result = self._evolve_exact(v_s, duration, series_resistance, compliance, sample_times, x0)
        if result is None:
            result = self._evolve_numerically(v_s, duration, series_resistance, compliance, sample_times, x0)
        self._cycle_path = self.clip_state(self.x)
        self.x = self.clip_state(self.cycle_noise(self._cycle_start, self._cycle_path))
        if not self.cycles_by_drive:
            self.new_cycle()
        return result

    def _evolve_exact(self, v_s, duration, series_resistance, compliance, sample_times, x0) -> Evolution | None:
        """The closed form, when there is one and the source never limits.

        The limit is checked at both ends and on the mean; when the current comes within half
        the limit, also at interior points (components moving in opposite directions can make
        the conductance peak inside a segment).
        """
        if series_resistance > 0:
            return self._evolve_exact_in_series(v_s, duration, series_resistance, compliance, sample_times, x0)
        i_start = self.current(v_s, x0)
        if np.any(np.abs(i_start) > compliance):
            return None
        exact = self.closed_form(v_s, duration, x0)
        if exact is None:
            return None
        x1, i_mean = exact
        if np.isfinite(compliance):
            peak = np.maximum(np.abs(self.current(v_s, x1)), np.abs(i_mean))
            if np.any(peak > compliance):
                return None
            if np.any(np.maximum(peak, np.abs(i_start)) > 0.5 * compliance):
                for t in np.linspace(0, duration, 9)[1:-1]:
                    if np.any(np.abs(self.current(v_s, self.closed_form(v_s, float(t), x0)[0])) > compliance):
                        return None
        samples = None
        if sample_times is not None:
            samples = np.array([self.current(v_s, self.closed_form(v_s, float(t), x0)[0]) if t > 0
                                else i_start for t in np.asarray(sample_times, float)])
        self.x = x1
        return Evolution(i_mean, v_s, v_s, v_s * i_mean * duration, np.zeros(self.n, bool), samples)

    def _evolve_exact_in_series(self, v_s, duration, series_resistance, compliance, sample_times, x0) -> Evolution | None:
        """Closed form behind a series resistance, when the state barely moves the operating point.

        The closed form is run at the operating point of the start state and again at that of the
        end state; if the two end states agree within ``rtol`` the state does not feel the
        resistor over the segment (a read, a rest) and their average is taken, with the mean
        current from the two ends or, where they differ, by quadrature along the path. Otherwise
        (a write through R_s) None: the segment is integrated numerically.
        """
        if sample_times is not None:
            return None
        v0, _, limited0 = self.operating_point(v_s, series_resistance, compliance, x0)
        first = None if np.any(limited0) else self.closed_form(v0, duration, x0)
        if first is None:
            return None
        v1, _, limited1 = self.operating_point(v_s, series_resistance, compliance, first[0])
        second = None if np.any(limited1) else self.closed_form(v1, duration, x0)
        if second is None:
            return None
        (xa, ia), (xb, ib) = first, second
        if not _agree(xa, xb, self.rtol, 1e-12):
            return None
        if _agree(ia, ib, self.rtol, 0.0):
            i_mean, v_dev = 0.5 * (ia + ib), 0.5 * (v0 + v1)
            energy = v_dev * i_mean * duration
        else:   # the state ignores the operating point (below threshold): the means by quadrature of its path
            means = self._path_means(v_s, duration, series_resistance, compliance, x0)
            if means is None:
                return None
            i_mean, v_dev, power = means
            energy = power * duration
        if np.any(np.abs(i_mean) > compliance):
            return None
        self.x = 0.5 * (xa + xb)
        return Evolution(i_mean, v_dev, v_s, energy, np.zeros(self.n, bool))

    def _path_means(self, v_s, duration, series_resistance, compliance, x0):
        """(mean I A, mean V_dev V, mean V_dev·I W) along the closed-form path from ``x0``, by
        Gauss-Legendre quadrature with 3 and 5 nodes; None if the two differ by more than ``rtol``
        or the source limits at a node."""
        estimates = []
        for nodes in (3, 5):
            t, weights = np.polynomial.legendre.leggauss(nodes)
            values = []
            for tj in 0.5 * duration * (t + 1):
                v_dev, i, limited = self.operating_point(v_s, series_resistance, compliance,
                                                         self.closed_form(v_s, float(tj), x0)[0])
                if np.any(limited):
                    return None
                values.append((i, v_dev, v_dev * i))
            estimates.append([0.5 * sum(w * value[q] for w, value in zip(weights, values)) for q in range(3)])
        (coarse, fine) = estimates
        if not all(_agree(f, c, self.rtol, 0.0) for f, c in zip(fine, coarse)):
            return None
        return tuple(fine)

    def _evolve_numerically(self, v_s, duration, series_resistance, compliance, sample_times, x0) -> Evolution:
        k, n = x0.shape
        limited_any = np.zeros(n, dtype=bool)

        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            x = y[:k * n].reshape(k, n)
            v_dev, i, limited = self.operating_point(v_s, series_resistance, compliance, x)
            v_term = v_s
            if limited.any():
                limited_any[:] |= limited
                v_term = np.where(limited, v_dev + i * series_resistance, v_s)
            return np.concatenate([self.derivatives(v_dev, x).ravel(), i, v_dev * i, v_dev, v_term])

        y0 = np.concatenate([x0.ravel(), np.zeros(4 * n)])
        f0 = rhs(0.0, y0)
        if duration <= 0 or not f0[:k * n].any():
            # the source is constant, so the ODE is autonomous: a state at rest stays at rest exactly
            self.x = x0.copy()
            i, power, v_dev, v_term = (f0[k * n + j * n: k * n + (j + 1) * n] for j in range(4))
            return Evolution(i, v_dev, v_term, power * max(duration, 0.0), limited_any.copy(),
                             None if sample_times is None else np.tile(i, (len(sample_times), 1)))
        if self.integrator == "Radau":
            solver = Radau(rhs, 0.0, y0, duration, rtol=self.rtol, jac_sparsity=self._sparsity(k, n),
                           atol=np.concatenate([self._atol(n), np.full(4 * n, 1e-30)]))
        else:   # the integrals start at 0: their absolute tolerance is rtol of what they gather over the segment;
            # the first step tries the whole segment (a pulse is short against the rates), error control cuts it
            solver = DOP853(rhs, 0.0, y0, duration, rtol=self.rtol, first_step=duration,
                            atol=np.concatenate([self._atol(n), self.rtol * np.abs(f0[k * n:]) * duration + 1e-30]))
        pieces = []   # dense output of each step, only where samples are asked for
        while solver.status == "running":
            if solver.step() is not None:
                raise RuntimeError(f"{self.name}: integration failed over {duration} s ({solver.status})")
            if sample_times is not None:
                pieces.append(solver.dense_output())
        y1 = solver.y
        self.x = y1[:k * n].reshape(k, n)
        charge, energy, v_int, v_term_int = (y1[k * n + j * n: k * n + (j + 1) * n] for j in range(4))
        samples = None
        if sample_times is not None:
            path = OdeSolution([0.0, *(piece.t for piece in pieces)], pieces)
            samples = np.array([self.operating_point(v_s, series_resistance, compliance,
                                                     path(float(t))[:k * n].reshape(k, n))[1]
                                for t in np.asarray(sample_times, float)])
        return Evolution(charge / duration, v_int / duration, v_term_int / duration, energy, limited_any.copy(),
                         samples)

    def _atol(self, n: int) -> np.ndarray:
        """Absolute tolerance of the state rows: 1e-9 of each row's ``state_scale``."""
        scale = getattr(self, "state_scale", np.ones(len(self.state_names)))
        return np.repeat(np.asarray(scale, float) * 1e-9, n)

    @staticmethod
    def _sparsity(k: int, n: int) -> csr_matrix:
        """Devices are independent: each device's k states and 4 integrals couple only to each other."""
        per_device = np.ones((k + 4, k + 4))
        order = np.concatenate([np.arange(k)[:, None] * n + np.arange(n)[None, :],
                                k * n + np.arange(4)[:, None] * n + np.arange(n)[None, :]]).T.ravel()
        blocks = block_diag([per_device] * n, format="csr")
        perm = np.empty_like(order)
        perm[order] = np.arange(order.size)
        return blocks[perm][:, perm]


class OhmicDeviceModel(DeviceModel):
    """A device whose current is I = G(x)·V: the operating point is algebraic, not iterated."""

    @abstractmethod
    def conductance(self, x: np.ndarray | None = None) -> np.ndarray:
        """G of each device at state ``x`` (default: the present state), S."""

    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.conductance(x) * v

    def operating_point(self, v_source, series_resistance, compliance, x=None):
        """Exact for an ohmic device: V_dev = V_s/(1 + G·R_s); under the limit V_dev = ±I_lim/G."""
        g = self.conductance(self.x if x is None else x)
        v_s = v_source if np.shape(v_source) == g.shape else np.broadcast_to(np.asarray(v_source, float), g.shape)
        v_dev = v_s / (1.0 + g * series_resistance) if series_resistance > 0 else np.array(v_s, dtype=float)
        i = g * v_dev
        limited = np.abs(i) > compliance
        if limited.any():
            i = np.where(limited, np.sign(i) * compliance, i)
            v_dev = np.where(limited, i / g, v_dev)
        return v_dev, i, limited

    def _evolve_exact_in_series(self, v_s, duration, series_resistance, compliance, sample_times, x0) -> Evolution | None:
        """Behind R_s, exact where the state does not feel the resistor.

        At 0 V an ohmic device carries no current, so the resistor drops nothing and the closed
        form applies as it is. Otherwise the closed form is run at the operating points of the
        start state and of its end state; if the two end states agree within ``rtol``, the path
        G(t) is the device's own (a read, a rest) and the means follow from the quadrature of
        I = V_s·G/(1 + G·R_s) along it (see :meth:`_ohmic_path_means`). A write through R_s: None.
        """
        if not v_s.any():
            return self._evolve_exact(v_s, duration, 0.0, compliance, sample_times, x0)
        if sample_times is not None:
            return None
        g0 = self.conductance(x0)
        v0 = v_s / (1.0 + g0 * series_resistance)
        if (np.abs(g0 * v0) > compliance).any():
            return None
        first = self.closed_form(v0, duration, x0)
        if first is None:
            return None
        x_a, i_a = first
        g1 = self.conductance(x_a)
        x_b, _ = self.closed_form(v_s / (1.0 + g1 * series_resistance), duration, x0)
        if not _agree(x_a, x_b, self.rtol, 1e-12):
            return None
        g_mean = np.divide(i_a, v0, out=g0.copy(), where=v0 != 0)   # the closed form's mean current is V·mean G
        means = self._ohmic_path_means(v_s, duration, series_resistance, compliance, x0, v0, (g0, g1), g_mean)
        if means is None:   # a path the four nodes miss (a state that saturates at once): Gauss-Legendre's
            return super()._evolve_exact_in_series(v_s, duration, series_resistance, compliance, sample_times, x0)
        i_mean, power = means
        self.x = 0.5 * (x_a + x_b)
        return Evolution(i_mean, v_s - i_mean * series_resistance, v_s, power * duration, np.zeros(self.n, bool))

    def _ohmic_path_means(self, v_s, duration, series_resistance, compliance, x0, v_dev, g_ends, g_mean):
        """(mean I A, mean V_dev·I W) along the closed-form path from ``x0`` (driven at ``v_dev``),
        whose conductance is ``g_ends`` S at its ends and ``g_mean`` S on average (exact): by 4-node
        Gauss-Lobatto quadrature (the ends and two interior nodes; exact for degree 5) of
        I = V_s·G/(1 + G·R_s) and of its power, trusted when the same nodes give the mean
        conductance within ``rtol`` (the path is resolved; I is a gentle function of G). None
        otherwise, or if the source limits at a node."""
        t, weights = _LOBATTO_4
        inner = [self.conductance(self.closed_form(v_dev, float(tj), x0)[0]) for tj in 0.5 * duration * (t[1:-1] + 1)]
        g = np.array((g_ends[0], *inner, g_ends[1]))
        if not _agree(0.5 * weights @ g, g_mean, self.rtol, 0.0):
            return None
        share = g / (1.0 + g * series_resistance)      # I/V_s at each node
        if (np.abs(v_s * share) > compliance).any():
            return None
        return v_s * (0.5 * weights @ share), v_s ** 2 * (0.5 * weights @ (share / (1.0 + g * series_resistance)))


# Gauss-Lobatto nodes on [-1, 1] (the ends and ±1/√5) and their weights
_LOBATTO_4 = (np.array([-1.0, -1 / np.sqrt(5), 1 / np.sqrt(5), 1.0]), np.array([1 / 6, 5 / 6, 5 / 6, 1 / 6]))


def _agree(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """|a − b| ≤ atol + rtol·|b| everywhere: ``np.allclose`` for finite arrays, without its
    special cases for infinities (a fraction of its cost on a few elements)."""
    return bool((np.abs(a - b) <= atol + rtol * np.abs(b)).all())


def _bisect(f, lo: np.ndarray, hi: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Root of an increasing ``f`` with f(lo) ≤ 0 ≤ f(hi), vectorized: safeguarded Newton.

    Each step takes the Newton point (finite-difference slope) when it falls inside the bracket
    and the midpoint otherwise, so it converges like Newton on smooth device currents and never
    worse than bisection. Stops at 1e-12 of the bracket scale or when f vanishes.
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    v = 0.5 * (lo + hi)
    for _ in range(iterations):
        fv = f(v)
        positive = fv > 0
        hi = np.where(positive, v, hi)
        lo = np.where(positive, lo, v)
        h = 1e-7 * np.maximum(1.0, np.abs(v))
        slope = (f(v + h) - fv) / h
        newton = v - np.divide(fv, slope, out=np.full_like(v, np.nan), where=slope > 0)
        inside = (newton >= lo) & (newton <= hi)
        v_next = np.where(inside, newton, 0.5 * (lo + hi))
        converged = np.abs(v_next - v) <= 1e-12 * np.maximum(1.0, np.abs(v))
        v = v_next
        if np.all(converged):
            break
    return v
