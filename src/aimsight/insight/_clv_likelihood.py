"""BG/NBD and Gamma-Gamma: likelihoods, maximum-likelihood fits and the conditional expectations.

Pure numerics on numpy arrays, no pandas: :mod:`aimsight.insight._clv` turns transactions into
the inputs and the outputs into a model. Notation follows the papers:

* BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
  customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase they
  drop out with probability ``p ~ Beta(a, b)``. A customer is summarised by ``x`` repeat
  purchases, the time ``t_x`` of the last one and their age ``T`` (all measured from the first
  purchase).
* Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's
  order values are ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)``; ``m`` is the mean of their ``x``
  repeat orders.

Both are fitted on log-parameters with L-BFGS-B, with lifetimes' optional L2 penalty
``penalizer * sum(params ** 2)`` added to the mean negative log-likelihood. Times and order
values are rescaled before fitting (the largest age to 10, as lifetimes does, and the mean order
value to 1) so that one starting point suits any time unit or currency; the penalty applies to
the parameters of the rescaled problem, and the reported ``alpha`` and ``v`` are scaled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, expit, gammaln, hyp2f1

__all__ = [
    "BgNbdParams",
    "FitReport",
    "GammaGammaParams",
    "bg_nbd_log_likelihood",
    "expected_average_value",
    "expected_purchases",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "p_alive",
]

Array = NDArray[np.float64]
LOG_BOUND = 15.0  # log-parameters are kept within +-15 (a parameter of 3e6 or 3e-7)
_TIME_SCALE_TO = 10.0
_NEAR_ONE = 1e-6


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters: purchase rate ``Gamma(r, alpha)``, dropout ``Beta(a, b)``."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters: order value ``Gamma(p, nu)``, ``nu ~ Gamma(q, v)``."""

    p: float
    q: float
    v: float


@dataclass(frozen=True)
class FitReport:
    """How an optimisation went: the mean log-likelihood per customer and any bound reached."""

    log_likelihood: float
    converged: bool
    iterations: int
    message: str
    at_bound: tuple[str, ...]


def _as_array(values: object) -> Array:
    return np.asarray(values, dtype=np.float64)


def bg_nbd_log_likelihood(
    params: BgNbdParams, frequency: object, recency: object, age: object
) -> Array:
    """Each customer's BG/NBD log-likelihood (FHL 2005, equation 6), computed in log space."""
    x, t_x, big_t = _as_array(frequency), _as_array(recency), _as_array(age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    still_alive = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return np.asarray(common + np.logaddexp(still_alive, dropped), dtype=np.float64)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: object, monetary_value: object
) -> Array:
    """Each repeat customer's Gamma-Gamma log-likelihood of their mean order value."""
    x, m = _as_array(frequency), _as_array(monetary_value)
    p, q, v = params.p, params.q, params.v
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + x * m),
        dtype=np.float64,
    )


def _minimise(
    objective: Callable[[Array], float], start: Array, names: tuple[str, ...]
) -> tuple[Array, FitReport]:
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    at_bound = tuple(
        name for name, value in zip(names, result.x, strict=True) if abs(value) >= LOG_BOUND - 1e-3
    )
    report = FitReport(
        log_likelihood=0.0,  # filled in by the caller, without the penalty
        converged=bool(result.success),
        iterations=int(result.nit),
        message=str(result.message),
        at_bound=at_bound,
    )
    return np.asarray(result.x, dtype=np.float64), report


def _penalised(
    mean_log_likelihood: Callable[[Array], float], penalizer: float
) -> Callable[[Array], float]:
    def objective(log_params: Array) -> float:
        params = np.exp(log_params)
        value = -mean_log_likelihood(params) + penalizer * float(np.sum(params**2))
        return value if np.isfinite(value) else 1e300

    return objective


def fit_bg_nbd(
    frequency: object, recency: object, age: object, *, penalizer: float = 0.0
) -> tuple[BgNbdParams, FitReport]:
    """Maximum-likelihood BG/NBD parameters for these customers (times in any one unit)."""
    x, t_x, big_t = _as_array(frequency), _as_array(recency), _as_array(age)
    scale = _TIME_SCALE_TO / float(big_t.max()) if big_t.max() > 0 else 1.0
    t_x_s, big_t_s = t_x * scale, big_t * scale

    def mean_ll(params: Array) -> float:
        r, alpha, a, b = (float(value) for value in params)
        ll = bg_nbd_log_likelihood(BgNbdParams(r, alpha, a, b), x, t_x_s, big_t_s)
        return float(np.mean(ll))

    solution, report = _minimise(
        _penalised(mean_ll, penalizer), np.zeros(4), ("r", "alpha", "a", "b")
    )
    r, alpha_s, a, b = (float(value) for value in np.exp(solution))
    params = BgNbdParams(r=r, alpha=alpha_s / scale, a=a, b=b)
    fitted = float(np.mean(bg_nbd_log_likelihood(params, x, t_x, big_t)))
    return params, _with_log_likelihood(report, fitted)


