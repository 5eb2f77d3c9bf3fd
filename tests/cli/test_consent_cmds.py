"""`aimsight consent ...`: show, set, history, import and the policy, as a user runs them.

The identity tests' company (40 people in the CRM) is ingested and resolved once per module
through the CLI, so customers are named by record key (``crm.customers:C1001``) as users do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimsight.cli import main
from aimsight.core import Workspace
from aimsight.privacy import LEDGER_KIND
from aimsight.store import Ledger, Store
from tests.cli._runner import run, run_json
from tests.factories.identity import write_people

pytestmark = pytest.mark.usefixtures("wide_terminal")

ADA = "crm.customers:C1001"
BEN = "crm.customers:C1002"


def _quiet(argv: list[str]) -> int:
    """Run a setup command outside any test's capture; its exit code."""
    try:
        main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A workspace holding the company's CRM, resolved by `aimsight identity run`."""
    root = tmp_path_factory.mktemp("consent-cli")
    ws = str(root / "acme")
    paths = write_people(root / "data")
    assert _quiet(["init", ws]) == 0
    argv = ["ingest", str(paths["crm"]), "--source", "crm", "--entity", "customers", "-w", ws]
    assert _quiet([*argv, "--json"]) == 0
    assert _quiet(["identity", "run", "-w", ws, "--json"]) == 0
    yield ws


def _customer_of(ws: str, reference: str, capsys: pytest.CaptureFixture[str]) -> str:
    return str(run_json(["consent", "show", reference, "-w", ws], capsys)["customer_id"])


def test_show_prints_the_records_and_what_each_purpose_may_do(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["consent", "show", BEN, "-w", ws], capsys)
    assert code == 0, err
    assert "no records: the policy's defaults hold" in out
    assert "may this purpose run on this channel?" in out
    assert "ai_decisioning" in out and "default" in out


