"""The AI systems inventory (ISO/IEC 42001 4.3, A.4), kept by hand and synced from what runs.

:meth:`InventoryRecords.sync_inventory` registers every model in the registry and the
identity-matching model (once identity resolution has run) as AI systems; a system that already
lists the component is joined, never duplicated. New systems start with no owner and risk level
``unassessed``, so the control checks flag them until someone takes them on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aimsight.aims._fields import choice, from_json, now_text, optional_text, text, texts, to_json
from aimsight.aims._model import AISystem
from aimsight.aims._recording import RecordsBase, Unit, get_row
from aimsight.aims._tables import AISystemRow
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.core.ids import new_id
from aimsight.decide import DecisionService
from aimsight.identity import IdentityService
from aimsight.registry import ModelRegistry
from aimsight.security import ApiKeyService, Role

__all__ = [
    "IDENTITY_COMPONENT",
    "KIND_LIBRARIES",
    "RISK_LEVELS",
    "SYSTEM_KINDS",
    "InventoryRecords",
]

SYSTEM_KINDS = ("model", "identity_matching", "decision_flow", "other")
RISK_LEVELS = ("low", "medium", "high", "unassessed")

KIND_LIBRARIES: Mapping[str, tuple[str, ...]] = {
    "churn": ("scikit-learn", "shap", "fairlearn"),
    "propensity": ("scikit-learn", "shap", "fairlearn"),
    "survival": ("lifelines",),
    "segmentation": ("scikit-learn",),
    "clv": ("scipy",),
}
"""The third-party libraries a model of each insight kind relies on to fit, score or explain."""

IDENTITY_COMPONENT = "identity/matching"
_IDENTITY_LIBRARIES = ("splink", "duckdb")
_INFRASTRUCTURE = frozenset({"python", "aimsight", "numpy", "pandas", "joblib"})
_PERSONAL = ("owner", "purpose", "intended_use", "scope_justification", "stakeholders")
_FIELDS = (
    "name",
    "kind",
    "owner",
    "owner_role",
    "purpose",
    "intended_use",
    "in_scope",
    "scope_justification",
    "stakeholders",
    "risk_level",
    "components",
    "third_party",
    "high_stakes",
    "extra",
)
_LISTS = ("stakeholders", "components", "third_party")


@dataclass(frozen=True)
class Discovered:
    """An AI system found running: what sync registers or joins."""

    name: str
    kind: str
    component: str
    third_party: tuple[str, ...]
    purpose: str
    intended_use: str
    source: str


class InventoryRecords(RecordsBase):
    """AI systems: create, update, list, and sync from the registry and identity."""

    def create_system(
        self,
        name: str,
        *,
        actor: str,
        kind: str = "other",
        owner: str | None = None,
        owner_role: str | None = None,
        purpose: str = "",
        intended_use: str = "",
        in_scope: bool = True,
        scope_justification: str = "",
        stakeholders: Sequence[str] = (),
        risk_level: str = "unassessed",
        components: Sequence[str] = (),
        third_party: Sequence[str] = (),
        high_stakes: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> AISystem:
        """Add an AI system to the inventory.

        ``owner_role`` is found from ``owner`` when left out: the owner may be a role name or
        the name of an API key, whose role is used.

        Raises:
            InvalidInput: a field is malformed, e.g. out of scope without a justification.
            Conflict: another AI system has this name.
        """
        values = self._checked_system(
            {
                "name": name,
                "kind": kind,
                "owner": owner,
                "owner_role": owner_role,
                "purpose": purpose,
                "intended_use": intended_use,
                "in_scope": in_scope,
                "scope_justification": scope_justification,
                "stakeholders": stakeholders,
                "risk_level": risk_level,
                "components": components,
                "third_party": third_party,
                "high_stakes": high_stakes,
                "extra": dict(extra or {}),
            }
        )
        with self._unit(actor) as unit:
            row = self._insert_system(unit, values, via="manual")
        return _system_of(row)

    def update_system(self, system_id: str, *, actor: str, **changes: Any) -> AISystem:
        """Change fields of an AI system (any of the fields :meth:`create_system` takes).

        Raises:
            NotFound: no AI system has this id.
            InvalidInput: an unknown field, or a value that is not allowed.
            Conflict: the new name is taken by another AI system.
        """
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise InvalidInput(
                f"unknown AI system field {unknown[0]!r}; the fields are {', '.join(_FIELDS)}",
                field=unknown[0],
            )
        with self._unit(actor) as unit:
            row = get_row(unit.session, AISystemRow, system_id, "AI system", "system_id")
            current = _values_of(row)
            if "owner" in changes and "owner_role" not in changes:
                changes = {**changes, "owner_role": None}  # found again from the new owner
            values = self._checked_system({**current, **changes})
            changed = [name for name in _FIELDS if values[name] != current[name]]
            if changed:
                self._apply_system(unit, row, values, changed, via="manual")
        return _system_of(row)

    def ai_systems(self) -> list[AISystem]:
        """Every AI system in the inventory, oldest first."""
        with self._store.session() as session:
            rows = session.scalars(
                select(AISystemRow).order_by(AISystemRow.created_at, AISystemRow.system_id)
            ).all()
        return [_system_of(row) for row in rows]

    def ai_system(self, system_id: str) -> AISystem:
        """One AI system.

        Raises:
            NotFound: no AI system has this id.
        """
        with self._store.session() as session:
            return _system_of(get_row(session, AISystemRow, system_id, "AI system", "system_id"))

    # -- syncing from what runs -------------------------------------------------------------

    def sync_inventory(self, actor: str) -> list[AISystem]:
        """Register every model, identity-matching model and decision flow as an AI system.

        A system whose components (or, failing that, whose name) match what was found is
        joined: the component and its third-party libraries are added to it if missing. Running
        it twice changes nothing the second time.

        Returns:
            The AI systems covering what was found, in the order found.
        """
        found = [
            *self._discover_models(),
            *self._discover_identity_matching(),
            *self._discover_decision_flows(),
        ]
        return [self._join_or_create(item, actor) for item in found]

    def _discover_models(self) -> list[Discovered]:
        """Every model in the registry, with the libraries its kind relies on."""
        registry = ModelRegistry(self._workspace, self._store, self._ledger)
        found = []
        for summary in registry.list_models():
            latest = registry.version(summary.name, "latest")
            libraries = KIND_LIBRARIES.get(summary.kind) or tuple(
                sorted(set(latest.provenance) - _INFRASTRUCTURE)
            )
            found.append(
                Discovered(
                    name=summary.name,
                    kind="model",
                    component=summary.name,
                    third_party=libraries,
                    purpose=f"{summary.kind} model {summary.name!r} in the model registry",
                    intended_use=latest.card_inputs.intended_use,
                    source="registry",
                )
            )
        return found

    def _discover_identity_matching(self) -> list[Discovered]:
        """The identity-matching model, once a resolution run has completed."""
        runs = IdentityService(self._workspace, self._store, self._ledger).runs(limit=50)
        if not any(run.get("status") == "completed" for run in runs):
            return []
        return [
            Discovered(
                name="identity-matching",
                kind="identity_matching",
                component=IDENTITY_COMPONENT,
                third_party=_IDENTITY_LIBRARIES,
                purpose="Probabilistic record linkage that merges source records into customers",
                intended_use="Resolve records from every source into one customer profile",
                source="identity",
            )
        ]

    def _discover_decision_flows(self) -> list[Discovered]:
        """Every decision flow the workspace serves, with the models it calls."""
        service = DecisionService(self._workspace, self._store, self._ledger)
        found = []
        for flow in service.flows().values():
            models = sorted({use.model for use in flow.models.values()})
            found.append(
                Discovered(
                    name=f"decision flow {flow.flow}",
                    kind="decision_flow",
                    component=f"flow:{flow.flow}",
                    third_party=(),  # its models are AI systems of their own
                    purpose=flow.description,
                    intended_use=(
                        f"Real-time decisions on {', '.join(flow.channels)}"
                        + (f" using models {', '.join(models)}" if models else "")
                        + (", high-stakes actions reviewed by a person" if flow.review else "")
                    ),
                    source="decide",
                )
            )
        return found

    def _join_or_create(self, item: Discovered, actor: str) -> AISystem:
        with self._unit(actor) as unit:
            rows = unit.session.scalars(
                select(AISystemRow).order_by(AISystemRow.created_at, AISystemRow.system_id)
            ).all()
            match = next(
                (row for row in rows if item.component in from_json(row.components)), None
            ) or next((row for row in rows if row.name == item.name), None)
            if match is None:
                values = self._checked_system(
                    {
                        "name": item.name,
                        "kind": item.kind,
                        "owner": None,
                        "owner_role": None,
                        "purpose": item.purpose,
                        "intended_use": item.intended_use,
                        "in_scope": True,
                        "scope_justification": "",
                        "stakeholders": [],
                        "risk_level": "unassessed",
                        "components": [item.component],
                        "third_party": list(item.third_party),
                        "high_stakes": False,
                        "extra": {"discovered_from": item.source},
                    }
                )
                return _system_of(self._insert_system(unit, values, via="sync"))
            current = _values_of(match)
            values = dict(current)
            values["components"] = _union(current["components"], [item.component])
            values["third_party"] = _union(current["third_party"], list(item.third_party))
            changed = [
                name for name in ("components", "third_party") if values[name] != current[name]
            ]
            if changed:
                self._apply_system(unit, match, values, changed, via="sync")
            return _system_of(match)

    # -- writing ----------------------------------------------------------------------------

    def _insert_system(self, unit: Unit, values: dict[str, Any], *, via: str) -> AISystemRow:
        _refuse_taken_name(unit, values["name"], None)
        now = now_text()
        system_id = new_id("ais")
        try:
            row = unit.add(
                AISystemRow(
                    system_id=system_id,
                    **_columns(values),
                    created_at=now,
                    updated_at=now,
                    updated_by=unit.actor,
                )
            )
        except IntegrityError:
            raise _name_taken(values["name"]) from None
        unit.record(
            "aims.system.created",
            system_id,
            {"system_id": system_id, "via": via, **_public(values, _FIELDS)},
            _personal(values, _PERSONAL),
        )
        return row

    def _apply_system(
        self, unit: Unit, row: AISystemRow, values: dict[str, Any], changed: list[str], *, via: str
    ) -> None:
        if "name" in changed:
            _refuse_taken_name(unit, values["name"], row.system_id)
        columns = _columns(values)
        unit.update(
            row,
            **{name: columns[name] for name in changed},
            updated_at=now_text(),
            updated_by=unit.actor,
        )
        unit.session.flush()
        unit.record(
            "aims.system.updated",
            row.system_id,
            {
                "system_id": row.system_id,
                "via": via,
                "changed": changed,
                **_public(values, changed),
            },
            _personal(values, [name for name in changed if name in _PERSONAL]),
        )

    def _checked_system(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every field of an AI system, validated; ``owner_role`` found from the owner."""
        checked: dict[str, Any] = {
            "name": text("name", values["name"], limit=200),
            "kind": choice("kind", values["kind"], SYSTEM_KINDS),
            "owner": optional_text("owner", values["owner"]),
            "purpose": text("purpose", values["purpose"], required=False),
            "intended_use": text("intended_use", values["intended_use"], required=False),
            "scope_justification": text(
                "scope_justification", values["scope_justification"], required=False
            ),
            "risk_level": choice("risk_level", values["risk_level"], RISK_LEVELS),
        }
        for name in ("in_scope", "high_stakes"):
            if not isinstance(values[name], bool):
                raise InvalidInput(f"{name} must be true or false", field=name)
            checked[name] = values[name]
        for name in _LISTS:
            checked[name] = _union([], texts(name, values[name], limit=200))
        if not checked["in_scope"] and not checked["scope_justification"]:
            raise InvalidInput(
                "an AI system left out of the management system's scope needs a "
                "scope_justification saying why (ISO/IEC 42001 4.3)",
                field="scope_justification",
            )
        extra = values["extra"]
        if not isinstance(extra, Mapping):
            raise InvalidInput("extra must be a mapping of names to values", field="extra")
        to_json("extra", dict(extra))
        checked["extra"] = dict(extra)
        role = values["owner_role"]
        if role is not None:
            checked["owner_role"] = _role_name(role)
        elif checked["owner"] is not None:
            checked["owner_role"] = self._owner_role_of(checked["owner"])
        else:
            checked["owner_role"] = None
        return checked

    def _owner_role_of(self, owner: str) -> str | None:
        """The application role ``owner`` names or holds (by API key name), else ``None``."""
        wanted = owner.strip().lower().replace("-", "_")
        if wanted in {role.value for role in Role}:
            return wanted
        for key in ApiKeyService(self._store).list():
            if key.name == owner:
                return key.role.value
        return None


