"""The newest online snapshot, held in memory for lookups on the decision path.

Snapshots are lake files ``features/online/<stamp>.parquet`` whose names sort by publication
time. A lookup checks the folder's modification time (a microsecond), lists the folder only
when that changed, reloads only when a newer file has appeared, and then costs one dict
lookup and a row of conversions: columns stay numpy arrays, so a million customers take
tens of megabytes rather than a dict per customer.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from aimsight.core.errors import NotFound

__all__ = ["ONLINE_PREFIX", "OnlineCache", "newest_snapshot"]

ONLINE_PREFIX = "features/online"
_TEMP_PREFIX = ".tmp-"
_SETTLED_NS = 2_000_000_000


def newest_snapshot(folder: Path) -> Path | None:
    """The newest published snapshot in ``folder`` (``None`` when there is none)."""
    try:
        with os.scandir(folder) as entries:
            names = [
                entry.name
                for entry in entries
                if entry.name.endswith(".parquet") and not entry.name.startswith(_TEMP_PREFIX)
            ]
    except FileNotFoundError:
        return None
    return folder / max(names) if names else None


@dataclass(frozen=True)
class _Loaded:
    path: Path
    as_of: str
    index: dict[str, int]
    columns: tuple[tuple[str, np.ndarray], ...]

    def row(self, position: int) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, column in self.columns:
            values[name] = _plain(column[position])
        return values


def _plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN as ``None``."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class OnlineCache:
    """Lookups in the newest snapshot of ``folder``; safe to share between threads."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._listed: int | None = None  # the folder's mtime when last listed

    def get(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's features from the newest snapshot, ``None`` if not in it.

        Raises:
            NotFound: no snapshot has been published.
        """
        loaded = self.current()
        position = loaded.index.get(customer_id)
        if position is None:
            return None
        return {"customer_id": customer_id, "as_of": loaded.as_of, **loaded.row(position)}

    def current(self) -> _Loaded:
        """The newest snapshot, loaded (again only when a newer file appeared).

        A new file changes the folder's modification time, so while that stays the same
        (and is old enough that a coarse file-system clock cannot hide a newer file) the
        folder is not listed again.
        """
        try:
            stamp: int | None = self._folder.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        loaded = self._loaded
        settled = stamp is not None and time.time_ns() - stamp > _SETTLED_NS
        if loaded is not None and settled and stamp == self._listed:
            return loaded
        newest = newest_snapshot(self._folder)
        if newest is None:
            raise NotFound(
                "no online feature snapshot has been published; run `aimsight features "
                "publish` first"
            )
        if loaded is not None and loaded.path == newest:
            self._listed = stamp
            return loaded
        with self._lock:
            if self._loaded is None or self._loaded.path != newest:
                self._loaded = _load(newest)
            self._listed = stamp
            return self._loaded


def _load(path: Path) -> _Loaded:
    table = pq.read_table(path)
    ids = table.column("customer_id").to_pylist()
    stamps = table.column("as_of")
    as_of = stamps[0].as_py().isoformat() if len(stamps) else ""
    metadata = table.schema.metadata or {}
    as_of = metadata.get(b"aimsight.as_of", as_of.encode()).decode()
    columns = []
    for name in table.column_names:
        if name in ("customer_id", "as_of"):
            continue
        columns.append((name, table.column(name).to_numpy(zero_copy_only=False)))
    return _Loaded(
        path=path,
        as_of=as_of,
        index={customer: position for position, customer in enumerate(ids)},
        columns=tuple(columns),
    )
