"""`aimsight features ...`: definitions, one customer's features, offline builds, publishing.

The 40-person company (tests/factories/identity.py) with payments, tickets and web events up
to 1 November 2026 (tests/factories/features.py) is set up once per module through the CLI,
as a user would: init, ingest, identity run. Tests that write work on a copy.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from aimsight.cli import main
from aimsight.cli._features_cmds import _as_of
from aimsight.core import Workspace
from aimsight.features import shipped_definitions
from aimsight.store import Ledger, Store
from tests.cli._runner import run, run_json
from tests.factories.features import write_activity
from tests.factories.identity import write_people

pytestmark = pytest.mark.usefixtures("wide_terminal")

ADA = "crm.customers:C1001"  # person 0: pays on the 3rd of each month from February 2026


def _quiet(argv: list[str]) -> int:
    """Run a setup command outside any test's capture; its exit code."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def resolved_company(root: Path) -> Path:
    """A workspace made by `aimsight init` holding the company's CRM, billing, support and
    web data up to 1 November 2026, resolved by `aimsight identity run`."""
    ws = root / "acme"
    assert _quiet(["init", str(ws)]) == 0
    people = write_people(root / "people")
    activity = write_activity(root / "activity", until=date(2026, 11, 1))
    for path, source, entity in (
        (people["crm"], "crm", "customers"),
        (people["billing"], "billing", "accounts"),
        (activity["transactions"], "billing", "transactions"),
        (activity["tickets"], "support", "tickets"),
        (activity["events"], "web", "events"),
    ):
        argv = ["ingest", str(path), "--source", source, "--entity", entity, "-w", str(ws)]
        assert _quiet([*argv, "--json"]) == 0
    assert _quiet(["identity", "run", "-w", str(ws), "--json"]) == 0
    return ws


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The resolved company (once per module); read-only."""
    return resolved_company(tmp_path_factory.mktemp("features-cli"))


@pytest.fixture
def acme(company: Path, tmp_path: Path) -> str:
    """A private copy of the company's workspace, for tests that write."""
    return str(shutil.copytree(company, tmp_path / "acme"))


def _one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, out, err = run(argv, capsys)
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    return code, err


def test_init_installs_the_feature_definitions_and_model_declarations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["init", str(tmp_path / "acme")], capsys)
    assert code == 0
    features = tmp_path / "acme" / "features" / "features.yaml"
    models = tmp_path / "acme" / "models" / "models.yaml"
    flat = "".join(out.split())  # Rich may fold a long path
    assert str(features) in flat and str(models) in flat
    assert "docs/features.md" in features.read_text(encoding="utf-8")
    assert "name: churn" in models.read_text(encoding="utf-8")
    made = json.loads(run(["init", str(tmp_path / "beta"), "--json"], capsys)[1])
    assert made["feature_definitions"] == str(tmp_path / "beta" / "features" / "features.yaml")
    assert made["models_config"] == str(tmp_path / "beta" / "models" / "models.yaml")


def test_show_lists_the_definitions_in_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "acme")
    run(["init", ws], capsys)
    shown = run_json(["features", "show", "-w", ws], capsys)
    shipped = shipped_definitions()
    assert shown["file"] == "features/features.yaml" and shown["digest"] == shipped.digest
    assert [f["name"] for f in shown["features"]] == shipped.names
    payments = next(f for f in shown["features"] if f["name"] == "payments_90d")
    assert (payments["kind"], payments["type"], payments["sensitive"]) == (
        "aggregate",
        "integer",
        False,
    )
    assert payments["definition"]["window"] == "90d"
    assert payments["definition"]["where"] == {"type": "payment"}
    code, out, _ = run(["features", "show", "-w", ws], capsys)
    assert code == 0 and "features: 27" in out
    assert "count of rows of billing.transactions where type = payment, last 90d" in out
    assert "90d ending 30d ago" in out  # web_events_prior_90d
    assert "sensitive" in out and "age_band" in out

    # Edits to the workspace's copy are what show (and every build) uses.
    path = tmp_path / "acme" / "features" / "features.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("window: 90d\n", "window: 60d\n", 1), encoding="utf-8")
    changed = run_json(["features", "show", "-w", ws], capsys)
    assert changed["digest"] != shipped.digest
    assert changed["features"][1]["definition"]["window"] == "60d"


def test_a_broken_definitions_file_is_one_line_naming_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "acme")
    run(["init", ws], capsys)
    path = tmp_path / "acme" / "features" / "features.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("window: 90d\n", "windw: 90d\n", 1), encoding="utf-8")
    _, err = _one_line_error(["features", "show", "-w", ws], capsys)
    assert "features[1] (payments_90d).windw" in err and "docs/features.md" in err


