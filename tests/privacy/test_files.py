"""Reading import files: CSV with a header, JSON Lines, and what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimsight.core import InvalidInput
from aimsight.privacy import read_changes

HEADER = "customer,purpose,channel,status,recorded_at,source,legal_basis,source_ref\n"


def test_a_csv_file_becomes_changes_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(
        HEADER
        + "crm.customers:C1001,marketing,email,granted,2026-03-01T09:00:00Z,signup_form,,S-1\n"
        + 'cus_2,profiling,web,withdrawn,2026-03-02T09:00:00+01:00,"cookie, banner",consent,\n',
        "utf-8",
    )
    changes, unreadable = read_changes(path)
    assert unreadable == []
    first, second = changes
    assert (first.customer_id, first.purpose, first.source_ref, first.line) == (
        "crm.customers:C1001",
        "marketing",
        "S-1",
        2,
    )
    assert first.legal_basis is None
    assert (second.status, second.source, second.source_ref, second.line) == (
        "withdrawn",
        "cookie, banner",
        None,
        3,
    )


def test_the_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(
        "\ufeffcustomer,purpose,channel,status,recorded_at,source\n"
        "cus_1,*,sms,denied,2026-03-01T09:00:00Z,call_centre\n",
        "utf-8",
    )
    [change], _ = read_changes(path)
    assert (change.purpose, change.channel, change.source_ref) == ("*", "sms", None)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("customer,purpose,channel,status,source\n", "missing recorded_at"),
        (HEADER.replace("legal_basis", "legal_bassis"), "unknown legal_bassis"),
    ],
)
def test_a_csv_header_with_missing_or_unknown_columns_is_refused(
    tmp_path: Path, header: str, words: str
) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(header, "utf-8")
    with pytest.raises(InvalidInput, match=words):
        read_changes(path)


def test_a_jsonl_file_becomes_changes_and_unreadable_lines_are_reported(tmp_path: Path) -> None:
    good = {
        "customer": "cus_1",
        "purpose": "newsletter",
        "channel": "email",
        "status": "granted",
        "recorded_at": "2026-03-01T09:00:00Z",
        "source": "preference_centre",
    }
    path = tmp_path / "consents.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                "",
                "{not json",
                "[1, 2]",
                json.dumps({**good, "colour": "blue"}),
                json.dumps({**good, "status": 1}),
                json.dumps({**good, "source_ref": "S-9"}),
            ]
        )
        + "\n",
        "utf-8",
    )
    changes, unreadable = read_changes(path)
    assert [(c.line, c.source_ref) for c in changes] == [(1, None), (7, "S-9")]
    reasons = {item.line: item.reason for item in unreadable}
    assert reasons[3].startswith("not a JSON object:")
    assert reasons[4] == "not a JSON object"
    assert "unknown colour" in reasons[5]
    assert reasons[6] == "every value must be text (or null)"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("consents.xlsx", b"", "import a .csv file"),
        ("consents.csv", b"customer\xff\xfe", "not UTF-8"),
    ],
)
def test_other_files_are_refused(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=words):
        read_changes(path)
    with pytest.raises(InvalidInput, match="does not exist"):
        read_changes(tmp_path / "missing.csv")


@given(st.text(max_size=200))
def test_any_jsonl_line_is_read_or_reported_never_crashes(line: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.jsonl"
        path.write_text(line.replace("\r", "") + "\n", "utf-8")
        changes, unreadable = read_changes(path)
    assert len(changes) + len(unreadable) <= max(1, line.count("\n") + 1)