def _role_name(role: object) -> str:
    wanted = str(role).strip().lower().replace("-", "_")
    allowed = [item.value for item in Role]
    if wanted not in allowed:
        raise InvalidInput(
            f"owner_role {role!r} is not an application role; use one of: {', '.join(allowed)}",
            field="owner_role",
        )
    return wanted


def _refuse_taken_name(unit: Unit, name: str, system_id: str | None) -> None:
    other = unit.session.scalar(select(AISystemRow.system_id).where(AISystemRow.name == name))
    if other is not None and other != system_id:
        raise _name_taken(name)


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"an AI system named {name!r} exists already; pick another name or update that one"
    )


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    merged: list[str] = []
    for item in [*first, *second]:
        if item not in merged:
            merged.append(item)
    return merged


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Checked values as the row stores them (lists and ``extra`` as JSON text)."""
    columns = dict(values)
    for name in (*_LISTS, "extra"):
        columns[name] = to_json(name, values[name])
    return columns


def _values_of(row: AISystemRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _FIELDS}
    for name in (*_LISTS, "extra"):
        values[name] = from_json(values[name])
    return values


def _public(values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: values[name] for name in names if name not in _PERSONAL and name != "extra"}


def _personal(values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: values[name] for name in names if values[name] not in (None, "", [])}


def _system_of(row: AISystemRow) -> AISystem:
    values = _values_of(row)
    return AISystem(
        system_id=row.system_id,
        name=values["name"],
        kind=values["kind"],
        owner=values["owner"],
        owner_role=values["owner_role"],
        purpose=values["purpose"],
        intended_use=values["intended_use"],
        in_scope=values["in_scope"],
        scope_justification=values["scope_justification"],
        stakeholders=tuple(values["stakeholders"]),
        risk_level=values["risk_level"],
        components=tuple(values["components"]),
        third_party=tuple(values["third_party"]),
        high_stakes=values["high_stakes"],
        created_at=row.created_at,
        extra=values["extra"],
    )
