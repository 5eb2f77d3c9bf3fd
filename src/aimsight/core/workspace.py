"""A workspace: one folder holding ``aimsight.toml``, the lake, artifacts and (by default)
the SQLite operational store. Every service is built from a :class:`Workspace`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from aimsight.core.errors import WorkspaceError, WorkspaceNotFound
from aimsight.core.settings import Settings, load_settings

__all__ = ["CONFIG_FILE", "Workspace", "resolve_workspace_path"]

CONFIG_FILE = "aimsight.toml"
WORKSPACE_ENV = "AIMSIGHT_WORKSPACE"

_STARTER_CONFIG: dict[str, object] = {
    "environment": "development",
    "store": {"auto_upgrade": True},
    "api": {"host": "127.0.0.1", "port": 8000},
    "logging": {"level": "INFO", "json_format": True},
}

_HEADER = """\
# aimsight workspace settings. Every key can also be set through an environment variable
# AIMSIGHT__SECTION__KEY (for example AIMSIGHT__STORE__DATABASE_URL), which wins over this file.
# The full list of keys is in docs/configuration.md.
"""


def resolve_workspace_path(explicit: str | Path | None) -> Path:
    """The workspace folder: ``explicit``, else ``$AIMSIGHT_WORKSPACE``, else the current one."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser().resolve()
    from_env = os.environ.get(WORKSPACE_ENV)
    if from_env:
        return Path(from_env).expanduser().resolve()
    return Path.cwd().resolve()


@dataclass(frozen=True)
class Workspace:
    """An opened workspace: its folder and its settings."""

    root: Path
    settings: Settings = field(repr=False)

    @property
    def config_file(self) -> Path:
        """The workspace's ``aimsight.toml``."""
        return self.root / CONFIG_FILE

    @property
    def lake_dir(self) -> Path:
        """Parquet files of events, source records, profiles, features and scores."""
        return self.root / "lake"

    @property
    def artifacts_dir(self) -> Path:
        """Model files, reports and evidence packs."""
        return self.root / "artifacts"

    @property
    def secrets_dir(self) -> Path:
        """Keys the workspace owns (the ledger seal key); readable by the owner only."""
        return self.root / ".secrets"

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded SQLite store lives when no ``database_url`` is set."""
        return self.root / "aimsight.db"

    @property
    def database_url(self) -> str:
        """The operational store's SQLAlchemy URL."""
        return self.settings.store.database_url or f"sqlite:///{self.sqlite_path}"

    @classmethod
    def open(cls, path: str | Path | None = None) -> Workspace:
        """Open the workspace at ``path`` (see :func:`resolve_workspace_path`).

        Raises:
            WorkspaceNotFound: there is no ``aimsight.toml`` there.
            ConfigurationError: a setting is bad; the message names it.
        """
        root = resolve_workspace_path(path)
        config = root / CONFIG_FILE
        if not config.is_file():
            raise WorkspaceNotFound(
                f"no aimsight workspace at {root} ({CONFIG_FILE} missing); "
                f"run `aimsight init {root}` or pass --workspace DIR"
            )
        return cls(root=root, settings=load_settings(config))

    @classmethod
    def create(cls, path: str | Path | None = None, *, exist_ok: bool = False) -> Workspace:
        """Create a workspace folder with a starter ``aimsight.toml``, ``lake/`` and
        ``artifacts/``. The store itself is created by the store layer on first use.

        Raises:
            WorkspaceError: the folder already holds a workspace (and not ``exist_ok``), or
                cannot be written.
        """
        root = resolve_workspace_path(path)
        config = root / CONFIG_FILE
        if config.exists() and not exist_ok:
            raise WorkspaceError(
                f"{root} already holds an aimsight workspace; open it with --workspace {root}"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            for folder in ("lake", "artifacts"):
                (root / folder).mkdir(exist_ok=True)
            secrets_dir = root / ".secrets"
            secrets_dir.mkdir(exist_ok=True)
            secrets_dir.chmod(0o700)
            if not config.exists():
                config.write_text(_HEADER + "\n" + tomli_w.dumps(_STARTER_CONFIG), "utf-8")
        except OSError as exc:
            raise WorkspaceError(f"cannot create a workspace at {root}: {exc.strerror}") from None
        return cls.open(root)
