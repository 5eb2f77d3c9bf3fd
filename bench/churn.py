"""Churn model quality and speed on IBM Telco churn, beside plain scikit-learn, in the same run.

Data: Telco-Customer-Churn.csv (7,043 customers, 26.5 % churn; 11 blank TotalCharges, read as
missing). Every model sees the same 19 columns (all but customerID and Churn) and the same
stratified, shuffled, seeded folds.

  aimsight   ``cross_validate_classifier``: the product pipeline (numbers median-imputed,
             scaled for logistic regression; categories one-hot; balanced class weights),
             ``CalibratedClassifierCV`` (sigmoid, inner k folds) fitted inside each outer fold.
             Both algorithms: logistic regression and histogram gradient boosting.
  anchor     plain scikit-learn ``LogisticRegression()`` (defaults, max_iter=1000) on the same
             one-hot features (numbers median-imputed and scaled), no class weights, no
             calibration: what a data scientist would fit first.

Reported per model: mean 5-fold ROC-AUC, ECE before and after calibration (equal-width 10
bins), Brier score, fit seconds per fold (one calibrated model = k + 1 fits for aimsight), and
the ratios of our AUC and fit time to the anchor's. Then, per aimsight algorithm, the full
``train_classifier`` time and the latency of scoring and explaining ONE customer (median and
95th percentile of repeated calls), beside the anchor pipeline's ``predict_proba`` on one row.
Everything runs on one thread (aimsight's default), the anchor too, so times compare.

Run:  .venv/bin/python bench/churn.py [--data PATH] [--folds 5] [--seed 0] [--repeats 2000]
                                      [--algorithms logistic_regression hist_gradient_boosting]
                                      [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from aimsight.insight import (
    ClassifierConfig,
    cross_validate_classifier,
    expected_calibration_error,
    train_classifier,
)

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "telco-churn"
    / "Telco-Customer-Churn.csv"
)
TARGET = "Churn"
NUMBERS = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
ALGORITHMS = ("logistic_regression", "hist_gradient_boosting")
BAR = {"roc_auc": 0.84, "ece": 0.03}


def load(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The Telco frame (TotalCharges as numbers, blanks missing) and its 19 feature columns."""
    frame = pd.read_csv(path)
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"].str.strip().replace("", np.nan))
    features = [c for c in frame.columns if c not in ("customerID", TARGET)]
    return frame, features


def anchor(frame: pd.DataFrame, features: list[str], folds: int, seed: int) -> dict[str, Any]:
    """Plain LogisticRegression on one-hot features, no calibration, the same folds."""
    categories = [c for c in features if c not in NUMBERS]
    y = (frame[TARGET] == "Yes").to_numpy(int)
    x = frame[features]
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    aucs, eces, briers, seconds = [], [], [], []
    pipeline = None
    for train, test in split.split(x, y):
        pipeline = Pipeline(
            [
                (
                    "prepare",
                    ColumnTransformer(
                        [
                            (
                                "number",
                                Pipeline(
                                    [
                                        ("impute", SimpleImputer(strategy="median")),
                                        ("scale", StandardScaler()),
                                    ]
                                ),
                                NUMBERS,
                            ),
                            ("category", OneHotEncoder(handle_unknown="ignore"), categories),
                        ]
                    ),
                ),
                ("model", LogisticRegression(max_iter=1000)),
            ]
        )
        started = time.perf_counter()
        with threadpool_limits(limits=1):
            pipeline.fit(x.iloc[train], y[train])
        seconds.append(time.perf_counter() - started)
        p = pipeline.predict_proba(x.iloc[test])[:, 1]
        aucs.append(roc_auc_score(y[test], p))
        eces.append(expected_calibration_error(y[test], p))
        briers.append(brier_score_loss(y[test], p))
    assert pipeline is not None
    row = x.iloc[[5]]
    return {
        "roc_auc": float(np.mean(aucs)),
        "ece": float(np.mean(eces)),
        "brier": float(np.mean(briers)),
        "fit_seconds": float(np.mean(seconds)),
        "score_one_ms": latency(lambda: pipeline.predict_proba(row), 300),
    }


