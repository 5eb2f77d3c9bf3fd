"""The evidence package: everything an ISO/IEC 42001 auditor asks for, in one zip that proves
it has not changed since it was built.

:func:`build_evidence_pack` collects the Statement of Applicability (CSV, XLSX, HTML, PDF and
JSON), the history of the automated checks, the model cards of every serving and latest model
version, the impact assessments, the risk register, the AI systems inventory, the latest
management review pack and the ledger's head, then writes ``manifest.json`` listing every other
file with its SHA-256 and size. The manifest's own SHA-256 goes on the ledger, so a pack whose
manifest was rewritten to match altered files is still caught. :func:`verify_pack` recomputes
every hash and names each file that was changed, added or removed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import aimsight
from aimsight.aims._catalogue import shipped_catalogue
from aimsight.aims._export import export_soa
from aimsight.aims._records import AimsRecords
from aimsight.aims._review_pack import REVIEWS_DIR
from aimsight.aims._soa import SoaEntry, StatementOfApplicability, build_soa
from aimsight.core import AimsightError, InvalidInput, NotFound, Workspace, isoformat_utc, now_utc
from aimsight.registry import ModelRegistry
from aimsight.store import Ledger, Store

__all__ = [
    "EVIDENCE_PACK_KIND",
    "MANIFEST_NAME",
    "EvidenceManifest",
    "PackFile",
    "PackVerification",
    "build_evidence_pack",
    "verify_pack",
]

MANIFEST_NAME: Final = "manifest.json"
EVIDENCE_PACK_KIND: Final = "aims.evidence_pack.built"
"""The ledger kind of a built pack; its payload holds the manifest's SHA-256."""

_FORMAT: Final = "aimsight.evidence_pack"
_FORMAT_VERSION: Final = 1
_SERVING_STAGES: Final = ("shadow", "canary", "production")
_SAFE_PART = re.compile(r"[^A-Za-z0-9_.-]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_RISK_COLUMNS: Final = (
    "risk_id",
    "risk",
    "source",
    "system_id",
    "owner",
    "likelihood",
    "impact",
    "score",
    "level",
    "treatment",
    "treatment_plan",
    "controls",
    "residual_likelihood",
    "residual_impact",
    "residual_score",
    "residual_level",
    "next_review",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class PackFile:
    """One file of a pack as the manifest lists it."""

    path: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class EvidenceManifest:
    """What :func:`build_evidence_pack` wrote: where, when, what, and the manifest's digest.

    ``notes`` say what the pack could not hold as expected (e.g. a review pack file that no
    longer matches its recorded digest); ``ledger_seq`` is the entry recording the pack.
    """

    path: Path
    created_at: str
    created_by: str
    workspace: str
    aimsight_version: str
    catalogue_version: str
    files: tuple[PackFile, ...]
    notes: tuple[str, ...]
    manifest_sha256: str
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": str(self.path),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "workspace": self.workspace,
            "aimsight_version": self.aimsight_version,
            "catalogue_version": self.catalogue_version,
            "files": [item.to_dict() for item in self.files],
            "notes": list(self.notes),
            "manifest_sha256": self.manifest_sha256,
            "ledger_seq": self.ledger_seq,
        }


@dataclass(frozen=True)
class PackVerification:
    """The outcome of :func:`verify_pack`.

    ``changed``, ``added`` and ``removed`` name files (paths inside the pack) whose content
    differs from the manifest, that the manifest does not list, or that it lists but are gone.
    ``on_ledger`` is whether the ledger holds the manifest's digest: ``None`` when no ledger
    was given to look in.
    """

    ok: bool
    changed: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    manifest_sha256: str
    files_checked: int
    created_at: str | None
    workspace: str | None
    on_ledger: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "ok": self.ok,
            "changed": list(self.changed),
            "added": list(self.added),
            "removed": list(self.removed),
            "manifest_sha256": self.manifest_sha256,
            "files_checked": self.files_checked,
            "created_at": self.created_at,
            "workspace": self.workspace,
            "on_ledger": self.on_ledger,
        }


# -- building -----------------------------------------------------------------------------------


