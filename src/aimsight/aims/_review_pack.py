"""The management review pack (ISO/IEC 42001 9.3): what top management needs to review the AI
management system, compiled from the live system rather than typed up.

:func:`compile_review_pack` gathers every input the standard asks a review to consider (9.3.2):
the status of actions from earlier reviews, what changed, concerns from interested parties,
objectives and their KPI trends, incidents, nonconformities and corrective actions, the
automated checks over time, audit results, and risks and opportunities. Each input is a
JSON-ready part of :attr:`ReviewPack.inputs`; the HTML and PDF are rendered from those inputs
alone, so the recorded inputs always reproduce what people read. An empty input says so.

:func:`record_review_with_pack` stores a held review with its pack: the PDF, the HTML and the
inputs under ``<workspace>/aims/reviews/<folder>/``, their SHA-256 on the ledger.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Final

from aimsight.aims._catalogue import shipped_catalogue
from aimsight.aims._document import ReportSection, ReportTable, StatusBar
from aimsight.aims._html import render_report_html
from aimsight.aims._metrics import LiveMetrics
from aimsight.aims._model import CheckStatus, ControlCheckResult
from aimsight.aims._pdf import render_report_pdf
from aimsight.aims._record_types import (
    Audit,
    Incident,
    KpiReading,
    ManagementReview,
    Nonconformity,
    Objective,
    Risk,
)
from aimsight.aims._records import AimsRecords
from aimsight.core import AimsightError, Conflict, InvalidInput, Workspace, isoformat_utc, now_utc
from aimsight.ingest import ContractRegistry
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store

__all__ = [
    "REVIEW_INPUTS",
    "REVIEWS_DIR",
    "ReviewPack",
    "compile_review_pack",
    "record_review_with_pack",
    "review_pack_sections",
]

REVIEWS_DIR: Final = "aims/reviews"
"""Where review packs are stored, relative to the workspace root."""

REVIEW_INPUTS: Final[tuple[tuple[str, str], ...]] = (
    ("previous_actions", "Actions from earlier reviews"),
    ("changes", "Changes affecting the AI management system"),
    ("interested_parties", "Concerns from interested parties"),
    ("objectives", "Objectives and KPI trends"),
    ("incidents", "Incidents"),
    ("nonconformities", "Nonconformities and corrective actions"),
    ("monitoring", "Monitoring and measurement: automated checks"),
    ("audits", "Audit results"),
    ("risks_and_opportunities", "Risks and opportunities"),
)
"""Every input of a review (9.3.2) as ``(key in ReviewPack.inputs, section heading)``, in the
order the pack shows them."""

TITLE: Final = "Management review pack"
_PASS_ORDER = ("pass", "warn", "fail", "not yet available")
_STATUS_RANK = {
    CheckStatus.PASS.value: 0,
    CheckStatus.NOT_YET_AVAILABLE.value: 1,
    CheckStatus.WARN.value: 1,
    CheckStatus.FAIL.value: 2,
}


@dataclass(frozen=True)
class ReviewPack:
    """A compiled management review pack.

    Attributes:
        inputs: every 9.3.2 input (keys of :data:`REVIEW_INPUTS`) plus ``period`` and
            ``about``; JSON-ready, what :meth:`AimsRecords.record_management_review` stores.
        html: the pack as one self-contained HTML page.
        pdf: the pack as a PDF document.
        generated_at: when it was compiled (ISO 8601 UTC).
    """

    inputs: dict[str, Any]
    html: str
    pdf: bytes
    generated_at: str

    @property
    def pdf_sha256(self) -> str:
        """SHA-256 of the PDF's bytes."""
        return hashlib.sha256(self.pdf).hexdigest()

    @property
    def html_sha256(self) -> str:
        """SHA-256 of the HTML page as UTF-8."""
        return hashlib.sha256(self.html.encode("utf-8")).hexdigest()


