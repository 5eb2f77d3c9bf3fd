"""The /v1 routes, one module per resource; each is HTTP only and calls a service."""

from __future__ import annotations

from fastapi.routing import APIRoute

from aimsight.api._routes import (
    aims,
    collect,
    consents,
    decisions,
    features,
    identity,
    ledger,
    meta,
    models,
    users,
)
from aimsight.api._routes.common import API_VERSION

__all__ = ["API_VERSION", "v1_routes"]


def v1_routes() -> list[APIRoute]:
    """Every /v1 route, with its full path, in the order the docs list them."""
    routes: list[APIRoute] = []
    for module in (
        meta,
        users,
        ledger,
        collect,
        identity,
        features,
        consents,
        models,
        decisions,
        aims,
    ):
        routes.extend(route for route in module.router.routes if isinstance(route, APIRoute))
    return routes
