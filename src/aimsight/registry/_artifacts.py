"""Model artifacts on disk: written atomically, hashed, and verified before they are unpickled.

An artifact is the joblib dump of the fitted model. It is written to a temporary file in its
final folder, flushed to disk, then renamed into place, so a crash never leaves half a model
under the final name. Loading reads the bytes once, checks their SHA-256 against the one the
registry recorded, and only then unpickles those same bytes: a file that was changed after
registration is refused before any of its code can run.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import secrets
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib

from aimsight.core.errors import Conflict

__all__ = [
    "ArtifactError",
    "dump_model",
    "library_versions",
    "load_verified",
    "remove_artifact",
    "sha256_of",
    "write_atomically",
]

_TRACKED = ("scikit-learn", "numpy", "pandas", "scipy", "joblib", "lifelines", "shap")


class ArtifactError(Conflict):
    """Raised when an artifact is missing, unreadable, or no longer the file registered."""

    code = "artifact_error"


def dump_model(model: Any) -> bytes:
    """The joblib dump of ``model`` as bytes (what is hashed and written)."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def sha256_of(data: bytes) -> str:
    """The SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename.

    Raises:
        ArtifactError: the file cannot be written (the message names it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)
    except OSError as exc:
        raise ArtifactError(
            f"cannot write the model artifact {path}: {exc.strerror or exc}; check the disk "
            "and the workspace's permissions"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def remove_artifact(path: Path) -> None:
    """Remove an artifact and its folder if empty (undoing a registration that failed)."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass


def load_verified(path: Path, sha256: str, *, label: str) -> Any:
    """Unpickle the artifact at ``path`` once its bytes hash to ``sha256``.

    ``label`` names the model and its workspace-relative path in messages (never the absolute
    path, which API callers need not see).

    Raises:
        ArtifactError: the file is missing, or its hash differs (it was altered or replaced);
            nothing is unpickled then.
    """
    data = read_bytes(path, label=label)
    found = sha256_of(data)
    if found != sha256:
        raise ArtifactError(
            f"the artifact of {label} has changed since it was registered (sha256 "
            f"{found[:12]}... instead of {sha256[:12]}...); it was not loaded. Restore the file "
            "from a backup or register a new version"
        )
    return joblib.load(io.BytesIO(data))


def read_bytes(path: Path, *, label: str) -> bytes:
    """The artifact's bytes.

    Raises:
        ArtifactError: the file is missing or unreadable.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(
            f"the artifact of {label} is missing; restore it from a backup or "
            "register a new version"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"cannot read the artifact of {label}: {exc.strerror or exc}") from None


def library_versions() -> dict[str, str]:
    """Python and the versions of the libraries a pickled model depends on (provenance)."""
    found = {"python": platform.python_version()}
    for name in _TRACKED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _fsync_directory(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover - file systems that refuse it
        pass
    finally:
        os.close(descriptor)