def compile_review_pack(
    workspace: Workspace,
    store: Store,
    ledger: Ledger,
    *,
    actor: str,
    since: datetime | date | None = None,
) -> ReviewPack:
    """Compile a management review pack from the live system.

    Args:
        actor: who compiles it (shown in the pack).
        since: the start of the period under review; by default the time the last management
            review was recorded, or the beginning when there was none. A date means its
            midnight UTC; a time needs its time zone.

    Returns:
        The pack: its inputs and the same content as HTML and PDF. Nothing is written.

    Raises:
        InvalidInput: ``actor`` is blank or ``since`` has no time zone or lies in the future.
    """
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInput("actor is required: say who compiles the pack", field="actor")
    now = now_utc()
    records = AimsRecords(workspace, store, ledger)
    reviews = records.management_reviews()
    previous = max(reviews, key=lambda review: review.recorded_at) if reviews else None
    start = _period_start(since, previous, now)
    compiler = _Compiler(workspace, store, ledger, records, start, now)
    inputs: dict[str, Any] = {
        "about": {
            "workspace": workspace.root.name,
            "compiled_by": actor.strip(),
            "generated_at": isoformat_utc(now),
            "catalogue_version": shipped_catalogue().version,
            "standard": shipped_catalogue().standard,
        },
        "period": {
            "since": None if start is None else isoformat_utc(start),
            "until": isoformat_utc(now),
            "previous_review": None if previous is None else previous.review_id,
            "previous_review_held_on": None if previous is None else previous.held_on,
        },
        "previous_actions": compiler.previous_actions(),
        "changes": compiler.changes(previous),
        "interested_parties": compiler.interested_parties(),
        "objectives": compiler.objectives(),
        "incidents": compiler.incidents(),
        "nonconformities": compiler.nonconformities(),
        "monitoring": compiler.monitoring(),
        "audits": compiler.audits(),
        "risks_and_opportunities": compiler.risks_and_opportunities(),
    }
    sections, meta = review_pack_sections(inputs)
    return ReviewPack(
        inputs=inputs,
        html=render_report_html(TITLE, sections, meta=meta),
        pdf=render_report_pdf(TITLE, sections, meta=meta, wide=True),
        generated_at=inputs["about"]["generated_at"],
    )


