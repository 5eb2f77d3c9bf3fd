"""Quality rules: validate a read batch against its contract, row by row and as a whole.

Row rules (completeness of required fields, validity of each value, uniqueness of the
primary key, referential integrity, timeliness) quarantine the rows that break them, each
with its reason codes. Batch rules (too many rows quarantined, a field below its minimum
completeness, a volume far from recent batches when the contract says ``reject``) reject the
whole batch: then every row is refused with ``batch_rejected`` besides its own reasons.
Either way rows in = rows accepted + rows refused, and nothing is lost.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aimsight.core import InvalidInput
from aimsight.ingest._contracts import Contract, FieldSpec
from aimsight.ingest._report import CheckResult, Outcome, QualityReport
from aimsight.ingest._standardise import Mask, Standardised, standardise_field
from aimsight.ingest._types import LINE_COLUMN, Reason, RejectedRow, fields_raw

__all__ = ["RULE_SET_VERSION", "Validated", "ValidationContext", "validate"]

RULE_SET_VERSION = "2026.11.1"
"""Version of the rules' behaviour; bumped whenever a rule changes (lineage records it)."""

KnownKeys = Callable[[str, pa.Array], pa.Array]

_PARALLEL_ROWS = 100_000  # below this, fields are standardised one after the other


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs to know beyond the batch itself.

    Attributes:
        received_at: when the batch arrived (UTC, aware); timeliness is measured from it.
        known_keys: ``(reference, values) -> bool array``: which values of the referenced
            key (``"billing.accounts.account_id"``) already exist. None: referential
            integrity is not checked (the report says so).
        recent_volumes: rows in the last committed batches of this dataset, newest first.
        reader_rejects: how many records the reader already refused (ragged, undecodable);
            they count in rows in, rows quarantined and the quarantine rate (the caller holds
            those rows and adds their reason codes to the report).
        notes: what the reader decided (encoding, delimiter), copied into the report.
    """

    received_at: datetime
    known_keys: KnownKeys | None = None
    recent_volumes: Sequence[int] = ()
    reader_rejects: int = 0
    notes: Sequence[str] = ()


@dataclass
class Validated:
    """The outcome of :func:`validate`.

    Attributes:
        accepted: the standardised rows, exactly ``contract.arrow_schema()`` (plus unknown
            columns as strings at the end when the contract keeps extra fields).
        rejects: the refused rows, ``raw_format="fields"``, each with its reasons.
        report: the batch's quality report.
    """

    accepted: pa.Table
    rejects: list[RejectedRow]
    report: QualityReport

    @property
    def batch_rejected(self) -> bool:
        """Whether a batch rule rejected the whole batch."""
        return self.report.verdict == "rejected"


@dataclass
class _Finding:
    code: str
    field: str | None
    mask: Mask
    message: str


@dataclass
class _Run:
    """Working state of one validation."""

    contract: Contract
    context: ValidationContext
    n: int
    findings: list[_Finding] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)

    def refused(self) -> Mask:
        out = np.zeros(self.n, dtype=bool)
        for finding in self.findings:
            out |= finding.mask
        return out

    def check(
        self,
        rule: str,
        field_name: str | None,
        checked: int,
        failed: int,
        *,
        outcome: Outcome | None = None,
        threshold: float | None = None,
        detail: str = "",
    ) -> None:
        rate = failed / checked if checked else 0.0
        if outcome is None:
            outcome = "quarantine" if failed else "pass"
        self.checks.append(
            CheckResult(
                rule, field_name, checked, failed, round(rate, 6), threshold, outcome, detail
            )
        )


def validate(read: pa.Table, contract: Contract, context: ValidationContext) -> Validated:
    """Standardise and check a read batch against ``contract``.

    Args:
        read: the reader's table: string columns named as in the source, plus ``_line``.
        contract: the contract of the batch's dataset.
        context: receipt time, key lookup for references, recent volumes.

    Returns:
        Accepted rows, refused rows and the report; ``read.num_rows`` equals accepted rows
        plus refused rows, and every refused row keeps its ``_line``.

    Raises:
        InvalidInput: ``context.received_at`` has no time zone.
    """
    if context.received_at.tzinfo is None:
        raise InvalidInput(
            "received_at has no time zone; pass an aware UTC datetime", field="received_at"
        )
    n = read.num_rows
    run = _Run(contract, context, n)
    run.notes.extend(context.notes)
    lines = _lines(read)
    columns = {name: read.column(name) for name in read.column_names if name != LINE_COLUMN}
    results = _standardise_all(columns, contract, n)
    _completeness_and_validity(run, results)
    extras = _extra_columns(run, columns)
    _uniqueness(run, results)
    _references(run, results)
    _timeliness(run, results)
    refused = run.refused()
    _volume(run)
    _batch_rules(run, refused)
    rejected_batch = bool(run.rejections)
    if rejected_batch:
        verdict_reason = "; ".join(run.rejections)
        run.findings.append(
            _Finding(
                "batch_rejected",
                None,
                np.ones(n, dtype=bool),
                f"the whole batch was rejected: {verdict_reason}; fix the source and ingest "
                "it again, or relax the contract's quality thresholds",
            )
        )
        refused = np.ones(n, dtype=bool)
    else:
        verdict_reason = _accepted_reason(run, int(refused.sum()))
    accepted = _accepted_table(contract, results, lines, extras, ~refused)
    rejects = _rejects(read, lines, refused, run.findings)
    reasons: Counter[str] = Counter()
    for reject in rejects:  # rows per code: a row with two invalid fields counts once
        reasons.update({reason.code for reason in reject.reasons})
    report = QualityReport(
        rows_in=n + context.reader_rejects,
        rows_accepted=accepted.num_rows,
        rows_quarantined=len(rejects) + context.reader_rejects,
        verdict="rejected" if rejected_batch else "accepted",
        verdict_reason=verdict_reason,
        rule_set_version=RULE_SET_VERSION,
        contract={"name": contract.name, "version": contract.version, "digest": contract.digest()},
        checks=run.checks,
        reasons=dict(sorted(reasons.items())),
        notes=run.notes,
    )
    return Validated(accepted=accepted, rejects=rejects, report=report)


# --- standardisation ---------------------------------------------------------------------


def _lines(read: pa.Table) -> pa.Array:
    if LINE_COLUMN in read.column_names:
        return pc.cast(read.column(LINE_COLUMN), pa.int64()).combine_chunks()
    return pa.array(np.arange(1, read.num_rows + 1, dtype=np.int64))


def _standardise_all(
    columns: dict[str, pa.ChunkedArray], contract: Contract, n: int
) -> dict[str, Standardised]:
    def one(spec: FieldSpec, regions: pa.Array | None = None) -> Standardised:
        values = columns.get(spec.name)
        if values is None:
            values = pa.nulls(n, pa.string())
        return standardise_field(values, spec, regions=regions)

    # Fields stand alone but for a phone read in its row's country: that one comes after.
    first = [spec for spec in contract.fields if spec.region_field is None]
    then = [spec for spec in contract.fields if spec.region_field is not None]
    threads = min(len(first), os.cpu_count() or 1)  # more would only hold more memory
    if n >= _PARALLEL_ROWS and threads > 1:  # Arrow's kernels let go of the GIL
        with ThreadPoolExecutor(max_workers=threads) as pool:
            done = list(pool.map(one, first))
    else:
        done = [one(spec) for spec in first]
    results = {spec.name: result for spec, result in zip(first, done, strict=True)}
    for spec in then:
        results[spec.name] = one(spec, results[str(spec.region_field)].values)
    return {spec.name: results[spec.name] for spec in contract.fields}


# --- row rules ---------------------------------------------------------------------------

_TYPE_WORDS = {
    "integer": "is not a whole number (e.g. 42)",
    "decimal": "is not a dot-decimal number (e.g. 9.99, no currency or thousands separator)",
    "boolean": "is not true/false (true, false, yes, no, 1, 0)",
    "date": "is not a calendar date written YYYY-MM-DD",
    "json": "is not valid JSON",
}


def _message(code: str, spec: FieldSpec, contract: Contract) -> str:
    name = spec.name
    if code == "missing_required":
        return f"{name} is required but empty; fill it at the source"
    if code == "invalid_email":
        return f"{name} is not an e-mail address (name@domain.tld); correct it or leave it empty"
    if code == "invalid_phone":
        region = f"the row's {spec.region_field} or {spec.default_region}"
        if spec.region_field is None:
            region = spec.default_region or "no default region"
        return (
            f"{name} is not a valid phone number when read in {region}; "
            "send it in international form (e.g. +44 20 7946 0958)"
        )
    if code == "phone_country_mismatch":
        return (
            f"{name} is a phone number of another country than the row's {spec.region_field}; "
            "correct the number or the country"
        )
    if code == "invalid_country":
        return f"{name} is not a known country; use an ISO-3166 code such as GB or DE"
    if code == "invalid_currency":
        return f"{name} is not a known currency; use an ISO-4217 code such as EUR or USD"
    if code == "invalid_timestamp":
        return f"{name} is not an ISO 8601 date and time; write it like 2024-05-01T09:30:00+02:00"
    if code == "timestamp_without_zone":
        return (
            f"{name} has no time zone; add an offset (+01:00 or Z) at the source, or set "
            f"assume_zone on {name} in contract {contract.name}"
        )
    if code == "invalid_type":
        return f"{name} {_TYPE_WORDS.get(spec.type, 'has the wrong type')}"
    if code == "not_in_enum":
        allowed = ", ".join((spec.values or ())[:12])
        return (
            f"{name} is not one of the allowed values ({allowed}); map it at the source or "
            "add it to the contract"
        )
    if code == "out_of_range":
        low = "-inf" if spec.minimum is None else f"{spec.minimum:g}"
        high = "inf" if spec.maximum is None else f"{spec.maximum:g}"
        return f"{name} is outside the allowed range [{low}, {high}]"
    if code == "too_long":
        return (
            f"{name} is longer than {spec.effective_max_length:,} characters; shorten it at "
            "the source or raise max_length in the contract"
        )
    return f"{name}: {code}"


def _completeness_and_validity(run: _Run, results: dict[str, Standardised]) -> None:
    contract, n = run.contract, run.n
    for spec in contract.fields:
        result = results[spec.name]
        missing = int(result.missing.sum())
        minimum = contract.quality.min_completeness.get(spec.name)
        outcome: Outcome = "pass"
        detail = f"{n - missing:,} of {n:,} rows have a value"
        if spec.required and missing:
            run.findings.append(
                _Finding(
                    "missing_required",
                    spec.name,
                    result.missing,
                    _message("missing_required", spec, contract),
                )
            )
            outcome = "quarantine"
        if minimum is not None and n and (n - missing) / n < minimum:
            outcome = "reject"
            run.rejections.append(
                f"{spec.name} is filled in {(n - missing) / n:.1%} of rows, below the "
                f"contract's min_completeness {minimum:.0%}"
            )
        run.check(
            "completeness",
            spec.name,
            n,
            missing,
            outcome=outcome,
            threshold=None if minimum is None else round(1 - minimum, 6),
            detail=detail,
        )
        invalid = np.zeros(n, dtype=bool)
        parts = []
        for code, mask in result.problems.items():
            invalid |= mask
            parts.append(f"{code} {int(mask.sum()):,}")
            run.findings.append(_Finding(code, spec.name, mask, _message(code, spec, contract)))
        run.check("validity", spec.name, n - missing, int(invalid.sum()), detail=", ".join(parts))


def _extra_columns(run: _Run, columns: dict[str, pa.ChunkedArray]) -> dict[str, pa.Array]:
    """Columns the contract does not name: kept (as strings) or refused, as it says."""
    contract = run.contract
    schema_names = set(contract.arrow_schema().names)
    fields = {spec.name for spec in contract.fields}
    kept: dict[str, pa.Array] = {}
    for name, values in columns.items():
        if name in fields:
            continue
        strings = pc.cast(values, pa.string()).combine_chunks()
        if contract.extra_fields == "reject":
            present = pc.not_equal(pc.utf8_trim_whitespace(strings), "")
            mask = np.asarray(pc.fill_null(present, False).to_numpy(zero_copy_only=False))
            if mask.any():
                run.findings.append(
                    _Finding(
                        "unknown_field",
                        name,
                        mask,
                        f"{name} is not a field of contract {contract.name}, which refuses "
                        "extra fields; add it to the contract or drop the column",
                    )
                )
            run.check("schema", name, run.n, int(mask.sum()), detail="unknown field")
        elif name in schema_names:
            run.notes.append(f"column {name} clashes with a standardised column and was dropped")
        else:
            kept[name] = strings
    return kept


def _key_strings(results: dict[str, Standardised], names: Sequence[str]) -> pa.Array:
    """One string per row identifying its key (null when a key part is missing)."""
    parts = [pc.cast(results[name].values, pa.string()) for name in names]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "\x1f")


def _uniqueness(run: _Run, results: dict[str, Standardised]) -> None:
    key_fields = run.contract.primary_key
    if not key_fields:
        return
    label = ", ".join(key_fields)
    keys = _key_strings(results, key_fields)
    candidate = ~run.refused() & np.asarray(
        pc.is_valid(keys).to_numpy(zero_copy_only=False), dtype=bool
    )
    positions = np.flatnonzero(candidate)
    duplicate = np.zeros(run.n, dtype=bool)
    if positions.size:
        subset = keys if positions.size == run.n else keys.take(pa.array(positions))
        duplicate[positions[_repeats(subset)]] = True
    if duplicate.any():
        run.findings.append(
            _Finding(
                "duplicate_key",
                key_fields[0] if len(key_fields) == 1 else None,
                duplicate,
                f"the primary key ({label}) repeats an earlier row of this batch; only the "
                "first is kept, so send each record once or fix its key",
            )
        )
    run.check(
        "uniqueness",
        label,
        int(positions.size),
        int(duplicate.sum()),
        detail="first occurrence kept",
    )


def _repeats(keys: pa.Array) -> Mask:
    """Which of ``keys`` (no nulls) equal an earlier one."""
    if len(keys) < 2:
        return np.zeros(len(keys), dtype=bool)
    if pc.all(pc.greater(keys[1:], keys[:-1])).as_py():  # strictly rising: all distinct
        return np.zeros(len(keys), dtype=bool)
    # Codes are numbered in order of first appearance, so a row holds its key's first
    # occurrence exactly when its code is above every code before it.
    codes = np.asarray(pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False))
    repeat = np.ones(codes.size, dtype=bool)
    repeat[0] = False
    repeat[1:] = codes[1:] <= np.maximum.accumulate(codes)[:-1]
    return repeat


def _references(run: _Run, results: dict[str, Standardised]) -> None:
    contract = run.contract
    for spec in contract.fields:
        if spec.references is None:
            continue
        if run.context.known_keys is None:
            run.notes.append(
                f"referential integrity of {spec.name} not checked: no key lookup available"
            )
            continue
        source, entity, key_field = spec.references.split(".")
        values = pc.cast(results[spec.name].values, pa.string())
        refused = run.refused()
        candidate = ~refused & np.asarray(
            pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool
        )
        checked = values if candidate.all() else values.filter(pa.array(candidate))
        distinct = pc.unique(checked).drop_null()
        known = _known(run.context.known_keys, spec.references, distinct)
        if f"{source}.{entity}" == contract.name and key_field in results:
            own = pc.cast(results[key_field].values, pa.string())
            if refused.any():
                own = own.filter(pa.array(~refused))
            known = pc.or_(known, pc.is_in(distinct, value_set=own.drop_null()))
        unknown_values = distinct.filter(pc.invert(known))
        mask = np.zeros(run.n, dtype=bool)
        if len(unknown_values):
            mask = candidate & _np(pc.is_in(values, value_set=unknown_values))
        if mask.any():
            run.findings.append(
                _Finding(
                    "unknown_reference",
                    spec.name,
                    mask,
                    f"{spec.name} points to a record of {source}.{entity} that is not known; "
                    f"ingest {source}.{entity} first, then replay this row",
                )
            )
        run.check(
            "referential_integrity",
            spec.name,
            int(candidate.sum()),
            int(mask.sum()),
            detail=f"against {spec.references}",
        )


def _known(lookup: KnownKeys, reference: str, values: pa.Array) -> pa.Array:
    if len(values) == 0:
        return pa.array([], pa.bool_())
    answer = lookup(reference, values)
    if isinstance(answer, pa.ChunkedArray):
        answer = answer.combine_chunks()
    answer = pc.fill_null(pa.array(answer, pa.bool_()), False)
    if len(answer) != len(values):
        raise InvalidInput(
            f"known_keys returned {len(answer)} answers for {len(values)} values of {reference}",
            field="known_keys",
        )
    return answer


def _timeliness(run: _Run, results: dict[str, Standardised]) -> None:
    contract = run.contract
    name = contract.event_time
    if name is None:
        return
    quality = contract.quality
    values = results[name].values
    received = run.context.received_at.astimezone(UTC)
    latest = received + timedelta(seconds=quality.future_tolerance_seconds)
    earliest = (
        None if quality.max_age_days is None else received - timedelta(days=quality.max_age_days)
    )
    if pa.types.is_date(values.type):
        future = pc.greater(values, pa.scalar(latest.date(), pa.date32()))
        old = None if earliest is None else pc.less(values, pa.scalar(earliest.date(), pa.date32()))
    else:
        future = pc.greater(values, pa.scalar(latest, values.type))
        old = None if earliest is None else pc.less(values, pa.scalar(earliest, values.type))
    candidate = ~run.refused() & np.asarray(
        pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool
    )
    future_mask = candidate & _np(future)
    old_mask = candidate & (_np(old) if old is not None else np.zeros(run.n, dtype=bool))
    if future_mask.any():
        run.findings.append(
            _Finding(
                "future_timestamp",
                name,
                future_mask,
                f"{name} is more than {quality.future_tolerance_seconds:g} s after the batch "
                "was received; fix the source's clock or the value",
            )
        )
    if old_mask.any():
        run.findings.append(
            _Finding(
                "too_old",
                name,
                old_mask,
                f"{name} is more than {quality.max_age_days:g} days before the batch was "
                "received (max_age_days in the contract)",
            )
        )
    run.check(
        "timeliness",
        name,
        int(candidate.sum()),
        int(future_mask.sum() + old_mask.sum()),
        detail=f"{int(future_mask.sum()):,} in the future, {int(old_mask.sum()):,} too old",
    )


def _np(mask: pa.Array) -> Mask:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


# --- batch rules -------------------------------------------------------------------------


def _volume(run: _Run) -> None:
    policy = run.contract.quality.volume
    recent = [int(v) for v in run.context.recent_volumes[: policy.window] if int(v) > 0]
    rows_in = run.n + run.context.reader_rejects
    if not recent:
        return
    median = float(statistics.median(recent))
    ratio = rows_in / median
    low, high = ratio < policy.min_ratio, ratio > policy.max_ratio
    detail = (
        f"{rows_in:,} rows vs median {median:,.0f} of the last {len(recent)} batches "
        f"(allowed ratio {policy.min_ratio:g} to {policy.max_ratio:g})"
    )
    outcome: Outcome = "pass"
    if low or high:
        outcome = "reject" if policy.action == "reject" else "warn"
        if outcome == "reject":
            run.rejections.append(f"volume outlier: {detail}")
        else:
            run.notes.append(f"volume outlier: {detail}")
    run.checks.append(
        CheckResult(
            "volume",
            None,
            rows_in,
            int(low or high),
            round(ratio, 6),
            policy.min_ratio if low else policy.max_ratio,
            outcome,
            detail,
        )
    )


def _batch_rules(run: _Run, refused: Mask) -> None:
    limit = run.contract.quality.max_quarantine_rate
    rows_in = run.n + run.context.reader_rejects
    quarantined = int(refused.sum()) + run.context.reader_rejects
    rate = quarantined / rows_in if rows_in else 0.0
    outcome: Outcome = "pass"
    if rate > limit:
        outcome = "reject"
        run.rejections.insert(
            0,
            f"{quarantined:,} of {rows_in:,} rows ({rate:.1%}) failed the rules, above the "
            f"contract's max_quarantine_rate {limit:.0%}",
        )
    elif quarantined:
        outcome = "quarantine"
    run.checks.append(
        CheckResult(
            "quarantine_rate", None, rows_in, quarantined, round(rate, 6), limit, outcome, ""
        )
    )


def _accepted_reason(run: _Run, refused: int) -> str:
    rows_in = run.n + run.context.reader_rejects
    quarantined = refused + run.context.reader_rejects
    if not quarantined:
        return f"all {rows_in:,} rows accepted"
    return (
        f"{quarantined:,} of {rows_in:,} rows quarantined ({quarantined / rows_in:.1%}), "
        f"within max_quarantine_rate {run.contract.quality.max_quarantine_rate:.0%}"
    )


# --- output ------------------------------------------------------------------------------


def _accepted_table(
    contract: Contract,
    results: dict[str, Standardised],
    lines: pa.Array,
    extras: dict[str, pa.Array],
    keep: Mask,
) -> pa.Table:
    schema = contract.arrow_schema()
    arrays: list[pa.Array] = []
    names: list[str] = []
    for spec in contract.fields:
        result = results[spec.name]
        arrays.append(pc.cast(result.values, spec.arrow_type))
        names.append(spec.name)
        if spec.keeps_original:
            original = result.original
            if original is None:
                original = pa.nulls(len(lines), pa.string())
            arrays.append(original)
            names.append(spec.original_name)
    arrays.append(lines)
    names.append("_line")
    fields = list(schema)
    for name, values in extras.items():
        arrays.append(values)
        names.append(name)
        fields.append(pa.field(name, pa.string()))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    if keep.all():
        return table
    return table.filter(pa.array(keep))


def _rejects(
    read: pa.Table, lines: pa.Array, refused: Mask, findings: list[_Finding]
) -> list[RejectedRow]:
    rows = np.flatnonzero(refused)
    if rows.size == 0:
        return []
    reasons: dict[int, list[Reason]] = {int(i): [] for i in rows}
    for finding in findings:
        reason = Reason(finding.code, finding.field, finding.message)
        for i in np.flatnonzero(finding.mask & refused).tolist():
            reasons[i].append(reason)
    source_columns = [name for name in read.column_names if name != LINE_COLUMN]
    raw_table = read.select(source_columns).take(pa.array(rows))
    raw_table = pa.Table.from_arrays(
        [pc.cast(column, pa.string()) for column in raw_table.columns], names=source_columns
    )
    line_values = lines.take(pa.array(rows)).to_pylist()
    out = []
    for i, values, line in zip(rows.tolist(), raw_table.to_pylist(), line_values, strict=True):
        out.append(
            RejectedRow(
                line=line, raw=fields_raw(values), raw_format="fields", reasons=tuple(reasons[i])
            )
        )
    return out
