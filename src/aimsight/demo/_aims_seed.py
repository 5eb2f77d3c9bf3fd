"""A plausible AI management system for the demo company, then its checks run for real.

The demo seeds what a governance lead would record in a first month (an AI policy, owners for
the AI systems found in the registry, risks with treatments, impact assessments, supplier
assessments, objectives and the Statement of Applicability decisions) and deliberately leaves
gaps a real organisation would have: two AI systems without an impact assessment and one
third-party library not yet assessed. The automated checks then report honest failures next to
passes, so a new user sees what the checks catch.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aimsight.aims import AimsRecords, CheckContext, LiveMetrics, run_checks, shipped_catalogue
from aimsight.core.clock import now_utc
from aimsight.core.workspace import Workspace
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store

__all__ = ["seed_aims"]

# Who the demo company's people are (API users, so ownership is checkable against roles).
GOVERNANCE = "demo-governance"
DATA_LEAD = "demo-data-lead"

# AI systems the registry and identity produce, and what their owners would write about them.
SYSTEMS: dict[str, dict[str, Any]] = {
    "churn": {
        "purpose": "Flag paying customers at risk of leaving within 90 days.",
        "intended_use": "Prioritise retention outreach; never pricing or eligibility.",
        "stakeholders": ["customers", "retention team", "customer service"],
        "risk_level": "high",
        "high_stakes": True,
    },
    "segments": {
        "purpose": "Describe the customer base as a handful of personas.",
        "intended_use": "Planning and reporting; not individual treatment.",
        "stakeholders": ["marketing", "product"],
        "risk_level": "low",
    },
    "lifetime-value": {
        "purpose": "Forecast each customer's spend over the next year.",
        "intended_use": "Budgeting and value ranking as one input among several.",
        "stakeholders": ["finance", "marketing", "customers"],
        "risk_level": "medium",
    },
    "time-to-churn": {
        "purpose": "Estimate how soon at-risk customers may leave, to time outreach.",
        "intended_use": "Scheduling retention contacts.",
        "stakeholders": ["retention team", "customers"],
        "risk_level": "medium",
    },
}
SYSTEMS.update(
    {
        "decision flow retention": {
            "purpose": "Choose a retention offer, call or reminder for customers at risk.",
            "intended_use": "Real-time retention decisions; offers of 100 or more are reviewed "
            "by a person before they are sent.",
            "stakeholders": ["customers", "retention team", "customer service"],
            "risk_level": "high",
            "high_stakes": True,
        },
        "decision flow next_best_offer": {
            "purpose": "Suggest an upgrade, the annual plan or an add-on to engaged customers.",
            "intended_use": "Real-time offers on the web, by e-mail and push; never while a "
            "complaint is open.",
            "stakeholders": ["customers", "marketing"],
            "risk_level": "medium",
        },
    }
)

IDENTITY_PURPOSE = {
    "purpose": "Resolve CRM, billing and web records into one customer per person.",
    "intended_use": "Customer profiles for analytics and decisions.",
    "stakeholders": ["customers", "data team", "privacy officer"],
    "risk_level": "high",
}

RISKS: tuple[dict[str, Any], ...] = (
    {
        "risk": "The churn model withholds retention offers from some groups of customers.",
        "source": "model bias",
        "system": "churn",
        "likelihood": 3,
        "impact": 4,
        "treatment": "mitigate",
        "treatment_plan": "Fairness gate at validation; group results reviewed before approval.",
        "controls": ["A.5.4", "A.6.2.4", "A.7.4"],
    },
    {
        "risk": "Identity resolution merges two people, exposing one's data to the other.",
        "source": "data quality",
        "system": None,
        "likelihood": 2,
        "impact": 5,
        "treatment": "mitigate",
        "treatment_plan": "Birth-date conflicts never merge; large clusters held for a steward.",
        "controls": ["A.7.4", "A.7.5"],
    },
    {
        "risk": "Model performance degrades unnoticed as customer behaviour changes.",
        "source": "drift",
        "system": "churn",
        "likelihood": 4,
        "impact": 3,
        "treatment": "mitigate",
        "treatment_plan": "Monitoring of drift and calibration once the monitor layer lands.",
        "controls": ["A.6.2.6"],
    },
)

# Third-party components the demo has assessed; fairlearn is left out on purpose.
SUPPLIERS = {
    "scikit-learn": "scikit-learn developers (open source, BSD-3)",
    "lifelines": "lifelines project (open source, MIT)",
    "shap": "shap project (open source, MIT)",
    "splink": "UK Ministry of Justice (open source, MIT)",
    "duckdb": "DuckDB Foundation (open source, MIT)",
    "scipy": "SciPy developers (open source, BSD-3)",
}

NOT_APPLICABLE = {
    "A.10.4": "The demo company provides no AI system to its customers for their own use.",
}


def _users(store: Store, ledger: Ledger) -> None:
    keys = ApiKeyService(store, audit=ledger)
    existing = {key.name for key in keys.list()}
    if DATA_LEAD not in existing:
        keys.create(DATA_LEAD, Role.DATA_ENGINEER, created_by="aimsight-demo")
    if GOVERNANCE not in existing:
        keys.create(GOVERNANCE, Role.GOVERNANCE, created_by="aimsight-demo")


def seed_aims(workspace: Workspace, store: Store, ledger: Ledger, *, actor: str) -> dict[str, Any]:
    """Record the demo company's AIMS and run every automated check; returns what it found."""
    _users(store, ledger)
    records = AimsRecords(workspace, store, ledger)
    today = now_utc().date()
    records.add_policy_version(
        "We use AI to serve customers better, never against their interests: every model is "
        "validated, approved by someone who did not build it, explained on request and "
        "monitored; customers can ask for a human.",
        actor=actor,
        approved_by=GOVERNANCE,
        effective=today,
        next_review=today + timedelta(days=365),
    )
    systems = {system.name: system for system in records.sync_inventory(actor)}
    for system in systems.values():
        text = SYSTEMS.get(system.name, IDENTITY_PURPOSE)
        records.update_system(
            system.system_id,
            actor=actor,
            owner=DATA_LEAD,
            owner_role=Role.DATA_ENGINEER.value,
            **text,
        )
    for spec in RISKS:
        linked = systems.get(str(spec["system"])) if spec["system"] else None
        records.add_risk(
            str(spec["risk"]),
            actor=actor,
            source=str(spec["source"]),
            owner=GOVERNANCE,
            likelihood=int(spec["likelihood"]),
            impact=int(spec["impact"]),
            system_id=linked.system_id if linked else None,
            treatment=str(spec["treatment"]),
            treatment_plan=str(spec["treatment_plan"]),
            controls=list(spec["controls"]),
        )
    assessed = [
        name for name in systems if name in ("churn", "segments", "decision flow retention")
    ] + [name for name, system in systems.items() if system.kind == "identity_matching"]
    for name in assessed:
        records.add_impact_assessment(
            systems[name].system_id,
            actor=actor,
            affected=["customers", "customer-service staff"],
            harms=["unequal treatment", "intrusive contact", "wrong data shown to a customer"],
            severity="medium" if name == "segments" else "high",
            mitigations=["human review of high-stakes actions", "fairness gate", "opt-out"],
            expires_on=today + timedelta(days=365),
            signed_off_by=GOVERNANCE,
            signed_off_at=now_utc(),
        )
    for component, supplier in SUPPLIERS.items():
        records.assess_supplier(
            component,
            actor=actor,
            supplier=supplier,
            assessed_by=GOVERNANCE,
            outcome="approved",
            notes="Maintained, permissive licence, runs locally without network access.",
            next_review=today + timedelta(days=365),
        )
    for objective, metric, target in (
        ("The decision ledger verifies end to end", "ledger.verified", 1.0),
        ("At least 95 % of ingested batches pass their quality rules", "ingest.pass_rate", 0.95),
        ("Every production model approved by someone else", "models.approved_share", 1.0),
    ):
        records.add_objective(
            objective, actor=actor, owner=GOVERNANCE, metric=metric, target=target
        )
    catalogue = shipped_catalogue()
    for control in catalogue.controls():
        if control.id in NOT_APPLICABLE:
            records.set_soa_entry(
                control.id,
                actor=actor,
                applicable=False,
                justification=NOT_APPLICABLE[control.id],
                status="not_applicable",
                owner=GOVERNANCE,
            )
        else:
            records.set_soa_entry(
                control.id,
                actor=actor,
                applicable=True,
                justification="Applies to the company's customer-intelligence AI systems.",
                status="implemented" if control.checks else "planned",
                owner=GOVERNANCE,
            )
    results = run_checks(CheckContext(workspace, store, ledger, records))
    records.save_check_results(results, run_by=actor)
    metrics = LiveMetrics(
        workspace,
        store,
        ledger,
        check_pass_rate=lambda: sum(r.status.value == "pass" for r in results) / len(results),
    )
    for bound in records.objectives():
        reading = metrics.read(bound.metric)
        if reading.value is not None:
            records.record_kpi(bound.objective_id, reading.value, actor=actor)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    failing = sorted(r.check_id for r in results if r.status.value == "fail")
    return {
        "AI systems": len(systems),
        **{f"checks {status}": count for status, count in sorted(counts.items())},
        "failing": ", ".join(failing) or "none",
    }
