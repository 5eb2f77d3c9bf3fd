"""Checks over the AIMS records with the live system: impact assessments (A.5.2-A.5.4),
owners holding roles (A.3.2) and third-party components assessed (A.10.3)."""

from __future__ import annotations

from collections import defaultdict

from aimsight.aims._checks_base import CheckContext, CheckOutcome, parse_date, parse_time
from aimsight.aims._model import (
    AISystem,
    CheckStatus,
    Evidence,
    ImpactAssessment,
    SupplierAssessment,
)
from aimsight.core import InvalidInput
from aimsight.security import ApiKey, Role, parse_role

__all__ = ["impact_assessments_current", "owners_hold_roles", "third_parties_assessed"]


def impact_assessments_current(context: CheckContext) -> CheckOutcome:
    """Every in-scope AI system has an impact assessment that is signed off and unexpired.

    An assessment is current when it names who signed it off and when, and its expiry date is
    today or later. Warns when the inventory holds no in-scope AI system.
    """
    systems = [system for system in context.records.ai_systems() if system.in_scope]
    if not systems:
        return _no_systems(context)
    by_system: dict[str, list[ImpactAssessment]] = defaultdict(list)
    for assessment in context.records.impact_assessments():
        by_system[assessment.system_id].append(assessment)
    evidence: list[Evidence] = []
    findings: list[str] = []
    for system in systems:
        mine = by_system.get(system.system_id, [])
        current = [a for a in mine if _why_not_current(a, context) is None]
        if current:
            best = max(current, key=lambda a: a.expires_on)
            evidence.append(
                Evidence(
                    "impact_assessment",
                    best.assessment_id,
                    f"{_name(system)}: signed off by {best.signed_off_by} on "
                    f"{best.signed_off_at}, expires {best.expires_on}",
                )
            )
        elif not mine:
            findings.append(
                f"{_name(system)} has no impact assessment; assess its impact on individuals, "
                "groups and society and have it signed off"
            )
        else:
            latest = max(mine, key=lambda a: (a.created_at, a.expires_on))
            findings.append(
                f"{_name(system)} has no current impact assessment: the latest "
                f"({latest.assessment_id}) {_why_not_current(latest, context)}"
            )
    return _outcome(
        findings,
        evidence,
        failed=f"{len(findings)} of {len(systems)} in-scope AI system(s) lack a current impact "
        "assessment",
        passed=f"All {len(systems)} in-scope AI system(s) have a signed-off, unexpired impact "
        "assessment.",
    )


def owners_hold_roles(context: CheckContext) -> CheckOutcome:
    """Every AI system has an owner who holds a role in aimsight.

    The owner holds a role when an active API key has the owner's name (and, if the system
    records ``owner_role``, one of those keys has that role), when the owner is itself an
    aimsight role, or when ``owner_role`` names an aimsight role. Out-of-scope systems are
    checked too: an inventory entry nobody answers for is a gap either way.
    """
    systems = context.records.ai_systems()
    if not systems:
        return _no_systems(context)
    keys: dict[str, list[ApiKey]] = defaultdict(list)
    for key in context.api_keys.list():
        keys[key.name.strip().casefold()].append(key)
    evidence: list[Evidence] = []
    findings: list[str] = []
    for system in systems:
        problem, proof = _owner_problem(system, keys)
        if problem:
            findings.append(f"{_name(system)}: {problem}")
        elif proof:
            evidence.append(proof)
    return _outcome(
        findings,
        evidence,
        failed=f"{len(findings)} of {len(systems)} AI system(s) have no owner holding a role",
        passed=f"All {len(systems)} AI system(s) have an owner who holds an aimsight role.",
    )


def third_parties_assessed(context: CheckContext) -> CheckOutcome:
    """Every third-party component an in-scope AI system lists has a standing assessment.

    The latest assessment of each component (matched by name, ignoring case) must not be
    rejected and must not be past its next review date. Warns when no in-scope system lists a
    third-party component: almost every AI system relies on some, so the list is likely
    unfilled.
    """
    systems = [system for system in context.records.ai_systems() if system.in_scope]
    if not systems:
        return _no_systems(context)
    users: dict[str, list[str]] = defaultdict(list)
    shown: dict[str, str] = {}
    for system in systems:
        for component in system.third_party:
            key = component.strip().casefold()
            if key:
                users[key].append(system.name)
                shown.setdefault(key, component.strip())
    if not users:
        return CheckOutcome(
            CheckStatus.WARN,
            f"None of the {len(systems)} in-scope AI system(s) lists a third-party component "
            "(libraries, models or services it relies on); record them so they can be assessed.",
        )
    latest: dict[str, SupplierAssessment] = {}
    for assessment in context.records.supplier_assessments():
        key = assessment.component.strip().casefold()
        if key not in latest or _assessed_key(assessment) > _assessed_key(latest[key]):
            latest[key] = assessment
    evidence: list[Evidence] = []
    findings: list[str] = []
    for key in sorted(users):
        component = shown[key]
        used_by = ", ".join(sorted(set(users[key])))
        standing = latest.get(key)
        if standing is None:
            findings.append(f"{component} (used by {used_by}) has no supplier assessment")
            continue
        problem = _supplier_problem(standing, context)
        if problem:
            findings.append(f"{component} (used by {used_by}): {problem}")
            continue
        evidence.append(
            Evidence(
                "supplier_assessment",
                standing.assessment_id,
                f"{component} from {standing.supplier}: {standing.outcome} by "
                f"{standing.assessed_by} on {standing.assessed_at}, next review "
                f"{standing.next_review or 'not set'}",
            )
        )
    return _outcome(
        findings,
        evidence,
        failed=f"{len(findings)} of {len(users)} third-party component(s) are not assessed",
        passed=f"All {len(users)} third-party component(s) used by in-scope AI systems have a "
        "standing supplier assessment.",
    )