def build_evidence_pack(
    workspace: Workspace, store: Store, ledger: Ledger, out: Path, *, actor: str
) -> EvidenceManifest:
    """Build the evidence package as a zip at ``out`` and record it on the ledger.

    The zip is written to a temporary file beside ``out``, recorded on the ledger (kind
    :data:`EVIDENCE_PACK_KIND`, payload the manifest's SHA-256), then renamed into place: ``out``
    is either the whole new pack, on the ledger, or left as it was. Files are in a fixed order
    (``manifest.json`` first, then by path).

    Args:
        out: the zip file to write (its folder is created if missing; an existing file is
            replaced).
        actor: who builds it (the ledger actor, named in the manifest).

    Raises:
        InvalidInput: ``actor`` is blank or ``out`` is a folder.
    """
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInput("actor is required: say who builds the pack", field="actor")
    target = Path(out)
    if target.is_dir():
        raise InvalidInput(
            f"out {target} is a folder; give the zip file to write, e.g. {target / 'pack.zip'}",
            field="out",
        )
    created = now_utc()
    records = AimsRecords(workspace, store, ledger)
    catalogue = shipped_catalogue()
    files: dict[str, bytes] = {}
    notes: list[str] = []
    _add_soa(files, records)
    files["checks/check_history.json"] = _json_bytes(_check_history(records))
    _add_model_cards(files, ModelRegistry(workspace, store, ledger))
    files["impact_assessments/impact_assessments.json"] = _json_bytes(
        [item.to_dict() for item in records.impact_assessments()]
    )
    risks = [risk.to_dict() for risk in records.risks()]
    files["risks/risk_register.json"] = _json_bytes(risks)
    files["risks/risk_register.csv"] = _risk_csv(risks)
    files["inventory/ai_systems.json"] = _json_bytes(
        [system.to_dict() for system in records.ai_systems()]
    )
    notes += _add_latest_review(files, records, workspace)
    files["ledger/head.json"] = _json_bytes(_ledger_head(ledger))
    listed = tuple(
        PackFile(path, hashlib.sha256(data).hexdigest(), len(data))
        for path, data in sorted(files.items())
    )
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "created_at": isoformat_utc(created),
        "created_by": actor.strip(),
        "workspace": workspace.root.name,
        "aimsight_version": aimsight.__version__,
        "standard": catalogue.standard,
        "catalogue_version": catalogue.version,
        "notes": notes,
        "files": [item.to_dict() for item in listed],
    }
    manifest_bytes = _json_bytes(manifest)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    staged = _staged_zip(target, {MANIFEST_NAME: manifest_bytes, **files}, created)
    try:
        entry = ledger.append(
            EVIDENCE_PACK_KIND,
            actor=actor.strip(),
            subject=f"evidence_pack:{digest[:16]}",
            payload={"manifest_sha256": digest, "files": len(listed)},
        )
        os.replace(staged, target)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return EvidenceManifest(
        path=target,
        created_at=manifest["created_at"],
        created_by=manifest["created_by"],
        workspace=manifest["workspace"],
        aimsight_version=manifest["aimsight_version"],
        catalogue_version=catalogue.version,
        files=listed,
        notes=tuple(notes),
        manifest_sha256=digest,
        ledger_seq=entry.seq,
    )


