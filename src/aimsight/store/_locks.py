"""Named exclusive locks that hold across threads and processes sharing one store.

A caller that reads, checks and then writes (a contact cap: count this week's e-mails, then
send one) must not interleave with another doing the same for the same customer, whichever
thread or server process runs it. On PostgreSQL that is a session advisory lock. On SQLite
it is a POSIX byte-range lock on a file beside the database (``<db>-locks``), one byte per
name: waiting happens in the kernel, which wakes the next holder the moment the lock is
released, where SQLite's own busy handler sleeps and retries (5-25 ms a time under load).

POSIX record locks belong to a process, not a thread, so each name also takes a thread lock
of its own first (one per name in use, shared by every store object in the process): two
threads of one process never hold the same byte at once, and one cannot release the other's
lock. The thread locks are per name, not striped, so two names never share one: a thread
holding a customer's lock that then waits for the ledger's cannot deadlock against a thread
whose customer happened to share the ledger's stripe. Closing any
descriptor of the file would drop all of the process's locks on it, so every store object
on one database shares one descriptor, closed when the last of them is disposed.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

try:  # POSIX only; elsewhere SQLite locks hold within one process
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["NamedLocks", "lock_key"]

_BYTE_RANGE = 2**62  # lock offsets fit a signed 64-bit off_t
_FILES: dict[Path, list[int]] = {}  # lock file -> [descriptor, store objects using it]
_FILES_LOCK = threading.Lock()


class _ThreadLock:
    """One name's lock within the process; dropped once no thread holds or awaits it."""

    __slots__ = ("lock", "__weakref__")

    def __init__(self) -> None:
        self.lock = threading.Lock()


_THREAD_LOCKS: weakref.WeakValueDictionary[int, _ThreadLock] = weakref.WeakValueDictionary()
_THREAD_LOCKS_LOCK = threading.Lock()


def _thread_lock(key: int) -> _ThreadLock:
    with _THREAD_LOCKS_LOCK:
        found = _THREAD_LOCKS.get(key)
        if found is None:
            found = _THREAD_LOCKS[key] = _ThreadLock()
        return found


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (the same in every process, unlike hash())."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


class NamedLocks:
    """Exclusive locks by name on one store's engine; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._file: Path | None = None
        if engine.dialect.name == "sqlite" and fcntl is not None:
            database = engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database).resolve()
                self._file = path.with_name(path.name + "-locks")
        self._fd: int | None = None

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold the lock called ``name`` until the block ends, waiting for it if needed."""
        key = lock_key(name)
        mine = _thread_lock(key)  # referenced until the block ends, so it stays the same lock
        with mine.lock:
            if self._engine.dialect.name == "postgresql":
                with self._advisory(key):
                    yield
            elif self._file is not None:
                with self._byte(key % _BYTE_RANGE):
                    yield
            else:
                yield

    @contextmanager
    def _byte(self, offset: int) -> Iterator[None]:
        assert fcntl is not None
        fd = self._descriptor()
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

    @contextmanager
    def _advisory(self, key: int) -> Iterator[None]:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()

    def _descriptor(self) -> int:
        with _FILES_LOCK:
            if self._fd is None:
                assert self._file is not None
                shared = _FILES.get(self._file)
                if shared is None:
                    fd = os.open(self._file, os.O_RDWR | os.O_CREAT, 0o600)
                    shared = _FILES[self._file] = [fd, 0]
                shared[1] += 1
                self._fd = shared[0]
            return self._fd

    def close(self) -> None:
        """Let go of the lock file (at the store's disposal, with no lock held); the last
        store object on the database closes it."""
        with _FILES_LOCK:
            if self._fd is None or self._file is None:
                return
            shared = _FILES[self._file]
            shared[1] -= 1
            if shared[1] == 0:
                os.close(shared[0])
                del _FILES[self._file]
            self._fd = None
