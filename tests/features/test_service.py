"""The feature service on a real workspace: ingest, resolve, then features as users see them.

A 40-person company (tests/factories/identity.py) with payments, tickets and web events
(tests/factories/features.py) is ingested and resolved once per module; tests that write
work on a copy.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.core.workspace import Workspace
from aimsight.features import FeatureService, LabelSpec
from aimsight.identity import IdentityService
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.store import Lake, Ledger, Store
from tests.factories.features import PAYING, write_activity
from tests.factories.identity import CRM_HEADER, crm_row, email_of, write_csv, write_people

T = "2026-06-01"


def _ingest(ws: Workspace, path: Path, source: str, entity: str) -> None:
    with Store.open(ws) as store:
        service = IngestService(ws, store, Ledger.open(ws, store))
        service.ingest_path(path, source=source, entity=entity, actor="test")


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The company ingested up to 1 November 2026 and resolved (once per module)."""
    root = tmp_path_factory.mktemp("features-service")
    ws = Workspace.create(root / "acme")
    with Store.open(ws, upgrade=True) as store:
        ContractRegistry.for_workspace(ws).install_defaults()
        IdentityService(ws, store, Ledger.open(ws, store)).install_default_config()
    people = write_people(root / "people")
    activity = write_activity(root / "activity", until=date(2026, 11, 1))
    _ingest(ws, people["crm"], "crm", "customers")
    _ingest(ws, people["billing"], "billing", "accounts")
    _ingest(ws, activity["transactions"], "billing", "transactions")
    _ingest(ws, activity["tickets"], "support", "tickets")
    _ingest(ws, activity["events"], "web", "events")
    with Store.open(ws) as store:
        IdentityService(ws, store, Ledger.open(ws, store)).run(actor="test")
    return ws.root


@pytest.fixture
def acme(company: Path, tmp_path: Path) -> Workspace:
    """A private copy of the company's workspace."""
    shutil.copytree(company, tmp_path / "ws")
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def acme_store(acme: Workspace) -> Iterator[Store]:
    with Store.open(acme) as opened:
        yield opened


@pytest.fixture
def features(acme: Workspace, acme_store: Store) -> FeatureService:
    return FeatureService(acme, acme_store, Ledger.open(acme, acme_store))


def _customer(ws: Workspace, store: Store, record: str) -> str:
    return IdentityService(ws, store, Ledger.open(ws, store)).customer_id_of(record)


def _recorded(ws: Workspace, store: Store, kind: str) -> list[dict[str, object]]:
    return [entry.payload for entry in Ledger.open(ws, store).entries(kind=kind)]


def test_features_as_of_t_stay_the_same_when_later_events_arrive(
    acme: Workspace, acme_store: Store, features: FeatureService, tmp_path: Path
) -> None:
    before = features.compute(T)
    later = write_activity(tmp_path / "later", since=date(2026, 11, 1), until=date(2027, 2, 1))
    moved = crm_row(0, "C1001", email=email_of(0), signup="2026-01-05T10:00:00Z")
    moved[4] = ""  # no phone number yet in the new country
    moved[8], moved[12] = "IE", "2026-11-20T10:00:00Z"  # moved country after T
    write_csv(tmp_path / "later" / "crm_update.csv", CRM_HEADER, [moved])
    _ingest(acme, later["transactions"], "billing", "transactions")
    _ingest(acme, later["events"], "web", "events")
    _ingest(acme, tmp_path / "later" / "crm_update.csv", "crm", "customers")

    pd.testing.assert_frame_equal(features.compute(T), before)

    # The new rows are there: they show as of a later date.
    ada = _customer(acme, acme_store, "crm.customers:C1001")
    now = features.compute("2027-01-15", customers=[ada]).iloc[0]
    then = before.set_index("customer_id").loc[ada]
    assert (then["country"], now["country"]) == ("GB", "IE")
    assert now["payments_365d"] > then["payments_365d"]


