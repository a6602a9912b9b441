r"""Filamentary metal-oxide RRAM: the Stanford/PKU tunneling-gap compact model.

One state variable per device: the tunneling gap ``g`` between the tip of the conductive
filament (oxygen vacancies) and the electrode, held in **nm** (parameters are SI, lengths in m).

Current (trap-assisted tunneling through the gap; V is the voltage across the device):

    I = I₀·exp(−g/g₀)·sinh(V/V₀)                                                    [A]

Gap dynamics (field- and temperature-accelerated vacancy generation/recombination):

    dg/dt = −ν₀·exp(−q·E_a/(k_B·T))·sinh(γ·a₀·q·V/(t_ox·k_B·T))                      [m/s]
    γ     = γ₀ − β·(g/g₁)³          local field-enhancement factor, g₁ = 1 nm
    γ     → 0   where γ·|V|/t_ox < F_min   (no vacancy generation below the minimum field)
    T     = T₀ + |V·I|·R_th         local filament temperature (Joule heating)     [K]

with g kept in [g_min, g_max]. These are the equations of Guan, Yu & Wong, IEEE Trans.
Electron Devices 59, 1172 (2012), and of Jiang et al., "A Compact Model for Metal–Oxide
Resistive Random Access Memory With Experiment Verification", IEEE Trans. Electron Devices 63,
1884 (2016), as coded in the Stanford University RRAM Verilog-A model v1.0.0 (Z. Jiang and
H.-S. P. Wong, nanoHUB 2014, doi:10.4231/D37H1DN48), whose default parameters are the defaults
here (see :class:`StanfordPKUParams`).

Choices made here, all documented in ``docs/models/stanford_pku.md``:

- **Temperature is algebraic**: the Verilog-A's T = T₀ + |V·I|·R_th, evaluated at the operating
  point, not a thermal state with a time constant. A nanometre filament in oxide heats and cools
  in nanoseconds or less, orders of magnitude faster than the µs–ms segments a bench drives, so a
  thermal state would only add stiffness. (With the published R_th = 2.1 kK/W, a 2 mA SET heats
  the filament by a few kelvin: the positive feedback of the SET is mostly the γ(g) term.)
- **Bounds** act on the rate, not the value: shrinking stops at g_min, growing stops at g_max.
  (The Verilog-A clamps the read-out of ``idt`` while the integral runs on.)
- **Forming.** A pristine device starts with the larger gap ``g_initial`` > g_max: it conducts
  less, and because γ falls as g³ it needs a higher field, γ(g_initial)·V/t_ox = F_min, to start
  switching. Growth above g_max is blocked, so once formed the gap stays in [g_min, g_max].
- **Cycle-to-cycle variation.** The Verilog-A's dynamic mode adds δg₀·χ/(1 + e^((T_crit − T)/T_smth))
  (χ ~ N(0, 1), δg₀ = 0.02 m/s) to the gap rate, with time steps bounded to 1 ns: a perturbation
  of up to 0.02 nm·χ per step, at every step, even during reads. Here each segment in which the
  gap moved by more than 1 pm gets one perturbation σ_c2c·χ (σ_c2c = 0.02 nm by default) from the
  seeded generator; segments in which nothing switched (reads) leave the gap alone.
- **Device-to-device variation**: I₀, ν₀, F_min and g_initial are drawn once per device,
  log-normal with spread ``d2d_sigma``.

Why SET is abrupt and RESET gradual. The rate at the threshold field is already large (its sinh
argument is F_min·a₀·q/(k_B·T) ≈ 13.6 at 298 K), so the gap moves within microseconds once
γ·V/t_ox reaches F_min. Under positive bias the gap shrinks, γ grows, the threshold voltage
F_min·t_ox/γ falls and the current (hence T) rises: positive feedback, the gap collapses until
the compliance pulls the device voltage down to the threshold of the new gap,
V_dev(g, I_lim) = F_min·t_ox/γ(g). That fixed point sets the post-SET gap: a higher compliance
gives a smaller gap. Under negative bias the gap grows, γ falls and the threshold rises: negative
feedback, the gap follows γ(g) = F_min·t_ox/|V| step by step, a gradual RESET.

Integration. At constant V the equation is autonomous and one-dimensional, dg/dt = F(g), and
the gap runs monotonically to a known end point (g_min, g_max, or the gap at which the field
falls to F_min); ``closed_form`` solves it exactly by quadrature, t(g) = ∫ dg/F. Under a binding
current limit or behind a series resistance the base class integrates it (Radau, the source
solved together with the state); ``operating_point`` is overridden with the exact inverse of
the I–V law, which that integration calls at every stage.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from types import SimpleNamespace

import numpy as np

from labsuite.simulator.models.base import DeviceModel, param

Q = 1.602176634e-19      # C, elementary charge
K_B = 1.380649e-23       # J/K, Boltzmann constant
NM = 1e-9                # m per nm: the state is in nm, parameters in m


@dataclass(frozen=True)
class StanfordPKUParams:
    """Parameters of :class:`StanfordPKU` (SI; E_a in eV). Defaults: the Stanford RRAM Verilog-A
    model v1.0.0 (Jiang & Wong, nanoHUB 2014, doi:10.4231/D37H1DN48) parameter list; ``g_initial``
    and the noise fields are additions of this implementation."""

    ordered: ClassVar[tuple[tuple[str, str], ...]] = (("g_min", "g_max"), ("g_max", "t_ox"),
                                                      ("g_initial", "t_ox"))

    i0: float = param(1e-3, "A", d2d=True, above=0)  # I₀: current prefactor
    g0: float = param(0.25e-9, "m", above=0)        # g₀: tunneling decay length of the gap
    v0: float = param(0.25, "V", above=0)           # V₀: I–V nonlinearity
    nu0: float = param(10.0, "m/s", d2d=True, above=0)  # ν₀ (Vel0): gap velocity prefactor
    e_a: float = param(0.6, "eV", low=0)            # E_a: activation energy of vacancy generation
    a0: float = param(0.25e-9, "m", above=0)        # a₀: atom spacing (hopping distance)
    gamma0: float = param(16.0, low=0)              # γ₀: field-enhancement factor at g = 0
    beta: float = param(0.8, low=0)                 # β: decrease of γ with (g/g₁)³
    g1: float = param(1e-9, "m", above=0)           # g₁: length scale of the γ(g) law
    t_ox: float = param(12e-9, "m", above=0)        # oxide thickness
    f_min: float = param(1.4e9, "V/m", d2d=True, low=0)  # minimum enhanced field for gap motion
    r_th: float = param(2.1e3, "K/W", low=0)        # thermal resistance of the filament
    t0: float = param(298.0, "K", above=0)          # ambient temperature (T_ini)
    g_min: float = param(0.2e-9, "m", above=0)      # smallest gap (full SET)
    g_max: float = param(1.7e-9, "m", above=0)      # largest gap of a formed device (full RESET)
    g_initial: float = param(2.0e-9, "m", d2d=True, above=0)  # gap of a pristine (unformed) device
    c2c_sigma: float = param(0.02e-9, "m", low=0)   # cycle-to-cycle gap perturbation per switching segment
    d2d_sigma: float = param(0.0, low=0)            # log-normal device-to-device spread
    read_noise: float = param(0.0, low=0)           # relative read noise


class StanfordPKU(DeviceModel):
    """Tunneling-gap filamentary RRAM (Stanford/PKU); state row ``g`` in nm."""

    name = "stanford-pku"
    params_type = StanfordPKUParams
    state_names = ("g",)
    state_scale = (1.0,)        # nm
    moved_threshold = 1e-3      # nm: a segment that moved the gap further than this "switched"

    def initial_state(self, n: int) -> np.ndarray:
        return (self.p.g_initial / NM).reshape(1, n)

    # --- physics -----------------------------------------------------------------------------
    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return _current(self.p, np.asarray(v, float), x[0])

    def conductance(self, x: np.ndarray | None = None, v_read: float = 0.1) -> np.ndarray:
        """Chord conductance I/V at the read voltage ``v_read`` (V), S."""
        x = self.x if x is None else x
        v = np.full(x.shape[1], v_read)
        return self.current(v, x) / v

    def temperature(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Local filament temperature T = T₀ + |V·I|·R_th, K."""
        return self.p.t0 + np.abs(v * self.current(v, x)) * self.p.r_th

    def gamma(self, x: np.ndarray | None = None) -> np.ndarray:
        """Field-enhancement factor γ = γ₀ − β·(g/g₁)³ (before the F_min cut)."""
        x = self.x if x is None else x
        return _gamma(self.p, x[0])

    def threshold_voltage(self, x: np.ndarray | None = None) -> np.ndarray:
        """|V| at which γ·|V|/t_ox reaches F_min for the present gap, V (inf where γ ≤ 0)."""
        g = self.gamma(x)
        return np.divide(self.p.f_min * self.p.t_ox, g, out=np.full_like(g, np.inf), where=g > 0)

    def derivatives(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return _rate(self.p, np.asarray(v, float), x[0])[None, :]

    def closed_form(self, v: np.ndarray, duration: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact solution of the autonomous 1-D equation dg/dt = F(g) at constant V.

        Where F(g₀) = 0 (below the F_min threshold, or pushing against a bound) the gap holds.
        Otherwise the gap runs monotonically to its end point g_e — g_min under positive V; under
        negative V the gap g_F(V) = g₁·((γ₀ − F_min·t_ox/|V|)/β)^(1/3) where the enhanced field
        falls to F_min, or g_max — reaching it at t_e = ∫ dg/F(g), F ≠ 0 on the way. For t ≥ t_e
        the gap is g_e; before, g(t) inverts t(g) (Newton). The mean current is
        (∫ I/F dg + I(g_e)·(T − t_e)⁺)/T. Integrals: 32-panel, 10-point Gauss–Legendre, relative
        error ≲ 1e-12 on these smooth integrands.
        """
        v = np.asarray(v, float)
        g0 = x[0]
        rate0 = _rate(self.p, v, g0)
        moving = rate0 != 0
        g1, i_mean = g0.copy(), self.current(v, x)
        if not np.any(moving):
            return x.copy(), i_mean
        p = _take(self.p, moving)
        vm, a = v[moving], g0[moving]
        b = np.where(vm > 0, p.g_min / NM, np.minimum(_field_limited_gap(p, vm), p.g_max / NM))
        b = np.where(vm > 0, b, np.maximum(b, a))          # round-off guard: growth never ends below g₀
        # panel integrals of dt = dg/F and dq = I·dg/F, for g = a + (b − a)·s, s ∈ [0, 1]
        s = (np.arange(_PANELS)[:, None] + _GL_NODES[None, :]).ravel() / _PANELS
        g = a[:, None] + (b - a)[:, None] * s[None, :]
        pc = _column(p)
        f = _rate_free(pc, vm[:, None], g)
        cur = _current(pc, vm[:, None], g)
        weights = np.tile(_GL_WEIGHTS, _PANELS) * ((b - a)[:, None] / _PANELS)
        dt = (weights / f).reshape(-1, _PANELS, _GL_NODES.size).sum(axis=2)
        dq = (weights * cur / f).reshape(-1, _PANELS, _GL_NODES.size).sum(axis=2)
        t_edges = np.concatenate([np.zeros((a.size, 1)), np.cumsum(dt, axis=1)], axis=1)
        q_edges = np.concatenate([np.zeros((a.size, 1)), np.cumsum(dq, axis=1)], axis=1)
        if not (np.all(np.isfinite(t_edges)) and np.all(dt >= 0)):
            return None
        t_end, q_end = t_edges[:, -1], q_edges[:, -1]
        done = t_end <= duration
        g_end = b.copy()
        charge = q_end + _current(p, vm, b) * np.maximum(duration - t_end, 0.0)
        if np.any(~done):
            part = ~done
            k = np.clip((t_edges[part] <= duration).sum(axis=1) - 1, 0, _PANELS - 1)
            rows = np.nonzero(part)[0]
            s_start = k / _PANELS                        # the panel in which t = duration falls
            t_lo, q_lo = t_edges[rows, k], q_edges[rows, k]
            sub = _take(p, part)
            subc = _column(sub)
            ap, bp, vp = a[part], b[part], vm[part]
            lo, hi = s_start.astype(float), (k + 1) / _PANELS
            s_now = np.clip(s_start + (duration - t_lo) / dt[rows, k] / _PANELS, lo, hi)
            for _ in range(80):                          # Newton on t(s) = duration, kept in its bracket
                t_now, _ = _panel_integrals(subc, vp, ap, bp, s_start, s_now)
                resid = t_lo + t_now - duration
                lo, hi = np.where(resid < 0, s_now, lo), np.where(resid < 0, hi, s_now)
                newton = s_now - resid * _rate_free(sub, vp, ap + (bp - ap) * s_now) / (bp - ap)
                s_new = np.where((newton > lo) & (newton < hi), newton, 0.5 * (lo + hi))
                converged = np.abs(s_new - s_now) <= 1e-14
                s_now = s_new
                if np.all(converged):
                    break
            _, q_now = _panel_integrals(subc, vp, ap, bp, s_start, s_now)
            g_end[part] = ap + (bp - ap) * s_now
            charge[part] = q_lo + q_now
        g1[moving] = g_end
        i_mean = i_mean.copy()
        i_mean[moving] = charge / duration if duration > 0 else self.current(v, x)[moving]
        return g1[None, :], i_mean

    def cycle_noise(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        sigma = self.params.c2c_sigma / NM
        moved = np.abs(x1[0] - x0[0]) > self.moved_threshold
        if not sigma or not np.any(moved):
            return x1
        x1 = x1.copy()
        g = x1[0, moved] + sigma * self.rng.standard_normal(int(moved.sum()))
        upper = np.maximum(self.p.g_max[moved] / NM, x1[0, moved])   # never above g_max, nor above a pristine gap
        x1[0, moved] = np.clip(g, self.p.g_min[moved] / NM, upper)
        return x1

    def operating_point(self, v_source: np.ndarray, series_resistance: float, compliance: float,
                        x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(V_dev, I, limited), as the base class defines it, solved with the exact inverse of
        I = A·sinh(V/V₀), A = I₀·e^(−g/g₀): under the limit V_dev = V₀·asinh(±I_lim/A); behind R_s,
        Newton on the convex V + R_s·A·sinh(V/V₀) = |V_s| from above (monotone, to round-off).
        Same answer as the base's bisection, some hundred times cheaper; the integrator calls it
        at every step while the compliance binds."""
        x = self.x if x is None else x
        p = self.p
        v_s = np.broadcast_to(np.asarray(v_source, dtype=float), (self.n,)).copy()
        a = p.i0 * np.exp(-x[0] * NM / p.g0)
        if series_resistance > 0:
            target = np.abs(v_s)
            u = np.minimum(target, p.v0 * np.arcsinh(target / (series_resistance * a)))   # both ≥ the root
            for _ in range(100):
                s = np.sinh(u / p.v0)
                step = (u + series_resistance * a * s - target) / (1.0 + series_resistance * a * np.cosh(u / p.v0) / p.v0)
                u = np.maximum(u - step, 0.0)
                if np.all(np.abs(step) <= 1e-15 * np.maximum(target, 1e-300)):
                    break
            v_dev = np.sign(v_s) * u
        else:
            v_dev = v_s
        i = a * np.sinh(v_dev / p.v0)
        limited = np.abs(i) > compliance
        if np.any(limited):
            i = np.where(limited, np.sign(i) * compliance, i)
            v_dev = np.where(limited, p.v0 * np.arcsinh(i / a), v_dev)
        return v_dev, i, limited

    def clip_state(self, x: np.ndarray) -> np.ndarray:
        p = self.p
        return np.clip(x, p.g_min / NM, np.maximum(p.g_max, p.g_initial) / NM)


# --- the equations, on arrays that broadcast (parameters as a namespace of arrays) -----------
_PANELS = 32
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(10)
_GL_NODES, _GL_WEIGHTS = 0.5 * (_GL_NODES + 1.0), 0.5 * _GL_WEIGHTS      # on [0, 1]


def _current(p, v, g):
    """I = I₀·exp(−g/g₀)·sinh(V/V₀), A; g in nm."""
    return p.i0 * np.exp(-g * NM / p.g0) * np.sinh(v / p.v0)


def _gamma(p, g):
    """γ = γ₀ − β·(g/g₁)³; g in nm."""
    return p.gamma0 - p.beta * (g * NM / p.g1) ** 3


def _rate_free(p, v, g, gamma=None):
    """dg/dt in nm/s, without the F_min cut or the bounds."""
    gamma = _gamma(p, g) if gamma is None else gamma
    kt = K_B * (p.t0 + np.abs(v * _current(p, v, g)) * p.r_th)
    return -p.nu0 * np.exp(-Q * p.e_a / kt) * np.sinh(gamma * p.a0 * Q * v / (p.t_ox * kt)) / NM


def _rate(p, v, g):
    """dg/dt in nm/s: zero where γ·|V|/t_ox < F_min, and where a bound stops the motion."""
    gamma = _gamma(p, g)
    rate = np.where(gamma * np.abs(v) >= p.f_min * p.t_ox, _rate_free(p, v, g, gamma), 0.0)
    blocked = ((rate < 0) & (g <= p.g_min / NM)) | ((rate > 0) & (g >= p.g_max / NM))
    return np.where(blocked, 0.0, rate)


def _field_limited_gap(p, v):
    """g_F(V) in nm: the gap at which γ·|V|/t_ox = F_min (−inf where no gap reaches it)."""
    cube = (p.gamma0 - p.f_min * p.t_ox / np.abs(v)) / p.beta
    return np.where(cube > 0, np.cbrt(np.maximum(cube, 0.0)) * p.g1 / NM, -np.inf)


def _panel_integrals(p, v, a, b, s0, s1):
    """(∫ dg/F, ∫ I·dg/F) over g = a + (b − a)·s, s from s0 to s1 (per device), Gauss–Legendre."""
    s = s0[:, None] + (s1 - s0)[:, None] * _GL_NODES[None, :]
    g = a[:, None] + (b - a)[:, None] * s
    w = _GL_WEIGHTS[None, :] * ((b - a) * (s1 - s0))[:, None]
    f = _rate_free(p, v[:, None], g)
    return (w / f).sum(axis=1), (w * _current(p, v[:, None], g) / f).sum(axis=1)


def _take(p, mask):
    return SimpleNamespace(**{k: val[mask] for k, val in vars(p).items()})


def _column(p):
    return SimpleNamespace(**{k: val[:, None] for k, val in vars(p).items()})
