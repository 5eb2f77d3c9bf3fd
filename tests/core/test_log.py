"""Process logs are JSON and never carry personal data."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimsight.core import configure_logging, get_logger, scrub


def test_emails_and_phone_numbers_are_masked_but_dates_are_kept() -> None:
    text = "from ann.lee+x@example.co.uk on +44 20 7946 0958 at 2026-11-23 12:00:01, 42 rows"
    assert scrub(text) == "from [email] on [number] at 2026-11-23 12:00:01, 42 rows"


@given(st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8})?@[a-z]{2,10}\.(com|de|co\.uk)", fullmatch=True))
def test_any_email_address_is_masked(address: str) -> None:
    assert address not in scrub(f"user {address} signed in")


def test_log_lines_are_json_without_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_format=True)
    try:
        get_logger("test").info("sent to %s", "bob@example.com", extra={"phone": "+4915112345678"})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["message"] == "sent to [email]"
        assert record["phone"] == "[number]"
        assert record["level"] == "INFO"
    finally:
        logging.getLogger("aimsight").handlers.clear()
