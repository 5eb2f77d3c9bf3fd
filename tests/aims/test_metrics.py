"""Objectives' KPIs read live values from the system, and say so when there is nothing to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimsight.aims._metrics import METRICS, LiveMetrics
from aimsight.core import Workspace
from aimsight.core.errors import InvalidInput
from aimsight.ingest import IngestService
from aimsight.store import Ledger, Store
from tests.factories.ingest import install, person, write_csv


def test_metrics_read_the_ledger_and_ingest_as_they_are(
    workspace: Workspace, tmp_path: Path
) -> None:
    install(workspace)
    with Store.open(workspace, upgrade=True) as store:
        ledger = Ledger.open(workspace, store)
        metrics = LiveMetrics(workspace, store, ledger)
        assert metrics.read("ingest.pass_rate").value is None
        good = write_csv(tmp_path / "people.csv", [person("P1"), person("P2")])
        IngestService(workspace, store, ledger).ingest_path(
            good, source="crm", entity="people", actor="test"
        )
        assert metrics.read("ledger.verified").value == 1.0
        assert metrics.read("ledger.entries").value == ledger.count()
        assert metrics.read("ingest.pass_rate").value == 1.0
        assert metrics.read("ingest.quarantine_rate").value == 0.0
        assert metrics.read("models.production_count").value == 0.0
        unavailable = metrics.read("models.approved_share")
        assert unavailable.value is None and "no model" in unavailable.detail
        assert metrics.read("checks.pass_rate").value is None


def test_a_check_pass_rate_is_read_from_the_latest_run(workspace: Workspace) -> None:
    with Store.open(workspace, upgrade=True) as store:
        metrics = LiveMetrics(
            workspace, store, Ledger.open(workspace, store), check_pass_rate=lambda: 0.75
        )
        assert metrics.read("checks.pass_rate").value == 0.75


def test_an_unknown_metric_names_the_ones_that_exist(workspace: Workspace) -> None:
    with Store.open(workspace, upgrade=True) as store:
        metrics = LiveMetrics(workspace, store, Ledger.open(workspace, store))
        with pytest.raises(InvalidInput, match="ledger.verified") as caught:
            metrics.read("ledger.verifed")
        assert caught.value.field == "metric"
        assert set(METRICS) >= {"ledger.verified", "ingest.pass_rate", "checks.pass_rate"}
