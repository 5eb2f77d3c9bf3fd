"""`aimsight contracts` as a data engineer uses it: install, list, show, add versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimsight.core import Workspace
from tests.cli._runner import run

CONTRACT = """\
source: shop
entity: orders
primary_key: [order_id]
fields:
  - {name: order_id, type: string, required: true}
  - {name: amount, type: decimal, minimum: 0}
"""


def write(tmp_path: Path, text: str, name: str = "orders.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_install_defaults_then_list_and_show(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["-w", str(workspace.root)]
    code, out, _ = run(["contracts", "install-defaults", *ws], capsys)
    assert code == 0 and "installed crm.customers v1" in out
    code, out, _ = run(["contracts", "install-defaults", *ws], capsys)
    assert code == 0 and "already installed" in out

    code, out, _ = run(["contracts", "list", *ws, "--json"], capsys)
    listed = json.loads(out)
    assert code == 0 and len(listed) == 7
    assert {"name": "crm.customers", "version": 1, "versions": [1]}.items() <= next(
        item for item in listed if item["name"] == "crm.customers"
    ).items()

    code, out, _ = run(["contracts", "show", "billing.transactions", *ws, "--json"], capsys)
    shown = json.loads(out)
    assert code == 0 and shown["primary_key"] == ["transaction_id"]
    assert len(shown["digest"]) == 64

    code, out, _ = run(["contracts", "show", "crm.customers", *ws], capsys)
    assert code == 0 and "phone" in out and "default_region=GB" in out

    code, out, _ = run(["contracts", "show", "crm.customers", "--yaml", *ws], capsys)
    assert code == 0 and out.startswith("source: crm\n")


def test_add_versions_compatibly_and_refuse_breaking_changes(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["-w", str(workspace.root)]
    code, out, _ = run(["contracts", "add", write(tmp_path, CONTRACT), *ws], capsys)
    assert code == 0 and "added shop.orders v1" in out

    code, out, _ = run(["contracts", "add", write(tmp_path, CONTRACT), *ws], capsys)
    assert code == 0 and "unchanged" in out

    wider = CONTRACT + "  - {name: note, type: text}\n"
    code, out, _ = run(["contracts", "add", write(tmp_path, wider), *ws, "--json"], capsys)
    assert code == 0 and json.loads(out)["version"] == 2 and json.loads(out)["added"] is True

    breaking = wider.replace("type: decimal", "type: integer")
    code, out, err = run(["contracts", "add", write(tmp_path, breaking), *ws], capsys)
    assert code == 2
    assert "not compatible with v2" in err and "amount changed type" in err
    code, out, _ = run(["contracts", "show", "shop.orders", *ws, "--json"], capsys)
    assert json.loads(out)["versions"] == [1, 2]


def test_errors_are_one_clear_line(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["-w", str(workspace.root)]
    code, _, err = run(["contracts", "show", "crm.customers", *ws], capsys)
    assert code == 1 and "install-defaults" in err

    code, _, err = run(["contracts", "show", "customers", *ws], capsys)
    assert code == 2 and "SOURCE.ENTITY" in err

    bad = write(tmp_path, CONTRACT.replace("type: decimal", "type: money"))
    code, _, err = run(["contracts", "add", bad, *ws], capsys)
    assert code == 2 and "fields[1].type: 'money' is not a field type" in err
    assert err.count("\n") == 1

    code, _, err = run(["contracts", "add", str(tmp_path / "absent.yaml"), *ws], capsys)
    assert code == 2 and "cannot read it" in err


def test_an_empty_workspace_lists_how_to_start(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["contracts", "list", "-w", str(workspace.root)], capsys)
    assert code == 0 and "aimsight contracts install-defaults" in out
