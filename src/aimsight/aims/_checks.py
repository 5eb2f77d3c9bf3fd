"""Automated control checks: every check by id, with its Annex A controls, and running them.

Each check is a small function over the live system (see :mod:`aimsight.aims._checks_base`
for the rules they keep). :func:`run_checks` runs them one by one, isolated: a check that
raises does not stop the others and never counts as a pass; it is recorded as ``fail`` with
the error in its findings, and logged.

Examples:
    >>> context = CheckContext(workspace, store, ledger, records)  # doctest: +SKIP
    >>> [r.status for r in run_checks(context, only=["ledger_integrity"])]  # doctest: +SKIP
    [<CheckStatus.WARN: 'warn'>]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aimsight.aims._checks_base import CheckContext, CheckOutcome
from aimsight.aims._checks_data import ingest_quality, ledger_integrity, lineage_coverage
from aimsight.aims._checks_flows import human_oversight
from aimsight.aims._checks_models import (
    model_cards_complete,
    models_monitored,
    production_models_approved,
    promotions_staged,
)
from aimsight.aims._checks_records import (
    impact_assessments_current,
    owners_hold_roles,
    third_parties_assessed,
)
from aimsight.aims._model import CheckStatus, ControlCheckResult, Evidence
from aimsight.core import AimsightError, InvalidInput, get_logger, isoformat_utc

__all__ = ["CHECKS", "ControlCheck", "find_checks", "run_check", "run_checks"]

_MAX_ITEMS = 200
"""Most findings, and most evidence pointers, one result keeps (a last line counts the rest)."""

_log = get_logger("aimsight.aims")


@dataclass(frozen=True)
class ControlCheck:
    """One automated check: its id, a short title in our own words, the Annex A controls it
    gives evidence for, and the function that runs it."""

    check_id: str
    title: str
    controls: tuple[str, ...]
    run: Callable[[CheckContext], CheckOutcome]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (without the function)."""
        return {"check_id": self.check_id, "title": self.title, "controls": list(self.controls)}


CHECKS: tuple[ControlCheck, ...] = (
    ControlCheck(
        "owners_hold_roles",
        "Each AI system has an owner who holds a role",
        ("A.3.2",),
        owners_hold_roles,
    ),
    ControlCheck(
        "impact_assessments_current",
        "Each in-scope AI system has a current impact assessment",
        ("A.5.2", "A.5.3", "A.5.4"),
        impact_assessments_current,
    ),
    ControlCheck(
        "production_models_approved",
        "Production models are validated and independently approved",
        ("A.6.2.4",),
        production_models_approved,
    ),
    ControlCheck(
        "promotions_staged",
        "Promotions to production go through shadow or canary",
        ("A.6.2.5",),
        promotions_staged,
    ),
    ControlCheck(
        "models_monitored",
        "Production models have a recent, green monitor",
        ("A.6.2.6",),
        models_monitored,
    ),
    ControlCheck(
        "model_cards_complete",
        "Serving model versions have complete model cards",
        ("A.6.2.7", "A.8.2"),
        model_cards_complete,
    ),
    ControlCheck(
        "ledger_integrity",
        "The ledger verifies and keeps six months of records",
        ("A.6.2.8",),
        ledger_integrity,
    ),
    ControlCheck(
        "ingest_quality",
        "Recent ingested data passes its quality rules",
        ("A.7.4",),
        ingest_quality,
    ),
    ControlCheck(
        "lineage_coverage",
        "Every lake file traces back to its source",
        ("A.7.5",),
        lineage_coverage,
    ),
    ControlCheck(
        "human_oversight",
        "High-stakes decision flows have human review and a tested stop switch",
        ("A.9.2", "A.9.3", "A.9.4"),
        human_oversight,
    ),
    ControlCheck(
        "third_parties_assessed",
        "Third-party components are assessed",
        ("A.10.3",),
        third_parties_assessed,
    ),
)
"""Every automated check, in the order of the controls they evidence."""


def find_checks(only: Iterable[str] | None = None) -> list[ControlCheck]:
    """The checks named in ``only`` by check id or Annex A control id (all when ``None``).

    Raises:
        InvalidInput: a name is neither a check id nor a control any check evidences; the
            message lists both.
    """
    if only is None:
        return list(CHECKS)
    wanted = [name.strip() for name in only]
    unknown = [
        name
        for name in wanted
        if not any(name == check.check_id or name in check.controls for check in CHECKS)
    ]
    if unknown:
        ids = ", ".join(check.check_id for check in CHECKS)
        controls = ", ".join(sorted({c for check in CHECKS for c in check.controls}))
        raise InvalidInput(
            f"unknown check {', '.join(map(repr, unknown))}; name a check ({ids}) or a "
            f"control it evidences ({controls})",
            field="only",
        )
    return [
        check
        for check in CHECKS
        if any(name == check.check_id or name in check.controls for name in wanted)
    ]


def run_checks(
    context: CheckContext, only: Iterable[str] | None = None
) -> list[ControlCheckResult]:
    """Run the checks (all, or those ``only`` names by check or control id) against the live
    system, each isolated from the others.

    Raises:
        InvalidInput: ``only`` names an unknown check or control.
    """
    return [run_check(check, context) for check in find_checks(only)]


def run_check(check: ControlCheck, context: CheckContext) -> ControlCheckResult:
    """Run one check; an error while checking is recorded as ``fail``, never as a pass."""
    try:
        outcome = check.run(context)
    except AimsightError as exc:
        _log.warning("control check %s could not run: %s", check.check_id, exc.message)
        outcome = _errored(exc)
    except Exception as exc:  # noqa: BLE001 - isolation: one broken check must not stop the run
        _log.error("control check %s failed with an error", check.check_id, exc_info=True)
        outcome = _errored(exc)
    return ControlCheckResult(
        check_id=check.check_id,
        controls=check.controls,
        title=check.title,
        status=outcome.status,
        summary=outcome.summary,
        evidence=_capped_evidence(outcome.evidence),
        findings=_capped_findings(outcome.findings),
        checked_at=isoformat_utc(context.now),
    )


def _errored(exc: Exception) -> CheckOutcome:
    words = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
    error = f"{exc.__class__.__name__}: {words}"
    return CheckOutcome(
        CheckStatus.FAIL,
        f"The check could not run, so the control is not shown to hold ({error}).",
        findings=(f"error while checking: {error}",),
    )


def _capped_findings(findings: tuple[str, ...]) -> tuple[str, ...]:
    """At most :data:`_MAX_ITEMS` findings, the last counting those left out."""
    if len(findings) <= _MAX_ITEMS:
        return findings
    left = len(findings) - _MAX_ITEMS + 1
    return (*findings[: _MAX_ITEMS - 1], f"... and {left} more like these")


def _capped_evidence(evidence: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """At most :data:`_MAX_ITEMS` pointers, the last counting those left out."""
    if len(evidence) <= _MAX_ITEMS:
        return evidence
    left = len(evidence) - _MAX_ITEMS + 1
    note = Evidence("more", f"{left} more", "left out of this result; the live system lists them")
    return (*evidence[: _MAX_ITEMS - 1], note)
