"""Checks over the model registry: verification and approval (A.6.2.4), staged deployment
(A.6.2.5), monitoring (A.6.2.6) and complete documentation (A.6.2.7, A.8.2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aimsight.aims._checks_base import CheckContext, CheckOutcome, landed, parse_time
from aimsight.aims._model import CheckStatus, Evidence
from aimsight.registry import SECTIONS, Approval, ModelVersion
from aimsight.security import Permission, Role, has_permission

__all__ = [
    "MONITOR_MAX_AGE",
    "MONITOR_SERVICE",
    "model_cards_complete",
    "models_monitored",
    "production_models_approved",
    "promotions_staged",
]

SERVING_STAGES = ("shadow", "canary", "production")
"""Stages in which a version sees live traffic (scored, logged or acted on)."""

MONITOR_SERVICE = ("aimsight.monitor", "MonitorService")
"""Where the monitoring layer is expected: ``MonitorService(workspace, store, ledger)`` with
``latest_run(name, version)`` returning ``None`` or a run with ``ran_at`` (ISO time) and
``healthy`` (bool). Until it exists, :func:`models_monitored` is not yet available."""

MONITOR_MAX_AGE = timedelta(days=7)
"""A production model's monitor must have run within this time to count as recent."""

_TRAINER_PREFIXES = ("api:", "cli:", "key:", "user:")
_SECTION_TITLES = dict(SECTIONS)


def production_models_approved(context: CheckContext) -> CheckOutcome:
    """Every production version has a passed validation report and an independent approval.

    The latest validation report of each champion must have passed, and one approval must come
    from someone other than its trainer holding the ``models:approve`` permission. Warns when
    no model is in production (there is nothing to check, which is not the same as a pass).
    """
    champions = _champions(context)
    if not champions:
        return _no_production()
    key_names = {
        key.key_id.lower(): key.name for key in context.api_keys.list(include_revoked=True)
    }
    evidence: list[Evidence] = []
    findings: list[str] = []
    for version in champions:
        reports = context.registry.validations(version.name, version.version)
        if not reports:
            findings.append(f"{version.ref} is in production without a validation report")
        elif not reports[-1].passed:
            failed = ", ".join(check.check for check in reports[-1].failures)
            findings.append(
                f"{version.ref} is in production but its latest validation "
                f"({reports[-1].validated_at[:10]}) failed: {failed}; fix it and validate again"
            )
        else:
            report = reports[-1]
            evidence.append(
                Evidence(
                    "validation_report",
                    version.ref,
                    f"passed {len(report.checks)} checks on {report.validated_at} "
                    f"(run by {report.actor})",
                )
            )
        approvals = context.registry.approvals(version.name, version.version)
        independent = [a for a in approvals if _independent(a, version.trainer, key_names)]
        if independent:
            approval = independent[0]
            evidence.append(
                Evidence(
                    "approval",
                    version.ref,
                    f"approved by {approval.approver} ({approval.approver_role}) on "
                    f"{approval.approved_at}; trained by {version.trainer}",
                )
            )
        elif approvals:
            who = ", ".join(f"{a.approver} ({a.approver_role})" for a in approvals)
            findings.append(
                f"{version.ref} was approved only by {who}: not someone other than its trainer "
                f"{version.trainer} holding models:approve; have the governance role approve it"
            )
        else:
            findings.append(f"{version.ref} is in production without an approval")
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL,
            f"{len(findings)} problem(s) with the {len(champions)} production model(s): "
            + findings[0],
            tuple(evidence),
            tuple(findings),
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"All {len(champions)} production model(s) passed validation and were approved by "
        "someone other than their trainer.",
        tuple(evidence),
    )


def promotions_staged(context: CheckContext) -> CheckOutcome:
    """Every promotion to production followed shadow or canary, or recorded an exception.

    Read from each model's transition history: a version must have reached ``shadow`` or
    ``canary`` before its promotion to ``production``, or the promotion must carry an
    exception with a reason. Rollbacks return an earlier champion and are not promotions.
    """
    evidence: list[Evidence] = []
    findings: list[str] = []
    promotions = exceptions = 0
    for model in context.registry.list_models():
        staged: set[int] = set()
        for step in context.registry.history(model.name):
            ref = f"{step.name}:v{step.version}"
            if step.to_stage in ("shadow", "canary"):
                staged.add(step.version)
            if step.action != "promote" or step.to_stage != "production":
                continue
            promotions += 1
            when = f"on {step.at} by {step.actor}"
            if step.version in staged:
                evidence.append(
                    Evidence("transition", ref, f"promoted {when} after shadow or canary")
                )
            elif step.detail.get("exception") and step.reason.strip():
                exceptions += 1
                evidence.append(
                    Evidence("transition", ref, f"promoted {when}; exception: {step.reason}")
                )
            else:
                findings.append(
                    f"{ref} was promoted to production {when} without going through shadow or "
                    "canary and without a recorded exception"
                )
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL,
            f"{len(findings)} of {promotions} promotion(s) to production skipped staging "
            "without a recorded exception: " + findings[0],
            tuple(evidence),
            tuple(findings),
        )
    if promotions == 0:
        return CheckOutcome(
            CheckStatus.WARN,
            "No model has been promoted to production yet, so staged deployment cannot be shown.",
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"All {promotions} promotion(s) to production went through shadow or canary"
        + (f", {exceptions} with a recorded exception." if exceptions else "."),
        tuple(evidence),
    )


