"""The lake: Parquet files written atomically, read through DuckDB views over committed files.

A file becomes part of the lake in two steps. :meth:`Lake.write_table` puts it in place
atomically (a temporary file in the target folder, ``fsync``, ``os.replace``, ``fsync`` of the
folder), so a reader never sees half a file. The caller then commits the file's name in the
operational store; :meth:`Lake.connect` builds its views over exactly the names it is given,
so a file whose commit never happened (the process was killed in between) is invisible, and
rewriting it under the same name on a rerun is harmless. :meth:`Lake.remove_orphans` deletes
such leftovers later.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from aimsight.core.errors import InvalidInput, StoreError
from aimsight.core.ids import new_secret
from aimsight.core.workspace import Workspace

__all__ = ["Lake", "LakeFile"]

_TEMP_PREFIX = ".tmp-"
_TEMP_SUFFIX = ".part"
_CHUNK = 1 << 20
_MAX_SYNC_THREADS = 8
_WRITE_BUFFER = 1 << 20


@dataclass(frozen=True)
class LakeFile:
    """A file written to the lake: its path relative to the lake folder (POSIX separators),
    rows, size and the SHA-256 of its bytes."""

    path: str
    rows: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the file."""
        return asdict(self)


class Lake:
    """Parquet files under one folder (the workspace's ``lake/``).

    Args:
        root: the lake folder; created on the first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> Lake:
        """The lake of ``workspace``."""
        return cls(workspace.lake_dir)

    def resolve(self, relative: str) -> Path:
        """The absolute path of ``relative``, which must stay inside the lake.

        Raises:
            InvalidInput: ``relative`` is absolute, empty or climbs out with ``..``.
        """
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
            raise InvalidInput(
                f"lake path {relative!r} must be a relative path inside the lake with / "
                "separators and no '..'",
                field="path",
            )
        return self.root.joinpath(*parts)

    # -- writing ----------------------------------------------------------------------------

    def write_table(
        self,
        relative: str,
        table: pa.Table,
        *,
        metadata: Mapping[str, str] | None = None,
        distinct: Collection[str] = (),
        without_statistics: Collection[str] = (),
    ) -> LakeFile:
        """Write ``table`` as Parquet at ``relative``, atomically and durably.

        ``metadata`` is added to the file's key-value metadata (lineage that travels with the
        file). An existing file of that name is replaced in one step.

        Args:
            relative: the file's path inside the lake.
            table: the rows.
            metadata: key-value metadata for the file.
            distinct: columns whose values are (nearly) all different, written without a
                dictionary (which would be built, found too big and dropped: time lost).
            without_statistics: columns nobody filters on (values kept as received), written
                without min/max statistics, which cost time for strings.

        Raises:
            StoreError: the file cannot be written (disk full, permissions); the message names
                the path.
        """
        return self.write_tables(
            [(relative, table)],
            metadata=metadata,
            distinct=distinct,
            without_statistics=without_statistics,
        )[0]

    def write_tables(
        self,
        items: Sequence[tuple[str, pa.Table | Callable[[], pa.Table]]],
        *,
        metadata: Mapping[str, str] | None = None,
        distinct: Collection[str] = (),
        without_statistics: Collection[str] = (),
    ) -> list[LakeFile]:
        """Write several files as :meth:`write_table` does, in parallel.

        Each file is atomic on its own; the set is not (a caller commits the set, and files
        of a set that was not committed are orphans no view reads). A file's table may be
        given as a function making it: it is then called in the thread writing that file, so
        tables are prepared while others are written, and only those in flight are held.

        Raises:
            StoreError: a file cannot be written; files already renamed stay as orphans.
        """
        options = _Options(metadata, frozenset(distinct), frozenset(without_statistics))
        targets = [(self.resolve(relative), relative, table) for relative, table in items]
        try:
            new_dirs: list[Path] = []
            for folder in dict.fromkeys(target.parent for target, _, _ in targets):
                new_dirs.extend(_make_dirs(folder))
            # Encoding is CPU work: one thread per processor (more would only hold more tables
            # in memory at once). Waiting for fsync is not: more threads for that.
            syncers = min(_MAX_SYNC_THREADS, len(targets)) or 1
            encoders = min(_cpus(), len(targets)) or 1
            with (
                ThreadPoolExecutor(max_workers=syncers) as sync_pool,
                ThreadPoolExecutor(max_workers=encoders) as encode_pool,
            ):
                # Leaving the block closes the encode pool first: every encoded file is then
                # synced and renamed, or removed, even when another one failed.
                syncs = list(
                    encode_pool.map(
                        lambda item: sync_pool.submit(
                            _finish, _encode_temp(item[0], item[1], item[2], options)
                        ),
                        targets,
                    )
                )
                written = [sync.result() for sync in syncs]
                # Renamed entries and new folders are durable once their folders are synced.
                folders = {target.parent for target, _, _ in targets}
                folders.update(folder.parent for folder in new_dirs)
                list(sync_pool.map(_fsync_dir, sorted(folders)))
        except OSError as exc:
            raise StoreError(
                f"cannot write the lake file {exc.filename or self.root}: "
                f"{exc.strerror or exc}; check free space and permissions on the lake folder"
            ) from None
        return written

    def sha256(self, relative: str) -> str:
        """The SHA-256 of the file's bytes as it is now (to check it is the one committed)."""
        digest = hashlib.sha256()
        with self.resolve(relative).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    # -- reading ----------------------------------------------------------------------------

    def connect(
        self,
        datasets: Mapping[str, Sequence[str]],
        *,
        empty: Mapping[str, pa.Schema] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per dataset over the given files.

        A dataset ``crm.customers`` becomes the view ``customers`` in the schema ``crm``, so
        ``SELECT * FROM crm.customers`` works. Files are combined by column name (a column a
        later contract version added is null in older files). Datasets listed in ``empty``
        with no files get an empty view of that schema, so queries on them return no rows
        instead of failing.

        Raises:
            StoreError: a listed file is missing or unreadable.
        """
        connection = duckdb.connect(":memory:")
        try:
            for dataset, files in sorted(datasets.items()):
                if files:
                    paths = ", ".join(_literal(str(self.resolve(path))) for path in files)
                    source = (
                        f"read_parquet([{paths}], union_by_name = true, hive_partitioning = false)"
                    )
                    _create_view(connection, dataset, source)
            for dataset, schema in sorted((empty or {}).items()):
                if datasets.get(dataset):
                    continue
                name = "_empty_" + hashlib.sha256(dataset.encode()).hexdigest()[:16]
                connection.register(name, schema.empty_table())
                _create_view(connection, dataset, name)
        except duckdb.Error as exc:
            connection.close()
            raise StoreError(
                f"cannot open the lake at {self.root}: {str(exc).splitlines()[0]}; "
                "a committed file may have been moved or deleted"
            ) from None
        return connection

    # -- housekeeping -----------------------------------------------------------------------

    def orphans(
        self, committed: Collection[str], *, under: str, older_than: timedelta
    ) -> list[str]:
        """Files below ``under`` that no commit names: leftovers of interrupted writes.

        Only files last modified more than ``older_than`` ago count, so a write that is
        about to be committed by another process is not taken for an orphan.
        """
        base = self.resolve(under)
        if not base.is_dir():
            return []
        known = set(committed)
        cutoff = time.time() - older_than.total_seconds()
        found = []
        for path in sorted(base.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(self.root).as_posix()
            if relative in known:
                continue
            try:
                if path.stat().st_mtime > cutoff:
                    continue
            except FileNotFoundError:  # removed meanwhile
                continue
            found.append(relative)
        return found

    def remove_orphans(
        self, committed: Collection[str], *, under: str, older_than: timedelta
    ) -> list[str]:
        """Delete :meth:`orphans` and return their paths."""
        removed = []
        for relative in self.orphans(committed, under=under, older_than=older_than):
            try:
                self.resolve(relative).unlink()
            except FileNotFoundError:
                continue
            removed.append(relative)
        return removed


@dataclass(frozen=True)
class _Options:
    """How :meth:`Lake.write_tables` writes each file."""

    metadata: Mapping[str, str] | None
    distinct: frozenset[str]
    without_statistics: frozenset[str]


class _HashingFile:
    """A file descriptor that counts and hashes what is written to it (for Arrow to write to).

    Parquet goes straight to the file, with no copy of the whole file in memory.
    """

    closed = False

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        if self._descriptor < 0:  # detached: a stream dropped after a failure flushes here
            return len(data)
        view = memoryview(data)
        self.digest.update(view)
        self.size += len(view)
        while view:
            view = view[os.write(self._descriptor, view) :]
        return len(data)

    def tell(self) -> int:
        return self.size

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        return None

    def close(self) -> None:  # the descriptor is closed by its owner
        self.closed = True

    def detach(self) -> None:
        """Write nothing more to the descriptor (its owner is about to close it)."""
        self._descriptor = -1


@dataclass
class _Encoded:
    """A file encoded to its temporary name, not yet synced nor renamed."""

    target: Path
    temp: Path
    descriptor: int
    file: _HashingFile
    relative: str
    rows: int


def _encode_temp(
    target: Path, relative: str, table: pa.Table | Callable[[], pa.Table], options: _Options
) -> _Encoded:
    """Make ``table`` if given as a function, and write it as Parquet to a temporary file."""
    temp = target.parent / f"{_TEMP_PREFIX}{target.name}.{new_secret(6)}{_TEMP_SUFFIX}"
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    file = _HashingFile(descriptor)
    try:
        if not isinstance(table, pa.Table):
            table = table()
        _encode(table, file, options)
    except BaseException:
        file.detach()
        os.close(descriptor)
        temp.unlink(missing_ok=True)
        raise
    return _Encoded(target, temp, descriptor, file, relative, int(table.num_rows))


def _finish(encoded: _Encoded) -> LakeFile:
    """``fsync`` the temporary file and rename it into place (the folder sync is the caller's)."""
    try:
        try:
            os.fsync(encoded.descriptor)
        finally:
            encoded.file.detach()
            os.close(encoded.descriptor)
        os.replace(encoded.temp, encoded.target)
    except BaseException:
        encoded.temp.unlink(missing_ok=True)
        raise
    return LakeFile(
        path=encoded.relative,
        rows=encoded.rows,
        bytes=encoded.file.size,
        sha256=encoded.file.digest.hexdigest(),
    )


def _encode(table: pa.Table, file: _HashingFile, options: _Options) -> None:
    """Write ``table`` as Parquet to ``file``.

    Snappy-compressed; no dictionary for ``options.distinct`` columns and no statistics for
    ``options.without_statistics`` ones.
    """
    if options.metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({key.encode(): value.encode() for key, value in options.metadata.items()})
        table = table.replace_schema_metadata(merged)
    names = table.column_names
    sink = pa.BufferedOutputStream(pa.PythonFile(file, mode="w"), _WRITE_BUFFER)
    pq.write_table(
        table,
        sink,
        compression="snappy",
        use_dictionary=[name for name in names if name not in options.distinct]
        if options.distinct
        else True,
        write_statistics=[name for name in names if name not in options.without_statistics]
        if options.without_statistics
        else True,
    )
    sink.close()


def _cpus() -> int:
    """Processors this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def _make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (to sync their parents)."""
    missing = []
    current = folder
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        created.append(path)
    return created


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _create_view(connection: duckdb.DuckDBPyConnection, dataset: str, source: str) -> None:
    schema, _, view = dataset.rpartition(".")
    if schema:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_identifier(schema)}")
        qualified = f"{_identifier(schema)}.{_identifier(view)}"
    else:
        qualified = _identifier(view)
    connection.execute(f"CREATE OR REPLACE VIEW {qualified} AS SELECT * FROM {source}")
