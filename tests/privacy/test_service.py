"""ConsentService: recording changes, history, the ledger, imports and the decision gate."""

from __future__ import annotations

import itertools
import multiprocessing
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from aimsight.core import InvalidInput, LedgerError, NotFound, Workspace
from aimsight.privacy import (
    ANY,
    LEDGER_KIND,
    POLICY_PATH,
    ConsentChangeIn,
    ConsentPolicyError,
    ConsentRecord,
    ConsentService,
    current_records,
    shipped_policy,
)
from aimsight.store import Ledger, Store
from tests.privacy._worker import record_change

_customers = itertools.count()


def new_customer() -> str:
    return f"cus_test{next(_customers):08d}"


def change(
    purpose: str,
    channel: str,
    status: str,
    *,
    day: int | None = None,
    source: str = "preference_centre",
    **extra: Any,
) -> ConsentChangeIn:
    recorded = None if day is None else f"2026-03-{day:02d}T09:00:00Z"
    return ConsentChangeIn(purpose, channel, status, source=source, recorded_at=recorded, **extra)


@pytest.fixture
def ledger(any_workspace: Workspace, any_store: Store) -> Ledger:
    return Ledger.open(any_workspace, any_store)


@pytest.fixture
def consents(any_workspace: Workspace, any_store: Store, ledger: Ledger) -> ConsentService:
    return ConsentService(any_workspace, any_store, ledger)


def consent_entries(ledger: Ledger) -> list[Any]:
    return ledger.entries(kind=LEDGER_KIND, limit=100_000)


# -- recording and reading ----------------------------------------------------------------------


def test_a_change_is_recorded_and_shows_in_the_effective_matrix(consents: ConsentService) -> None:
    customer = new_customer()
    result = consents.set(
        customer,
        [
            change("marketing", "email", "granted", day=1, source="signup_form"),
            change(ANY, "sms", "denied", day=2, source="call_centre"),
        ],
        actor="cli:gina",
    )
    assert [(r.purpose, r.channel, r.status) for r in result.records] == [
        (ANY, "sms", "denied"),
        ("marketing", "email", "granted"),
    ]
    assert result.check("marketing", "email").allowed
    assert not result.check("ai_decisioning", "sms").allowed
    assert result.check("ai_decisioning", "email").allowed
    assert len(result.effective) == 6 * 6
    assert result.policy_digest == shipped_policy().digest
    assert consents.get(customer) == result


def test_every_change_is_on_the_ledger_without_personal_data(
    consents: ConsentService, ledger: Ledger
) -> None:
    customer = new_customer()
    consents.set(customer, [change("profiling", "web", "granted", day=3)], actor="api:ak_1")
    [entry] = consent_entries(ledger)
    assert (entry.kind, entry.actor, entry.subject) == (LEDGER_KIND, "api:ak_1", customer)
    assert entry.payload == {
        "change_id": entry.payload["change_id"],
        "purpose": "profiling",
        "channel": ANY,
        "collected_via": "web",
        "status": "granted",
        "legal_basis": "consent",
        "source": "preference_centre",
        "recorded_at": "2026-03-03T09:00:00.000000Z",
        "took_effect": True,
    }
    assert not entry.has_personal
    assert ledger.verify().ok


def test_a_purpose_scoped_record_is_kept_for_every_channel_with_where_it_was_collected(
    consents: ConsentService,
) -> None:
    customer = new_customer()
    result = consents.set(
        customer, [change("profiling", "web", "granted", source="cookie_banner")], actor="t"
    )
    [record] = result.records
    assert (record.channel, record.collected_via) == (ANY, "web")
    assert result.check("profiling", "email").allowed
    assert "via web" in result.check("profiling", "email").reason


def test_the_legal_basis_defaults_to_the_purposes_and_may_be_given(
    consents: ConsentService,
) -> None:
    customer = new_customer()
    result = consents.set(
        customer,
        [
            change("ai_decisioning", ANY, "denied", day=1),
            change("marketing", "post", "granted", day=1, legal_basis="Legitimate_Interest"),
        ],
        actor="t",
    )
    bases = {record.purpose: record.legal_basis for record in result.records}
    assert bases == {"ai_decisioning": "legitimate_interest", "marketing": "legitimate_interest"}