def test_publish_then_look_a_customer_up_in_the_online_snapshot(
    acme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = _one_line_error(["features", "show", "--customer", ADA, "-w", acme], capsys)
    assert "run `aimsight features publish` first" in err

    snapshot = run_json(["features", "publish", "-w", acme], capsys)
    assert snapshot["customers"] == 40
    assert snapshot["as_of"] == "2026-10-10T12:00:00.000001Z"  # just after the last event
    assert snapshot["path"].startswith("features/online/")
    found = run_json(["features", "show", "--customer", ADA, "-w", acme], capsys)
    assert found["customer_id"].startswith("cus_") and found["as_of"] == snapshot["as_of"]
    assert (found["features"]["payments_90d"], found["features"]["country"]) == (3, "GB")
    by_id = run_json(["features", "show", "--customer", found["customer_id"], "-w", acme], capsys)
    assert by_id == found

    code, out, _ = run(["features", "show", "--customer", ADA, "-w", acme], capsys)
    assert code == 0 and found["customer_id"] in out and "payments_90d" in out
    assert "Successful payments in the last 90 days." in out
    code, out, _ = run(["features", "publish", "--as-of", "2026-06-01", "-w", acme], capsys)
    assert code == 0 and "published features of 40 customers as of 2026-06-01" in out
    earlier = run_json(["features", "show", "--customer", ADA, "-w", acme], capsys)
    assert earlier["as_of"].startswith("2026-06-01")
    assert earlier["features"]["payments_90d"] == 3
    workspace = Workspace.open(acme)
    with Store.open(workspace) as store:
        published = list(Ledger.open(workspace, store).entries(kind="features.online_published"))
    assert len(published) == 2


def test_a_customer_s_features_as_of_a_date_read_only_what_came_before(
    company: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(company)
    june = run_json(
        ["features", "show", "--customer", ADA, "--as-of", "2026-06-01", "-w", ws], capsys
    )
    assert june["as_of"] == "2026-06-01T00:00:00.000000Z"
    assert june["customer_id"].startswith("cus_")
    features = june["features"]
    assert features["payments_90d"] == 3  # 3 March, April and May
    assert features["failed_payments_90d"] == 0  # 2 March is 91 days before
    assert features["failed_payments_365d"] == 1
    # A payment at exactly the as-of time is outcome, not evidence: 3 May 08:00 is not counted.
    counts = [
        run_json(["features", "show", "--customer", ADA, "--as-of", moment, "-w", ws], capsys)[
            "features"
        ]["payments_365d"]
        for moment in ("2026-05-03T08:00:00Z", "2026-05-03T08:00:00.000001Z")
    ]
    assert counts == [3, 4]
    code, out, _ = run(
        ["features", "show", "--customer", ADA, "--as-of", "2026-06-01", "-w", ws], capsys
    )
    assert code == 0 and "as of 2026-06-01T00:00:00" in out and "none" not in out.split()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--customer", ADA, "--as-of", "2026-02-30"], "--as-of: '2026-02-30' is not a date"),
        (["--customer", ADA, "--as-of", "2026-06-01T12:00"], "has no time zone"),
        (["--as-of", "2026-06-01"], "--as-of goes with --customer"),
        (["--customer", ADA, "--as-of", "2025-06-01"], "was not yet a customer before 2025-06-01"),
        (["--customer", "crm.customers:C9999", "--as-of", "2026-06-01"], "C9999"),
    ],
)
def test_bad_requests_are_one_clear_line(
    company: Path, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = _one_line_error(["features", "show", *argv, "-w", str(company)], capsys)
    assert expected in err


def test_build_writes_every_as_of_date_to_one_lake_file(
    acme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["features", "build", "--as-of", "2026-07-01", "--as-of", "2026-06-01", "-w", acme]
    built = run_json(argv, capsys)
    assert built["as_of_dates"] == ["2026-06-01T00:00:00.000000Z", "2026-07-01T00:00:00.000000Z"]
    assert (built["rows"], built["customers"]) == (80, 40)
    assert built["features"] == shipped_definitions().names
    assert built["snapshot"] and all(len(sha) == 64 for sha in built["snapshot"].values())
    assert (Path(acme) / "lake" / built["path"]).is_file()

    code, out, _ = run(["features", "build", "--as-of", "2026-08-01", "-w", acme], capsys)
    assert code == 0 and "40 rows, 40 customers, 27 features" in out
    assert f"{len(built['snapshot'])} lake files read" in out
    assert "features/offline/fb_" in "".join(out.split())
    workspace = Workspace.open(acme)
    with Store.open(workspace) as store:
        entries = list(Ledger.open(workspace, store).entries(kind="features.offline_built"))
    assert [entry.subject for entry in entries][0] == built["build_id"] and len(entries) == 2
    _, err = _one_line_error(["features", "build", "--as-of", "June", "-w", acme], capsys)
    assert "--as-of" in err and "'June' is not a date" in err


_ZONES = st.integers(-23 * 60, 23 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
_TIMES = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)))
def test_any_iso_date_is_an_as_of(day: date) -> None:
    assert _as_of(day.isoformat()) == day


@given(_TIMES, _ZONES)
def test_any_iso_time_with_its_zone_is_an_as_of_and_one_without_is_refused(
    moment: datetime, zone: timezone
) -> None:
    aware = moment.replace(tzinfo=zone)
    assert _as_of(aware.isoformat()) == aware
    with pytest.raises(typer.BadParameter, match="has no time zone"):
        _as_of(moment.isoformat())
