"""Training labels: what happens to a customer in the window after the as-of time T.

``churn``
    The population is customers *active* at T: a successful payment in the ``active_days``
    before T (default 45). ``churned`` is 1 when they make no successful payment in
    ``[T, T + window_days)`` (default 90). For survival models, ``event`` and
    ``duration_days`` say when they lapsed: a customer lapses ``active_days`` after their
    last payment before a silence that runs to the end of the window, so ``event`` is 1 when
    that moment falls inside the window and ``duration_days`` is the days from T to it;
    otherwise ``event`` is 0 and the duration is censored at ``window_days``. Every churned
    customer has ``event`` 1 (when the window is at least ``active_days`` long); a customer
    who pays once more inside the window and then stops has ``event`` 1 too but is not
    ``churned``.
``propensity``
    The population is every customer known at T (or, with ``active_days``, the active
    ones); the label (``name``, default ``converted``) is 1 when a row of ``source``
    matching ``where`` (a web purchase, say) falls in ``[T, T + window_days)``.

Windows start at T itself, the moment features stop (they read rows strictly before T), so
every event is either evidence or outcome, never both and never neither.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aimsight.features._definitions import DATASET, NAME, Where

__all__ = ["LabelSpec"]


class LabelSpec(BaseModel):
    """A declarative training label (see the module docstring).

    Examples:
        >>> LabelSpec(kind="churn").columns
        ('churned', 'duration_days', 'event')
        >>> LabelSpec(kind="propensity", source="web.events", where={"type": "purchase"},
        ...           window_days=30, name="purchased").target
        'purchased'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["churn", "propensity"]
    window_days: int = Field(default=90, ge=1, le=3650)
    active_days: int | None = Field(default=None, ge=1, le=3650)
    source: str | None = Field(default=None, pattern=DATASET)
    where: Where = {}
    name: str | None = Field(default=None, pattern=NAME)

    @model_validator(mode="after")
    def _consistent(self) -> LabelSpec:
        if self.kind == "churn":
            if self.source is not None or self.where:
                raise ValueError(
                    "a churn label reads the payments the feature definitions declare; "
                    "leave source and where out"
                )
            if self.name not in (None, "churned"):
                raise ValueError("a churn label's column is always named churned")
        elif self.source is None:
            raise ValueError("a propensity label needs the source whose event it predicts")
        return self

    @property
    def active(self) -> int | None:
        """Days of payment history that make a customer active (churn: 45 by default)."""
        if self.kind == "churn":
            return self.active_days or 45
        return self.active_days

    @property
    def target(self) -> str:
        """The binary label column a classifier learns."""
        if self.kind == "churn":
            return "churned"
        return self.name or "converted"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every label column the training frame carries."""
        if self.kind == "churn":
            return ("churned", "duration_days", "event")
        return (self.target,)

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready form (stored with the training data's provenance)."""
        return self.model_dump(mode="json")