def test_a_late_record_goes_into_the_history_but_not_into_force(
    consents: ConsentService, ledger: Ledger
) -> None:
    customer = new_customer()
    consents.set(customer, [change("marketing", "email", "revoked", day=10)], actor="t")
    result = consents.set(customer, [change("marketing", "email", "granted", day=2)], actor="t")
    assert [record.status for record in result.records] == ["revoked"]
    history = consents.history(customer)
    assert [(h.status, h.in_force) for h in history] == [("revoked", True), ("granted", False)]
    assert [e.payload["took_effect"] for e in consent_entries(ledger)] == [True, False]


def test_of_two_records_said_at_the_same_time_the_later_arrival_wins(
    consents: ConsentService,
) -> None:
    customer = new_customer()
    consents.set(customer, [change("newsletter", "email", "granted", day=5)], actor="t")
    result = consents.set(customer, [change("newsletter", "email", "denied", day=5)], actor="t")
    assert [record.status for record in result.records] == ["denied"]
    both = consents.set(
        customer,
        [
            change("newsletter", "sms", "denied", day=6),
            change("newsletter", "sms", "granted", day=6),
        ],
        actor="t",
    )
    assert both.check("newsletter", "sms").allowed


def test_withdrawn_is_read_as_revoked(consents: ConsentService) -> None:
    result = consents.set(new_customer(), [change("analytics", "web", "withdrawn")], actor="t")
    assert result.records[0].status == "revoked"


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (change("telepathy", "email", "granted"), "changes[1].purpose", "use one of: marketing"),
        (change("marketing", "fax", "granted"), "changes[1].channel", "or * (every channel)"),
        (change("marketing", "email", "maybe"), "changes[1].status", "granted, denied, revoked"),
        (change("marketing", "email", ""), "changes[1].status", "is required"),
        (
            change("marketing", "email", "granted", legal_basis="vibes"),
            "changes[1].legal_basis",
            "legitimate_interest",
        ),
        (change("marketing", "email", "granted", source=" "), "changes[1].source", "say where"),
        (
            ConsentChangeIn("marketing", "email", "granted", "x", recorded_at="yesterday"),
            "changes[1].recorded_at",
            "not a time",
        ),
        (
            ConsentChangeIn("marketing", "email", "granted", "x", recorded_at="2026-03-01T09:00"),
            "changes[1].recorded_at",
            "no time zone",
        ),
        (
            ConsentChangeIn(
                "marketing",
                "email",
                "granted",
                "x",
                recorded_at=datetime.now(UTC) + timedelta(days=1),
            ),
            "changes[1].recorded_at",
            "in the future",
        ),
    ],
)
def test_a_bad_change_writes_nothing_and_names_the_field(
    consents: ConsentService, ledger: Ledger, bad: ConsentChangeIn, field: str, words: str
) -> None:
    customer = new_customer()
    good = change("marketing", "sms", "granted")
    with pytest.raises(InvalidInput) as caught:
        consents.set(customer, [good, bad], actor="t")
    assert caught.value.field == field
    assert words in caught.value.message
    assert consents.history(customer) == []
    assert consent_entries(ledger) == []


def test_a_set_needs_a_change_and_an_actor(consents: ConsentService) -> None:
    with pytest.raises(InvalidInput, match="at least one change"):
        consents.set(new_customer(), [], actor="t")
    with pytest.raises(InvalidInput, match="actor"):
        consents.set(new_customer(), [change("marketing", "sms", "granted")], actor=" ")


def test_the_history_is_newest_first_and_can_be_limited(consents: ConsentService) -> None:
    customer = new_customer()
    for day in (3, 1, 2):
        consents.set(customer, [change("marketing", "email", "granted", day=day)], actor="t")
    history = consents.history(customer)
    assert [h.recorded_at[:10] for h in history] == ["2026-03-03", "2026-03-02", "2026-03-01"]
    assert [h.in_force for h in history] == [True, False, False]
    assert len(consents.history(customer, limit=1)) == 1
    with pytest.raises(InvalidInput, match="limit"):
        consents.history(customer, limit=0)