def test_a_customer_s_features_describe_their_history(
    acme: Workspace, acme_store: Store, features: FeatureService
) -> None:
    frame = features.compute(T).set_index("customer_id")
    assert len(frame) == 40  # 34 CRM people and 6 duplicates resolved, billing joined
    payer = frame.loc[_customer(acme, acme_store, "billing.accounts:A3001")]  # person 0
    assert payer["payments_90d"] == 3  # 3 March, April and May
    assert payer["failed_payments_90d"] == 0  # failed on 2 March: 91 days before
    assert payer["failed_payments_365d"] == 1
    assert payer["days_since_last_payment"] == pytest.approx(28 + 16 / 24)  # 3 May 08:00
    assert payer["tickets_90d"] == 1 and payer["cancel_tickets_90d"] == 0
    assert payer["country"] == "GB"
    assert payer["plan"] == "basic"
    by_email = frame.loc[_customer(acme, acme_store, "billing.accounts:A3002")]  # ticket by e-mail
    assert by_email["tickets_90d"] == 1
    unbilled = frame.loc[_customer(acme, acme_store, "crm.customers:C1036")]  # person 35
    assert unbilled["payments_90d"] == 0 and pd.isna(unbilled["days_since_last_payment"])


def test_an_offline_build_stacks_dates_in_one_file_and_fingerprints_the_lake(
    acme: Workspace, acme_store: Store, features: FeatureService
) -> None:
    seen: list[tuple[str, int, int]] = []
    build = features.build_offline(
        ["2026-06-01", date(2026, 4, 1)], progress=lambda *step: seen.append(step)
    )
    assert build.as_of_dates == ["2026-04-01T00:00:00.000000Z", "2026-06-01T00:00:00.000000Z"]
    assert build.path == f"features/offline/{build.build_id}.parquet"
    lake = Lake.for_workspace(acme)
    stored = pq.read_table(lake.resolve(build.path)).to_pandas()
    expected = pd.concat([features.compute("2026-04-01"), features.compute(T)], ignore_index=True)
    assert len(stored) == build.rows == len(expected)
    assert list(stored.columns) == ["customer_id", "as_of", *build.features]
    schema = pq.read_schema(lake.resolve(build.path))
    assert schema.field("age_band").type == pa.string()  # typed even where all are unknown
    assert schema.field("payments_90d").type == pa.int64()
    assert stored["payments_90d"].tolist() == expected["payments_90d"].tolist()
    assert build.customers == 40
    raw = IngestService(acme, acme_store, Ledger.open(acme, acme_store)).lake_files()
    read = {path for dataset in ("billing.transactions", "web.events") for path in raw[dataset]}
    assert read <= set(build.snapshot)
    assert all(build.snapshot[path] == lake.sha256(path) for path in build.snapshot)
    assert seen[-1] == ("writing", 2, 2)
    [recorded] = _recorded(acme, acme_store, "features.offline_built")
    assert recorded["sha256"] == build.sha256 and recorded["snapshot_files"] == len(build.snapshot)


def test_a_churn_training_frame_labels_who_stopped_paying(
    acme: Workspace, acme_store: Store, features: FeatureService
) -> None:
    training = features.training_frame([T], LabelSpec(kind="churn"))
    frame = training.frame.set_index("customer_id")
    assert len(frame) == 30  # the billed people, all active on 1 June
    churned = {
        _customer(acme, acme_store, f"billing.accounts:A{3001 + i}") for i in range(PAYING, 30)
    }
    assert set(frame.index[frame["churned"] == 1]) == churned
    assert frame["event"][list(churned)].eq(1).all()
    assert training.label == "churned"
    assert training.label_columns == ["churned", "duration_days", "event"]
    assert "country" in training.sensitive and "country" not in training.features
    assert set(training.features) <= set(frame.columns)
    assert training.descriptions["payments_90d"].startswith("Successful payments")
    assert training.snapshot and training.provenance()["rows"] == 30
    json.dumps(training.provenance(), allow_nan=False)  # what a registry stores