def latency(call: Callable[[], object], repeats: int) -> dict[str, float]:
    """Median and 95th percentile of one call, in milliseconds (after a warm-up call)."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"median": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def ours(
    frame: pd.DataFrame, features: list[str], algorithm: str, args: argparse.Namespace
) -> dict[str, Any]:
    """aimsight's cross-validated evidence, full training time and one-customer latency."""
    config = ClassifierConfig(algorithm=algorithm, cv_folds=args.folds, random_state=args.seed)
    started = time.perf_counter()
    cv = cross_validate_classifier(frame, target=TARGET, features=features, config=config)
    cv_seconds = time.perf_counter() - started
    started = time.perf_counter()
    trained = train_classifier(frame, target=TARGET, features=features, config=config)
    train_seconds = time.perf_counter() - started
    model = trained.model
    row = frame.iloc[[5]]
    return {
        "algorithm": algorithm,
        "roc_auc": cv["roc_auc"],
        "roc_auc_std": cv["roc_auc_std"],
        "ece": cv["ece"],
        "ece_uncalibrated": cv["ece_uncalibrated_mean"],
        "brier": cv["brier_mean"],
        "fit_seconds": cv["fit_seconds_mean"],
        "cross_validation_seconds": cv_seconds,
        "train_seconds": train_seconds,
        "threshold": trained.metrics["threshold"],
        "score_one_ms": latency(lambda: model.score(row), args.repeats),
        "explain_one_ms": latency(lambda: model.explain(row), args.repeats),
        "score_all_rows_per_second": len(frame) / _timed(lambda: model.score(frame)),
        "passes_bar": cv["roc_auc"] >= BAR["roc_auc"] and cv["ece"] <= BAR["ece"],
    }


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def markdown(results: dict[str, Any]) -> str:
    """The tables for docs/benchmarks.md."""
    base = results["anchor"]
    lines = [
        f"Telco churn, {results['rows']:,} customers, {results['folds']}-fold stratified CV "
        f"(seed {results['seed']}); bar: ROC-AUC >= {BAR['roc_auc']}, ECE <= {BAR['ece']}",
        "",
        "| model | ROC-AUC | ECE before calibration | ECE after | Brier | fit s / fold "
        "| AUC / anchor | fit time / anchor | bar |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for found in results["aimsight"]:
        lines.append(
            f"| aimsight {found['algorithm']} (calibrated) | {found['roc_auc']:.4f} "
            f"| {found['ece_uncalibrated']:.4f} | {found['ece']:.4f} | {found['brier']:.4f} "
            f"| {found['fit_seconds']:.2f} | {found['roc_auc'] / base['roc_auc']:.3f} "
            f"| {found['fit_seconds'] / base['fit_seconds']:.1f}x "
            f"| {'pass' if found['passes_bar'] else 'FAIL'} |"
        )
    lines.append(
        f"| plain LogisticRegression, one-hot, uncalibrated (anchor) | {base['roc_auc']:.4f} "
        f"| {base['ece']:.4f} | - | {base['brier']:.4f} | {base['fit_seconds']:.2f} "
        "| 1.000 | 1.0x | - |"
    )
    lines += [
        "",
        "| model | train_classifier s | score 1 customer ms (median / p95) "
        "| explain 1 customer ms (median / p95) | batch scoring rows/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for found in results["aimsight"]:
        score, why = found["score_one_ms"], found["explain_one_ms"]
        lines.append(
            f"| aimsight {found['algorithm']} | {found['train_seconds']:.1f} "
            f"| {score['median']:.2f} / {score['p95']:.2f} "
            f"| {why['median']:.2f} / {why['p95']:.2f} "
            f"| {found['score_all_rows_per_second']:,.0f} |"
        )
    one = base["score_one_ms"]
    lines.append(
        f"| anchor pipeline predict_proba | - | {one['median']:.2f} / {one['p95']:.2f} | - | - |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print markdown tables (or JSON) and return the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Telco CSV")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2000, help="calls per latency figure")
    parser.add_argument("--algorithms", nargs="+", choices=ALGORITHMS, default=list(ALGORITHMS))
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"no Telco churn file at {args.data}; pass --data")
    frame, features = load(args.data)
    results: dict[str, Any] = {
        "command": "bench/churn.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": len(frame),
        "folds": args.folds,
        "seed": args.seed,
        "anchor": anchor(frame, features, args.folds, args.seed),
        "aimsight": [ours(frame, features, name, args) for name in args.algorithms],
    }
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return results


if __name__ == "__main__":
    main()