def test_a_failed_ledger_write_undoes_the_change(
    consents: ConsentService, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = new_customer()
    consents.set(customer, [change("marketing", "email", "granted", day=1)], actor="t")

    def refuse(_items: object) -> list[Any]:
        raise LedgerError("cannot write to the ledger: disk full")

    monkeypatch.setattr(ledger, "append_many", refuse)
    with pytest.raises(LedgerError):
        consents.set(
            customer,
            [change("marketing", "email", "revoked", day=2), change(ANY, "sms", "denied", day=2)],
            actor="t",
        )
    monkeypatch.undo()
    assert [(r.purpose, r.status) for r in consents.get(customer).records] == [
        ("marketing", "granted")
    ]
    assert len(consents.history(customer)) == 1
    assert len(consent_entries(ledger)) == 1


# -- the gate -----------------------------------------------------------------------------------


def test_check_answers_each_purpose_in_order(consents: ConsentService) -> None:
    customer = new_customer()
    consents.set(customer, [change("profiling", "web", "granted")], actor="t")
    checks = consents.check(customer, ["profiling", "ai_decisioning", "marketing"], "email")
    assert [(c.purpose, c.allowed) for c in checks] == [
        ("profiling", True),
        ("ai_decisioning", True),
        ("marketing", False),
    ]
    assert consents.check(new_customer(), ["ai_decisioning"], "push")[0].by_default


def test_check_refuses_an_unknown_purpose_or_channel(consents: ConsentService) -> None:
    with pytest.raises(InvalidInput) as caught:
        consents.check(new_customer(), ["profiling"], "fax")
    assert caught.value.field == "channel"
    with pytest.raises(InvalidInput) as caught:
        consents.check(new_customer(), ["telepathy"], "email")
    assert caught.value.field == "purposes[0]"


def test_check_reads_the_store_once(consents: ConsentService, any_store: Store) -> None:
    customer = new_customer()
    consents.set(customer, [change("profiling", "web", "granted")], actor="t")
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(any_store.engine, "before_cursor_execute", seen)
    try:
        consents.check(customer, ["profiling", "personalisation", "ai_decisioning"], "email")
    finally:
        event.remove(any_store.engine, "before_cursor_execute", seen)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert "privacy_consents" in selects[0] and "customer_id" in selects[0]


def test_check_is_fast_on_sqlite(workspace: Workspace, store: Store) -> None:
    consents = ConsentService(workspace, store, Ledger.open(workspace, store))
    customer = new_customer()
    consents.set(
        customer,
        [change(p, ANY, "granted") for p in ("profiling", "personalisation", "marketing")],
        actor="t",
    )
    for _ in range(200):  # warm the pool and the statement cache
        consents.check(customer, ["profiling", "ai_decisioning"], "email")
    timings = []
    for _ in range(1000):
        start = time.perf_counter()
        consents.check(customer, ["profiling", "ai_decisioning"], "email")
        timings.append(time.perf_counter() - start)
    # Typically ~0.1 ms; the bound leaves room for a busy test machine.
    assert statistics.median(timings) < 0.0005


def test_check_sees_a_change_made_by_another_process_at_once(
    any_workspace: Workspace, consents: ConsentService
) -> None:
    customer = new_customer()
    consents.set(customer, [change("profiling", ANY, "granted")], actor="t")
    assert consents.check(customer, ["ai_decisioning"], "email")[0].allowed
    context = multiprocessing.get_context("spawn")
    child = context.Process(
        target=record_change, args=(str(any_workspace.root), customer, "profiling", "revoked")
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    [check] = consents.check(customer, ["ai_decisioning"], "email")
    assert not check.allowed
    assert check.blocked_by is not None and check.blocked_by.source == "other_process"


def test_concurrent_writers_keep_the_newest_record(
    any_workspace: Workspace, any_store: Store, ledger: Ledger
) -> None:
    customer = new_customer()
    errors: list[BaseException] = []

    def write(day: int) -> None:
        service = ConsentService(any_workspace, any_store, ledger)
        status = "granted" if day % 2 else "revoked"
        try:
            service.set(customer, [change("marketing", "email", status, day=day)], actor="t")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(day,)) for day in range(1, 17)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    service = ConsentService(any_workspace, any_store, ledger)
    [record] = service.get(customer).records
    assert record.recorded_at.startswith("2026-03-16") and record.status == "revoked"
    assert len(service.history(customer)) == 16
    assert ledger.verify().ok


# -- the policy ---------------------------------------------------------------------------------


def test_a_workspace_policy_is_used_and_can_be_installed(
    workspace: Workspace, store: Store
) -> None:
    consents = ConsentService(workspace, store, Ledger.open(workspace, store))
    path = consents.install_default_policy()
    assert path == workspace.root / POLICY_PATH
    text = path.read_text("utf-8").replace(
        "channels: [email, sms, push, web, phone, post]", "channels: [email, carrier_pigeon]"
    )
    path.write_text(text, "utf-8")
    assert consents.policy.channels == ("email", "carrier_pigeon")
    result = consents.set(
        new_customer(), [change("marketing", "carrier_pigeon", "granted")], actor="t"
    )
    assert result.check("marketing", "carrier_pigeon").allowed
    assert consents.install_default_policy() == path  # an existing file is left alone
    assert "carrier_pigeon" in path.read_text("utf-8")
    path.write_text("channels: nope\n", "utf-8")
    with pytest.raises(ConsentPolicyError):
        consents.check(new_customer(), ["marketing"], "email")


# -- imports ------------------------------------------------------------------------------------


def test_an_import_is_applied_in_recorded_order_and_skips_what_it_imported_before(
    consents: ConsentService, ledger: Ledger
) -> None:
    ada, bob = new_customer(), new_customer()
    rows = [
        change("marketing", "email", "revoked", day=9, customer_id=ada, source_ref="r3"),
        change("marketing", "email", "granted", day=1, customer_id=ada, source_ref="r1"),
        change("profiling", "web", "granted", day=2, customer_id=bob, source_ref="r2"),
    ]
    stages: list[tuple[str, int, int]] = []
    report = consents.import_changes(rows, actor="t", progress=lambda *a: stages.append(a))
    assert (report.rows, report.applied, report.in_force, report.skipped) == (3, 3, 2, 0)
    assert report.ok and report.customers == 2
    assert stages[-1] == ("importing consents", 3, 3)
    assert consents.check(ada, ["marketing"], "email")[0].status == "revoked"
    assert all(h.in_force == (h.source_ref == "r3") for h in consents.history(ada))
    again = consents.import_changes(rows, actor="t")
    assert (again.rows, again.applied, again.skipped) == (3, 0, 3)
    assert len(consent_entries(ledger)) == 3
    assert ledger.verify().ok


def test_rows_without_a_reference_are_recognised_on_a_second_import(
    consents: ConsentService,
) -> None:
    rows = [change("newsletter", "post", "granted", day=4, customer_id=new_customer())]
    assert consents.import_changes(rows, actor="t").applied == 1
    assert consents.import_changes(rows, actor="t").skipped == 1


def test_an_import_rejects_bad_rows_with_their_reason_and_keeps_the_rest(
    consents: ConsentService,
) -> None:
    known = new_customer()

    def resolve(reference: str) -> str:
        if reference == "crm.customers:C1":
            return known
        raise NotFound(f"no customer, alias or record {reference!r}")

    rows = [
        change("marketing", "email", "granted", day=1, customer_id="crm.customers:C1", line=2),
        change("marketing", "fax", "granted", day=1, customer_id="crm.customers:C1", line=3),
        change("marketing", "email", "granted", day=1, customer_id="crm.customers:C9", line=4),
        change("marketing", "email", "granted", customer_id="crm.customers:C1", line=5),
        change("marketing", "email", "granted", day=1, line=6),
    ]
    report = consents.import_changes(rows, actor="t", resolve_customer=resolve)
    assert (report.rows, report.applied, report.skipped) == (5, 1, 0)
    assert not report.ok
    reasons = {item.line: (item.field, item.reason) for item in report.rejected}
    assert reasons[3][0] == "channel" and "unknown channel 'fax'" in reasons[3][1]
    assert reasons[4] == ("customer", "no customer, alias or record 'crm.customers:C9'")
    assert reasons[5][0] == "recorded_at" and "needs the time" in reasons[5][1]
    assert reasons[6][0] == "customer"
    assert report.to_dict()["rejected"][0]["line"] == 3


# -- invariants against the store (Hypothesis) --------------------------------------------------

_STORE_CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["marketing", "profiling", "ai_decisioning", ANY]),
        st.sampled_from(["email", "sms", ANY]),
        st.sampled_from(["granted", "denied", "revoked"]),
        st.integers(1, 6),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def sqlite_consents(workspace: Workspace, store: Store) -> Iterator[tuple[ConsentService, Ledger]]:
    ledger = Ledger.open(workspace, store)
    yield ConsentService(workspace, store, ledger), ledger


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=_STORE_CHANGES, split=st.integers(1, 12))
def test_the_store_holds_the_newest_record_per_key_and_the_ledger_every_change(
    sqlite_consents: tuple[ConsentService, Ledger],
    changes: list[tuple[str, str, str, int]],
    split: int,
) -> None:
    consents, ledger = sqlite_consents
    customer = new_customer()
    before = len(consent_entries(ledger))
    inputs = [change(p, c, s, day=d) for p, c, s, d in changes]
    applied = 0
    for start in range(0, len(inputs), split):
        batch = inputs[start : start + split]
        consents.set(customer, batch, actor="t")
        applied += len(batch)
    assert len(consent_entries(ledger)) - before == applied
    assert ledger.verify().ok
    policy = consents.policy
    model = current_records(
        (
            ConsentRecord(p, policy.key_channel(p, c), s, f"2026-03-{d:02d}T09:00:00.000000Z", "x")
            for p, c, s, d in changes
        ),
        policy,
    )
    held = {
        (r.purpose, r.channel): (r.status, r.recorded_at) for r in consents.get(customer).records
    }
    assert held == {key: (r.status, r.recorded_at) for key, r in model.items()}


