"""Reading consent records to import from a CSV or JSON Lines file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from aimsight.core.errors import InvalidInput
from aimsight.privacy._model import ConsentChangeIn, RejectedConsent

__all__ = ["IMPORT_COLUMNS", "REQUIRED_COLUMNS", "read_changes"]

REQUIRED_COLUMNS = ("customer", "purpose", "channel", "status", "recorded_at", "source")
IMPORT_COLUMNS = (*REQUIRED_COLUMNS, "legal_basis", "source_ref")
"""The columns of an import file; ``legal_basis`` and ``source_ref`` may be left out."""


def read_changes(path: Path) -> tuple[list[ConsentChangeIn], list[RejectedConsent]]:
    """The rows of ``path`` (``.csv`` with a header, or ``.jsonl``, one object a line) as
    changes to import, and the lines that could not be read at all.

    Raises:
        InvalidInput: the file is missing, not UTF-8, of another type, or a CSV header
            lacks a required column or has an unknown one.
    """
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist; give a .csv or .jsonl file", field="file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise InvalidInput(
            f"{path.name}: import a .csv file (with a header row) or a .jsonl file (one JSON "
            f"object a line) with the columns {', '.join(IMPORT_COLUMNS)}",
            field="file",
        )
    try:
        if suffix == ".csv":
            return _read_csv(path), []
        return _read_jsonl(path)
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path.name} is not UTF-8 text; save it as UTF-8", field="file"
        ) from None


def _check_columns(columns: list[str], where: str) -> str | None:
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in IMPORT_COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(unknown)}")
    if not problems:
        return None
    return (
        f"{where}: {'; '.join(problems)}; the columns are {', '.join(REQUIRED_COLUMNS)} "
        "and optionally legal_basis, source_ref"
    )


def _read_csv(path: Path) -> list[ConsentChangeIn]:
    changes: list[ConsentChangeIn] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip() for name in reader.fieldnames or []]
        problem = _check_columns(columns, f"{path.name} header")
        if problem:
            raise InvalidInput(problem, field="file")
        reader.fieldnames = columns
        for row in reader:
            changes.append(_change(row, reader.line_num))
    return changes


def _read_jsonl(path: Path) -> tuple[list[ConsentChangeIn], list[RejectedConsent]]:
    changes: list[ConsentChangeIn] = []
    refused: list[RejectedConsent] = []
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                refused.append(_unreadable(number, f"not a JSON object: {exc.msg}"))
                continue
            if not isinstance(item, dict):
                refused.append(_unreadable(number, "not a JSON object"))
                continue
            problem = _check_columns(list(item), "keys")
            if problem:
                refused.append(_unreadable(number, problem))
                continue
            if any(value is not None and not isinstance(value, str) for value in item.values()):
                refused.append(_unreadable(number, "every value must be text (or null)"))
                continue
            changes.append(_change(item, number))
    return changes, refused


def _change(row: dict[str, Any], line: int) -> ConsentChangeIn:
    def value(name: str) -> str | None:
        found = row.get(name)
        return found.strip() if isinstance(found, str) and found.strip() else None

    return ConsentChangeIn(
        purpose=value("purpose") or "",
        channel=value("channel") or "",
        status=value("status") or "",
        source=value("source") or "",
        legal_basis=value("legal_basis"),
        recorded_at=value("recorded_at"),
        customer_id=value("customer"),
        source_ref=value("source_ref"),
        line=line,
    )


def _unreadable(line: int, reason: str) -> RejectedConsent:
    return RejectedConsent(line=line, customer=None, source_ref=None, field=None, reason=reason)
