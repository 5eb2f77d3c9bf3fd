"""`aimsight decisions|flows|reviews ...`: decide, explain, outcomes, stop switches and the
review queue, as a user runs them from a shell.

Decisions run over a real workspace: the 40-person company with payments, tickets and web
events (tests/api/test_features.py ``activity_workspace``), its online snapshot published, and a
rule-only ``loyalty`` flow in ``<workspace>/flows`` (no model, so nothing needs training). It
is built once per module; tests that write work on a copy. The flow commands that need no
customer data also run on a workspace fresh from ``aimsight init`` with the shipped example
flows copied in.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aimsight.cli import main
from aimsight.core import Workspace
from aimsight.decide import shipped_flows_folder
from aimsight.features import FeatureService
from aimsight.privacy import ConsentChangeIn, ConsentService
from aimsight.store import Ledger, Store
from tests.api.test_features import activity_workspace
from tests.cli._runner import run, run_json

pytestmark = pytest.mark.usefixtures("wide_terminal")

ADA = "crm.customers:C1001"  # pays monthly: 3 payments in 90 days, 71.91 paid in a year
BEN = "crm.customers:C1002"  # no consent recorded: the policy's defaults hold

FLOW = """\
flow: loyalty
version: 1
description: Thank paying customers; a gift worth much waits for a person.
owner: CLI tests
consent:
  purposes: [profiling]
channels: [email, web]
top_n: 2
review:
  when: "action.value >= 50"
  deadline_hours: 24
fallback:
  action: newsletter
  reason: The newsletter everyone gets; it needs no personal data.
disclosure:
  email: Chosen by an automated system from your payments.
actions:
  - id: gift
    title: A thank-you gift
    channel: email
    message: A small gift to say thank you.
    value: features.amount_paid_365d
    eligibility: "features.payments_90d >= 3"
    reason: Customers who pay every month get a gift.
  - id: thanks
    title: A thank-you note
    channel: any
    message: Thank you for being with us.
    value: 5
    eligibility: "features.payments_90d >= 1"
    reason: Paying customers hear from us now and then.
  - id: newsletter
    title: Newsletter
    channel: any
    message: Our news this month.
    reason: Everyone gets the newsletter.
"""


def _quiet(argv: list[str]) -> int:
    """Run a setup command outside any test's capture; its exit code."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The resolved company with its online snapshot published, the loyalty flow installed
    and Ada's consent to profiling and e-mail marketing recorded (once per module); read-only."""
    workspace = activity_workspace(tmp_path_factory.mktemp("decide-cli"))
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        features = FeatureService(workspace, store, ledger)
        features.publish_online(actor="test")
        ada = str(features.online(ADA)["customer_id"])
        ConsentService(workspace, store, ledger).set(
            ada,
            [
                ConsentChangeIn("profiling", "*", "granted", source="test"),
                ConsentChangeIn("marketing", "email", "granted", source="test"),
            ],
            actor="test",
        )
    (workspace.root / "flows").mkdir()
    (workspace.root / "flows" / "loyalty.yaml").write_text(FLOW, "utf-8")
    return workspace.root


@pytest.fixture
def ws(company: Path, tmp_path: Path) -> str:
    """A private copy of the company's workspace."""
    return str(shutil.copytree(company, tmp_path / "acme"))


