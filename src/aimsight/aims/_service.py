"""``AimsService``: the AI management system of a workspace behind one object.

The CLI and the API call this facade, never the parts: the records (:class:`AimsRecords`), the
catalogue, the automated control checks, the Statement of Applicability and its exports, the
live metrics objectives bind to, the management review pack and the evidence pack. Each
method does one thing a governance lead asks for and leaves the rules to the part that owns
them.

Examples:
    >>> aims = AimsService(workspace, store, ledger)  # doctest: +SKIP
    >>> run_id, results = aims.run_checks(actor="cli:gina")  # doctest: +SKIP
    >>> aims.export_soa("pdf")[:4]  # doctest: +SKIP
    b'%PDF'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aimsight.aims._catalogue import Catalogue, shipped_catalogue
from aimsight.aims._checks import CHECKS, find_checks
from aimsight.aims._checks import run_checks as run_control_checks
from aimsight.aims._checks_base import CheckContext
from aimsight.aims._evidence import (
    EvidenceManifest,
    PackVerification,
    build_evidence_pack,
)
from aimsight.aims._evidence import verify_pack as verify_evidence_pack
from aimsight.aims._export import export_soa
from aimsight.aims._metrics import METRICS, LiveMetrics, MetricReading
from aimsight.aims._model import AISystem, CheckStatus, ControlCheckResult
from aimsight.aims._record_types import Audit, KpiReading, ManagementReview
from aimsight.aims._records import AimsRecords
from aimsight.aims._review_pack import compile_review_pack, record_review_with_pack
from aimsight.aims._soa import SoaEntry, StatementOfApplicability, build_soa
from aimsight.core import Conflict, InvalidInput, Workspace, now_utc
from aimsight.store import Ledger, Store

__all__ = ["AimsService", "CheckTrend", "ReviewPackFiles"]

TREND_LENGTH = 10
"""How many recent results of each check its trend shows."""


@dataclass(frozen=True)
class CheckTrend:
    """One automated check over its recent runs: statuses oldest first, and the latest result."""

    check_id: str
    title: str
    controls: tuple[str, ...]
    statuses: tuple[str, ...]  # oldest first; empty when the check never ran
    checked_at: tuple[str, ...]  # when each status was found, same order
    latest: ControlCheckResult | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "check_id": self.check_id,
            "title": self.title,
            "controls": list(self.controls),
            "statuses": list(self.statuses),
            "checked_at": list(self.checked_at),
            "latest": None if self.latest is None else self.latest.to_dict(),
        }


@dataclass(frozen=True)
class ReviewPackFiles:
    """A compiled management review pack: where its files went and the review recorded."""

    html_path: Path
    pdf_path: Path
    review: ManagementReview

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "html_path": str(self.html_path),
            "pdf_path": str(self.pdf_path),
            "review": self.review.to_dict(),
        }


class AimsService:
    """The AI management system (ISO/IEC 42001) of one workspace.

    Args:
        workspace: the workspace (risk scales, review packs and registry artifacts live there).
        store: the operational store holding the AIMS records.
        ledger: where every change and every check run is recorded.
    """

    def __init__(self, workspace: Workspace, store: Store, ledger: Ledger) -> None:
        self.workspace = workspace
        self.store = store
        self.ledger = ledger
        self.records = AimsRecords(workspace, store, ledger)

    # -- catalogue and the Statement of Applicability ---------------------------------------

    def catalogue(self) -> Catalogue:
        """The clauses and Annex A controls the management system is measured against."""
        return shipped_catalogue()

    def soa(self) -> StatementOfApplicability:
        """The Statement of Applicability: people's decisions joined with the latest checks."""
        entries = [_soa_entry(item) for item in self.records.soa_entries()]
        return build_soa(self.catalogue(), entries, self.records.latest_check_results())

    def export_soa(self, format: str) -> bytes:
        """The Statement of Applicability as a ``csv``, ``xlsx``, ``html`` or ``pdf`` file.

        Raises:
            InvalidInput: an unknown format (the message lists the four).
        """
        return export_soa(self.soa(), format)

    def set_soa_entry(
        self,
        control_id: str,
        *,
        actor: str,
        applicable: bool,
        justification: str,
        status: str | None = None,
        owner: str | None = None,
        evidence: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Decide whether an Annex A control applies, why, how far it is implemented and who
        owns it; refused up front for a control the catalogue does not hold.

        Raises:
            InvalidInput: the control is not in the catalogue, or the decision does not hold
                together (see :meth:`AimsRecords.set_soa_entry`).
        """
        catalogue = self.catalogue()
        wanted = control_id.strip() if isinstance(control_id, str) else control_id
        if not isinstance(wanted, str) or not catalogue.has_control(wanted):
            raise InvalidInput(
                f"control_id {control_id!r} is not an Annex A control of catalogue "
                f"{catalogue.version}; use an id from A.2.2 to A.10.4 (list them with "
                "`aimsight aims catalogue`)",
                field="control_id",
            )
        return self.records.set_soa_entry(
            wanted,
            actor=actor,
            applicable=applicable,
            justification=justification,
            status=status,
            owner=owner,
            evidence=evidence,
        )

    # -- automated control checks ------------------------------------------------------------

    def run_checks(
        self, *, actor: str, only: Iterable[str] | None = None, now: datetime | None = None
    ) -> tuple[str, list[ControlCheckResult]]:
        """Run the automated checks (all, or those ``only`` names by check or control id)
        against the live system and keep the results; returns the run's id and results.

        Raises:
            InvalidInput: ``only`` names an unknown check or control.
        """
        names = None if only is None else list(only)
        if names is not None:
            find_checks(names)  # refuse an unknown name before anything runs
        context = CheckContext(
            self.workspace, self.store, self.ledger, self.records, now or now_utc()
        )
        results = run_control_checks(context, only=names)
        run_id = self.records.save_check_results(results, actor)
        return run_id, results

    def latest_checks(self) -> list[ControlCheckResult]:
        """The results of the newest check run (empty before the first run)."""
        return self.records.latest_check_results()

    def check_history(self, check_id: str, limit: int = 50) -> list[ControlCheckResult]:
        """The latest ``limit`` results of one check, newest first.

        Raises:
            InvalidInput: no automated check has this id (the message lists them).
        """
        known = [check.check_id for check in CHECKS]
        if check_id not in known:
            raise InvalidInput(
                f"unknown check {check_id!r}; the checks are: {', '.join(known)}",
                field="check_id",
            )
        return self.records.check_history(check_id, limit=limit)

    def check_trends(self, limit: int = TREND_LENGTH) -> list[CheckTrend]:
        """Every automated check with its recent statuses, oldest first, so a person sees
        whether a control is getting better or worse."""
        trends = []
        for check in CHECKS:
            history = list(reversed(self.records.check_history(check.check_id, limit=limit)))
            trends.append(
                CheckTrend(
                    check_id=check.check_id,
                    title=check.title,
                    controls=check.controls,
                    statuses=tuple(CheckStatus(item.status).value for item in history),
                    checked_at=tuple(item.checked_at for item in history),
                    latest=history[-1] if history else None,
                )
            )
        return trends

    def check_pass_rate(self) -> float | None:
        """The share of the newest run's checks that passed, ``None`` before the first run."""
        runs = self.records.check_runs(limit=1)
        if not runs:
            return None
        total = sum(runs[0].counts.values())
        return runs[0].counts.get(CheckStatus.PASS.value, 0) / total if total else None

    # -- live metrics and objectives ---------------------------------------------------------

    def metrics(self) -> list[MetricReading]:
        """A reading of every live metric objectives can bind to (``None`` where unavailable)."""
        live = self._live_metrics()
        return [live.read(name) for name in METRICS]

    def record_objective_kpi(
        self, objective_id: str, *, actor: str, value: float | None = None
    ) -> KpiReading:
        """Keep a reading of an objective's KPI: ``value`` when given, else its live metric.

        Raises:
            NotFound: no objective has this id.
            InvalidInput: the objective's metric is not a live metric, or it has no value now
                (the message says why), and no ``value`` was given.
        """
        objective = self.records.objective(objective_id)
        if value is None:
            reading = self._live_metrics().read(objective.metric)
            if reading.value is None:
                raise InvalidInput(
                    f"metric {objective.metric} has no value now ({reading.detail}); "
                    "give the value yourself or try again once it has one",
                    field="value",
                )
            value = reading.value
        return self.records.record_kpi(objective_id, value, actor=actor)

    def _live_metrics(self) -> LiveMetrics:
        return LiveMetrics(
            self.workspace, self.store, self.ledger, check_pass_rate=self.check_pass_rate
        )

    # -- inventory ---------------------------------------------------------------------------

    def sync_inventory(self, actor: str) -> list[AISystem]:
        """Register every model and identity-matching model that runs as an AI system."""
        return self.records.sync_inventory(actor)

    # -- internal audit ----------------------------------------------------------------------

    def plan_audit(
        self,
        programme_id: str,
        *,
        actor: str,
        title: str,
        scope: str,
        auditor: str,
        planned_on: object,
        questions: Sequence[str] = (),
    ) -> Audit:
        """Plan an audit whose checklist holds every automated check, then ``questions``.

        Raises:
            NotFound: no programme has this id.
            InvalidInput: a blank field or a malformed date.
        """
        audit = self.records.plan_audit(
            programme_id,
            actor=actor,
            title=title,
            scope=scope,
            auditor=auditor,
            planned_on=planned_on,
        )
        for check in CHECKS:
            self.records.add_checklist_item(audit.audit_id, actor=actor, check_id=check.check_id)
        for question in questions:
            self.records.add_checklist_item(audit.audit_id, actor=actor, question=question)
        return self.records.audit(audit.audit_id)

    def run_audit(self, audit_id: str, *, actor: str) -> Audit:
        """Run the automated checks now and answer the audit's automated checklist items from
        them; a planned audit moves to in progress.

        Raises:
            NotFound: no audit has this id.
            Conflict: the audit is completed or cancelled.
        """
        audit = self.records.audit(audit_id)
        if audit.status in ("completed", "cancelled"):
            raise Conflict(f"audit {audit_id} is {audit.status}; plan a new audit to run it again")
        if audit.status == "planned":
            self.records.update_audit(audit_id, actor=actor, status="in_progress")
        self.run_checks(actor=actor)
        self.records.fill_checklist_from_checks(audit_id, actor=actor)
        return self.records.audit(audit_id)

    # -- management review and evidence ------------------------------------------------------

    def review_pack(
        self,
        *,
        actor: str,
        since: date | None = None,
        attendees: Sequence[str] = (),
        held_on: date | None = None,
        out_dir: Path | None = None,
    ) -> ReviewPackFiles:
        """Compile the management review pack (the 9.3.2 inputs, as HTML and PDF) from the
        live system and record the review with it.

        The pack is kept under ``<workspace>/aims/reviews/`` with its SHA-256 on the ledger;
        with ``out_dir`` a copy of its HTML and PDF is written there too, for the people who
        attend.

        Args:
            since: the start of the period reviewed (default: since the last review).
            attendees: who attended (default: the actor).
            held_on: when the review was held (default today).
            out_dir: a folder for a copy of the pack's HTML and PDF.

        Raises:
            InvalidInput: ``since`` lies in the future, or ``out_dir`` cannot be written.
        """
        folder = None if out_dir is None else _folder(out_dir, "out_dir")
        pack = compile_review_pack(
            self.workspace, self.store, self.ledger, actor=actor, since=since
        )
        review = record_review_with_pack(
            self.workspace,
            self.store,
            self.ledger,
            pack,
            actor=actor,
            attendees=list(attendees) or [actor],
            held_on=held_on,
        )
        stored = self.workspace.root / str(review.pack_path)
        html_path, pdf_path = stored.with_name("review.html"), stored
        if folder is not None:
            stem = _free_stem(folder, f"management-review-{review.held_on}")
            html_path, pdf_path = folder / f"{stem}.html", folder / f"{stem}.pdf"
            _write(html_path, pack.html.encode("utf-8"), "out_dir")
            _write(pdf_path, pack.pdf, "out_dir")
        return ReviewPackFiles(review=review, html_path=html_path, pdf_path=pdf_path)

    def evidence_pack(self, out: Path, *, actor: str) -> EvidenceManifest:
        """Write the evidence pack (SoA, check history, model cards, impact assessments,
        risks, inventory, the latest review pack, the ledger head and a SHA-256 manifest) to
        the zip file ``out``; the manifest's digest goes on the ledger."""
        return build_evidence_pack(self.workspace, self.store, self.ledger, out, actor=actor)

    def verify_pack(self, path: Path) -> PackVerification:
        """Re-check an evidence pack: every file against its manifest (changed, added or
        removed files are named) and the manifest against this workspace's ledger.

        Raises:
            NotFound: there is no file at ``path``.
            InvalidInput: it is not an evidence pack.
        """
        return verify_evidence_pack(path, ledger=self.ledger)

    @staticmethod
    def verify_pack_files(path: Path) -> PackVerification:
        """Re-check an evidence pack's files against its manifest only, without a workspace:
        what an auditor can do wherever the pack was sent.

        Raises:
            NotFound: there is no file at ``path``.
            InvalidInput: it is not an evidence pack.
        """
        return verify_evidence_pack(path)


def _soa_entry(stored: dict[str, Any]) -> SoaEntry:
    return SoaEntry(
        control_id=stored["control_id"],
        applicable=stored["applicable"],
        justification=stored["justification"],
        status=stored["status"],
        owner=stored["owner"],
        evidence=list(stored["evidence"]),
        updated_at=stored["updated_at"],
        updated_by=stored["updated_by"],
    )


def _folder(folder: Path, field: str) -> Path:
    """``folder``, created if missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(
            f"{field} {folder} cannot be created ({exc.strerror or exc}); give a folder "
            "you can write to",
            field=field,
        ) from None
    return folder


def _free_stem(folder: Path, stem: str) -> str:
    """``stem``, or ``stem-2``, ``stem-3``... when a pack of that name is there already."""
    candidate, number = stem, 1
    while (folder / f"{candidate}.pdf").exists() or (folder / f"{candidate}.html").exists():
        number += 1
        candidate = f"{stem}-{number}"
    return candidate


def _write(path: Path, data: bytes, field: str) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(
            f"{field}: cannot write {path} ({exc.strerror or exc}); give a folder you can write to",
            field=field,
        ) from None