def _why_not_current(assessment: ImpactAssessment, context: CheckContext) -> str | None:
    """Why an impact assessment is not current (in words), or ``None`` when it is."""
    if not (assessment.signed_off_by or "").strip() or not assessment.signed_off_at:
        return "is not signed off"
    expires = parse_date(assessment.expires_on)
    if expires is None:
        return f"has no readable expiry date ({assessment.expires_on!r})"
    if expires < context.today:
        return f"expired on {expires.isoformat()}; review it and sign it off again"
    return None


def _owner_problem(
    system: AISystem, keys: dict[str, list[ApiKey]]
) -> tuple[str | None, Evidence | None]:
    """What is wrong with a system's owner, or the evidence that the owner holds a role."""
    owner = (system.owner or "").strip()
    if not owner:
        return "it has no owner; name the person or role who answers for it", None
    recorded: Role | None = None
    if system.owner_role:
        try:
            recorded = parse_role(system.owner_role)
        except InvalidInput:
            allowed = ", ".join(role.value for role in Role)
            return (
                f"its owner_role {system.owner_role!r} is not an aimsight role ({allowed})",
                None,
            )
    holders = keys.get(owner.casefold(), [])
    if holders:
        matching = [key for key in holders if recorded is None or key.role == recorded]
        if not matching:
            held = ", ".join(sorted({key.role.value for key in holders}))
            return (
                f"its owner {owner} is recorded with the role {recorded} but holds {held}; "
                "correct the record or the key",
                None,
            )
        key = matching[0]
        return None, Evidence("api_key", key.key_id, f"{owner} holds {key.role.value}")
    as_role = _role_named(owner)
    if as_role is not None:
        return None, Evidence("role", as_role.value, f"{_name(system)} is owned by the role")
    if recorded is not None:
        return None, Evidence(
            "ai_system", system.system_id, f"owner {owner} recorded with the role {recorded}"
        )
    return (
        f"its owner {owner} holds no role: no active API key has that name and no owner_role "
        "is recorded",
        None,
    )


def _role_named(text: str) -> Role | None:
    try:
        return parse_role(text)
    except InvalidInput:
        return None


def _supplier_problem(assessment: SupplierAssessment, context: CheckContext) -> str | None:
    """Why a supplier assessment does not stand (in words), or ``None`` when it does."""
    if assessment.outcome.strip().lower() == "rejected":
        return (
            f"its latest assessment ({assessment.assessment_id}, {assessment.assessed_at}) "
            "rejected it; replace the component or assess it again"
        )
    review = parse_date(assessment.next_review)
    if assessment.next_review and review is None:
        return f"its next review date {assessment.next_review!r} cannot be read"
    if review is not None and review < context.today:
        return f"its assessment expired: the review was due on {review.isoformat()}"
    return None


def _assessed_key(assessment: SupplierAssessment) -> tuple[str, str]:
    moment = parse_time(assessment.assessed_at)
    return (moment.isoformat() if moment else "", assessment.assessment_id)


def _name(system: AISystem) -> str:
    return f"{system.name} ({system.system_id})"


def _no_systems(context: CheckContext) -> CheckOutcome:
    systems = context.records.ai_systems()
    if systems:
        return CheckOutcome(
            CheckStatus.WARN,
            f"None of the {len(systems)} AI system(s) in the inventory is in scope, so there "
            "is nothing to check; review the scope decisions.",
        )
    return CheckOutcome(
        CheckStatus.WARN,
        "The AI system inventory is empty, so there is nothing to check; register the AI "
        "systems first.",
    )


def _outcome(
    findings: list[str], evidence: list[Evidence], *, failed: str, passed: str
) -> CheckOutcome:
    if findings:
        return CheckOutcome(
            CheckStatus.FAIL, f"{failed}: {findings[0]}", tuple(evidence), tuple(findings)
        )
    return CheckOutcome(CheckStatus.PASS, passed, tuple(evidence))
