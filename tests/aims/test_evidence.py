"""The evidence package: one zip with everything an auditor asks for, a manifest hashing every
file, the manifest's digest on the ledger, and a verifier that names what changed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.aims._evidence import (
    EVIDENCE_PACK_KIND,
    MANIFEST_NAME,
    EvidenceManifest,
    build_evidence_pack,
    verify_pack,
)
from aimsight.aims._model import CheckStatus, ControlCheckResult
from aimsight.aims._records import AimsRecords
from aimsight.aims._review_pack import compile_review_pack, record_review_with_pack
from aimsight.core import Workspace
from aimsight.core.errors import InvalidInput, NotFound
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store
from tests.aims._checks_fakes import champion
from tests.aims._pdf_pages import render
from tests.registry._fakes import register

GINA = "cli:gina"


@dataclass(frozen=True)
class Built:
    workspace: Workspace
    store: Store
    ledger: Ledger
    manifest: EvidenceManifest


def _seed(workspace: Workspace, store: Store, ledger: Ledger) -> None:
    """A production model with a newer draft, SoA decisions, a check run, records and a review."""
    registry = ModelRegistry(workspace, store, ledger)
    champion(registry)
    register(registry)  # v2, still a draft: the latest version
    records = AimsRecords(workspace, store, ledger)
    system = records.create_system("Churn scoring", actor=GINA, kind="model", owner="governance")
    records.add_impact_assessment(
        system.system_id,
        actor=GINA,
        affected=["customers"],
        harms=["unfair targeting"],
        severity="medium",
        mitigations=["fairness gate"],
        expires_on="2099-01-01",
        signed_off_by="Gina",
    )
    records.add_risk(
        "=HYPERLINK(evil) offers skip older customers",
        actor=GINA,
        source="impact assessment",
        owner="Gina",
        likelihood=2,
        impact=3,
        system_id=system.system_id,
    )
    records.set_soa_entry(
        "A.6.2.8", actor=GINA, applicable=True, justification="We log", status="implemented"
    )
    records.save_check_results(
        [
            ControlCheckResult(
                "ledger_integrity", ("A.6.2.8",), "Ledger", CheckStatus.PASS, "It verifies"
            )
        ],
        run_by=GINA,
    )
    pack = compile_review_pack(workspace, store, ledger, actor=GINA)
    record_review_with_pack(workspace, store, ledger, pack, actor=GINA, attendees=["Gina"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("evidence")
    workspace = Workspace.create(root / "acme")
    with Store.open(workspace, upgrade=True) as store:
        ledger = Ledger.open(workspace, store)
        _seed(workspace, store, ledger)
        manifest = build_evidence_pack(
            workspace, store, ledger, root / "out" / "pack.zip", actor=GINA
        )
        yield Built(workspace, store, ledger, manifest)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(target: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def test_the_pack_holds_the_evidence_and_its_manifest_lists_every_file(built: Built) -> None:
    path = built.manifest.path
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert names[0] == MANIFEST_NAME and names[1:] == sorted(names[1:])  # a fixed order
    members = _members(path)
    manifest = json.loads(members[MANIFEST_NAME])

    listed = {item["path"]: item for item in manifest["files"]}
    assert set(listed) == set(names) - {MANIFEST_NAME}
    for name, item in listed.items():
        assert item["sha256"] == hashlib.sha256(members[name]).hexdigest()
        assert item["size"] == len(members[name])
    assert manifest["workspace"] == "acme"
    assert manifest["aimsight_version"] and manifest["catalogue_version"]
    assert manifest["created_at"] == built.manifest.created_at
    assert manifest["notes"] == []

    for ext in ("csv", "xlsx", "html", "pdf", "json"):
        assert f"soa/statement_of_applicability.{ext}" in listed
    assert render(members["soa/statement_of_applicability.pdf"]).first_page_dark_pixels > 0
    soa = json.loads(members["soa/statement_of_applicability.json"])
    assert len(soa["rows"]) == 38
    [a628] = [row for row in soa["rows"] if row["control_id"] == "A.6.2.8"]
    assert a628["check_status"] == "pass" and a628["implementation_status"] == "implemented"

    cards = sorted(name for name in listed if name.startswith("model_cards/"))
    assert cards == [f"model_cards/churn/v{n}.{ext}" for n in (1, 2) for ext in ("html", "md")]
    history = json.loads(members["checks/check_history.json"])
    assert history["trends"] == [{"check_id": "ledger_integrity", "statuses": ["pass"]}]
    assert len(json.loads(members["impact_assessments/impact_assessments.json"])) == 1
    assert len(json.loads(members["inventory/ai_systems.json"])) == 1
    rows = list(csv.DictReader(io.StringIO(members["risks/risk_register.csv"].decode("utf-8-sig"))))
    assert rows[0]["risk"].startswith("'=")  # cannot run as a spreadsheet formula
    review = sorted(name for name in listed if name.startswith("management_review/"))
    assert [name.rsplit("/", 1)[1] for name in review] == [
        "inputs.json",
        "record.json",
        "review.html",
        "review.pdf",
    ]
    head = json.loads(members["ledger/head.json"])
    assert head["verification"]["ok"] is True
    assert head["head_hash"] == built.ledger.get(head["head_seq"]).hash


def test_the_manifest_digest_is_on_the_ledger(built: Built) -> None:
    manifest_bytes = _members(built.manifest.path)[MANIFEST_NAME]
    digest = hashlib.sha256(manifest_bytes).hexdigest()

    entry = built.ledger.get(built.manifest.ledger_seq)

    assert entry.kind == EVIDENCE_PACK_KIND
    assert entry.payload["manifest_sha256"] == digest == built.manifest.manifest_sha256
    assert built.ledger.verify().ok


def test_a_fresh_pack_verifies(built: Built) -> None:
    result = verify_pack(built.manifest.path, ledger=built.ledger)

    assert result.ok and result.on_ledger is True
    assert (result.changed, result.added, result.removed) == ((), (), ())
    assert result.files_checked == len(built.manifest.files)
    assert result.to_dict()["manifest_sha256"] == built.manifest.manifest_sha256


def test_a_changed_an_added_and_a_removed_file_are_each_named(built: Built, tmp_path: Path) -> None:
    members = _members(built.manifest.path)
    members["risks/risk_register.csv"] += b"r_fake,a risk nobody assessed\r\n"
    members["extra/notes.txt"] = b"slipped in later"
    del members["inventory/ai_systems.json"]

    result = verify_pack(_rewrite(tmp_path / "t.zip", members))

    assert not result.ok
    assert result.changed == ("risks/risk_register.csv",)
    assert result.added == ("extra/notes.txt",)
    assert result.removed == ("inventory/ai_systems.json",)
    assert result.on_ledger is None


def test_a_manifest_rewritten_to_match_is_caught_by_the_ledger(
    built: Built, tmp_path: Path
) -> None:
    members = _members(built.manifest.path)
    members["inventory/ai_systems.json"] = b"[]\n"
    manifest = json.loads(members[MANIFEST_NAME])
    for item in manifest["files"]:
        if item["path"] == "inventory/ai_systems.json":
            item.update(sha256=hashlib.sha256(b"[]\n").hexdigest(), size=3)
    members[MANIFEST_NAME] = json.dumps(manifest).encode()
    forged = _rewrite(tmp_path / "forged.zip", members)

    assert verify_pack(forged).ok  # consistent on its own...
    result = verify_pack(forged, ledger=built.ledger)
    assert not result.ok and result.on_ledger is False  # ...but not the pack that was built


def test_a_second_copy_appended_to_the_zip_is_named_as_changed(
    built: Built, tmp_path: Path
) -> None:
    appended = tmp_path / "appended.zip"
    appended.write_bytes(built.manifest.path.read_bytes())
    with warnings.catch_warnings():  # zipfile warns about the duplicate name: that is the attack
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(appended, "a") as archive:
            archive.writestr("inventory/ai_systems.json", b"[]\n")

    result = verify_pack(appended)

    assert not result.ok and result.changed == ("inventory/ai_systems.json",)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [(None, "has no manifest.json"), (b"{not json", "not valid JSON"), (b"[]", "not an aimsight")],
)
def test_a_missing_or_unreadable_manifest_is_a_clear_error(
    built: Built, tmp_path: Path, manifest: bytes | None, message: str
) -> None:
    members = _members(built.manifest.path)
    if manifest is None:
        del members[MANIFEST_NAME]
    else:
        members[MANIFEST_NAME] = manifest

    with pytest.raises(InvalidInput, match=message):
        verify_pack(_rewrite(tmp_path / "bad.zip", members))


def test_a_path_that_is_no_pack_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no evidence pack"):
        verify_pack(tmp_path / "missing.zip")
    text = tmp_path / "pack.zip"
    text.write_text("hello")
    with pytest.raises(InvalidInput, match="not a readable zip"):
        verify_pack(text)


def test_a_pack_the_ledger_cannot_record_leaves_the_old_file_alone(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "pack.zip"
    out.write_bytes(b"the previous pack")
    with Store.open(workspace, upgrade=True) as store:
        ledger = Ledger.open(workspace, store)

        def refuse(*_args: object, **_kwargs: object) -> None:
            raise InvalidInput("the ledger is closed for the test")

        monkeypatch.setattr(ledger, "append", refuse)
        with pytest.raises(InvalidInput, match="closed for the test"):
            build_evidence_pack(workspace, store, ledger, out, actor=GINA)

    assert out.read_bytes() == b"the previous pack"
    assert [p.name for p in out.parent.iterdir()] == ["pack.zip"]  # no temporary file left


def test_a_review_pack_changed_on_disk_is_noted_in_the_manifest(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "ws")
    with Store.open(workspace, upgrade=True) as store:
        ledger = Ledger.open(workspace, store)
        pack = compile_review_pack(workspace, store, ledger, actor=GINA)
        review = record_review_with_pack(
            workspace, store, ledger, pack, actor=GINA, attendees=["Gina"]
        )
        assert review.pack_path is not None
        (workspace.root / review.pack_path).write_bytes(b"%PDF-1.4 not the pack")

        manifest = build_evidence_pack(workspace, store, ledger, tmp_path / "p.zip", actor=GINA)

    assert any("no longer matches" in note for note in manifest.notes)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_change_to_any_file_is_found_and_only_that_file(
    built: Built, data: st.DataObject
) -> None:
    members = _members(built.manifest.path)
    name = data.draw(st.sampled_from(sorted(set(members) - {MANIFEST_NAME})), label="file")
    new = data.draw(st.binary(max_size=64).filter(lambda b: b != members[name]), label="bytes")
    members[name] = new

    with tempfile.TemporaryDirectory() as folder:
        result = verify_pack(_rewrite(Path(folder) / "x.zip", members))

    assert (result.ok, result.changed, result.added, result.removed) == (False, (name,), (), ())


def test_a_review_pack_kept_elsewhere_comes_with_its_html_but_not_its_neighbours(
    tmp_path: Path,
) -> None:
    workspace = Workspace.create(tmp_path / "ws")
    with Store.open(workspace, upgrade=True) as store:
        ledger = Ledger.open(workspace, store)
        pack = compile_review_pack(workspace, store, ledger, actor=GINA)
        folder = workspace.root / "aims" / "reviews"
        folder.mkdir(parents=True)
        (folder / "review-a.pdf").write_bytes(pack.pdf)
        (folder / "review-a.html").write_text(pack.html, encoding="utf-8")
        (folder / "review-b.pdf").write_bytes(b"%PDF another review")
        AimsRecords(workspace, store, ledger).record_management_review(
            actor=GINA,
            held_on="2026-03-01",
            attendees=["Gina"],
            inputs=pack.inputs,
            pack_path="aims/reviews/review-a.pdf",
        )

        manifest = build_evidence_pack(workspace, store, ledger, tmp_path / "p.zip", actor=GINA)

    names = [item.path.rsplit("/", 1)[1] for item in manifest.files if "review" in item.path]
    assert names == ["record.json", "review-a.html", "review-a.pdf"]