def _json_bytes(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _soa(records: AimsRecords) -> StatementOfApplicability:
    entries = [
        SoaEntry(
            control_id=item["control_id"],
            applicable=item["applicable"],
            justification=item["justification"] or "",
            status=item["status"],
            owner=item["owner"],
            evidence=list(item["evidence"]),
            updated_at=item["updated_at"] or "",
            updated_by=item["updated_by"],
        )
        for item in records.soa_entries()
    ]
    return build_soa(shipped_catalogue(), entries, records.latest_check_results())


def _add_soa(files: dict[str, bytes], records: AimsRecords) -> None:
    soa = _soa(records)
    for format in ("csv", "xlsx", "html", "pdf"):
        files[f"soa/statement_of_applicability.{format}"] = export_soa(soa, format)
    files["soa/statement_of_applicability.json"] = _json_bytes(soa.to_dict())


def _check_history(records: AimsRecords) -> dict[str, Any]:
    """Every stored run of the checks with its results (oldest first), and each check's
    statuses over those runs."""
    count = records.check_run_count()
    runs = list(reversed(records.check_runs(limit=count))) if count else []
    out_runs: list[dict[str, Any]] = []
    per_check: dict[str, list[str]] = {}
    for run in runs:
        results = records.check_run_results(run.run_id)
        for result in results:
            per_check.setdefault(result.check_id, []).append(result.status.value)
        out_runs.append(run.to_dict() | {"results": [result.to_dict() for result in results]})
    return {
        "runs": out_runs,
        "trends": [
            {"check_id": check_id, "statuses": statuses}
            for check_id, statuses in sorted(per_check.items())
        ],
    }


def _add_model_cards(files: dict[str, bytes], registry: ModelRegistry) -> None:
    """Cards (Markdown and HTML) of every version in shadow, canary or production, and of each
    model's latest version."""
    for model in registry.list_models():
        wanted = {
            version.version
            for version in registry.versions(model.name)
            if version.stage in _SERVING_STAGES
        }
        wanted.add(model.latest_version)
        folder = f"model_cards/{_safe(model.name)}"
        for number in sorted(wanted):
            card = registry.card(model.name, number)
            files[f"{folder}/v{number}.md"] = card.to_markdown().encode("utf-8")
            files[f"{folder}/v{number}.html"] = card.to_html().encode("utf-8")


def _safe(part: str) -> str:
    return _SAFE_PART.sub("_", part) or "_"


def _risk_csv(risks: list[dict[str, Any]]) -> bytes:
    """The risk register as CSV; text cannot run as a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_RISK_COLUMNS)
    for risk in risks:
        writer.writerow([_csv_cell(risk.get(column)) for column in _RISK_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def _add_latest_review(
    files: dict[str, bytes], records: AimsRecords, workspace: Workspace
) -> list[str]:
    """The latest management review's record and its pack folder; notes on what is amiss."""
    reviews = records.management_reviews()
    if not reviews:
        return ["no management review has been recorded yet"]
    review = max(reviews, key=lambda item: (item.held_on, item.recorded_at))
    base = f"management_review/{_safe(review.review_id)}"
    files[f"{base}/record.json"] = _json_bytes(review.to_dict())
    if review.pack_path is None:
        return [f"management review {review.review_id} was recorded without a pack"]
    pack = Path(review.pack_path)
    pack = pack if pack.is_absolute() else workspace.root / pack
    if not pack.is_file():
        return [f"the pack of management review {review.review_id} is missing: {pack}"]
    notes: list[str] = []
    if hashlib.sha256(pack.read_bytes()).hexdigest() != review.pack_sha256:
        notes.append(
            f"the pack of management review {review.review_id} ({pack.name}) no longer matches "
            "the SHA-256 recorded with the review; it is included as found"
        )
    # A pack stored by record_review_with_pack sits in its own folder with its HTML and inputs;
    # a pack kept anywhere else is taken with its same-named .html and .json, never the folder
    # around it.
    ours = pack.parent.parent.resolve() == (workspace.root / REVIEWS_DIR).resolve()
    found = (
        sorted(pack.parent.iterdir())
        if ours
        else [pack, *(pack.with_suffix(suffix) for suffix in (".html", ".json"))]
    )
    for item in found:
        if item.is_file() and not item.name.startswith("."):
            files[f"{base}/{_safe(item.name)}"] = item.read_bytes()
    return notes


def _ledger_head(ledger: Ledger) -> dict[str, Any]:
    verification = ledger.verify()
    count = ledger.count()
    head_seq = verification.head_seq if verification.head_seq is not None else count or None
    head_hash = None
    if head_seq:
        try:
            head_hash = ledger.get(head_seq).hash
        except AimsightError:
            head_hash = None
    return {
        "entries": count,
        "head_seq": head_seq,
        "head_hash": head_hash,
        "verification": verification.to_dict(),
        "read_at": isoformat_utc(now_utc()),
    }


def _staged_zip(target: Path, files: Mapping[str, bytes], created: datetime) -> Path:
    """Write ``files`` to a temporary zip beside ``target``: ``manifest.json`` first, then the
    others by path. The caller renames it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = created.timetuple()[:6]
    ordered = [MANIFEST_NAME, *sorted(name for name in files if name != MANIFEST_NAME)]
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for path in ordered:
                info = zipfile.ZipInfo(path, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[path])
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


# -- verifying ----------------------------------------------------------------------------------


def verify_pack(path: Path, *, ledger: Ledger | None = None) -> PackVerification:
    """Recompute every file's SHA-256 in an evidence pack and compare with its manifest.

    Args:
        path: the pack (a zip built by :func:`build_evidence_pack`).
        ledger: when given, also check that the ledger recorded this manifest's SHA-256, so a
            manifest rewritten to match altered files is caught too.

    Returns:
        ``ok`` only when no file changed, none was added or removed (and, with a ledger, the
        manifest is on it); each difference named by its path in the pack.

    Raises:
        NotFound: there is no file at ``path``.
        InvalidInput: it is not a zip, or its manifest is missing or unreadable.
    """
    source = Path(path)
    if not source.is_file():
        raise NotFound(f"no evidence pack at {source}; give the path of the pack's zip file")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(
            f"{source} is not a readable zip file ({exc}); give an evidence pack built by "
            "`aimsight aims evidence`",
            field="path",
        ) from None
    with archive:
        manifest_bytes, manifest = _read_manifest(archive, source)
        listed = _listed_files(manifest, source)
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        seen = set(names)
        duplicated = {name for name, times in Counter(names).items() if times > 1}
        changed = sorted(
            path
            for path, (sha256, size) in listed.items()
            if path in seen and (path in duplicated or not _matches(archive, path, sha256, size))
        )
        removed = sorted(path for path in listed if path not in seen)
        added = sorted(name for name in seen if name not in listed and name != MANIFEST_NAME)
        if MANIFEST_NAME in duplicated:
            changed.append(MANIFEST_NAME)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    on_ledger = None if ledger is None else _on_ledger(ledger, digest)
    return PackVerification(
        ok=not (changed or added or removed) and on_ledger is not False,
        changed=tuple(changed),
        added=tuple(added),
        removed=tuple(removed),
        manifest_sha256=digest,
        files_checked=len(listed),
        created_at=_text_or_none(manifest.get("created_at")),
        workspace=_text_or_none(manifest.get("workspace")),
        on_ledger=on_ledger,
    )


def _read_manifest(archive: zipfile.ZipFile, source: Path) -> tuple[bytes, dict[str, Any]]:
    try:
        data = archive.read(MANIFEST_NAME)
    except KeyError:
        raise InvalidInput(
            f"{source} has no {MANIFEST_NAME}; it is not an evidence pack, or its manifest was "
            "removed (rebuild the pack with `aimsight aims evidence`)",
            field="path",
        ) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(
            f"the {MANIFEST_NAME} of {source} cannot be read ({exc}); the pack is damaged",
            field="path",
        ) from None
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            f"the {MANIFEST_NAME} of {source} is not valid JSON ({exc}); the pack is damaged",
            field="path",
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise InvalidInput(
            f"the {MANIFEST_NAME} of {source} is not an aimsight evidence pack manifest",
            field="path",
        )
    return data, manifest


def _listed_files(manifest: Mapping[str, Any], source: Path) -> dict[str, tuple[str, int]]:
    entries = manifest.get("files")
    if not isinstance(entries, list):
        raise InvalidInput(
            f"the {MANIFEST_NAME} of {source} has no list of files; the pack is damaged",
            field="path",
        )
    listed: dict[str, tuple[str, int]] = {}
    for index, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("size"), int)
        ):
            raise InvalidInput(
                f"the {MANIFEST_NAME} of {source} lists a malformed file at files[{index}]; "
                "each needs path, sha256 and size",
                field="path",
            )
        listed[entry["path"]] = (entry["sha256"], entry["size"])
    return listed


def _matches(archive: zipfile.ZipFile, path: str, sha256: str, size: int) -> bool:
    """Whether the member at ``path`` has this digest and size (an unreadable member does not)."""
    digest = hashlib.sha256()
    read = 0
    try:
        with archive.open(path) as member:
            for block in iter(lambda: member.read(1 << 20), b""):
                digest.update(block)
                read += len(block)
    except (zipfile.BadZipFile, OSError, EOFError):
        return False
    return read == size and digest.hexdigest() == sha256


def _on_ledger(ledger: Ledger, digest: str) -> bool:
    after: int | None = None
    while True:
        page = ledger.entries(kind=EVIDENCE_PACK_KIND, after_seq=after, limit=500)
        if any(entry.payload.get("manifest_sha256") == digest for entry in page):
            return True
        if len(page) < 500:
            return False
        after = page[-1].seq


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
