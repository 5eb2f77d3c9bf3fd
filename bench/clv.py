"""Lifetime value on the UCI Online Retail invoices: BG/NBD + Gamma-Gamma against naive baselines.

Data: ``../shared/data/online-retail/invoices_cleaned_all.csv`` beside the repository (18,532
invoices of 4,338 customers, 2010-12-01 .. 2011-12-09, cancellations and zero prices removed;
see SOURCE.md there). Skips with a message when the file is absent.

Split: the model learns from invoices up to 2011-06-30 (30 weeks) and predicts each of those
customers' spend in the 23 weeks to 2011-12-09, the last day of the data. June's end keeps more
than half the history for fitting while leaving a holdout long enough for repeat purchases to
show (most repeat buyers come back within a few months), and ends the holdout where the data
end. The holdout holds the retailer's autumn peak, which a stationary model cannot foresee:
that shows in the total-revenue error, for the model and the baselines alike.

  model       ``train_clv``: expected purchases in the holdout x expected order value
  baseline    ``train_clv``'s naive baseline: each customer's calibration spend per week of the
              calibration window (2010-12-01 .. calibration end) x the holdout length
  own time    the variant per week of the customer's own time since their first purchase (at
              least one week): overrates customers who joined just before calibration end

Errors are per customer over the customers seen in calibration (new customers of the holdout
are not scored); ratios are model / baseline; fit time is ``train_clv`` wall clock (summary,
both fits, holdout scoring and global importance).

Run:  .venv/bin/python bench/clv.py [--data PATH] [--calibration-end 2011-06-30]
                                    [--holdout-end 2011-12-09] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from aimsight.insight import ClvConfig, summarise_transactions, train_clv

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared/data/online-retail/invoices_cleaned_all.csv"
)
COLUMNS = {"customer": "CustomerID", "date": "InvoiceDate", "value": "TotalPrice"}


def run(path: Path, calibration_end: str, holdout_end: str) -> dict[str, Any]:
    """Fit on the calibration period, score the holdout, return every number."""
    invoices = pd.read_csv(path)
    config = ClvConfig()
    started = time.perf_counter()
    trained = train_clv(
        invoices,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        config=config,
        **COLUMNS,
    )
    fit_seconds = time.perf_counter() - started
    summary = summarise_transactions(
        invoices, observation_end=calibration_end, time_unit_days=config.time_unit_days, **COLUMNS
    )
    started = time.perf_counter()
    trained.model.score(summary)
    score_seconds = time.perf_counter() - started
    holdout = trained.evaluation["holdout"]
    model, baseline = holdout["model"], holdout["baseline"]
    own = holdout["baseline_since_first_purchase"]
    return {
        "command": "bench/clv.py " + " ".join(sys.argv[1:]),
        "data": str(path),
        "invoices": len(invoices),
        "calibration_end": calibration_end,
        "holdout_end": holdout_end,
        "customers": trained.training_rows,
        "repeat_customers": trained.evaluation["independence"]["repeat_customers"],
        "new_customers_ignored": holdout["new_customers_ignored"],
        "params": {k: trained.params[k] for k in ("r", "alpha", "a", "b", "p", "q", "v")},
        "fit_seconds": round(fit_seconds, 3),
        "score_seconds": round(score_seconds, 4),
        "actual_spend_total": holdout["actual_spend_total"],
        "model": model,
        "baseline": baseline,
        "baseline_since_first_purchase": own,
        "mae_ratio": model["spend_mae"] / baseline["spend_mae"],
        "rmse_ratio": model["spend_rmse"] / baseline["spend_rmse"],
        "mae_ratio_since_first_purchase": model["spend_mae"] / own["spend_mae"],
        "rmse_ratio_since_first_purchase": model["spend_rmse"] / own["spend_rmse"],
        "calibration_purchases": trained.evaluation["calibration_purchases"],
        "frequency_value_correlation": trained.metrics.get("frequency_value_correlation"),
        "notes": trained.notes,
    }


def _markdown(result: dict[str, Any]) -> str:
    model = result["model"]
    rows = [
        ("BG/NBD + Gamma-Gamma (aimsight)", model, f"{result['fit_seconds']:.2f}"),
        ("baseline: past spend rate over the calibration window", result["baseline"], ""),
        (
            "baseline: past spend rate since the first purchase",
            result["baseline_since_first_purchase"],
            "",
        ),
    ]
    lines = [
        f"Online Retail: {result['customers']:,} customers by {result['calibration_end']} "
        f"({result['repeat_customers']:,} repeat buyers), holdout to {result['holdout_end']}; "
        f"actual holdout spend {result['actual_spend_total']:,.0f}",
        "",
        "| what | spend MAE | spend RMSE | total revenue error | Spearman | purchases MAE "
        "| fit s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {label} | {found['spend_mae']:,.1f} | {found['spend_rmse']:,.1f} | "
        f"{found['total_revenue_error']:+.1%} | {found['spend_spearman']:.3f} | "
        f"{found['purchases_mae']:.2f} | {seconds} |"
        for label, found, seconds in rows
    ]
    lines += [
        "",
        f"model / calibration-window baseline: MAE {result['mae_ratio']:.2f}x, "
        f"RMSE {result['rmse_ratio']:.2f}x; model / since-first-purchase baseline: "
        f"MAE {result['mae_ratio_since_first_purchase']:.2f}x, "
        f"RMSE {result['rmse_ratio_since_first_purchase']:.2f}x",
        "",
        "| calibration frequency | customers | actual holdout purchases | expected |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {row['frequency']} | {row['customers']:,} | {row['actual_purchases']:.2f} | "
        f"{row['expected_purchases']:.2f} |"
        for row in result["calibration_purchases"]
    ]
    params = ", ".join(f"{k} {v:.4g}" for k, v in result["params"].items())
    lines += ["", f"parameters: {params}", f"command: {result['command']}"]
    lines += [f"note: {note}" for note in result["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Run the benchmark, print a markdown table (or JSON) and return the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="invoices CSV")
    parser.add_argument("--calibration-end", default="2011-06-30")
    parser.add_argument("--holdout-end", default="2011-12-09")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: {args.data} is absent (the shared online-retail data is not here)")
        return None
    result = run(args.data, args.calibration_end, args.holdout_end)
    print(json.dumps(result, indent=2) if args.json else _markdown(result))
    return result


if __name__ == "__main__":
    main()