def test_set_records_a_change_and_show_reflects_it(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["consent", "set", ADA, "--purpose", "*", "--channel", "email", "--status", "denied"]
    code, out, err = run([*argv, "--source", "unsubscribe_link", "-w", ws], capsys)
    assert code == 0, err
    assert "recorded * on email: denied" in out
    assert "blocked: the customer opted out of everything on email" in out
    found = run_json(["consent", "show", ADA, "-w", ws], capsys)
    assert found["customer_id"].startswith("cus_")
    email = [c for c in found["effective"] if c["channel"] == "email"]
    assert email and not any(c["allowed"] for c in email)
    record = found["records"][0]
    assert (record["purpose"], record["channel"], record["source"]) == (
        "*",
        "email",
        "unsubscribe_link",
    )
    workspace = Workspace.open(ws)
    with Store.open(workspace) as store:
        [entry] = Ledger.open(workspace, store).entries(
            kind=LEDGER_KIND, subject=found["customer_id"]
        )
    assert entry.actor.startswith("cli:")


def test_set_as_json_prints_the_new_state(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["consent", "set", BEN, "--purpose", "profiling", "--channel", "web", "--status"]
    found = run_json(
        [*argv, "granted", "--source", "cookie_banner", "--recorded-at", "2026-02-01T10:00:00Z"]
        + ["-w", ws],
        capsys,
    )
    [record] = [r for r in found["records"] if r["purpose"] == "profiling"]
    assert (record["channel"], record["collected_via"]) == ("*", "web")
    assert record["recorded_at"] == "2026-02-01T10:00:00.000000Z"


def test_history_lists_changes_newest_first(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    reference = "crm.customers:C1003"
    for day, status in (("01", "granted"), ("03", "revoked")):
        argv = ["consent", "set", reference, "--purpose", "newsletter", "--channel", "post"]
        code, _, err = run(
            [*argv, "--status", status, "--recorded-at", f"2026-03-{day}T08:00:00Z", "-w", ws],
            capsys,
        )
        assert code == 0, err
    history = run_json(["consent", "history", reference, "-w", ws], capsys)
    assert [(c["status"], c["in_force"]) for c in history["changes"]] == [
        ("revoked", True),
        ("granted", False),
    ]
    code, out, _ = run(["consent", "history", reference, "-w", ws], capsys)
    assert code == 0 and "consent history of cus_" in out and "revoked" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--purpose", "telepathy", "--channel", "email", "--status", "granted"],
            "unknown purpose",
        ),
        (["--purpose", "marketing", "--channel", "fax", "--status", "granted"], "unknown channel"),
        (["--purpose", "marketing", "--channel", "sms", "--status", "maybe"], "unknown status"),
    ],
)
def test_a_bad_change_is_one_clear_line_and_a_non_zero_exit(
    ws: str, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    code, out, err = run(["consent", "set", ADA, *argv, "-w", ws], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: changes[0].") and words in err
    assert len(err.strip().splitlines()) == 1


def test_an_unknown_customer_is_one_clear_line(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["consent", "show", "cus_nobody", "-w", ws], capsys)
    assert code != 0
    assert err.startswith("error: no customer, alias or record 'cus_nobody'")


def test_import_records_rows_skips_them_the_second_time_and_reports_rejects(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(
        "customer,purpose,channel,status,recorded_at,source,source_ref\n"
        "crm.customers:C1010,marketing,sms,granted,2026-01-05T09:00:00Z,signup_form,S-1\n"
        "crm.customers:C1010,marketing,sms,withdrawn,2026-02-05T09:00:00Z,app_settings,S-2\n"
        "crm.customers:C1011,profiling,web,granted,2026-01-06T09:00:00Z,cookie_banner,S-3\n"
        "crm.customers:C9999,profiling,web,granted,2026-01-06T09:00:00Z,cookie_banner,S-4\n"
        "crm.customers:C1011,marketing,fax,granted,2026-01-06T09:00:00Z,cookie_banner,S-5\n",
        "utf-8",
    )
    code, out, err = run(["consent", "import", str(path), "-w", ws, "--json"], capsys)
    assert code == 1  # some rows were rejected
    report = json.loads(out)
    assert (report["rows"], report["applied"], report["in_force"], report["skipped"]) == (
        5,
        3,
        2,
        0,
    )
    assert [(r["line"], r["field"]) for r in report["rejected"]] == [
        (5, "customer"),
        (6, "channel"),
    ]
    assert "C9999" in report["rejected"][0]["reason"]
    shown = run_json(["consent", "show", "crm.customers:C1010", "-w", ws], capsys)
    assert [(r["purpose"], r["status"]) for r in shown["records"]] == [("marketing", "revoked")]
    code, out, err = run(["consent", "import", str(path), "-w", ws], capsys)
    assert code == 1
    assert "5 rows, 0 recorded (0 in force), 3 already imported, 2 rejected" in out
    assert "rejected rows" in err and "unknown channel 'fax'" in err


def test_a_clean_import_exits_zero(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "consents.jsonl"
    row = {
        "customer": "crm.customers:C1012",
        "purpose": "analytics",
        "channel": "web",
        "status": "granted",
        "recorded_at": "2026-01-07T09:00:00Z",
        "source": "cookie_banner",
    }
    path.write_text(json.dumps(row) + "\n", "utf-8")
    code, out, err = run(["consent", "import", str(path), "-w", ws], capsys)
    assert code == 0, err
    assert "1 rows, 1 recorded (1 in force), 0 already imported, 0 rejected" in out


def test_import_of_a_file_with_a_wrong_header_is_one_clear_line(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "consents.csv"
    path.write_text("customer,purpose\n", "utf-8")
    code, _, err = run(["consent", "import", str(path), "-w", ws], capsys)
    assert code == 2
    assert "missing channel, status, recorded_at, source" in err


def test_policy_shows_the_policy_and_installs_a_copy_to_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "fresh")
    assert _quiet(["init", ws, "--json"]) == 0
    capsys.readouterr()
    shown = run_json(["consent", "policy", "-w", ws], capsys)
    assert shown["file"] is None
    assert shown["purposes"]["ai_decisioning"]["default"] == "granted"
    assert len(shown["purposes"]) == 6 and len(shown["digest"]) == 64
    code, out, err = run(["consent", "policy", "--install", "-w", ws], capsys)
    assert code == 0
    assert "privacy/consent.yaml" in err
    assert "a refused profiling blocks personalisation, ai_decisioning" in out
    assert (Path(ws) / "privacy" / "consent.yaml").exists()
    assert run_json(["consent", "policy", "-w", ws], capsys)["file"].endswith("consent.yaml")
