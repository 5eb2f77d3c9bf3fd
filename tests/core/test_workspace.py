"""A workspace is a folder with aimsight.toml, lake/, artifacts/ and its store."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aimsight.core import Workspace, WorkspaceError, WorkspaceNotFound


def test_create_lays_out_the_workspace(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "acme")
    assert workspace.config_file.is_file()
    assert workspace.lake_dir.is_dir() and workspace.artifacts_dir.is_dir()
    assert stat.S_IMODE(workspace.secrets_dir.stat().st_mode) == 0o700
    assert workspace.database_url == f"sqlite:///{tmp_path / 'acme' / 'aimsight.db'}"


def test_create_refuses_to_overwrite_a_workspace(tmp_path: Path) -> None:
    Workspace.create(tmp_path / "acme")
    with pytest.raises(WorkspaceError, match="already holds an aimsight workspace"):
        Workspace.create(tmp_path / "acme")


def test_open_a_missing_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFound) as caught:
        Workspace.open(tmp_path / "nowhere")
    assert "aimsight init" in str(caught.value)


def test_workspace_comes_from_the_environment_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.create(tmp_path / "acme")
    monkeypatch.setenv("AIMSIGHT_WORKSPACE", str(tmp_path / "acme"))
    assert Workspace.open().root == (tmp_path / "acme").resolve()


def test_workspace_defaults_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.create(tmp_path / "acme")
    monkeypatch.chdir(tmp_path / "acme")
    assert Workspace.open().root == (tmp_path / "acme").resolve()


def test_database_url_setting_replaces_the_embedded_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.create(tmp_path / "acme")
    monkeypatch.setenv("AIMSIGHT__STORE__DATABASE_URL", "postgresql+psycopg://u@db/aims")
    assert Workspace.open(tmp_path / "acme").database_url == "postgresql+psycopg://u@db/aims"
