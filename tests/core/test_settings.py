"""Settings come from aimsight.toml and AIMSIGHT__* variables; bad ones get one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimsight.core import ConfigurationError, load_settings


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aimsight.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_give_an_embedded_development_setup() -> None:
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.store.database_url is None
    assert settings.api.port == 8000
    assert settings.ledger.retention_days >= 183


def test_file_values_are_read(tmp_path: Path) -> None:
    settings = load_settings(_toml(tmp_path, "[api]\nport = 9100\n"))
    assert settings.api.port == 9100


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMSIGHT__API__PORT", "9200")
    settings = load_settings(_toml(tmp_path, "[api]\nport = 9100\n"))
    assert settings.api.port == 9200


def test_bad_value_names_key_value_and_what_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_toml(tmp_path, "[api]\nport = 70000\n"))
    message = str(caught.value)
    assert "api.port" in message and "70000" in message
    assert "less than or equal to 65535" in message
    assert "\n" not in message


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMSIGHT__LOGGING__LEVEL", "LOUD")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "logging.level" in message and "'LOUD'" in message
    assert "AIMSIGHT__LOGGING__LEVEL" in message
    assert "DEBUG" in message  # the allowed values are listed


def test_unknown_key_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_toml(tmp_path, "[api]\nprot = 1\n"))
    message = str(caught.value)
    assert "unknown setting 'api.prot'" in message
    assert "port" in message and "max_body_bytes" in message


def test_unsupported_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="store.database_url"):
        load_settings(_toml(tmp_path, '[store]\ndatabase_url = "mysql://x"\n'))


def test_ledger_retention_below_six_months_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ledger.retention_days"):
        load_settings(_toml(tmp_path, "[ledger]\nretention_days = 30\n"))


def test_broken_toml_says_which_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[api\nport = 1\n")
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        load_settings(path)


def test_configuration_reference_in_docs_is_current() -> None:
    from aimsight.core import settings_reference

    doc = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert doc.read_text(encoding="utf-8") == settings_reference(), (
        "regenerate: python -c 'from aimsight.core import settings_reference as r; "
        'print(r(), end="")\' > docs/configuration.md'
    )


def test_production_refuses_automatic_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMSIGHT__ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError, match="store.auto_upgrade must be false"):
        load_settings()
    monkeypatch.setenv("AIMSIGHT__STORE__AUTO_UPGRADE", "false")
    assert load_settings().environment == "production"


def test_identity_backend_is_chosen_by_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().identity.backend == "duckdb"
    settings = load_settings(_toml(tmp_path, '[identity]\nspark_master = "local[4]"\n'))
    assert settings.identity.spark_master == "local[4]"
    monkeypatch.setenv("AIMSIGHT__IDENTITY__BACKEND", "spark")
    assert load_settings().identity.backend == "spark"
    monkeypatch.setenv("AIMSIGHT__IDENTITY__BACKEND", "hadoop")
    with pytest.raises(ConfigurationError, match="identity.backend"):
        load_settings()
