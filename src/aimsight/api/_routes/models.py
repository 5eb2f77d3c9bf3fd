"""/v1/models: training, the registry's inventory, versions, cards, lifecycle and scoring.

Routes parse, call :class:`~aimsight.registry.ModelRegistry` and return a schema. The approver
of a version is the calling key's name and role, so separation of duties is checked against
who really calls; scoring enforces the version's signature and answers 422 naming every bad
field. Training is synchronous: the answer is the registered version with its validation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from aimsight.api._auth import CallerDep, guarded
from aimsight.api._deps import RegistryDep, TrainerDep
from aimsight.api._routes.common import new_router
from aimsight.api._schemas import (
    ApprovalCreate,
    ApprovalPublic,
    DeclaredModelList,
    DeclaredModelPublic,
    ModelCardPublic,
    ModelDetail,
    ModelHistory,
    ModelList,
    ModelVersionBrief,
    ModelVersionPublic,
    PromotionCreate,
    ReasonCreate,
    ScoreRequest,
    ScoreResponse,
    ServingPublic,
    TrainingResultPublic,
    ValidationReportPublic,
)
from aimsight.registry import MODELS_CONFIG_PATH, Principal
from aimsight.security import ApiKey, Permission

__all__ = ["router"]

router = new_router("models")

NameParam = Annotated[
    str, Path(min_length=1, max_length=63, description="The model's name, e.g. `churn`.")
]
VersionParam = Annotated[
    str,
    Path(
        min_length=1,
        max_length=20,
        description="A version number (`3` or `v3`), `latest`, `champion` or `canary`.",
    ),
]
_CARD_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The card as JSON, Markdown (`text/markdown`) or a self-contained HTML "
        "page (`text/html`).",
        "content": {"text/markdown": {}, "text/html": {}},
    }
}


def _actor(caller: ApiKey) -> str:
    return f"api:{caller.key_id}"


@router.get("/models", **guarded(Permission.MODELS_READ))
def list_models(registry: RegistryDep) -> ModelList:
    """List registered models: latest version, champion, canary and stages."""
    return ModelList.model_validate(
        {"models": [summary.to_dict() for summary in registry.list_models()]}
    )


@router.get("/models/{name}", **guarded(Permission.MODELS_READ))
def get_model(name: NameParam, registry: RegistryDep) -> ModelDetail:
    """A model: which versions serve now, and every version."""
    versions = registry.versions(name)
    return ModelDetail(
        name=name,
        serving=ServingPublic.model_validate(registry.serving(name).to_dict()),
        versions=[ModelVersionBrief.of(version) for version in versions],
    )


@router.get("/models/{name}/versions/{version}", **guarded(Permission.MODELS_READ))
def get_version(
    name: NameParam, version: VersionParam, registry: RegistryDep
) -> ModelVersionPublic:
    """One version with all its evidence (metrics, evaluation, fairness, data snapshot)."""
    return ModelVersionPublic.of(registry.version(name, version))


@router.get(
    "/models/{name}/versions/{version}/card",
    response_model=ModelCardPublic,
    responses=_CARD_RESPONSES,
    **guarded(Permission.MODELS_READ),
)
def get_card(
    name: NameParam,
    version: VersionParam,
    registry: RegistryDep,
    format: Annotated[
        Literal["json", "markdown", "html"], Query(description="`json`, `markdown` or `html`.")
    ] = "json",
) -> ModelCardPublic | Response:
    """A version's model card (Mitchell et al. 2019) as JSON, Markdown or HTML."""
    card = registry.card(name, version)
    if format == "markdown":
        return PlainTextResponse(card.to_markdown(), media_type="text/markdown; charset=utf-8")
    if format == "html":
        return HTMLResponse(card.to_html())
    return ModelCardPublic.model_validate(card.to_dict())


@router.post("/models/{name}/versions/{version}/validate", **guarded(Permission.MODELS_TRAIN))
def validate_version(
    name: NameParam, version: VersionParam, registry: RegistryDep, caller: CallerDep
) -> ValidationReportPublic:
    """Run the automatic checks; a draft that passes them all becomes validated."""
    return ValidationReportPublic.of(registry.validate(name, version, actor=_actor(caller)))