def record_review_with_pack(
    workspace: Workspace,
    store: Store,
    ledger: Ledger,
    pack: ReviewPack,
    *,
    actor: str,
    attendees: Sequence[str],
    held_on: date | str | None = None,
) -> ManagementReview:
    """Record a held management review with its pack.

    Writes ``review.pdf``, ``review.html`` and ``inputs.json`` to a new folder under
    :data:`REVIEWS_DIR` (all at once: a temporary folder renamed into place), records the
    review with the PDF's path and SHA-256, then records the SHA-256 of all three files on the
    ledger (kind ``aims.management_review.pack_stored``). Add the review's outputs afterwards
    with :meth:`AimsRecords.add_review_action`.

    Args:
        held_on: the day the review was held (default today, UTC).

    Raises:
        InvalidInput: no attendees, or a malformed date (nothing is written).
        Conflict: this very pack was stored already.
    """
    records = AimsRecords(workspace, store, ledger)
    files = {
        "review.pdf": pack.pdf,
        "review.html": pack.html.encode("utf-8"),
        "inputs.json": _json_bytes(pack.inputs),
    }
    stamp = pack.generated_at.replace("-", "").replace(":", "").split(".")[0]
    folder_name = f"{stamp}Z-{pack.pdf_sha256[:12]}"
    reviews_dir = workspace.root / REVIEWS_DIR
    folder = reviews_dir / folder_name
    if folder.exists():
        raise Conflict(
            f"this review pack was stored already in {REVIEWS_DIR}/{folder_name}; "
            "compile a new pack for a new review"
        )
    _write_folder(reviews_dir, folder, files)
    try:
        review = records.record_management_review(
            actor=actor,
            held_on=held_on if held_on is not None else now_utc().date(),
            attendees=attendees,
            inputs=pack.inputs,
            pack_path=f"{REVIEWS_DIR}/{folder_name}/review.pdf",
            pack_sha256=pack.pdf_sha256,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    ledger.append(
        "aims.management_review.pack_stored",
        actor=actor,
        subject=review.review_id,
        payload={
            "review_id": review.review_id,
            "folder": f"{REVIEWS_DIR}/{folder_name}",
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        },
    )
    return review


def _write_folder(parent: Path, folder: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` into ``folder`` so that it appears whole or not at all."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _json_bytes(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


# -- the period ---------------------------------------------------------------------------------


def _period_start(
    since: datetime | date | None, previous: ManagementReview | None, now: datetime
) -> datetime | None:
    if since is None:
        return None if previous is None else _moment(previous.recorded_at)
    if isinstance(since, datetime):
        if since.tzinfo is None:
            raise InvalidInput(
                "since has no time zone; give an aware time (UTC) or a date", field="since"
            )
        start = since.astimezone(UTC)
    elif isinstance(since, date):
        start = datetime.combine(since, time(), tzinfo=UTC)
    else:
        raise InvalidInput("since must be a date or a time with its zone", field="since")
    if start > now:
        raise InvalidInput(
            f"since {isoformat_utc(start)} is in the future; the period must start before now",
            field="since",
        )
    return start


def _moment(text: str | None) -> datetime | None:
    """A stored ISO 8601 time as an aware UTC datetime (naive read as UTC), None if unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _since_words(since: str | None) -> str:
    return "since the AI management system began" if since is None else f"since {since[:16]}Z"


# -- compiling the inputs -----------------------------------------------------------------------


class _Compiler:
    """Reads each input from the live system for the period from ``start`` to ``now``."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        ledger: Ledger,
        records: AimsRecords,
        start: datetime | None,
        now: datetime,
    ) -> None:
        self._workspace = workspace
        self._records = records
        self._registry = ModelRegistry(workspace, store, ledger)
        self._start = start
        self._now = now
        self._today = now.date().isoformat()
        self._latest_checks = records.latest_check_results()
        self._metrics = LiveMetrics(workspace, store, ledger, check_pass_rate=self._check_pass_rate)
        self._words = _since_words(None if start is None else isoformat_utc(start))

    def _in_period(self, text: str | None) -> bool:
        if self._start is None:
            return True
        moment = _moment(text)
        return moment is not None and moment >= self._start

    def _check_pass_rate(self) -> float | None:
        if not self._latest_checks:
            return None
        passed = sum(1 for r in self._latest_checks if r.status == CheckStatus.PASS)
        return passed / len(self._latest_checks)

    # each input ---------------------------------------------------------------------------

    def previous_actions(self) -> dict[str, Any]:
        actions = [
            action
            for action in self._records.review_actions()
            if action.status == "open" or self._in_period(action.closed_at)
        ]
        items = [
            {
                "action_id": a.action_id,
                "review_id": a.review_id,
                "decision": a.decision,
                "owner": a.owner,
                "due": a.due,
                "status": a.status,
                "overdue": a.status == "open" and a.due < self._today,
                "outcome": a.outcome,
                "closed_at": a.closed_at,
            }
            for a in actions
        ]
        open_count = sum(1 for item in items if item["status"] == "open")
        overdue = sum(1 for item in items if item["overdue"])
        closed = len(items) - open_count
        if not items:
            summary = (
                "No actions from earlier management reviews are open or were closed in the period."
            )
        else:
            summary = (
                f"{len(items)} action(s) from earlier reviews: {open_count} open "
                f"({overdue} overdue), {closed} closed {self._words}."
            )
        return {
            "summary": summary,
            "open": open_count,
            "overdue": overdue,
            "closed": closed,
            "actions": items,
        }

    def changes(self, previous: ManagementReview | None) -> dict[str, Any]:
        model_events = self._model_events()
        systems = [
            {
                "system_id": s.system_id,
                "name": s.name,
                "kind": s.kind,
                "owner": s.owner,
                "risk_level": s.risk_level,
                "in_scope": s.in_scope,
                "created_at": s.created_at,
            }
            for s in self._records.ai_systems()
            if self._in_period(s.created_at)
        ]
        policies = [
            {
                "version": p.version,
                "effective": p.effective,
                "next_review": p.next_review,
                "approved_by": p.approved_by,
                "created_at": p.created_at,
            }
            for p in self._records.policy_versions()
            if self._in_period(p.created_at)
        ]
        contracts = self._contract_changes(previous)
        registered = sum(1 for event in model_events if event["action"] == "register")
        parts = [
            f"{len(model_events)} model lifecycle event(s) ({registered} new version(s))",
            f"{len(systems)} AI system(s) added to the inventory",
            f"{len(policies)} new AI policy version(s)",
            f"{len(contracts['changed'])} data contract change(s)",
        ]
        total = len(model_events) + len(systems) + len(policies) + len(contracts["changed"])
        summary = (
            f"No changes {self._words}: no model events, AI systems, policy versions or "
            "data contract changes."
            if total == 0
            else f"Changes {self._words}: " + "; ".join(parts) + "."
        )
        return {
            "summary": summary,
            "model_events": model_events,
            "ai_systems_added": systems,
            "policy_versions": policies,
            "contracts": contracts,
        }

    def _model_events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for model in self._registry.list_models():
            try:
                history = self._registry.history(model.name)
            except AimsightError:
                continue
            events += [
                {
                    "model": t.name,
                    "version": t.version,
                    "action": t.action,
                    "from_stage": t.from_stage,
                    "to_stage": t.to_stage,
                    "actor": t.actor,
                    "reason": t.reason,
                    "at": t.at,
                }
                for t in history
                if self._in_period(t.at)
            ]
        return sorted(events, key=lambda event: (event["at"], event["model"], event["version"]))

    def _contract_changes(self, previous: ManagementReview | None) -> dict[str, Any]:
        try:
            current = {
                contract.name: contract.version
                for contract in ContractRegistry.for_workspace(self._workspace).list()
            }
        except AimsightError as exc:
            return {"current": {}, "changed": [], "note": f"contracts could not be read: {exc}"}
        before: Mapping[str, Any] | None = None
        if previous is not None:
            seen = previous.inputs.get("changes", {}).get("contracts", {}).get("current")
            before = seen if isinstance(seen, Mapping) else None
        changed = [
            {"contract": name, "version": version, "previous_version": (before or {}).get(name)}
            for name, version in sorted(current.items())
            if before is None or before.get(name) != version
        ]
        note = (
            "no earlier review recorded contract versions; every contract is listed"
            if before is None
            else "compared with the contract versions the last review saw"
        )
        return {"current": current, "changed": changed, "note": note}

    def interested_parties(self) -> dict[str, Any]:
        concerns = [
            {
                "concern_id": c.concern_id,
                "system_id": c.system_id,
                "status": c.status,
                "reported_at": c.reported_at,
                "text": c.text,
                "outcome": c.outcome,
            }
            for c in self._records.concerns()
            if c.status != "closed" or self._in_period(c.reported_at)
        ]
        still_open = sum(1 for c in concerns if c["status"] != "closed")
        summary = (
            f"No concerns were reported {self._words} and none is open."
            if not concerns
            else f"{len(concerns)} concern(s) reported or still open; {still_open} not closed."
        )
        return {"summary": summary, "open": still_open, "concerns": concerns}

    def objectives(self) -> dict[str, Any]:
        items = [self._objective(objective) for objective in self._records.objectives()]
        met = sum(1 for item in items if item["met"] is True)
        missed = sum(1 for item in items if item["met"] is False)
        summary = (
            "No AI objectives are set; set objectives bound to live metrics (6.2)."
            if not items
            else f"{len(items)} objective(s): {met} met, {missed} missed, "
            f"{len(items) - met - missed} without a reading."
        )
        return {"summary": summary, "met": met, "missed": missed, "objectives": items}

    def _objective(self, objective: Objective) -> dict[str, Any]:
        readings = [
            r
            for r in self._records.kpi_trend(objective.objective_id, limit=1000)
            if self._in_period(r.at)
        ]
        try:
            live = self._metrics.read(objective.metric, now=self._now).to_dict()
        except AimsightError as exc:
            live = {"metric": objective.metric, "value": None, "detail": exc.message}
        latest = objective.latest
        return {
            "objective_id": objective.objective_id,
            "objective": objective.objective,
            "owner": objective.owner,
            "metric": objective.metric,
            "target": objective.target,
            "direction": objective.direction,
            "readings": [{"value": r.value, "at": r.at} for r in readings],
            "trend": _kpi_trend(readings, objective.direction),
            "latest": None if latest is None else {"value": latest.value, "at": latest.at},
            "met": objective.met,
            "live": live,
            "live_met": _meets(live.get("value"), objective.target, objective.direction),
        }

    def incidents(self) -> dict[str, Any]:
        chosen = [
            i
            for i in self._records.incidents()
            if i.status != "resolved" or self._in_period(i.created_at)
        ]
        items = [_incident(i) for i in chosen]
        by_severity = Counter(i.severity for i in chosen)
        unresolved = sum(1 for i in chosen if i.status != "resolved")
        summary = (
            f"No incidents {self._words} and none unresolved."
            if not items
            else f"{len(items)} incident(s) in the period or unresolved ("
            + ", ".join(f"{sev}: {n}" for sev, n in sorted(by_severity.items()))
            + f"); {unresolved} not resolved."
        )
        return {
            "summary": summary,
            "by_severity": dict(sorted(by_severity.items())),
            "unresolved": unresolved,
            "incidents": items,
        }

    def nonconformities(self) -> dict[str, Any]:
        chosen = [
            n
            for n in self._records.nonconformities()
            if n.status == "open" or self._in_period(n.raised_at) or self._in_period(n.closed_at)
        ]
        items = [_nonconformity(n, self._today) for n in chosen]
        actions = [a for item in items for a in item["actions"]]
        open_actions = sum(1 for a in actions if a["status"] == "open")
        overdue = sum(1 for a in actions if a["overdue"])
        effective = sum(1 for item in items if item["effective"] is True)
        still_open = sum(1 for n in chosen if n.status == "open")
        summary = (
            f"No nonconformities {self._words} and none open."
            if not items
            else f"{len(items)} nonconformit{'y' if len(items) == 1 else 'ies'} in the period "
            f"or open ({still_open} open); {len(actions)} corrective action(s), "
            f"{open_actions} open ({overdue} overdue); {effective} checked effective."
        )
        return {
            "summary": summary,
            "open": still_open,
            "corrective_actions_open": open_actions,
            "corrective_actions_overdue": overdue,
            "nonconformities": items,
        }

    def monitoring(self) -> dict[str, Any]:
        runs = [
            run
            for run in reversed(self._records.check_runs(limit=self._records.check_run_count()))
            if self._in_period(run.run_at)
        ]
        per_check: dict[str, list[ControlCheckResult]] = {}
        for run in runs:
            for result in self._records.check_run_results(run.run_id):
                per_check.setdefault(result.check_id, []).append(result)
        checks = [_check_trend(results) for results in per_check.values()]
        latest = Counter(result.status.value for result in self._latest_checks)
        if not runs:
            summary = f"No automated control checks ran {self._words}; run `aimsight aims check`."
        else:
            worse = [c["check_id"] for c in checks if c["trend"] == "worsening"]
            summary = (
                f"{len(runs)} run(s) of the automated checks {self._words}; the latest: "
                + ", ".join(f"{latest[s.replace(' ', '_')]} {s}" for s in _PASS_ORDER)
                + (f". Worsening: {', '.join(worse)}." if worse else ". None worsened.")
            )
        return {
            "summary": summary,
            "runs": [{"run_id": r.run_id, "run_at": r.run_at, "counts": r.counts} for r in runs],
            "latest": {s: latest[s] for s in (v.value for v in CheckStatus)},
            "checks": checks,
        }

    def audits(self) -> dict[str, Any]:
        chosen = [
            a
            for a in self._records.audits()
            if a.status in ("planned", "in_progress") or self._in_period(a.updated_at)
        ]
        items = [_audit(a) for a in chosen]
        findings = Counter(f["severity"] for item in items for f in item["findings"])
        summary = (
            f"No internal audits were held, planned or changed {self._words}."
            if not items
            else f"{len(items)} audit(s): "
            + ", ".join(f"{n} {s}" for s, n in sorted(Counter(a.status for a in chosen).items()))
            + "; findings: "
            + (", ".join(f"{n} {s}" for s, n in sorted(findings.items())) or "none")
            + "."
        )
        return {"summary": summary, "findings_by_severity": dict(findings), "audits": items}

    def risks_and_opportunities(self) -> dict[str, Any]:
        risks = [_risk(r, self._today) for r in self._records.risks()]
        levels = Counter(r["level"] for r in risks)
        untreated = sum(1 for r in risks if r["treatment"] is None)
        overdue = sum(1 for r in risks if r["review_overdue"])
        opportunities = [
            {"audit_id": f.audit_id, "finding_id": f.finding_id, "text": f.text}
            for audit in self._records.audits()
            for f in audit.findings
            if f.severity == "opportunity" and self._in_period(f.raised_at)
        ]
        risk_words = (
            "The risk register is empty; identify and assess risks (6.1.2)."
            if not risks
            else f"{len(risks)} risk(s): "
            + ", ".join(f"{n} {level}" for level, n in sorted(levels.items()))
            + f"; {untreated} without a treatment; {overdue} past their review date."
        )
        chance_words = (
            f"No opportunities for improvement were raised {self._words}."
            if not opportunities
            else f"{len(opportunities)} opportunit{'y' if len(opportunities) == 1 else 'ies'} "
            "for improvement raised by audits."
        )
        return {
            "summary": f"{risk_words} {chance_words}",
            "by_level": dict(sorted(levels.items())),
            "untreated": untreated,
            "reviews_overdue": overdue,
            "risks": risks,
            "opportunities": opportunities,
        }


def _meets(value: Any, target: float, direction: str) -> bool | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return value >= target if direction == "at_least" else value <= target


def _kpi_trend(readings: Sequence[KpiReading], direction: str) -> str:
    if not readings:
        return "no readings"
    if len(readings) == 1:
        return "one reading"
    first, last = readings[0].value, readings[-1].value
    if last == first:
        return "steady"
    better = last > first if direction == "at_least" else last < first
    return "improving" if better else "worsening"


def _check_trend(results: Sequence[ControlCheckResult]) -> dict[str, Any]:
    statuses = [r.status.value for r in results]
    counts = Counter(statuses)
    first, last = _STATUS_RANK[statuses[0]], _STATUS_RANK[statuses[-1]]
    if len(statuses) == 1:
        trend = "one run"
    elif last < first:
        trend = "improving"
    elif last > first:
        trend = "worsening"
    else:
        trend = "steady"
    newest = results[-1]
    return {
        "check_id": newest.check_id,
        "title": newest.title,
        "controls": list(newest.controls),
        "statuses": statuses,
        "counts": {s.value: counts[s.value] for s in CheckStatus},
        "latest": newest.status.value,
        "latest_summary": newest.summary,
        "trend": trend,
    }


def _incident(incident: Incident) -> dict[str, Any]:
    steps = {step.step: step.at for step in incident.timeline}
    return {
        "incident_id": incident.incident_id,
        "title": incident.title,
        "severity": incident.severity,
        "system_id": incident.system_id,
        "status": incident.status,
        "detected_at": steps.get("detected"),
        "resolved_at": steps.get("resolved"),
        "timeline": [{"step": s.step, "at": s.at, "note": s.note} for s in incident.timeline],
        "communications": [{"audience": c.audience, "at": c.at} for c in incident.communications],
    }


def _nonconformity(item: Nonconformity, today: str) -> dict[str, Any]:
    latest_check = item.effectiveness_checks[-1] if item.effectiveness_checks else None
    return {
        "nc_id": item.nc_id,
        "description": item.description,
        "source": item.source,
        "source_ref": item.source_ref,
        "system_id": item.system_id,
        "root_cause": item.root_cause,
        "status": item.status,
        "raised_at": item.raised_at,
        "closed_at": item.closed_at,
        "actions": [
            {
                "action_id": a.action_id,
                "action": a.action,
                "owner": a.owner,
                "due": a.due,
                "status": a.status,
                "overdue": a.status == "open" and a.due < today,
                "done_at": a.done_at,
            }
            for a in item.actions
        ],
        "effective": None if latest_check is None else latest_check.effective,
        "effectiveness_result": None if latest_check is None else latest_check.result,
    }


def _audit(audit: Audit) -> dict[str, Any]:
    results = Counter(item.result or "unanswered" for item in audit.checklist)
    return {
        "audit_id": audit.audit_id,
        "title": audit.title,
        "status": audit.status,
        "auditor": audit.auditor,
        "planned_on": audit.planned_on,
        "held_on": audit.held_on,
        "checklist": dict(sorted(results.items())),
        "findings": [
            {
                "finding_id": f.finding_id,
                "severity": f.severity,
                "text": f.text,
                "nc_id": f.nc_id,
            }
            for f in audit.findings
        ],
    }


def _risk(risk: Risk, today: str) -> dict[str, Any]:
    return {
        "risk_id": risk.risk_id,
        "risk": risk.risk,
        "system_id": risk.system_id,
        "owner": risk.owner,
        "score": risk.score,
        "level": risk.level,
        "treatment": risk.treatment,
        "treatment_plan": risk.treatment_plan,
        "controls": list(risk.controls),
        "residual_level": risk.residual_level,
        "next_review": risk.next_review,
        "review_overdue": risk.next_review is not None and risk.next_review < today,
    }


# -- rendering ----------------------------------------------------------------------------------


def review_pack_sections(
    inputs: Mapping[str, Any],
) -> tuple[list[ReportSection], list[tuple[str, str]]]:
    """The report's sections (one per :data:`REVIEW_INPUTS` item, in order) and the lines under
    its title, built from the inputs alone so a recorded review can be rendered again."""
    about, period = inputs["about"], inputs["period"]
    meta = [
        ("Workspace", str(about["workspace"])),
        ("Period", f"{_since_words(period['since'])} until {period['until'][:16]}Z"),
        ("Previous review", _previous_words(period)),
        ("Compiled by", str(about["compiled_by"])),
        ("Generated", str(about["generated_at"])),
        ("Catalogue", f"{about['standard']}, version {about['catalogue_version']}"),
    ]
    builders: dict[str, Callable[[Mapping[str, Any]], list[Any]]] = {
        "previous_actions": _actions_blocks,
        "changes": _changes_blocks,
        "interested_parties": _concern_blocks,
        "objectives": _objective_blocks,
        "incidents": _incident_blocks,
        "nonconformities": _nonconformity_blocks,
        "monitoring": _monitoring_blocks,
        "audits": _audit_blocks,
        "risks_and_opportunities": _risk_blocks,
    }
    sections = [
        ReportSection(heading, [inputs[key]["summary"], *builders[key](inputs[key])])
        for key, heading in REVIEW_INPUTS
    ]
    return sections, meta


def _previous_words(period: Mapping[str, Any]) -> str:
    if period["previous_review"] is None:
        return "none recorded: this is the first management review"
    return f"{period['previous_review']} held on {period['previous_review_held_on']}"


def _table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    caption: str = "",
    widths: Sequence[float] = (),
    status_columns: Sequence[int] = (),
) -> list[ReportTable]:
    body = [[_cell(value) for value in row] for row in rows]
    if not body:
        return []
    return [ReportTable(columns, body, caption, status_columns, widths)]


def _cell(value: Any) -> str | int | float | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _actions_blocks(data: Mapping[str, Any]) -> list[Any]:
    return _table(
        ("Action", "Decision", "Owner", "Due", "Status", "Overdue", "Outcome"),
        (
            (
                a["action_id"],
                a["decision"],
                a["owner"],
                a["due"],
                a["status"],
                a["overdue"],
                a["outcome"],
            )
            for a in data["actions"]
        ),
        widths=(10, 30, 10, 8, 7, 7, 28),
    )


def _changes_blocks(data: Mapping[str, Any]) -> list[Any]:
    blocks: list[Any] = []
    blocks += _table(
        ("When", "Model", "Version", "Event", "From", "To", "By", "Reason"),
        (
            (
                e["at"][:16],
                e["model"],
                e["version"],
                e["action"],
                e["from_stage"],
                e["to_stage"],
                e["actor"],
                e["reason"],
            )
            for e in data["model_events"]
        ),
        caption="Model registry events",
        widths=(11, 10, 6, 8, 8, 8, 10, 39),
    )
    blocks += _table(
        ("System", "Name", "Kind", "Owner", "Risk level", "In scope", "Added"),
        (
            (
                s["system_id"],
                s["name"],
                s["kind"],
                s["owner"],
                s["risk_level"],
                s["in_scope"],
                s["created_at"][:10],
            )
            for s in data["ai_systems_added"]
        ),
        caption="AI systems added to the inventory",
    )
    blocks += _table(
        ("Version", "Effective", "Next review", "Approved by"),
        (
            (p["version"], p["effective"], p["next_review"], p["approved_by"])
            for p in data["policy_versions"]
        ),
        caption="New AI policy versions",
    )
    contracts = data["contracts"]
    blocks += _table(
        ("Data contract", "Version now", "Version at the last review"),
        ((c["contract"], c["version"], c["previous_version"] or "") for c in contracts["changed"]),
        caption=f"Data contract changes ({contracts['note']})",
    )
    return blocks


def _concern_blocks(data: Mapping[str, Any]) -> list[Any]:
    return _table(
        ("Concern", "AI system", "Status", "Reported", "Concern raised", "Outcome"),
        (
            (
                c["concern_id"],
                c["system_id"],
                c["status"],
                c["reported_at"][:10],
                c["text"],
                c["outcome"],
            )
            for c in data["concerns"]
        ),
        widths=(10, 10, 8, 8, 40, 24),
    )


def _objective_blocks(data: Mapping[str, Any]) -> list[Any]:
    def row(o: Mapping[str, Any]) -> tuple[Any, ...]:
        way = ">=" if o["direction"] == "at_least" else "<="
        recorded = " -> ".join(f"{r['value']:g}" for r in o["readings"]) or "none"
        live = o["live"]
        live_text = "unavailable" if live.get("value") is None else f"{live['value']:g}"
        detail = str(live.get("detail") or "")
        met = {True: "met", False: "missed", None: "no reading"}[o["met"]]
        return (
            o["objective"],
            o["owner"],
            o["metric"],
            f"{way} {o['target']:g}",
            recorded,
            o["trend"],
            met,
            f"{live_text} ({detail})" if detail else live_text,
        )

    return _table(
        (
            "Objective",
            "Owner",
            "Metric",
            "Target",
            "Readings in period",
            "Trend",
            "Latest",
            "Live now",
        ),
        (row(o) for o in data["objectives"]),
        widths=(22, 9, 12, 7, 14, 8, 8, 20),
    )


def _incident_blocks(data: Mapping[str, Any]) -> list[Any]:
    return _table(
        ("Incident", "Title", "Severity", "AI system", "Status", "Detected", "Resolved", "Told"),
        (
            (
                i["incident_id"],
                i["title"],
                i["severity"],
                i["system_id"],
                i["status"],
                (i["detected_at"] or "")[:16],
                (i["resolved_at"] or "")[:16],
                ", ".join(c["audience"] for c in i["communications"]),
            )
            for i in data["incidents"]
        ),
        widths=(10, 24, 7, 10, 9, 11, 11, 18),
    )


def _nonconformity_blocks(data: Mapping[str, Any]) -> list[Any]:
    def actions(n: Mapping[str, Any]) -> str:
        return "\n".join(
            f"{a['action']} ({a['owner']}, due {a['due']}, {a['status']}"
            + (", overdue" if a["overdue"] else "")
            + ")"
            for a in n["actions"]
        )

    effective = {True: "effective", False: "not effective", None: "not checked"}
    return _table(
        (
            "Nonconformity",
            "Description",
            "Source",
            "Status",
            "Root cause",
            "Corrective actions",
            "Effectiveness",
        ),
        (
            (
                n["nc_id"],
                n["description"],
                n["source"],
                n["status"],
                n["root_cause"],
                actions(n),
                effective[n["effective"]],
            )
            for n in data["nonconformities"]
        ),
        widths=(10, 22, 9, 6, 16, 27, 10),
    )


def _monitoring_blocks(data: Mapping[str, Any]) -> list[Any]:
    latest = data["latest"]
    blocks: list[Any] = []
    if any(latest.values()):
        blocks.append(
            StatusBar(
                "Latest run of the automated checks",
                [(label, latest[label.replace(" ", "_")]) for label in _PASS_ORDER],
            )
        )
    blocks += _table(
        ("Check", "Controls", "Latest", "Pass", "Warn", "Fail", "Runs, oldest first", "Trend"),
        (
            (
                c["check_id"],
                ", ".join(c["controls"]),
                c["latest"].replace("_", " "),
                c["counts"]["pass"],
                c["counts"]["warn"],
                c["counts"]["fail"],
                " ".join(s.replace("not_yet_available", "n/a") for s in c["statuses"]),
                c["trend"],
            )
            for c in data["checks"]
        ),
        caption="Each check over the runs in the period",
        widths=(16, 12, 10, 5, 5, 5, 35, 10),
        status_columns=(2,),
    )
    return blocks


def _audit_blocks(data: Mapping[str, Any]) -> list[Any]:
    blocks: list[Any] = []
    blocks += _table(
        ("Audit", "Title", "Status", "Auditor", "Planned", "Held", "Checklist", "Findings"),
        (
            (
                a["audit_id"],
                a["title"],
                a["status"],
                a["auditor"],
                a["planned_on"],
                a["held_on"],
                ", ".join(f"{n} {r}" for r, n in a["checklist"].items()),
                len(a["findings"]),
            )
            for a in data["audits"]
        ),
        widths=(10, 22, 9, 10, 8, 8, 25, 8),
    )
    blocks += _table(
        ("Audit", "Finding", "Severity", "Finding text", "Nonconformity"),
        (
            (a["audit_id"], f["finding_id"], f["severity"], f["text"], f["nc_id"])
            for a in data["audits"]
            for f in a["findings"]
        ),
        caption="Findings",
        widths=(10, 10, 9, 58, 13),
    )
    return blocks


def _risk_blocks(data: Mapping[str, Any]) -> list[Any]:
    blocks: list[Any] = []
    blocks += _table(
        (
            "Risk",
            "Description",
            "Owner",
            "Level",
            "Treatment",
            "Residual",
            "Next review",
            "Overdue",
        ),
        (
            (
                r["risk_id"],
                r["risk"],
                r["owner"],
                f"{r['level']} ({r['score']})",
                f"{r['treatment'] or 'none'}: {r['treatment_plan']}" if r["treatment"] else "none",
                r["residual_level"],
                r["next_review"],
                r["review_overdue"],
            )
            for r in data["risks"]
        ),
        caption="Risk register",
        widths=(10, 26, 10, 9, 22, 8, 9, 6),
    )
    blocks += _table(
        ("Audit", "Finding", "Opportunity for improvement"),
        ((o["audit_id"], o["finding_id"], o["text"]) for o in data["opportunities"]),
        caption="Opportunities for improvement",
        widths=(12, 12, 76),
    )
    return blocks
