"""The access log: one JSON line per request, with ids and no personal data or keys."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from aimsight.core import configure_logging
from tests.api.conftest import Api


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """aimsight's real log set-up (JSON, PII filter), writing to a buffer; restored after."""
    root = logging.getLogger("aimsight")
    saved = (root.handlers[:], root.level, root.propagate)
    configure_logging("INFO", json_format=True)
    buffer = io.StringIO()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)
    yield buffer
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


def _access_lines(err: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    return [record for record in records if record.get("logger") == "aimsight.api.access"]


def test_each_request_is_one_json_line_without_personal_data(
    api: Api, json_logs: io.StringIO
) -> None:
    json_logs.truncate(0)
    responses = [
        api.client.get("/v1/ledger/entries?subject=jane.doe@example.com", headers=api.auth()),
        api.client.get("/v1/customers/jane.doe@example.com", headers=api.auth()),
        api.client.post(
            "/v1/users", json={"name": "jane.doe@example.com", "role": "x"}, headers=api.auth()
        ),
        api.client.delete("/v1/users/jane.doe", headers=api.auth()),
        api.client.get("/v1/whoami", headers={"Authorization": "Bearer aims_wrong"}),
    ]
    err = json_logs.getvalue()
    lines = _access_lines(err)
    assert len(lines) == len(responses)
    assert [line["status"] for line in lines] == [r.status_code for r in responses]
    for line, response in zip(lines, responses, strict=True):
        assert line["request_id"] == response.headers["X-Request-ID"]
        assert isinstance(line["duration_ms"], float | int)
        assert {"method", "path", "status", "duration_ms", "request_id", "key_id"} <= set(line)
    assert lines[0]["path"] == "/v1/ledger/entries"
    assert lines[3]["path"] == "/v1/users/{name}"  # the template, not the name
    assert lines[0]["key_id"] == api.keys.authenticate(api.admin_key).key_id
    assert lines[4]["key_id"] is None
    for leak in ("example.com", "@", "jane", api.admin_key, "aims_wrong", "subject="):
        assert leak not in err
