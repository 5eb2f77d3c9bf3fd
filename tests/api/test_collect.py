"""POST /v1/collect/track|identify|batch: 202 once durable, clear 422s, flushed into the lake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from aimsight.core import Workspace
from aimsight.security import Role
from tests.api.conftest import Api, open_api


@pytest.fixture
def collect(workspace: Workspace) -> Iterator[tuple[Api, dict[str, str]]]:
    """The API and the headers of a `service` key (the role event senders use)."""
    for api in open_api(workspace):
        yield api, api.auth(api.key_for(Role.SERVICE, "web-tracker"))


def _track(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messageId": "m-1",
        "anonymousId": "anon-1",
        "event": "Order Completed",
        "properties": {"total": 19.99},
        "timestamp": "2026-11-20T10:00:00+01:00",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def test_a_track_call_is_accepted_and_a_resend_counted_as_duplicate(
    collect: tuple[Api, dict[str, str]],
) -> None:
    api, headers = collect
    first = api.client.post("/v1/collect/track", json=_track(), headers=headers)
    again = api.client.post("/v1/collect/track", json=_track(), headers=headers)

    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert again.status_code == 202 and again.json() == {"accepted": 0, "duplicates": 1}


def test_an_identify_call_is_accepted(collect: tuple[Api, dict[str, str]]) -> None:
    api, headers = collect
    response = api.client.post(
        "/v1/collect/identify",
        json={"userId": "u-1", "traits": {"email": "ada@example.com"}, "type": "identify"},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "duplicates": 0}


def test_a_batch_mixes_track_and_identify_and_shares_its_context(
    collect: tuple[Api, dict[str, str]],
) -> None:
    api, headers = collect
    body = {
        "batch": [
            {"type": "track", **_track(messageId="b-1", context={"page": {"path": "/cart"}})},
            {"type": "identify", "messageId": "b-2", "userId": "u-1", "traits": {"plan": "pro"}},
            {"type": "track", **_track(messageId="b-1")},
        ],
        "context": {"library": {"name": "analytics.js"}},
        "integrations": {"All": True},  # a Segment routing hint: accepted, dropped
    }
    response = api.client.post("/v1/collect/batch", json=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 2, "duplicates": 1}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/collect/track", _track(event=None), "body.event"),
        ("/v1/collect/track", _track(timestamp="2026-11-20T10:00:00"), "body.timestamp"),
        ("/v1/collect/track", _track(propertes={"typo": 1}), "body.propertes"),
        ("/v1/collect/track", _track(properties=[1, 2]), "body.properties"),
        ("/v1/collect/identify", {"userId": "u", "traits": "gold"}, "body.traits"),
        ("/v1/collect/batch", {"batch": []}, "body.batch"),
        ("/v1/collect/batch", {"batch": [{"userId": "u", "event": "E"}]}, "body.batch.0"),
        ("/v1/collect/batch", {"batch": [{"type": "page", "userId": "u"}]}, "body.batch.0"),
    ],
)
def test_a_bad_body_is_refused_with_422_naming_the_field(
    collect: tuple[Api, dict[str, str]], path: str, body: dict[str, Any], field: str
) -> None:
    api, headers = collect
    response = api.client.post(path, json=body, headers=headers)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert any(detail["field"] == field for detail in error["details"]), error


def test_a_message_with_neither_user_id_nor_anonymous_id_is_refused(
    collect: tuple[Api, dict[str, str]],
) -> None:
    api, headers = collect
    response = api.client.post("/v1/collect/track", json=_track(anonymousId=None), headers=headers)
    assert response.status_code == 422
    assert "anonymousId or userId" in response.json()["error"]["message"]


def test_nothing_is_stored_when_any_message_of_a_batch_is_invalid(
    collect: tuple[Api, dict[str, str]],
) -> None:
    api, headers = collect
    body = {"batch": [{"type": "track", **_track()}, {"type": "track", "userId": "u"}]}
    assert api.client.post("/v1/collect/batch", json=body, headers=headers).status_code == 422
    retry = api.client.post("/v1/collect/track", json=_track(), headers=headers)
    assert retry.json() == {"accepted": 1, "duplicates": 0}


def test_a_role_without_collect_write_is_refused(collect: tuple[Api, dict[str, str]]) -> None:
    api, _ = collect
    analyst = api.auth(api.key_for(Role.ANALYST, "analyst"))
    response = api.client.post("/v1/collect/track", json=_track(), headers=analyst)
    assert response.status_code == 403
    assert "collect:write" in response.json()["error"]["message"]


def test_the_app_flushes_collected_events_into_the_lake_in_the_background(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aimsight.ingest._contracts import ContractRegistry
    from aimsight.ingest._service import IngestService
    from aimsight.store import Ledger

    monkeypatch.setenv("AIMSIGHT__INGEST__COLLECTOR_FLUSH_SECONDS", "0.1")
    fast = Workspace.open(workspace.root)
    ContractRegistry.for_workspace(fast).install_defaults()
    for api in open_api(fast):
        headers = api.auth(api.key_for(Role.SERVICE, "web-tracker"))
        response = api.client.post(
            "/v1/collect/batch",
            json={"batch": [{"type": "track", **_track(messageId=f"e-{i}")} for i in range(5)]},
            headers=headers,
        )
        assert response.status_code == 202
        ingest = IngestService(fast, api.store, Ledger.open(fast, api.store))
        deadline = time.monotonic() + 5
        count = 0
        while time.monotonic() < deadline:
            connection = ingest.lake()
            try:
                row = connection.execute("SELECT count(*) FROM collector.events").fetchone()
            finally:
                connection.close()
            count = int(row[0]) if row else 0
            if count == 5:
                break
            time.sleep(0.1)
        assert count == 5
