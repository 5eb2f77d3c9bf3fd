"""`aimsight aims ...` as a governance lead and an auditor use it from a shell."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from aimsight.core import Workspace
from aimsight.store import Store
from tests.cli._runner import run, run_json
from tests.cli.test_startup import HEAVY, _modules_loaded


@pytest.fixture
def ws(workspace: Workspace, store: Store) -> str:
    """A migrated workspace, as the --workspace option."""
    del store
    return str(workspace.root)


def test_check_prints_every_result_and_exits_zero_even_when_checks_fail(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(["aims", "systems", "add", "churn", "-w", ws, "--kind", "model"], capsys)  # no owner
    code, out, _ = run(["aims", "check", "-w", ws], capsys)
    assert code == 0  # the report is the output, failures included
    assert "owners_hold_roles" in out and "fail" in out and "third_parties_assessed" in out
    run_ = run_json(["aims", "check", "-w", ws, "--only", "A.3.2"], capsys)
    assert [(r["check_id"], r["status"]) for r in run_["results"]] == [
        ("owners_hold_roles", "fail")
    ]
    trends = run_json(["aims", "checks", "history", "-w", ws], capsys)
    owners = next(t for t in trends if t["check_id"] == "owners_hold_roles")
    assert owners["statuses"] == ["fail", "fail"]
    history = run_json(["aims", "checks", "history", "owners_hold_roles", "-w", ws], capsys)
    assert len(history) == 2


def test_an_unknown_check_or_control_is_one_line_and_non_zero(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["aims", "check", "-w", ws, "--only", "A.99"], capsys)
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and "unknown check 'A.99'" in err
    code, _, err = run(
        ["aims", "soa-entry", "set", "A.9.9", "-w", ws, "--applicable", "--justification", "x"],
        capsys,
    )
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert "A.9.9" in err and "A.2.2 to A.10.4" in err


def test_soa_entries_show_in_the_statement_and_its_exports(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = run_json(
        [
            "aims", "soa-entry", "set", "A.6.2.8", "-w", ws, "--applicable",
            "--justification", "Every decision is logged", "--status", "implemented",
            "--owner", "gina", "--evidence", "ledger verify",
        ],
        capsys,
    )  # fmt: skip
    assert (entry["status"], entry["evidence"]) == ("implemented", ["ledger verify"])
    code, _, _ = run(
        ["aims", "soa", "-w", ws, "--format", "csv", "--out", str(tmp_path / "soa.csv")], capsys
    )
    assert code == 0
    rows = (tmp_path / "soa.csv").read_text(encoding="utf-8-sig").strip().splitlines()
    assert len(rows) == 39
    assert next(row for row in rows if row.startswith("A.6.2.8,")).count("implemented") == 1
    code, out, _ = run(
        ["aims", "soa", "-w", ws, "-f", "pdf", "-o", str(tmp_path / "soa.pdf")], capsys
    )
    assert code == 0 and "soa.pdf" in out
    assert (tmp_path / "soa.pdf").read_bytes().startswith(b"%PDF")
    code, _, err = run(["aims", "soa", "-w", ws, "--format", "xlsx"], capsys)
    assert code != 0 and "--out FILE" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["aims", "soa", "-w", ws, "--format", "docx"], capsys)
    assert code != 0 and "table, csv, xlsx, html, pdf" in err
    statement = run_json(["aims", "soa", "-w", ws], capsys)
    assert len(statement["rows"]) == 38 and statement["summary"]["applicable"] == 1
    code, out, _ = run(["aims", "soa", "-w", ws], capsys)
    assert code == 0 and "A.10.4" in out and "1 applicable" in out


def test_an_evidence_pack_verifies_and_a_tampered_one_exits_1_naming_the_file(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = tmp_path / "pack.zip"
    code, out, _ = run(["aims", "evidence", "-w", ws, "--out", str(pack)], capsys)
    assert code == 0 and "SHA-256" in out
    verified = run_json(["aims", "verify-pack", str(pack), "-w", ws], capsys)
    assert verified["ok"] is True and verified["on_ledger"] is True

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(pack) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "risks/risk_register.json":
                continue  # removed
            if info.filename == "soa/statement_of_applicability.json":
                data = data.replace(b"not_started", b"implemented")
            target.writestr(info.filename, data)
        target.writestr("extra/note.txt", b"slipped in")
    code, _, err = run(["aims", "verify-pack", str(tampered), "-w", ws], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "changed: soa/statement_of_applicability.json" in err
    assert "added: extra/note.txt" in err and "removed: risks/risk_register.json" in err

    monkeypatch.chdir(tmp_path)  # an auditor, outside any workspace, checks the files alone
    code, out, _ = run(["aims", "verify-pack", str(pack)], capsys)
    assert code == 0 and "ledger was not checked" in out
    code, out, _ = run(["aims", "verify-pack", str(tampered), "--json"], capsys)
    assert code == 1 and json.loads(out)["changed"] == ["soa/statement_of_applicability.json"]


def test_review_writes_the_pack_and_records_the_review(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = run_json(
        ["aims", "review", "-w", ws, "--out-dir", str(tmp_path / "review"), "--attendee", "gina"],
        capsys,
    )
    assert Path(made["pdf_path"]).read_bytes().startswith(b"%PDF")
    assert "<html" in Path(made["html_path"]).read_text(encoding="utf-8").lower()
    assert made["review"]["attendees"] == ["gina"]
    code, _, err = run(["aims", "review", "-w", ws, "--since", "yesterday"], capsys)
    assert code != 0 and "--since 'yesterday' is not a date" in err


def test_systems_risks_and_assessments_from_the_shell(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    system = run_json(
        ["aims", "systems", "add", "churn", "-w", ws, "--kind", "model", "--owner", "governance",
         "--stakeholder", "customers", "--third-party", "scikit-learn"],
        capsys,
    )  # fmt: skip
    sid = system["system_id"]
    assert system["owner_role"] == "governance"
    updated = run_json(["aims", "systems", "update", sid, "-w", ws, "--risk-level", "high"], capsys)
    assert updated["risk_level"] == "high"
    code, _, err = run(["aims", "systems", "update", sid, "-w", ws], capsys)
    assert code != 0 and "nothing to change" in err
    assert [s["name"] for s in run_json(["aims", "systems", "list", "-w", ws], capsys)] == ["churn"]
    assert run_json(["aims", "systems", "sync", "-w", ws], capsys) == []

    risk = run_json(
        ["aims", "risks", "add", "Offers skip older customers", "-w", ws, "--source", "audit",
         "--owner", "gina", "--likelihood", "3", "--impact", "4", "--system", sid],
        capsys,
    )  # fmt: skip
    treated = run_json(
        ["aims", "risks", "treat", risk["risk_id"], "-w", ws, "--treatment", "mitigate",
         "--plan", "fairness gate", "--control", "A.6.2.4",
         "--residual-likelihood", "1", "--residual-impact", "4"],
        capsys,
    )  # fmt: skip
    assert treated["controls"] == ["A.6.2.4"] and treated["residual_score"] == 4

    assessed = run_json(
        ["aims", "assessments", "add", sid, "-w", ws, "--affected", "customers", "--harm",
         "unfair offers", "--severity", "high", "--expires", "2099-01-01"],
        capsys,
    )  # fmt: skip
    assert assessed["signed_off_by"] is None
    signed = run_json(
        ["aims", "assessments", "sign-off", assessed["assessment_id"], "-w", ws, "--by", "gina"],
        capsys,
    )
    assert signed["signed_off_by"] == "gina"
    shown = run_json(["aims", "systems", "show", sid, "-w", ws], capsys)
    assert shown["current_assessment"]["assessment_id"] == assessed["assessment_id"]
    assert [r["risk_id"] for r in shown["risks"]] == [risk["risk_id"]]
    code, out, _ = run(["aims", "check", "-w", ws, "--only", "impact_assessments_current"], capsys)
    assert code == 0 and "pass" in out


def test_the_other_records_from_the_shell(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.md"
    policy.write_text("We use AI fairly.\n", encoding="utf-8")
    version = run_json(
        ["aims", "policy", "add", str(policy), "-w", ws, "--approved-by", "ceo",
         "--effective", "2026-01-01", "--next-review", "2099-01-01"],
        capsys,
    )  # fmt: skip
    assert version["version"] == 1
    assert [r["role"] for r in run_json(["aims", "roles", "-w", ws], capsys)][0] == "admin"
    run_json(["aims", "concerns", "report", "It ignores my complaints", "-w", ws], capsys)
    assert run_json(["aims", "concerns", "list", "-w", ws], capsys)[0]["reporter"] is None

    objective = run_json(
        ["aims", "objectives", "add", "Ledger intact", "-w", ws, "--owner", "gina",
         "--metric", "ledger.verified", "--target", "1"],
        capsys,
    )  # fmt: skip
    reading = run_json(
        ["aims", "objectives", "record", objective["objective_id"], "-w", ws], capsys
    )
    assert reading["value"] == 1.0
    assert run_json(["aims", "objectives", "list", "-w", ws], capsys)[0]["met"] is True

    incident = run_json(
        ["aims", "incidents", "open", "Bad scores", "-w", ws, "--severity", "sev2"], capsys
    )
    moved = run_json(
        ["aims", "incidents", "update", incident["incident_id"], "-w", ws, "--step", "contained",
         "--told", "customers", "--message", "We rolled back."],
        capsys,
    )  # fmt: skip
    assert moved["status"] == "contained" and moved["communications"][0]["audience"] == "customers"

    nc = run_json(
        ["aims", "nonconformities", "open", "No owner", "-w", ws, "--source", "check_failure"],
        capsys,
    )
    nc_id = nc["nc_id"]
    code, _, err = run(["aims", "nonconformities", "close", nc_id, "-w", ws], capsys)
    assert code != 0 and "no root cause" in err
    run_json(["aims", "nonconformities", "cause", nc_id, "Nobody was asked", "-w", ws], capsys)
    action = run_json(
        ["aims", "nonconformities", "action", nc_id, "Name owners", "-w", ws, "--owner", "gina",
         "--due", "2099-01-01"],
        capsys,
    )  # fmt: skip
    run_json(["aims", "nonconformities", "done", action["action_id"], "-w", ws], capsys)
    run_json(
        ["aims", "nonconformities", "verify", nc_id, "-w", ws, "--effective", "--result",
         "all owned", "--by", "tom"],
        capsys,
    )  # fmt: skip
    assert (
        run_json(["aims", "nonconformities", "close", nc_id, "-w", ws], capsys)["status"]
        == "closed"
    )

    supplier = run_json(
        ["aims", "suppliers", "assess", "splink", "-w", ws, "--supplier", "MoJ", "--by", "gina",
         "--outcome", "approved"],
        capsys,
    )  # fmt: skip
    assert [
        s["assessment_id"] for s in run_json(["aims", "suppliers", "list", "-w", ws], capsys)
    ] == [supplier["assessment_id"]]


def test_an_audit_is_planned_run_from_the_checks_and_its_finding_raised(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    programme = run_json(
        ["aims", "audits", "programme", "-w", ws, "--start", "2026-01-01", "--end", "2026-12-31",
         "--scope", "all AI systems", "--criteria", "ISO/IEC 42001"],
        capsys,
    )  # fmt: skip
    audit = run_json(
        ["aims", "audits", "plan", programme["programme_id"], "-w", ws, "--title", "Q4",
         "--scope", "all", "--auditor", "tom", "--on", "2026-12-01", "--question", "Policy known?"],
        capsys,
    )  # fmt: skip
    ran = run_json(["aims", "audits", "run", audit["audit_id"], "-w", ws], capsys)
    assert ran["status"] == "in_progress"
    assert all(item["result"] for item in ran["checklist"] if item["check_id"])
    found = run_json(
        ["aims", "audits", "find", audit["audit_id"], "-w", ws, "--severity", "minor",
         "--text", "Policy not known", "--raise-nc"],
        capsys,
    )  # fmt: skip
    assert found["nonconformity"]["source"] == "audit_finding"
    listed = run_json(["aims", "audits", "list", "-w", ws], capsys)
    assert len(listed["audits"][0]["findings"]) == 1


def test_metrics_and_catalogue_read_out(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = {m["metric"]: m for m in run_json(["aims", "metrics", "-w", ws], capsys)}
    assert metrics["ledger.verified"]["value"] == 1.0
    catalogue = run_json(["aims", "catalogue", "-w", ws], capsys)
    assert sum(len(group["controls"]) for group in catalogue["annex_a"]) == 38
    code, out, _ = run(["aims", "catalogue", "-w", ws], capsys)
    assert code == 0 and "A.6.2.8" in out and "ledger_integrity" in out


def test_aims_help_loads_no_heavy_library() -> None:
    assert sorted(_modules_loaded(["aims", "--help"]).intersection(HEAVY)) == []


def test_a_reviews_outputs_are_recorded_as_actions_and_closed(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    review = run_json(["aims", "review", "-w", ws, "--attendee", "gina"], capsys)["review"]
    action = run_json(
        [
            "aims",
            "review-actions",
            "add",
            review["review_id"],
            "-w",
            ws,
            "--decision",
            "Assess fairlearn before the next release",
            "--owner",
            "gina",
            "--due",
            "2027-01-31",
        ],
        capsys,
    )
    assert action["status"] == "open" and action["owner"] == "gina"
    listed = run_json(["aims", "review-actions", "list", "-w", ws, "--status", "open"], capsys)
    assert [item["action_id"] for item in listed] == [action["action_id"]]
    closed = run_json(
        ["aims", "review-actions", "close", action["action_id"], "-w", ws, "--outcome", "done"],
        capsys,
    )
    assert closed["status"] == "closed"
    code, _, err = run(
        [
            "aims",
            "review-actions",
            "add",
            "rev_nope",
            "-w",
            ws,
            "--decision",
            "x",
            "--owner",
            "gina",
            "--due",
            "2027-01-31",
        ],
        capsys,
    )
    assert code != 0 and err.count("\n") <= 2
