"""The quality report of one batch: what was checked, what failed, and the verdict.

It is stored as JSON with the batch (``aimsight ingest report BATCH``), so it names the
contract (version and digest) and the rule-set version that produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Group
from rich.table import Table
from rich.text import Text

__all__ = ["CheckResult", "QualityReport", "render_report"]

Outcome = Literal["pass", "warn", "quarantine", "reject"]
_STYLE = {"pass": "green", "warn": "yellow", "quarantine": "yellow", "reject": "red"}


@dataclass(frozen=True)
class CheckResult:
    """One rule applied to one field (or to the whole batch when ``field`` is None).

    ``checked`` rows were looked at and ``failed`` of them broke the rule (``rate`` =
    failed / checked). ``threshold`` is the limit the rate was held against, if any;
    ``outcome`` says what followed: ``pass``, ``warn``, ``quarantine`` (the failing rows) or
    ``reject`` (the whole batch). ``detail`` explains in words.
    """

    rule: str
    field: str | None
    checked: int
    failed: int
    rate: float
    threshold: float | None
    outcome: Outcome
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rule": self.rule,
            "field": self.field,
            "checked": self.checked,
            "failed": self.failed,
            "rate": self.rate,
            "threshold": self.threshold,
            "outcome": self.outcome,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict`."""
        threshold = data.get("threshold")
        return cls(
            rule=str(data["rule"]),
            field=None if data.get("field") is None else str(data["field"]),
            checked=int(data["checked"]),
            failed=int(data["failed"]),
            rate=float(data["rate"]),
            threshold=None if threshold is None else float(threshold),
            outcome=data["outcome"],
            detail=str(data.get("detail", "")),
        )


@dataclass
class QualityReport:
    """Everything a data engineer needs to judge a batch without opening the data.

    ``contract`` holds ``name``, ``version`` and ``digest``; ``reasons`` counts reason codes
    over all refused rows; ``notes`` carry what the reader decided (encoding, delimiter).
    """

    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    verdict: Literal["accepted", "rejected"]
    verdict_reason: str
    rule_set_version: str
    contract: dict[str, Any]
    checks: list[CheckResult] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored with the batch."""
        return {
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
            "rule_set_version": self.rule_set_version,
            "contract": dict(self.contract),
            "checks": [check.to_dict() for check in self.checks],
            "reasons": dict(self.reasons),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityReport:
        """Inverse of :meth:`to_dict`."""
        return cls(
            rows_in=int(data["rows_in"]),
            rows_accepted=int(data["rows_accepted"]),
            rows_quarantined=int(data["rows_quarantined"]),
            verdict=data["verdict"],
            verdict_reason=str(data.get("verdict_reason", "")),
            rule_set_version=str(data["rule_set_version"]),
            contract=dict(data.get("contract", {})),
            checks=[CheckResult.from_dict(item) for item in data.get("checks", [])],
            reasons={str(k): int(v) for k, v in dict(data.get("reasons", {})).items()},
            notes=[str(note) for note in data.get("notes", [])],
        )


def _percent(rate: float) -> str:
    return f"{rate:.1%}" if rate else "0%"


def render_report(report: QualityReport, *, all_checks: bool = False) -> Group:
    """The report as Rich tables: the verdict, the checks and the reason codes.

    Args:
        report: the report to show.
        all_checks: also list checks that passed with no failures (hidden by default).
    """
    colour = "green" if report.verdict == "accepted" else "red"
    contract = report.contract
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row(
        "verdict", Text(report.verdict, style=f"bold {colour}") + Text(f"  {report.verdict_reason}")
    )
    summary.add_row(
        "contract",
        f"{contract.get('name', '?')} v{contract.get('version', '?')} "
        f"({str(contract.get('digest', ''))[:12]})",
    )
    summary.add_row("rules", report.rule_set_version)
    summary.add_row(
        "rows",
        f"{report.rows_in:,} in, {report.rows_accepted:,} accepted, "
        f"{report.rows_quarantined:,} quarantined",
    )
    for note in report.notes:
        summary.add_row("note", note)
    parts: list[Any] = [summary]
    shown = [c for c in report.checks if all_checks or c.outcome != "pass"]
    if shown:
        checks = Table(title="checks")
        for column in ("rule", "field", "checked", "failed", "rate", "threshold", "outcome"):
            justify = "right" if column in ("checked", "failed", "rate", "threshold") else "left"
            checks.add_column(column, justify=justify)  # type: ignore[arg-type]
        checks.add_column("detail", overflow="fold")
        for check in shown:
            checks.add_row(
                check.rule,
                check.field or "(batch)",
                f"{check.checked:,}",
                f"{check.failed:,}",
                _percent(check.rate),
                "" if check.threshold is None else f"{check.threshold:g}",
                Text(check.outcome, style=_STYLE[check.outcome]),
                check.detail,
            )
        parts.append(checks)
    if report.reasons:
        reasons = Table(title="reasons for refused rows")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for code, count in sorted(report.reasons.items(), key=lambda item: (-item[1], item[0])):
            reasons.add_row(code, f"{count:,}")
        parts.append(reasons)
    return Group(*parts)
