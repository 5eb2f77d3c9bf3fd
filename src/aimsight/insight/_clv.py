"""Customer lifetime value: BG/NBD purchases times Gamma-Gamma order value, tried on a holdout.

``summarise_transactions`` turns a transaction list into the classic per-customer summary
(frequency, recency, age ``T``, mean repeat order value); ``train_clv`` fits BG/NBD (how many
purchases a customer will still make, and whether they are still a customer at all) and
Gamma-Gamma (how much they spend per order) by maximum likelihood, then, given a holdout period,
compares each customer's predicted spend in it with what they really spent, beside the naive
baseline "each customer keeps spending at their calibration-period rate".

Why the models are written here rather than imported: the ``lifetimes`` package that made them
popular is archived (no release since 2020, broken on recent pandas and numpy), and
pymc-marketing's maintained CLV module pulls in PyMC and PyTensor (a compiler toolchain and
hundreds of MB) for a model whose maximum-likelihood fit is a few lines of scipy. The numerics
live in :mod:`aimsight.insight._clv_likelihood`.

Lifetime value over the horizon is discounted month by month as lifetimes'
``customer_lifetime_value`` does: the expected purchases of each month (months of 365.25/12
days, the last one partial) times the expected order value, divided by ``(1 + d) ** k`` for the
k-th month, where the monthly rate ``d = (1 + annual_discount_rate) ** (1/12) - 1`` compounds
to the configured annual rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.stats import spearmanr

from aimsight.core.errors import InvalidInput
from aimsight.insight._clv_likelihood import (
    Array,
    BgNbdParams,
    FitReport,
    GammaGammaParams,
    expected_average_value,
    expected_purchases,
    fit_bg_nbd,
    fit_gamma_gamma,
    p_alive,
)
from aimsight.insight._frame import TrainingDataError
from aimsight.insight._model import Contribution, FeatureSpec, ModelKind, TrainedModel

__all__ = ["ClvConfig", "ClvModel", "summarise_transactions", "train_clv"]

DateLike = str | date  # datetime and pandas.Timestamp are dates too
DAYS_PER_MONTH = 365.25 / 12
ALGORITHM = "bg_nbd_gamma_gamma"
FEATURES = ("frequency", "recency", "T", "monetary_value")
# |Pearson r| of frequency and order value among repeat buyers above which Gamma-Gamma's
# independence assumption is called into question (lifetimes' guide looks for "close to 0").
CORRELATION_WARNING = 0.3
MIN_REPEAT_BUYERS = 10
CALIBRATION_BUCKETS = 7  # frequency 0..5 and 6+, the classic BG/NBD calibration plot

_DESCRIPTIONS = {
    "frequency": "repeat purchases: days with a purchase after the first one",
    "recency": "time from the first purchase to the last, in time units",
    "T": "age: time from the first purchase to the end of observation, in time units",
    "monetary_value": "mean value of the repeat purchases (0 when there are none)",
}


class ClvConfig(BaseModel):
    """How lifetime value is fitted and valued. Round-trips through JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_unit_days: int = Field(
        default=7, ge=1, le=366, description="days in one time unit of recency and T"
    )
    horizon_days: int = Field(
        default=365, ge=1, le=3653, description="days ahead that lifetime value covers"
    )
    annual_discount_rate: float = Field(
        default=0.1, ge=0, le=1, description="yearly discount rate of future spend"
    )
    penalizer: float = Field(
        default=0.0, ge=0, description="L2 penalty on the BG/NBD parameters (as lifetimes')"
    )
    gamma_gamma_penalizer: float = Field(
        default=0.0, ge=0, description="L2 penalty on the Gamma-Gamma parameters"
    )
    min_customers: int = Field(
        default=50, ge=2, description="fewest customers in the calibration period to fit on"
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClvConfig:
        """The configuration from plain data, failing with the setting named."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "config"
            raise InvalidInput(f"CLV setting {where!r}: {error['msg']}", field=where) from None


# --- transactions to the per-customer summary -------------------------------------------------


def _day(value: object, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise InvalidInput(f"{name} {value!r} is not a date; give it as YYYY-MM-DD", field=name)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def _column(transactions: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in transactions.columns:
        raise InvalidInput(
            f"the transactions have no {role} column {name!r} (they have "
            f"{', '.join(map(str, transactions.columns))}); pass {role}=<column name>",
            field=name,
        )
    return transactions[name]


def _days(series: pd.Series, name: str) -> pd.Series:
    if ptypes.is_datetime64_any_dtype(series):
        parsed = series
    else:
        parsed = pd.to_datetime(series, format="ISO8601", errors="coerce", utc=True)
    bad = parsed.isna()
    if bad.any():
        example = series[bad].iloc[0]
        raise InvalidInput(
            f"column {name!r} has {int(bad.sum())} values that are not dates, e.g. {example!r}; "
            "write dates as YYYY-MM-DD (with a time if you like)",
            field=name,
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.dt.normalize()


def _values(series: pd.Series, name: str) -> pd.Series:
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() | ~np.isfinite(numbers.astype(float))
    if bad.any():
        raise InvalidInput(
            f"column {name!r} has {int(bad.sum())} values that are not numbers, e.g. "
            f"{series[bad].iloc[0]!r}; every purchase needs its value",
            field=name,
        )
    if (numbers < 0).any():
        raise InvalidInput(
            f"column {name!r} has {int((numbers < 0).sum())} negative values, e.g. "
            f"{numbers[numbers < 0].iloc[0]!r}; remove returns and refunds (or net them into "
            "the purchase) before modelling lifetime value",
            field=name,
        )
    return numbers.astype(float)


def _purchase_days(
    transactions: pd.DataFrame, customer: str, date_column: str, value: str
) -> pd.DataFrame:
    """One row per customer and day with a purchase: ``customer``, ``day``, ``value`` (summed)."""
    if not isinstance(transactions, pd.DataFrame):
        raise InvalidInput("transactions must be a pandas DataFrame", field="transactions")
    ids = _column(transactions, customer, "customer")
    if ids.isna().any():
        raise InvalidInput(
            f"column {customer!r} is empty in {int(ids.isna().sum())} rows; every transaction "
            "needs its customer (drop anonymous ones)",
            field=customer,
        )
    frame = pd.DataFrame(
        {
            "customer": ids.to_numpy(),
            "day": _days(_column(transactions, date_column, "date"), date_column).to_numpy(),
            "value": _values(_column(transactions, value, "value"), value).to_numpy(),
        }
    )
    return frame.groupby(["customer", "day"], as_index=False, sort=True)["value"].sum()


def _summary(days: pd.DataFrame, end: pd.Timestamp, unit: int, index_name: str) -> pd.DataFrame:
    """The summary at ``end`` plus ``spend`` (all spend up to ``end``), from purchase days."""
    kept = days[days["day"] <= end]
    grouped = kept.groupby("customer", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    spend = grouped["value"].sum()
    first_value = grouped["value"].first()  # rows are sorted by day within each customer
    frequency = (grouped.size() - 1).astype(float)
    repeat_spend = spend - first_value
    monetary = (repeat_spend / frequency.where(frequency > 0)).fillna(0.0)
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).dt.days.astype(float) / unit,
            "T": (end - first).dt.days.astype(float) / unit,
            "monetary_value": monetary.astype(float),
            "spend": spend.astype(float),
        }
    )
    summary.index.name = index_name
    return summary


def summarise_transactions(
    transactions: pd.DataFrame,
    *,
    customer: str = "customer_id",
    date: str = "date",
    value: str = "value",
    observation_end: DateLike,
    time_unit_days: int = 7,
) -> pd.DataFrame:
    """Each customer's frequency, recency, age and mean repeat order value at ``observation_end``.

    The summary BG/NBD and Gamma-Gamma learn from (lifetimes' ``summary_data_from_transaction_data``
    with daily periods): purchases on one day are one purchase (their values summed);
    ``frequency`` counts purchase days after the first; ``recency`` is the time from the first
    purchase day to the last and ``T`` from the first to ``observation_end``, both in units of
    ``time_unit_days``; ``monetary_value`` is the mean value of the repeat purchase days, 0 when
    there are none. Transactions after ``observation_end`` (inclusive of its day) are ignored;
    customers who first buy after it are absent. Times with a zone count in UTC days.

    Args:
        transactions: one row per purchase (or line item).
        customer: the column identifying the customer.
        date: the purchase date (or time) column; ISO 8601 strings or datetimes.
        value: the purchase value column; non-negative numbers.
        observation_end: the last day observed.
        time_unit_days: days per time unit of ``recency`` and ``T`` (7: weeks).

    Returns:
        A frame indexed by customer (sorted) with float columns ``frequency``, ``recency``,
        ``T`` and ``monetary_value``.

    Raises:
        InvalidInput: a column is missing, a date does not parse, a value is negative or not
            a number, or ``observation_end`` is not a date.

    Examples:
        >>> summary = summarise_transactions(orders, observation_end="2011-06-30")
    """
    if time_unit_days < 1:
        raise InvalidInput(
            "time_unit_days must be a whole number of days, at least 1", field="time_unit_days"
        )
    days = _purchase_days(transactions, customer, date, value)
    end = _day(observation_end, "observation_end")
    return _summary(days, end, time_unit_days, customer)[list(FEATURES)]


# --- the fitted model -------------------------------------------------------------------------

_SPECS = tuple(FeatureSpec(name, "number", _DESCRIPTIONS[name]) for name in FEATURES)


@dataclass
class _Inputs:
    x: Array
    t_x: Array
    big_t: Array
    m: Array

    def mixed(self, other: _Inputs, chosen: frozenset[str]) -> _Inputs:
        """These inputs for the features in ``chosen``, ``other``'s for the rest."""
        names = dict(zip(FEATURES, ("x", "t_x", "big_t", "m"), strict=True))
        return _Inputs(
            **{
                attr: getattr(self if name in chosen else other, attr)
                for name, attr in names.items()
            }
        )


@dataclass
class ClvModel:
    """Fitted BG/NBD and Gamma-Gamma: expected purchases, chance alive, order value, CLV.

    Inputs are the columns of :func:`summarise_transactions` made with the same
    ``time_unit_days``. ``typical`` holds the training customers' lower medians of each input,
    the reference customer explanations are relative to.
    """

    bg_nbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    time_unit_days: int
    horizon_days: int
    annual_discount_rate: float
    typical: dict[str, float]
    kind: ModelKind = "clv"
    features: tuple[FeatureSpec, ...] = field(default=_SPECS)

    def _inputs(self, frame: pd.DataFrame) -> _Inputs:
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInput("CLV scores a pandas DataFrame", field="frame")
        arrays: dict[str, Array] = {}
        for name in FEATURES:
            if name not in frame.columns:
                raise InvalidInput(
                    f"column {name!r} is missing; CLV needs {', '.join(FEATURES)} as "
                    "summarise_transactions makes them",
                    field=name,
                )
            series = frame[name]
            if not ptypes.is_numeric_dtype(series) or ptypes.is_bool_dtype(series):
                raise InvalidInput(f"column {name!r} must hold numbers", field=name)
            values = series.to_numpy(dtype=np.float64)
            if not np.isfinite(values).all() or (values < 0).any():
                raise InvalidInput(
                    f"column {name!r} must be a non-negative number in every row", field=name
                )
            arrays[name] = values
        if (arrays["frequency"] != np.round(arrays["frequency"])).any():
            raise InvalidInput(
                "column 'frequency' must count whole repeat purchases", field="frequency"
            )
        if (arrays["recency"] > arrays["T"] + 1e-9).any():
            raise InvalidInput(
                "recency is greater than T in some rows; the last purchase cannot come after "
                "the end of observation (were they summarised with different dates?)",
                field="recency",
            )
        return _Inputs(
            arrays["frequency"], arrays["recency"], arrays["T"], arrays["monetary_value"]
        )

    # one-array helpers, shared by scoring and explanation
    def _value(self, rows: _Inputs) -> Array:
        return expected_average_value(self.gamma_gamma, rows.x, rows.m)

    def _discounted_purchases(self, rows: _Inputs) -> Array:
        months = self.horizon_days / DAYS_PER_MONTH
        monthly = (1 + self.annual_discount_rate) ** (1 / 12) - 1
        total = np.zeros_like(rows.x)
        before = np.zeros_like(rows.x)
        for month in np.minimum(np.arange(1, math.ceil(months) + 1), months):
            span = month * DAYS_PER_MONTH / self.time_unit_days
            upto = expected_purchases(self.bg_nbd, span, rows.x, rows.t_x, rows.big_t)
            total += (upto - before) / (1 + monthly) ** month
            before = upto
        return total

    def _clv(self, rows: _Inputs) -> Array:
        return self._value(rows) * self._discounted_purchases(rows)

    def _typical_inputs(self, n: int) -> _Inputs:
        return _Inputs(*(np.full(n, self.typical[name], dtype=np.float64) for name in FEATURES))

    def expected_purchases(self, frame: pd.DataFrame, days: float | None = None) -> pd.Series:
        """Each customer's expected purchase days in the next ``days`` (default: the horizon)."""
        rows = self._inputs(frame)
        span = (self.horizon_days if days is None else days) / self.time_unit_days
        values = expected_purchases(self.bg_nbd, span, rows.x, rows.t_x, rows.big_t)
        return pd.Series(values, index=frame.index, name="expected_purchases")

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per customer: ``expected_purchases`` over the horizon, ``p_alive``,
        ``expected_value`` (mean order value) and ``clv`` (discounted spend over the horizon)."""
        rows = self._inputs(frame)
        span = self.horizon_days / self.time_unit_days
        value = self._value(rows)
        return pd.DataFrame(
            {
                "expected_purchases": expected_purchases(
                    self.bg_nbd, span, rows.x, rows.t_x, rows.big_t
                ),
                "p_alive": p_alive(self.bg_nbd, rows.x, rows.t_x, rows.big_t),
                "expected_value": value,
                "clv": value * self._discounted_purchases(rows),
            },
            index=frame.index,
        )

    def _shapley(self, rows: _Inputs) -> Array:
        """Exact Shapley values of CLV (rows x features) against the typical customer.

        ``v(S)`` is the CLV with the features in ``S`` at the row's values and the others at
        the typical customer's; with four features all 16 coalitions are evaluated. Order
        value depends only on (frequency, monetary_value) and purchases only on (frequency,
        recency, T), so each coalition reuses the pieces it shares with others.
        """
        typical = self._typical_inputs(len(rows.x))

        @cache
        def value(chosen: frozenset[str]) -> Array:
            return self._value(rows.mixed(typical, chosen))

        @cache
        def purchases(chosen: frozenset[str]) -> Array:
            return self._discounted_purchases(rows.mixed(typical, chosen))

        def worth(chosen: frozenset[str]) -> Array:
            return value(chosen & {"frequency", "monetary_value"}) * purchases(
                chosen - {"monetary_value"}
            )

        n = len(FEATURES)
        out = np.zeros((len(rows.x), n))
        for j, name in enumerate(FEATURES):
            others = [f for f in FEATURES if f != name]
            for size in range(n):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for subset in combinations(others, size):
                    chosen = frozenset(subset)
                    out[:, j] += weight * (worth(chosen | {name}) - worth(chosen))
        return out

    def typical_clv(self) -> float:
        """CLV of the typical training customer (the reference of :meth:`explain`)."""
        return float(self._clv(self._typical_inputs(1))[0])

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[Contribution]]:
        """Why each customer's CLV differs from the typical customer's, in currency.

        Contributions are exact Shapley values over the four inputs, the reference being the
        typical training customer (each input at its training median): they sum to
        ``clv - typical_clv()``, and each is the input's average effect of moving from the
        typical value to the customer's own, over every order of moving the others.
        """
        rows = self._inputs(frame)
        shares = self._shapley(rows)
        raw = frame[list(FEATURES)]
        explained = []
        for i in range(len(frame)):
            order = np.argsort(-np.abs(shares[i]), kind="stable")[: max(top, 0)]
            explained.append(
                [
                    Contribution(
                        feature=FEATURES[j],
                        value=_plain(raw.iloc[i, j]),
                        contribution=float(shares[i, j]),
                    )
                    for j in order
                ]
            )
        return explained

    def importance(self, frame: pd.DataFrame) -> list[tuple[str, float]]:
        """Mean absolute contribution (currency) of each input over ``frame``, largest first."""
        shares = np.abs(self._shapley(self._inputs(frame))).mean(axis=0)
        pairs = [(name, float(weight)) for name, weight in zip(FEATURES, shares, strict=True)]
        return sorted(pairs, key=lambda pair: -pair[1])


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


# --- training and the holdout check -----------------------------------------------------------


def _check_trainable(summary: pd.DataFrame, config: ClvConfig, end: pd.Timestamp) -> None:
    if len(summary) < config.min_customers:
        raise TrainingDataError(
            f"{len(summary)} customers bought by {end.date()}, too few to fit lifetime value "
            f"(at least {config.min_customers} are needed); use a later calibration_end or "
            "more history",
            field="customers",
        )
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if (summary["frequency"] > 0).sum() == 0:
        raise TrainingDataError(
            f"no customer bought on two different days by {end.date()}, so nothing shows how "
            "often customers come back; use a later calibration_end or more history",
            field="frequency",
        )
    if len(repeat) < MIN_REPEAT_BUYERS:
        raise TrainingDataError(
            f"only {len(repeat)} customers made a repeat purchase with a positive value by "
            f"{end.date()} (at least {MIN_REPEAT_BUYERS} are needed to learn order values); "
            "use a later calibration_end or more history",
            field="monetary_value",
        )


def _fit_notes(name: str, report: FitReport, penalty: str) -> list[str]:
    notes = []
    if not report.converged:
        notes.append(f"{name} fit did not fully converge ({report.message}); check the parameters")
    if report.at_bound:
        notes.append(
            f"{name} parameter(s) {', '.join(report.at_bound)} ran to the edge of the search "
            f"range: the data barely inform them; a small {penalty} (e.g. 0.001) steadies them"
        )
    return notes


def _correlation(repeat: pd.DataFrame) -> float | None:
    if (
        len(repeat) < 3
        or repeat["frequency"].nunique() < 2
        or repeat["monetary_value"].nunique() < 2
    ):
        return None
    return float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])


def _errors(predicted: Array, actual: Array) -> dict[str, float]:
    """Spend errors; the total error and rank correlation only where they are defined."""
    gap = predicted - actual
    total = float(actual.sum())
    out = {
        "spend_mae": float(np.mean(np.abs(gap))),
        "spend_rmse": float(np.sqrt(np.mean(gap**2))),
    }
    if total > 0:
        out["total_revenue_error"] = float(gap.sum() / total)
    # a rank correlation with a constant is undefined
    if np.ptp(predicted) > 0 and np.ptp(actual) > 0:
        out["spend_spearman"] = float(spearmanr(predicted, actual).statistic)
    return out


_NAIVE = "each customer's calibration spend per time unit of {}, times the holdout length"


def _holdout(
    model: ClvModel,
    summary: pd.DataFrame,
    days: pd.DataFrame,
    calibration_end: pd.Timestamp,
    holdout_end: pd.Timestamp,
) -> tuple[dict[str, float], dict[str, Any], list[str]]:
    unit = model.time_unit_days
    span = (holdout_end - calibration_end).days / unit
    later = days[(days["day"] > calibration_end) & (days["day"] <= holdout_end)]
    grouped = later.groupby("customer")
    actual_purchases = grouped.size().reindex(summary.index, fill_value=0).to_numpy(float)
    actual_spend = grouped["value"].sum().reindex(summary.index, fill_value=0.0).to_numpy(float)
    new_customers = int((~later["customer"].drop_duplicates().isin(summary.index)).sum())

    rows = model._inputs(summary)
    predicted_purchases = expected_purchases(model.bg_nbd, span, rows.x, rows.t_x, rows.big_t)
    predicted_spend = predicted_purchases * model._value(rows)
    ours = _errors(predicted_spend, actual_spend)
    ours["purchases_mae"] = float(np.mean(np.abs(predicted_purchases - actual_purchases)))
    ours["predicted_spend_total"] = float(predicted_spend.sum())

    # The baseline: each customer's spend (and purchase days) per unit of the calibration
    # window, from the first day of the data to calibration_end, continues. The variant per
    # unit of the customer's own time since their first purchase (at least one unit) is shown
    # too; it overrates customers who joined just before calibration_end.
    spend, bought = summary["spend"].to_numpy(float), rows.x + 1
    window = ((calibration_end - days["day"].min()).days + 1) / unit
    own = np.maximum(rows.big_t, 1.0)
    naive, naive_own = (
        _errors(spend / length * span, actual_spend)
        | {
            "purchases_mae": float(np.mean(np.abs(bought / length * span - actual_purchases))),
            "predicted_spend_total": float((spend / length * span).sum()),
        }
        for length in (window, own)
    )

    metrics = {f"holdout_{k}": v for k, v in ours.items() if k != "predicted_spend_total"}
    metrics |= {f"baseline_{k}": v for k, v in naive.items() if k != "predicted_spend_total"}
    if naive["spend_mae"] > 0:
        metrics["spend_mae_ratio_to_baseline"] = float(ours["spend_mae"] / naive["spend_mae"])

    buckets = np.minimum(rows.x, CALIBRATION_BUCKETS - 1).astype(int)
    table = []
    for bucket in range(CALIBRATION_BUCKETS):
        chosen = buckets == bucket
        if not chosen.any():
            continue
        label = str(bucket) if bucket < CALIBRATION_BUCKETS - 1 else f"{bucket}+"
        table.append(
            {
                "frequency": label,
                "customers": int(chosen.sum()),
                "actual_purchases": float(actual_purchases[chosen].mean()),
                "expected_purchases": float(predicted_purchases[chosen].mean()),
            }
        )
    evaluation = {
        "calibration_end": calibration_end.date().isoformat(),
        "holdout_end": holdout_end.date().isoformat(),
        "holdout_days": int((holdout_end - calibration_end).days),
        "customers": len(summary),
        "new_customers_ignored": new_customers,
        "actual_spend_total": float(actual_spend.sum()),
        "actual_purchases_total": float(actual_purchases.sum()),
        "predicted_purchases_total": float(predicted_purchases.sum()),
        "model": ours,
        "baseline": {"method": _NAIVE.format("the calibration window"), **naive},
        "baseline_since_first_purchase": {
            "method": _NAIVE.format("their own time since their first purchase"),
            **naive_own,
        },
    }
    notes = []
    last_day = days["day"].max()
    # a quiet last day or week is normal; a longer silence means the data end before the holdout
    if (holdout_end - last_day).days > max(unit, 7):
        notes.append(
            f"holdout_end {holdout_end.date()} is after the last transaction "
            f"({last_day.date()}): actual holdout spend stops there, so the model and the "
            "baseline look too high"
        )
    if new_customers:
        notes.append(
            f"{new_customers} customers first bought in the holdout period; they are not scored "
            "(CLV is for customers seen in calibration)"
        )
    return metrics, {"holdout": evaluation, "calibration_purchases": table}, notes


def train_clv(
    transactions: pd.DataFrame,
    *,
    calibration_end: DateLike,
    holdout_end: DateLike | None = None,
    config: ClvConfig | None = None,
    customer: str = "customer_id",
    date: str = "date",
    value: str = "value",
) -> TrainedModel:
    """Fit lifetime value on transactions up to ``calibration_end``; test it on the holdout.

    BG/NBD and Gamma-Gamma are fitted on the summary at ``calibration_end``. With
    ``holdout_end``, each calibration customer's spend in (``calibration_end``,
    ``holdout_end``] is predicted (expected purchases x expected order value, undiscounted)
    and compared with what they spent, beside the naive baseline "each customer's spend per
    unit of the calibration window continues" (from the data's first day to calibration_end);
    ``metrics`` has MAE, RMSE, relative total-revenue error and Spearman rank correlation of
    spend for both, and the purchases MAE; ``evaluation`` adds the calibration table (mean
    expected vs actual holdout purchases by calibration frequency 0..6+).

    Args:
        transactions: one row per purchase with customer, date and value columns.
        calibration_end: the last day the model learns from.
        holdout_end: the last day of the holdout period, or None to skip the check.
        config: fitting and valuation settings (:class:`ClvConfig` defaults when None).
        customer: the customer column.
        date: the date column.
        value: the purchase value column.

    Returns:
        A :class:`TrainedModel` of kind ``clv``, algorithm ``bg_nbd_gamma_gamma``.

    Raises:
        InvalidInput: bad columns or dates, or ``holdout_end`` not after ``calibration_end``.
        TrainingDataError: too few customers, no repeat purchases, or order values too
            heavy-tailed for Gamma-Gamma to have a finite mean.
    """
    config = config or ClvConfig()
    unit = config.time_unit_days
    days = _purchase_days(transactions, customer, date, value)
    cal_end = _day(calibration_end, "calibration_end")
    hold_end = None if holdout_end is None else _day(holdout_end, "holdout_end")
    if hold_end is not None and hold_end <= cal_end:
        raise InvalidInput(
            f"holdout_end {hold_end.date()} must be after calibration_end {cal_end.date()}",
            field="holdout_end",
        )
    summary = _summary(days, cal_end, unit, customer)
    _check_trainable(summary, config, cal_end)

    x, t_x, big_t = (summary[name].to_numpy(float) for name in ("frequency", "recency", "T"))
    bg, bg_report = fit_bg_nbd(x, t_x, big_t, penalizer=config.penalizer)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    gg, gg_report = fit_gamma_gamma(
        repeat["frequency"], repeat["monetary_value"], penalizer=config.gamma_gamma_penalizer
    )
    if gg.q <= 1:
        raise TrainingDataError(
            f"order values are so spread out that the Gamma-Gamma mean is infinite (q = "
            f"{gg.q:.3g} <= 1); remove outlier orders or set gamma_gamma_penalizer (e.g. 0.01)",
            field="monetary_value",
        )
    typical = {
        name: float(np.quantile(summary[name].to_numpy(float), 0.5, method="lower"))
        for name in FEATURES
    }
    typical["recency"] = min(typical["recency"], typical["T"])
    model = ClvModel(
        bg_nbd=bg,
        gamma_gamma=gg,
        time_unit_days=unit,
        horizon_days=config.horizon_days,
        annual_discount_rate=config.annual_discount_rate,
        typical=typical,
    )

    notes = _fit_notes("BG/NBD", bg_report, "penalizer")
    notes += _fit_notes("Gamma-Gamma", gg_report, "gamma_gamma_penalizer")
    correlation = _correlation(repeat)
    if correlation is not None and abs(correlation) >= CORRELATION_WARNING:
        notes.append(
            f"frequency and order value are correlated among repeat buyers (r = "
            f"{correlation:.2f}); Gamma-Gamma assumes they are independent, so expected order "
            "values (and CLV) may be biased"
        )
    skipped = int(((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).sum())
    if skipped:
        notes.append(
            f"{skipped} repeat buyers with zero-value repeat orders left out of Gamma-Gamma"
        )

    scores = model.score(summary)
    metrics: dict[str, float] = {
        "bg_nbd_log_likelihood": bg_report.log_likelihood,
        "gamma_gamma_log_likelihood": gg_report.log_likelihood,
        "mean_clv": float(scores["clv"].mean()),
    }
    if correlation is not None:
        metrics["frequency_value_correlation"] = correlation
    evaluation: dict[str, Any] = {
        "fit": {
            "bg_nbd": _report_dict(bg_report, len(summary)),
            "gamma_gamma": _report_dict(gg_report, len(repeat)),
        },
        "independence": {
            "frequency_value_correlation": correlation,
            "repeat_customers": len(repeat),
            "threshold": CORRELATION_WARNING,
        },
        "clv": {
            "customers": len(summary),
            "total": float(scores["clv"].sum()),
            "mean": float(scores["clv"].mean()),
            "quantiles": {
                str(q): float(scores["clv"].quantile(q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
            },
            "typical_customer": typical,
            "typical_clv": model.typical_clv(),
        },
    }
    evaluation_rows = 0
    if hold_end is not None:
        held, tables, held_notes = _holdout(model, summary, days, cal_end, hold_end)
        metrics |= held
        evaluation |= tables
        notes += held_notes
        evaluation_rows = len(summary)

    params: dict[str, Any] = {
        "r": bg.r,
        "alpha": bg.alpha,
        "a": bg.a,
        "b": bg.b,
        "p": gg.p,
        "q": gg.q,
        "v": gg.v,
        **config.model_dump(),
        "calibration_end": cal_end.date().isoformat(),
        "holdout_end": None if hold_end is None else hold_end.date().isoformat(),
        "columns": {"customer": customer, "date": date, "value": value},
    }
    return TrainedModel(
        model=model,
        algorithm=ALGORITHM,
        params=params,
        metrics=metrics,
        evaluation=evaluation,
        importance=model.importance(summary),
        training_rows=len(summary),
        evaluation_rows=evaluation_rows,
        notes=notes,
    )


def _report_dict(report: FitReport, rows: int) -> dict[str, Any]:
    return {
        "customers": rows,
        "mean_log_likelihood": report.log_likelihood,
        "converged": report.converged,
        "iterations": report.iterations,
        "at_bound": list(report.at_bound),
    }
