"""Every error has one JSON shape, a matching status and the request id; none leaks a trace."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from aimsight.api import create_app
from aimsight.api._middleware import RequestEnvelopeMiddleware
from aimsight.core import Workspace
from aimsight.core.settings import ApiSettings
from aimsight.security import Role
from tests.api.conftest import Api, open_api

LIMIT = 2048


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the one error shape with this status and code; return the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    assert error["request_id"] == response.headers["X-Request-ID"]
    return dict(error)


@pytest.fixture
def small_api(workspace: Workspace) -> Iterator[Api]:
    """The API with a 2 KiB body limit."""
    settings = workspace.settings.model_copy(update={"api": ApiSettings(max_body_bytes=LIMIT)})
    yield from open_api(dataclasses.replace(workspace, settings=settings))


def test_unknown_route_is_404(api: Api) -> None:
    error = assert_error(api.client.get("/v1/nothing-here", headers=api.auth()), 404, "not_found")
    assert "/v1/nothing-here" in error["message"]


def test_wrong_method_is_405_with_allow(api: Api) -> None:
    response = api.client.post("/v1/health", headers=api.auth())
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET"


def test_validation_names_every_bad_field(api: Api) -> None:
    response = api.client.get("/v1/ledger/entries?limit=0&after_seq=-1", headers=api.auth())
    error = assert_error(response, 422, "invalid_input")
    assert {item["field"] for item in error["details"]} == {"query.limit", "query.after_seq"}
    response = api.client.get("/v1/ledger/entries?limit=1001", headers=api.auth())
    assert_error(response, 422, "invalid_input")


def test_validation_does_not_echo_the_rejected_value(api: Api) -> None:
    response = api.client.post(
        "/v1/users", json={"name": "jane@example.com", "role": "boss"}, headers=api.auth()
    )
    error = assert_error(response, 422, "invalid_input")
    assert [item["field"] for item in error["details"]] == ["body.role"]
    assert "jane@example.com" not in response.text


def test_domain_errors_map_to_their_status(api: Api) -> None:
    response = api.client.post(
        "/v1/users", json={"name": "Jane Doe", "role": "analyst"}, headers=api.auth()
    )
    error = assert_error(response, 422, "invalid_input")
    assert error["details"][0]["field"] == "name"
    assert_error(api.client.delete("/v1/users/nobody", headers=api.auth()), 404, "not_found")
    api.key_for(Role.AGENT, "bot")
    response = api.client.post(
        "/v1/users", json={"name": "bot", "role": "agent"}, headers=api.auth()
    )
    assert_error(response, 409, "conflict")


def test_body_over_the_limit_by_content_length_is_413(small_api: Api) -> None:
    body = json.dumps({"name": "x" * (LIMIT + 10), "role": "analyst"})
    response = small_api.client.post(
        "/v1/users",
        content=body,
        headers={**small_api.auth(), "Content-Type": "application/json"},
    )
    error = assert_error(response, 413, "payload_too_large")
    assert f"{LIMIT:,}" in error["message"]


def test_chunked_body_over_the_limit_is_413(small_api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'", "role": "analyst"}'

    response = small_api.client.post(
        "/v1/users",
        content=chunks(),
        headers={**small_api.auth(), "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "payload_too_large")
    assert small_api.keys.list() and all(k.name != "x" for k in small_api.keys.list())


def test_body_under_the_limit_passes(small_api: Api) -> None:
    response = small_api.client.post(
        "/v1/users", json={"name": "fits", "role": "analyst"}, headers=small_api.auth()
    )
    assert response.status_code == 201


def test_middleware_counts_a_body_streamed_in_many_messages() -> None:
    """Pure ASGI: the limit holds even when the app swallows the overflow and answers 400."""

    async def app(_scope: Any, receive: Any, send: Any) -> None:
        try:
            while (await receive()).get("more_body"):
                pass
        except Exception:  # noqa: BLE001 - like FastAPI turning it into a 400
            pass
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"bad"})

    messages: list[Message] = [
        {"type": "http.request", "body": b"x" * 1000, "more_body": True} for _ in range(5)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    asyncio.run(RequestEnvelopeMiddleware(app, max_body_bytes=LIMIT)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"
    assert len(sent) == 2


def test_an_unexpected_failure_is_500_without_any_detail(workspace: Workspace) -> None:
    app = create_app(workspace)

    def explode() -> None:
        raise RuntimeError("password=hunter2 in /srv/aimsight/secret.py")

    app.add_api_route("/explode", explode)
    with TestClient(app) as client:
        response = client.get("/explode")
    error = assert_error(response, 500, "internal_error")
    for leak in ("hunter2", "RuntimeError", "Traceback", "secret.py", 'File "'):
        assert leak not in response.text
    assert error["details"] == []


def test_a_sane_request_id_is_echoed_and_an_odd_one_replaced(api: Api) -> None:
    response = api.client.get("/v1/health", headers={**api.auth(), "X-Request-ID": "trace-42.a"})
    assert response.headers["X-Request-ID"] == "trace-42.a"
    for odd in ("x" * 300, "<script>", "a b"):
        response = api.client.get("/nowhere", headers={"X-Request-ID": odd})
        error = assert_error(response, 404, "not_found")
        assert error["request_id"] != odd
    first = api.client.get("/v1/health", headers=api.auth()).headers["X-Request-ID"]
    second = api.client.get("/v1/health", headers=api.auth()).headers["X-Request-ID"]
    assert first != second


def test_auth_errors_share_the_shape(api: Api) -> None:
    assert_error(api.client.get("/v1/users"), 401, "unauthenticated")
    agent = api.key_for(Role.AGENT, "agent-1")
    error = assert_error(api.client.get("/v1/users", headers=api.auth(agent)), 403, "forbidden")
    assert "users:manage" in error["message"] and "agent" in error["message"]