# -- identity merges ----------------------------------------------------------------------------


def test_a_merge_moves_consent_to_the_survivor_and_keeps_the_newest_record(
    consents: ConsentService, ledger: Ledger
) -> None:
    survivor, merged = new_customer(), new_customer()
    consents.set(survivor, [change("marketing", "email", "granted", day=1)], actor="t")
    consents.set(
        merged,
        [change("marketing", "email", "revoked", day=5), change("profiling", "web", "granted")],
        actor="t",
    )
    assert consents.merge_customers([merged], survivor, actor="identity") == 2
    result = consents.get(survivor)
    assert {(r.purpose, r.status) for r in result.records} == {
        ("marketing", "revoked"),
        ("profiling", "granted"),
    }
    assert consents.get(merged).records == ()
    assert len(consents.history(survivor)) == 3
    [entry] = ledger.entries(kind="consent.customers_merged")
    assert entry.subject == survivor and entry.payload["merged"] == [merged]
    assert consents.merge_customers([merged], survivor, actor="identity") == 0
    with pytest.raises(InvalidInput):
        consents.merge_customers([survivor], survivor, actor="identity")


def test_a_merge_the_ledger_refuses_is_undone(
    consents: ConsentService, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    survivor, merged = new_customer(), new_customer()
    consents.set(survivor, [change("newsletter", "post", "granted", day=1)], actor="t")
    consents.set(merged, [change("newsletter", "post", "denied", day=2)], actor="t")

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise LedgerError("cannot write to the ledger: disk full")

    monkeypatch.setattr(ledger, "append", refuse)
    with pytest.raises(LedgerError):
        consents.merge_customers([merged], survivor, actor="identity")
    monkeypatch.undo()
    assert [r.status for r in consents.get(survivor).records] == ["granted"]
    assert [r.status for r in consents.get(merged).records] == ["denied"]
    assert [h.customer_id for h in consents.history(merged)] == [merged]