@pytest.fixture
def fresh(tmp_path: Path) -> str:
    """A workspace fresh from `aimsight init` with the shipped example flows copied into its
    flows folder, and no data."""
    path = tmp_path / "fresh"
    assert _quiet(["init", str(path)]) == 0
    (path / "flows").mkdir()
    for source in shipped_flows_folder().glob("*.yaml"):
        shutil.copyfile(source, path / "flows" / source.name)
    return str(path)


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run a command that must fail; its exit code and its one error line."""
    code, out, err = run(argv, capsys)
    assert code != 0, out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return code, lines[0]


def _ledger_kinds(ws: str) -> list[str]:
    workspace = Workspace.open(ws)
    with Store.open(workspace) as store:
        return [e.kind for e in Ledger.open(workspace, store).entries(limit=10_000)]


# -- decisions ----------------------------------------------------------------------------------


def test_make_decides_from_the_customers_features_and_records_it(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["decisions", "make", "loyalty", ADA, "--channel", "web", "-w", ws], capsys
    )
    assert code == 0, err
    assert "flow loyalty v1  status decided" in out
    assert "action  thanks on web" in out
    assert "consent_granted" in out and "rules_met:thanks" in out
    assert "ledger    #" in out
    decision = run_json(["decisions", "make", "loyalty", ADA, "--channel", "web", "-w", ws], capsys)
    assert decision["decision_id"].startswith("dec_")
    assert decision["customer_id"].startswith("cus_")
    assert [a["action_id"] for a in decision["actions"]] == ["thanks"]
    assert not decision["fallback"] and decision["status"] == "decided"
    assert _ledger_kinds(ws).count("decision.made") == 2


def test_context_and_top_reach_the_decision(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["decisions", "make", "loyalty", ADA, "-w", ws]
    context = ["--context", "page=pricing", "--context", "visits=3", "--context", "vip=true"]
    decision = run_json([*argv, "--channel", "email", *context], capsys)
    assert [a["action_id"] for a in decision["actions"]] == ["gift", "thanks"]  # the flow's 2
    top = run_json([*argv, "--channel", "email", "--top", "1"], capsys)
    assert [a["action_id"] for a in top["actions"]] == ["gift"]
    workspace = Workspace.open(ws)
    with Store.open(workspace) as store:
        entry = Ledger.open(workspace, store).get(decision["ledger_seq"], include_personal=True)
    assert entry.personal is not None
    assert entry.personal["context"] == {"page": "pricing", "visits": 3, "vip": True}
    web = run_json([*argv, "--channel", "web"], capsys)
    assert [a["action_id"] for a in web["actions"]] == ["thanks"]  # the gift is e-mail only
    code, line = _error([*argv, "--context", "no-equals-sign"], capsys)
    assert "--context 'no-equals-sign' must be name=value" in line
    code, line = _error([*argv, "--context", "bad name=1"], capsys)
    assert "'bad name'" in line


def test_a_customer_without_consent_gets_the_fallback(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    decision = run_json(["decisions", "make", "loyalty", BEN, "--channel", "web", "-w", ws], capsys)
    assert decision["fallback"]
    assert decision["fallback_reason"] == "consent_missing:profiling"
    assert [a["action_id"] for a in decision["actions"]] == ["newsletter"]
    assert decision["models"] == [] and decision["top_factors"] == []


def test_show_and_explain_a_decision(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    made = run_json(["decisions", "make", "loyalty", ADA, "--channel", "web", "-w", ws], capsys)
    decision_id = made["decision_id"]
    code, out, err = run(["decisions", "show", decision_id, "-w", ws], capsys)
    assert code == 0, err
    assert decision_id in out and "thanks" in out and "decided" in out
    stored = run_json(["decisions", "show", decision_id, "-w", ws], capsys)
    assert stored["ledger_seq"] == made["ledger_seq"] and stored["action_id"] == "thanks"
    assert stored["record"]["feature_values"]["payments_90d"] == 3
    code, out, err = run(["decisions", "explain", decision_id, "-w", ws], capsys)
    assert code == 0, err
    assert out.startswith("We chose: A thank-you note.")
    explanation = run_json(["decisions", "explain", decision_id, "-w", ws], capsys)
    assert explanation["text"].startswith("We chose: A thank-you note.")
    assert "feature_values" not in explanation["technical"]
    assert "ask for a person to review" in explanation["rights"]


def test_outcomes_are_recorded_and_feed_the_kpis(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = run_json(["decisions", "make", "loyalty", ADA, "--channel", "web", "-w", ws], capsys)
    argv = ["decisions", "outcome", made["decision_id"], "-w", ws]
    code, out, err = run([*argv, "--outcome", "converted", "--value", "12.5"], capsys)
    assert code == 0, err
    assert f"recorded converted for {made['decision_id']} (ledger #" in out
    recorded = run_json([*argv, "--outcome", "accepted"], capsys)
    assert (recorded["outcome"], recorded["action_id"]) == ("accepted", "thanks")
    code, line = _error([*argv, "--outcome", "loved it"], capsys)
    assert "outcome must be one of accepted, rejected, converted, complaint" in line
    assert code == 2
    kpis = run_json(["decisions", "kpis", "--flow", "loyalty", "-w", ws], capsys)
    assert kpis["loyalty"]["decisions"] == 1
    assert kpis["loyalty"]["outcomes"]["converted"] == {"count": 1, "value": 12.5}
    assert kpis["loyalty"]["conversion_rate"] == 1.0
    code, out, err = run(["decisions", "kpis", "-w", ws], capsys)
    assert code == 0, err
    assert "loyalty" in out and "converted" in out


def test_unknown_flows_customers_channels_and_decisions_are_one_line_errors(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, line = _error(["decisions", "make", "upsell", ADA, "-w", ws], capsys)
    assert "no decision flow 'upsell'; flows: loyalty" in line
    code, line = _error(["decisions", "make", "loyalty", "cus_nobody", "-w", ws], capsys)
    assert "'cus_nobody'" in line and "'loyalty'" in line
    code, line = _error(["decisions", "make", "loyalty", ADA, "--channel", "sms", "-w", ws], capsys)
    assert "does not serve channel 'sms'; use one of email, web" in line
    for argv in (
        ["decisions", "show", "dec_missing"],
        ["decisions", "explain", "dec_missing"],
        ["decisions", "outcome", "dec_missing", "--outcome", "accepted"],
    ):
        code, line = _error([*argv, "-w", ws], capsys)
        assert "no decision 'dec_missing'" in line
    assert "decision.made" not in _ledger_kinds(ws)


# -- the review queue ---------------------------------------------------------------------------


def _pending(ws: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """An e-mail decision for Ada: the gift (worth 71.91), then the note, wait for review."""
    decision = run_json(
        ["decisions", "make", "loyalty", ADA, "--channel", "email", "-w", ws], capsys
    )
    assert decision["status"] == "pending_review" and decision["review_id"], decision
    assert [a["action_id"] for a in decision["actions"]] == ["gift", "thanks"]
    return dict(decision)


def test_reviews_list_and_approve(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    decision = _pending(ws, capsys)
    code, out, err = run(["reviews", "list", "-w", ws], capsys)
    assert code == 0, err
    assert decision["review_id"] in out and "gift" in out and "pending" in out
    assert "action.value >= 50" in out
    [review] = run_json(["reviews", "list", "--flow", "loyalty", "-w", ws], capsys)
    assert review["decision_id"] == decision["decision_id"]
    argv = ["reviews", "approve", review["review_id"], "--reason", "a loyal customer", "-w", ws]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert f"review {review['review_id']}: approved by cli:" in out and "action gift" in out
    assert run_json(["reviews", "list", "-w", ws], capsys) == []
    [done] = run_json(["reviews", "list", "--status", "approved", "-w", ws], capsys)
    assert done["reviewer"].startswith("cli:") and done["verdict_reason"] == "a loyal customer"
    stored = run_json(["decisions", "show", decision["decision_id"], "-w", ws], capsys)
    assert (stored["status"], stored["action_id"]) == ("approved", "gift")
    code, line = _error(argv, capsys)
    assert "not pending" in line
    assert "decision.reviewed" in _ledger_kinds(ws)


def test_reviews_override_needs_an_action_of_the_flow(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    review_id = _pending(ws, capsys)["review_id"]
    argv = ["reviews", "override", review_id, "--reason", "too much", "-w", ws]
    code, line = _error([*argv, "--action", "yacht"], capsys)
    assert "an override names the action to take instead: one of gift, newsletter, thanks" in line
    settled = run_json([*argv, "--action", "thanks"], capsys)
    assert (settled["status"], settled["final_action"]) == ("overridden", "thanks")


def test_reviews_reject_leaves_nothing_done(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    decision = _pending(ws, capsys)
    argv = ["reviews", "reject", decision["review_id"], "--reason", "not now", "-w", ws]
    settled = run_json(argv, capsys)
    assert (settled["status"], settled["final_action"]) == ("rejected", None)
    code, line = _error(
        ["decisions", "outcome", decision["decision_id"], "--outcome", "accepted", "-w", ws],
        capsys,
    )
    assert "chose no action" in line
    code, line = _error(["reviews", "approve", "rev_missing", "--reason", "x", "-w", ws], capsys)
    assert "no review 'rev_missing'" in line


# -- flows --------------------------------------------------------------------------------------


def test_flows_list_shows_the_shipped_flows_of_a_fresh_workspace(
    fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["flows", "list", "-w", fresh], capsys)
    assert code == 0, err
    assert "retention" in out and "next_best_offer" in out and "never" in out
    flows = run_json(["flows", "list", "-w", fresh], capsys)
    assert [f["flow"] for f in flows] == ["next_best_offer", "retention"]
    retention = flows[1]
    assert retention["models"]["churn"] == "churn"
    assert not retention["stopped"] and retention["human_review"]


def test_flows_show_gives_the_definition_state_and_served_versions(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = run_json(["flows", "show", "loyalty", "-w", ws], capsys)
    assert shown["status"]["flow"] == "loyalty" and shown["versions"] == []
    assert [a["id"] for a in shown["definition"]["actions"]] == ["gift", "thanks", "newsletter"]
    run_json(["decisions", "make", "loyalty", ADA, "--channel", "web", "-w", ws], capsys)
    shown = run_json(["flows", "show", "loyalty", "-w", ws], capsys)
    [version] = shown["versions"]
    assert version["version"] == 1 and version["digest"] == shown["status"]["digest"]
    code, out, err = run(["flows", "show", "loyalty", "-w", ws], capsys)
    assert code == 0, err
    assert "loyalty" in out and f"version 1  {version['digest'][:12]}" in out
    code, line = _error(["flows", "show", "upsell", "-w", ws], capsys)
    assert "no decision flow 'upsell'" in line


def test_stop_and_resume_switch_the_flow_to_its_fallback_and_back(
    fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["flows", "stop", "next_best_offer", "--reason", "bad offer copy", "-w", fresh]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "flow next_best_offer is stopped" in out
    [status] = [f for f in run_json(["flows", "list", "-w", fresh], capsys) if f["stopped"]]
    assert status["flow"] == "next_best_offer" and status["stop_reason"] == "bad offer copy"
    assert status["stop_changed_by"].startswith("cli:")
    code, out, err = run(["flows", "list", "-w", fresh], capsys)
    assert "STOPPED" in out
    decision = run_json(["decisions", "make", "next_best_offer", "-w", fresh], capsys)  # anonymous
    assert decision["fallback_reason"] == "flow_stopped"
    assert [a["action_id"] for a in decision["actions"]] == ["generic_web_offer"]
    resumed = run_json(
        ["flows", "resume", "next_best_offer", "--reason", "copy fixed", "-w", fresh], capsys
    )
    assert not resumed["stopped"]
    decision = run_json(["decisions", "make", "next_best_offer", "-w", fresh], capsys)
    assert decision["fallback_reason"] == "customer_unknown"  # serving again, nobody known
    kinds = _ledger_kinds(fresh)
    assert "decision.flow_stopped" in kinds and "decision.flow_resumed" in kinds
    code, line = _error(["flows", "stop", "retention", "--reason", " ", "-w", fresh], capsys)
    assert "switching a flow needs a reason" in line
    code, out, err = run(["flows", "stop", "retention", "-w", fresh], capsys)
    assert code != 0 and "--reason" in err


def test_the_stop_switch_test_is_a_recorded_dry_run(
    fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["flows", "test-stop-switch", "retention", "-w", fresh], capsys)
    assert code == 0, err
    assert "stop switch of retention works: fallback retention_newsletter" in out
    result = run_json(["flows", "test-stop-switch", "retention", "-w", fresh], capsys)
    assert result["passed"] and (result["models_scored"], result["features_read"]) == (0, 0)
    flows = {f["flow"]: f for f in run_json(["flows", "list", "-w", fresh], capsys)}
    assert flows["retention"]["stop_switch_tested_at"] == result["tested_at"]
    assert not flows["retention"]["stopped"]
    assert _ledger_kinds(fresh).count("decision.stop_switch_tested") == 2


def test_reviews_list_is_empty_on_a_fresh_workspace(
    fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_json(["reviews", "list", "-w", fresh], capsys) == []
    code, out, err = run(["reviews", "list", "-w", fresh], capsys)
    assert code == 0, err
    assert "review" in out  # the table's header


# -- flows validate -----------------------------------------------------------------------------


def test_validate_accepts_a_good_flow_file(
    fresh: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "loyalty.yaml"
    path.write_text(FLOW.replace("features.amount_paid_365d", "features.payments_365d"), "utf-8")
    code, out, err = run(["flows", "validate", str(path), "-w", fresh], capsys)
    assert code == 0, err
    assert f"{path}: flow loyalty v1 is valid (3 actions)" in out.replace("\n", "")
    result = run_json(["flows", "validate", str(path), "-w", fresh], capsys)
    assert result["valid"] and result["actions"] == ["gift", "thanks", "newsletter"]
    assert len(result["digest"]) == 64


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("payments_90d >= 3", "payment_90d >= 3"), 23, "payment_90d"),
        (("channel: email\n    message: A small", "channel: fax\n    message: A small"), 20, "fax"),
        (("top_n: 2", "top_n: 2\ncolour: blue"), 9, "colour"),
        (("- id: thanks", "- id: gift"), 25, "gift"),
        (
            (
                '    eligibility: "features.payments_90d >= 3"',
                '    eligibility: "features.payments_90d >= "',
            ),
            23,
            "eligibility",
        ),
    ],
    ids=["unknown feature", "unknown channel", "unknown setting", "duplicate id", "syntax"],
)
def test_a_bad_flow_file_is_one_line_naming_the_file_and_line(
    fresh: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: tuple[str, str],
    line: int,
    words: str,
) -> None:
    path = tmp_path / "loyalty.yaml"
    text = FLOW.replace(*change)
    assert text != FLOW
    path.write_text(text, "utf-8")
    code, message = _error(["flows", "validate", str(path), "-w", fresh], capsys)
    assert code == 2
    assert f"{path} line {line}: " in message and words in message


def test_a_file_that_is_not_yaml_or_not_there_is_one_line(
    fresh: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("flow: loyalty\nactions: [unclosed\n", "utf-8")
    code, message = _error(["flows", "validate", str(path), "-w", fresh], capsys)
    assert str(path) in message and " line " in message
    code, message = _error(["flows", "validate", str(tmp_path / "none.yaml"), "-w", fresh], capsys)
    assert "none.yaml" in message


@pytest.fixture
def bad_workspace_flow(ws: str) -> Iterator[Path]:
    """The workspace's loyalty flow broken by an edit."""
    path = Path(ws) / "flows" / "loyalty.yaml"
    path.write_text(FLOW.replace("payments_90d >= 1", "payments_90 >= 1"), "utf-8")
    yield path


def test_a_broken_workspace_flow_stops_every_command_with_its_file_and_line(
    ws: str, bad_workspace_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["flows", "list"], ["decisions", "make", "loyalty", ADA]):
        code, message = _error([*argv, "-w", ws], capsys)
        assert f"{bad_workspace_flow} line 30: " in message and "payments_90" in message
