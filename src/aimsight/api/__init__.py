"""The HTTP API: a FastAPI app whose every /v1 route needs an API key with a permission."""

from aimsight.api._app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