@router.post("/models/{name}/versions/{version}/approve", **guarded(Permission.MODELS_APPROVE))
def approve_version(
    name: NameParam,
    version: VersionParam,
    body: ApprovalCreate,
    registry: RegistryDep,
    caller: CallerDep,
) -> ApprovalPublic:
    """Approve a validated version as the caller; approving one's own model is refused (403)."""
    approval = registry.approve(
        name,
        version,
        approver=Principal(caller.name, caller.role, caller.key_id),
        rationale=body.rationale,
    )
    return ApprovalPublic.model_validate(approval.to_dict())


@router.post("/models/{name}/versions/{version}/promote", **guarded(Permission.MODELS_PROMOTE))
def promote_version(
    name: NameParam,
    version: VersionParam,
    body: PromotionCreate,
    registry: RegistryDep,
    caller: CallerDep,
) -> ModelVersionBrief:
    """Promote an approved version to shadow, canary (with a share) or production."""
    promoted = registry.promote(
        name,
        version,
        to=body.to,
        actor=_actor(caller),
        share=body.share,
        exception=body.exception,
    )
    return ModelVersionBrief.of(promoted)


@router.post("/models/{name}/versions/{version}/retire", **guarded(Permission.MODELS_PROMOTE))
def retire_version(
    name: NameParam,
    version: VersionParam,
    body: ReasonCreate,
    registry: RegistryDep,
    caller: CallerDep,
) -> ModelVersionBrief:
    """Retire a version for good (not the champion)."""
    retired = registry.retire(name, version, actor=_actor(caller), reason=body.reason)
    return ModelVersionBrief.of(retired)


@router.post("/models/{name}/rollback", **guarded(Permission.MODELS_PROMOTE))
def rollback_model(
    name: NameParam, body: ReasonCreate, registry: RegistryDep, caller: CallerDep
) -> ModelVersionBrief:
    """Make the previous champion the champion again; the current one is retired."""
    return ModelVersionBrief.of(registry.rollback(name, actor=_actor(caller), reason=body.reason))


@router.get("/models/{name}/history", **guarded(Permission.MODELS_READ))
def model_history(name: NameParam, registry: RegistryDep) -> ModelHistory:
    """Every transition of a model, and which version was champion when."""
    transitions = registry.history(name)
    return ModelHistory.model_validate(
        {
            "name": name,
            "transitions": [step.to_dict() for step in transitions],
            "production": [i.to_dict() for i in registry.production_history(name)],
        }
    )


@router.post("/models/{name}/score", **guarded(Permission.DECISIONS_MAKE))
def score(name: NameParam, body: ScoreRequest, registry: RegistryDep) -> ScoreResponse:
    """Score rows with a serving version (the champion by default), signature enforced.

    Rows must carry exactly the version's fields (422 names every bad one); a version not in
    shadow, canary or production is refused (409), so no draft scores a customer.
    """
    model = registry.load(name, body.ref, serving_only=True)
    prediction = model.predict(body.rows, explain=body.explain, top=body.top)
    return ScoreResponse.model_validate(prediction.to_dict())


@router.get("/declared-models", **guarded(Permission.MODELS_READ))
def declared_models(trainer: TrainerDep, registry: RegistryDep) -> DeclaredModelList:
    """The models declared in ``models/models.yaml`` (what can be trained), in file order,
    each with its latest registered version."""
    config = trainer.config()
    latest = {summary.name: summary.latest_version for summary in registry.list_models()}
    return DeclaredModelList(
        file=str(MODELS_CONFIG_PATH) if trainer.config_path.exists() else None,
        models=[DeclaredModelPublic.of(spec, latest.get(spec.name)) for spec in config.models],
    )


@router.post("/models/{name}/train", **guarded(Permission.MODELS_TRAIN))
def train_model(name: NameParam, trainer: TrainerDep, caller: CallerDep) -> TrainingResultPublic:
    """Train a declared model, register it as a new version and validate it at once.

    Answers when training is done. The version is `validated` when every check passed and
    stays a `draft` otherwise (the report says which failed); an undeclared name is a 404, and
    data that cannot train the model a 422 naming the setting or column.
    """
    return TrainingResultPublic.of(trainer.train(name, actor=_actor(caller)))
