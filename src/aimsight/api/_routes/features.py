"""/v1/features and /v1/customers/{id}/features: definitions, online lookups, publishing.

Routes parse, call :class:`~aimsight.features.FeatureService` and return a schema. A lookup
reads the newest online snapshot (held in memory by the app's one feature service); publishing
computes everyone's features and answers when the snapshot is written.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import FeaturesDep
from aimsight.api._routes.common import new_router
from aimsight.api._schemas import (
    CustomerFeaturesPublic,
    FeatureDefinitionsPublic,
    OnlinePublishCreate,
    OnlineSnapshotPublic,
)
from aimsight.features import DEFINITIONS_PATH
from aimsight.security import Permission

__all__ = ["router"]

router = new_router("features")

CustomerRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        description="A customer id (`cus_...`), one of its aliases, or a record key "
        "(`crm.customers:C1001`).",
    ),
]


@router.get("/features", **guarded(Permission.PROFILES_READ))
def list_features(features: FeaturesDep) -> FeatureDefinitionsPublic:
    """The feature definitions in force: sources, population, payments and every feature."""
    definitions = features.definitions()
    file = DEFINITIONS_PATH if features.definitions_path.exists() else None
    return FeatureDefinitionsPublic.of(definitions, file)


@router.get("/customers/{customer_id}/features", **guarded(Permission.PROFILES_READ))
def customer_features(customer_id: CustomerRef, features: FeaturesDep) -> CustomerFeaturesPublic:
    """A customer's features from the newest online snapshot (404 when they are not in it,
    or when none has been published)."""
    found = dict(features.online(customer_id))
    return CustomerFeaturesPublic(
        customer_id=found.pop("customer_id"), as_of=found.pop("as_of"), features=found
    )


@router.post("/features/online", **guarded(Permission.MODELS_TRAIN))
def publish_online(
    features: FeaturesDep, caller: CallerDep, body: OnlinePublishCreate | None = None
) -> OnlineSnapshotPublic:
    """Compute everyone's features and publish them as the online snapshot lookups read.

    Without ``as_of`` the snapshot describes the lake just after its latest event. A bad
    ``as_of`` is a 422 naming the field.
    """
    wanted = body or OnlinePublishCreate()
    snapshot = features.publish_online(wanted.as_of, actor=f"api:{caller.key_id}")
    return OnlineSnapshotPublic.model_validate(snapshot.to_dict())