def models_monitored(context: CheckContext) -> CheckOutcome:
    """Every production model has a monitor that ran recently and is green.

    Not yet available while aimsight has no monitoring layer (:data:`MONITOR_SERVICE`); it
    reads that layer by itself once it lands. Warns, never passes, when the layer is there but
    does not offer what this check reads.
    """
    module, name = MONITOR_SERVICE
    service_type = landed(module, name)
    champions = _champions(context)
    refs = tuple(Evidence("model_version", c.ref, "in production") for c in champions)
    if service_type is None:
        which = f"the {len(champions)} production model(s)" if champions else "production models"
        return CheckOutcome(
            CheckStatus.NOT_YET_AVAILABLE,
            "Model monitoring (drift, calibration, fairness over time) has not landed in "
            f"aimsight yet, so it cannot be shown that {which} have a monitor that ran recently "
            "and is green.",
            refs,
        )
    if not champions:
        return _no_production()
    return _judge_monitors(context, service_type, champions)


def model_cards_complete(context: CheckContext) -> CheckOutcome:
    """Every version in shadow, canary or production has a complete model card."""
    evidence: list[Evidence] = []
    findings: list[str] = []
    serving = 0
    for model in context.registry.list_models():
        for version in context.registry.versions(model.name):
            if version.stage not in SERVING_STAGES:
                continue
            serving += 1
            missing = context.registry.card(model.name, version.version).missing_sections()
            if missing:
                titles = ", ".join(_SECTION_TITLES.get(key, key) for key in missing)
                findings.append(
                    f"{version.ref} ({version.stage}) has an incomplete model card: {titles} "
                    "missing; fill the card block of its model configuration"
                )
            else:
                evidence.append(Evidence("model_card", version.ref, f"complete ({version.stage})"))
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL,
            f"{len(findings)} of {serving} serving model version(s) have an incomplete card: "
            + findings[0],
            tuple(evidence),
            tuple(findings),
        )
    if serving == 0:
        return CheckOutcome(
            CheckStatus.WARN,
            "No model version is in shadow, canary or production, so there is no card to check.",
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"All {serving} model version(s) in shadow, canary or production have complete cards.",
        tuple(evidence),
    )


def _champions(context: CheckContext) -> list[ModelVersion]:
    """The production (champion) version of every model that has one."""
    return [
        context.registry.version(model.name, model.champion)
        for model in context.registry.list_models()
        if model.champion is not None
    ]


def _no_production() -> CheckOutcome:
    return CheckOutcome(
        CheckStatus.WARN,
        "No model is in production, so there is nothing to check yet (which is not a pass).",
    )


def _independent(approval: Approval, trainer: str, key_names: dict[str, str]) -> bool:
    """Whether ``approval`` came from someone other than ``trainer`` who may approve models.

    A trainer is recorded as ``cli:<login>``, ``api:<key id>`` or a name; a key id is turned
    into the name of its holder, so a person approving through another channel is still
    recognised.
    """
    try:
        may_approve = has_permission(Role(approval.approver_role), Permission.MODELS_APPROVE)
    except ValueError:
        may_approve = False
    who = trainer.strip().lower()
    for prefix in _TRAINER_PREFIXES:
        if who.startswith(prefix):
            who = who[len(prefix) :]
            break
    trainers = {who, trainer.strip().lower()}
    if who in key_names:
        trainers.add(key_names[who].strip().lower())
    return may_approve and approval.approver.strip().lower() not in trainers


def _judge_monitors(
    context: CheckContext, service_type: Callable[..., Any], champions: list[ModelVersion]
) -> CheckOutcome:
    """Read each champion's latest monitor run from the monitoring layer."""
    try:
        service = service_type(context.workspace, context.store, context.ledger)
        runs = [(c, service.latest_run(c.name, c.version)) for c in champions]
        seen = [
            (c, parse_time(str(run.ran_at)), bool(run.healthy))
            for c, run in runs
            if run is not None
        ]
    except (AttributeError, TypeError) as exc:
        module, name = MONITOR_SERVICE
        return CheckOutcome(
            CheckStatus.WARN,
            f"{module} is installed but does not offer what this check reads ({name}(workspace, "
            f"store, ledger).latest_run(name, version) with ran_at and healthy): {exc}; the "
            "check must be brought up to date.",
        )
    findings = [
        f"{c.ref} is in production but no monitor has run on it" for c, run in runs if run is None
    ]
    evidence: list[Evidence] = []
    for champion, ran_at, healthy in seen:
        if ran_at is None:
            findings.append(f"{champion.ref}: its latest monitor run has no readable time")
        elif context.now - ran_at > MONITOR_MAX_AGE:
            findings.append(
                f"{champion.ref}: its monitor last ran {ran_at.isoformat()}, more than "
                f"{MONITOR_MAX_AGE.days} days ago"
            )
        elif not healthy:
            findings.append(f"{champion.ref}: its latest monitor run is not green")
        else:
            evidence.append(Evidence("monitor_run", champion.ref, f"green, ran {ran_at}"))
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL,
            f"{len(findings)} production model(s) lack a recent green monitor: " + findings[0],
            tuple(evidence),
            tuple(findings),
        )
    return CheckOutcome(
        CheckStatus.PASS,
        f"All {len(champions)} production model(s) have a green monitor run within the last "
        f"{MONITOR_MAX_AGE.days} days.",
        tuple(evidence),
    )