def test_an_as_of_whose_label_window_runs_past_the_data_is_refused(
    features: FeatureService,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        features.training_frame(["2026-06-01", "2026-08-01"], LabelSpec(kind="churn"))
    message = str(caught.value)
    assert "as-of 2026-08-01" in message
    assert "the last usable as-of date is 2026-07-05" in message  # last payment 3 Oct 08:00
    assert caught.value.field == "as_of_dates"


def test_a_propensity_frame_labels_an_event_after_the_as_of(features: FeatureService) -> None:
    spec = LabelSpec(
        kind="propensity",
        source="web.events",
        where={"type": "login"},
        window_days=20,
        name="logs_in",
    )
    training = features.training_frame(["2026-06-01"], spec)
    frame = training.frame
    assert len(frame) == 40
    assert frame["logs_in"].sum() == PAYING  # payers log in on 10 June, churners are gone


def test_online_features_come_from_the_newest_published_snapshot(
    acme: Workspace, acme_store: Store, features: FeatureService
) -> None:
    ada = _customer(acme, acme_store, "crm.customers:C1001")
    with pytest.raises(NotFound, match="run `aimsight features publish`"):
        features.online(ada)

    published = features.publish_online()
    assert published.as_of == "2026-10-10T12:00:00.000001Z"  # just after the last event
    assert published.customers == 40
    found = features.online(ada)
    expected = features.compute(published.as_of, customers=[ada]).iloc[0]
    assert found["customer_id"] == ada
    assert found["as_of"] == published.as_of
    assert found["payments_90d"] == expected["payments_90d"]
    assert found["days_since_last_payment"] == pytest.approx(expected["days_since_last_payment"])
    assert found["country"] == "GB"
    assert isinstance(found["payments_90d"], int)
    json.dumps(found, allow_nan=False)  # ready for an API response, nulls as None
    assert features.online("crm.customers:C1001")["customer_id"] == ada  # by record key
    stored = pq.read_table(Lake.for_workspace(acme).resolve(published.path)).to_pandas()
    assert stored["customer_id"].is_monotonic_increasing
    [recorded] = _recorded(acme, acme_store, "features.online_published")
    assert recorded["path"] == published.path

    features.publish_online("2026-03-01")  # a newer snapshot, as of an earlier date
    assert features.online(ada)["as_of"] == "2026-03-01T00:00:00.000000Z"
    with pytest.raises(NotFound, match="'cus_nobody' is not in the online feature snapshot"):
        features.online("cus_nobody")


def test_the_whole_online_snapshot_matches_the_lookups_and_is_named_by_its_file(
    features: FeatureService,
) -> None:
    published = features.publish_online()
    name, frame = features.online_frame()
    assert name == Path(published.path).name == features.online_version()
    assert len(frame) == published.customers
    for row in frame.head(5).to_dict(orient="records"):
        looked_up = features.online(row["customer_id"])
        assert looked_up["payments_90d"] == row["payments_90d"]
    features.publish_online("2026-03-01")
    assert features.online_frame()[0] != name  # a newer snapshot, a new name


def test_transactions_are_successful_payments_per_customer(features: FeatureService) -> None:
    payments = features.transactions(until="2026-04-01")
    assert list(payments.columns) == ["customer_id", "date", "value"]
    assert len(payments) == 60  # 30 billed people paid on 3 February and 3 March
    assert payments["value"].eq(7.99).all()
    assert payments.groupby("customer_id").size().eq(2).all()
    assert len(features.transactions()) > 60


def test_definitions_are_installed_once_and_checked_on_load(
    acme: Workspace, features: FeatureService
) -> None:
    assert features.definitions().digest  # the shipped set while none is installed
    assert features.install_default_definitions() is True
    assert features.install_default_definitions() is False
    path = features.definitions_path
    assert path == acme.root / "features" / "features.yaml"
    text = path.read_text(encoding="utf-8").replace("window: 90d", "window: 90 days", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        features.definitions()
    assert str(caught.value).startswith(f"{path}: features[")
    assert "window" in str(caught.value)


def test_a_definition_naming_a_missing_column_fails_at_compute_naming_the_file(
    features: FeatureService,
) -> None:
    features.install_default_definitions()
    path = features.definitions_path
    text = path.read_text(encoding="utf-8").replace("column: birth_date", "column: born_on")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        features.compute(T)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "feature 'age_band' reads column 'born_on' of crm.customers" in message


def test_features_need_identity_to_have_run(workspace: Workspace, store: Store) -> None:
    ContractRegistry.for_workspace(workspace).install_defaults()
    with pytest.raises(NotFound, match="run `aimsight identity run` first"):
        FeatureService(workspace, store).compute(T)


def test_as_of_times_must_be_readable(features: FeatureService) -> None:
    with pytest.raises(InvalidInput, match="'last tuesday' is not a date or time"):
        features.compute("last tuesday")
    with pytest.raises(InvalidInput, match="has no time zone"):
        features.compute("2026-06-01T00:00:00")
    with pytest.raises(InvalidInput, match="at least one as-of date"):
        features.build_offline([])
