"""The lake: atomic Parquet writes and DuckDB views over committed files only."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aimsight.core import InvalidInput, StoreError
from aimsight.store import Lake


def _people(*names: str) -> pa.Table:
    return pa.table({"name": list(names), "age": list(range(len(names)))})


def test_a_written_file_reads_back_whole_with_its_lineage_metadata(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    written = lake.write_table(
        "raw/customers/source=crm/date=2026-11-01/b_1.parquet",
        _people("Ada", "Bo"),
        metadata={"aimsight.batch_id": "b_1"},
    )
    path = lake.resolve(written.path)
    assert written.rows == 2
    assert written.bytes == path.stat().st_size
    assert written.sha256 == lake.sha256(written.path)
    assert pq.read_table(path).column("name").to_pylist() == ["Ada", "Bo"]
    assert pq.read_schema(path).metadata[b"aimsight.batch_id"] == b"b_1"


def test_no_temporary_file_is_left_after_a_write(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_table("raw/x/a.parquet", _people("Ada"))
    lake.write_table("raw/x/a.parquet", _people("Ada", "Bo"))  # replaced in one step
    assert [p.name for p in (tmp_path / "lake/raw/x").iterdir()] == ["a.parquet"]
    assert pq.read_table(tmp_path / "lake/raw/x/a.parquet").num_rows == 2


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_table("raw/x/a.parquet", _people("Ada"))

    def broken_fsync(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(StoreError, match="No space left on device"):
        lake.write_table("raw/x/a.parquet", _people("Ada", "Bo", "Cy"))
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "lake/raw/x").iterdir()] == ["a.parquet"]
    assert pq.read_table(tmp_path / "lake/raw/x/a.parquet").num_rows == 1


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside.parquet", "raw/../../x", ""])
def test_paths_outside_the_lake_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidInput, match="inside the lake"):
        Lake(tmp_path).write_table(bad, _people("Ada"))


def test_views_read_only_the_files_they_are_given(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    committed = lake.write_table("raw/customers/b_1.parquet", _people("Ada", "Bo")).path
    lake.write_table("raw/customers/b_2.parquet", _people("Uncommitted"))
    with lake.connect({"crm.customers": [committed]}) as db:
        rows = db.sql("SELECT name FROM crm.customers ORDER BY name").fetchall()
    assert rows == [("Ada",), ("Bo",)]


def test_files_with_different_columns_combine_by_name(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    old = lake.write_table("raw/c/1.parquet", pa.table({"id": ["a"], "email": ["a@x.io"]}))
    new = lake.write_table(
        "raw/c/2.parquet", pa.table({"phone": ["+44"], "id": ["b"], "email": [None]})
    )
    with lake.connect({"crm.customers": [old.path, new.path]}) as db:
        rows = db.sql("SELECT id, email, phone FROM crm.customers ORDER BY id").fetchall()
    assert rows == [("a", "a@x.io", None), ("b", None, "+44")]


def test_a_dataset_with_no_files_gets_an_empty_view_of_its_schema(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("amount", pa.float64())])
    with Lake(tmp_path).connect({}, empty={"billing.accounts": schema}) as db:
        assert db.sql("SELECT count(*) FROM billing.accounts").fetchall() == [(0,)]
        assert [c[0] for c in db.sql("DESCRIBE billing.accounts").fetchall()] == ["id", "amount"]


def test_a_committed_file_gone_missing_is_a_clear_error(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    written = lake.write_table("raw/c/1.parquet", _people("Ada"))
    lake.resolve(written.path).unlink()
    with pytest.raises(StoreError, match="moved or deleted"):
        lake.connect({"crm.customers": [written.path]})


def test_orphans_are_uncommitted_files_old_enough(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    kept = lake.write_table("raw/c/kept.parquet", _people("Ada")).path
    orphan = lake.write_table("raw/c/orphan.parquet", _people("Bo")).path
    leftover = lake.resolve("raw/c/.tmp-x.parquet.abc.part")
    leftover.write_bytes(b"half a file")
    outside = lake.write_table("profiles/p.parquet", _people("Cy")).path

    assert lake.orphans([kept], under="raw", older_than=timedelta(hours=1)) == []
    removed = lake.remove_orphans([kept], under="raw", older_than=timedelta(0))
    assert removed == ["raw/c/.tmp-x.parquet.abc.part", orphan]
    assert lake.resolve(kept).exists() and lake.resolve(outside).exists()
    assert not leftover.exists()