def fit_gamma_gamma(
    frequency: object, monetary_value: object, *, penalizer: float = 0.0
) -> tuple[GammaGammaParams, FitReport]:
    """Maximum-likelihood Gamma-Gamma parameters from repeat customers (``x > 0``, ``m > 0``)."""
    x, m = _as_array(frequency), _as_array(monetary_value)
    scale = 1.0 / float(m.mean())
    m_s = m * scale

    def mean_ll(params: Array) -> float:
        p, q, v = (float(value) for value in params)
        return float(np.mean(gamma_gamma_log_likelihood(GammaGammaParams(p, q, v), x, m_s)))

    solution, report = _minimise(_penalised(mean_ll, penalizer), np.zeros(3), ("p", "q", "v"))
    p, q, v_s = (float(value) for value in np.exp(solution))
    params = GammaGammaParams(p=p, q=q, v=v_s / scale)
    fitted = float(np.mean(gamma_gamma_log_likelihood(params, x, m)))
    return params, _with_log_likelihood(report, fitted)


def _with_log_likelihood(report: FitReport, value: float) -> FitReport:
    return FitReport(
        log_likelihood=value,
        converged=report.converged,
        iterations=report.iterations,
        message=report.message,
        at_bound=report.at_bound,
    )


def _log_odds_dropped(params: BgNbdParams, x: Array, t_x: Array, big_t: Array) -> Array:
    """log of ``a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)``; -inf where ``x == 0``."""
    out = np.full_like(x, -np.inf)
    repeat = x > 0
    xr = x[repeat]
    out[repeat] = (
        np.log(params.a)
        - np.log(params.b + xr - 1)
        + (params.r + xr)
        * (np.log(params.alpha + big_t[repeat]) - np.log(params.alpha + t_x[repeat]))
    )
    return out


def p_alive(params: BgNbdParams, frequency: object, recency: object, age: object) -> Array:
    """Probability each customer is still active at their age ``T`` (1 with no repeat purchase)."""
    x, t_x, big_t = _as_array(frequency), _as_array(recency), _as_array(age)
    return np.asarray(expit(-_log_odds_dropped(params, x, t_x, big_t)), dtype=np.float64)


def expected_purchases(
    params: BgNbdParams, t: float | Array, frequency: object, recency: object, age: object
) -> Array:
    """Expected purchases in the next ``t`` time units given ``(x, t_x, T)`` (FHL 2005, eq. 10).

    The hypergeometric term is taken through Euler's transformation,
    ``(1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)`` with
    ``c = a+b+x-1``, so it stays finite for customers with hundreds of purchases; the
    removable singularity at ``a = 1`` is stepped over by evaluating at ``a = 1 + 1e-6``.
    ``t = 0`` gives 0; ``x = t_x = T = 0`` gives the unconditional ``E[X(t)]``.
    """
    x, t_x, big_t = _as_array(frequency), _as_array(recency), _as_array(age)
    span = _as_array(t)
    a = params.a if abs(params.a - 1.0) > _NEAR_ONE else 1.0 + _NEAR_ONE
    r, alpha, b = params.r, params.alpha, params.b
    c = a + b + x - 1
    z = span / (alpha + big_t + span)
    log_w = np.log(alpha + big_t) - np.log(alpha + big_t + span)
    tail = hyp2f1(a + b - 1 - r, a - 1, c, z)
    # The log form keeps precision for large counts; where the series is not positive (tiny
    # ``b`` with ``a`` near 0, as regular subscription payments give) take it directly.
    positive = tail > 0
    bracket = np.where(
        positive,
        -np.expm1((a - 1) * log_w + np.log(np.where(positive, tail, 1.0))),
        1.0 - np.exp((a - 1) * log_w) * tail,
    )
    alive = expit(-_log_odds_dropped(BgNbdParams(r, alpha, a, b), x, t_x, big_t))
    return np.asarray(c / (a - 1) * bracket * alive, dtype=np.float64)


def expected_average_value(
    params: GammaGammaParams, frequency: object, monetary_value: object
) -> Array:
    """Expected mean order value given ``x`` repeat orders averaging ``m`` (Fader-Hardie 2013).

    A weighted mean of the population's ``p v / (q - 1)`` and the customer's own ``m``, the
    weight on ``m`` growing with ``x``; a customer with no repeat order gets the population's.
    """
    x, m = _as_array(frequency), _as_array(monetary_value)
    p, q, v = params.p, params.q, params.v
    weight = p * x / (p * x + q - 1)
    population = v * p / (q - 1)
    return np.asarray((1 - weight) * population + weight * m, dtype=np.float64)
