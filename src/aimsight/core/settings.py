"""Settings: one pydantic-settings class per section, composed into :class:`Settings`.

Values come, highest priority first, from keyword arguments, ``AIMSIGHT__SECTION__KEY``
environment variables and the workspace's ``aimsight.toml``. Nothing is built at import time;
:func:`load_settings` is called with the workspace's file and the result is injected.
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aimsight.core.errors import ConfigurationError

__all__ = [
    "ApiSettings",
    "IdentitySettings",
    "LedgerSettings",
    "LoggingSettings",
    "Settings",
    "StoreSettings",
    "load_settings",
    "settings_reference",
]

_TOML_FILE: ContextVar[Path | None] = ContextVar("aimsight_toml_file", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class StoreSettings(_Section):
    """Where the operational store lives (consent, registry, approvals, AIMS records, ledger)."""

    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the operational store. Empty means SQLite in the workspace "
            "(aimsight.db, WAL mode); use postgresql+psycopg://user@host/db for a team server."
        ),
    )
    schema_name: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema to hold aimsight's tables (created if missing).",
    )
    auto_upgrade: bool = Field(
        default=True, description="Apply pending migrations automatically on first use."
    )
    pool_size: int = Field(default=5, ge=1, le=100, description="Connection pool size (server).")

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value


class LedgerSettings(_Section):
    """The tamper-evident decision ledger."""

    group_commit_max: int = Field(
        default=512, ge=1, le=10_000, description="Most entries written in one group commit."
    )
    key_file: str = Field(
        default=".secrets/ledger.key",
        description="File (relative to the workspace) holding the key that seals ledger entries.",
    )
    retention_days: int = Field(
        default=400,
        ge=183,
        description="Days ledger entries are kept; at least six months (ISO/IEC 42001 A.6.2.8).",
    )


class ApiSettings(_Section):
    """The HTTP API."""

    host: str = Field(default="127.0.0.1", description="Interface the API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port the API listens on.")
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=104_857_600,
        description="Largest request body accepted; larger requests get 413.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    decision_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description=(
            "Decisions one API process works on at once; more queue for a free lane. Unset: "
            "1 on SQLite (one lane decides faster than several fighting over the GIL and the "
            "database file), 4 on PostgreSQL (whose reads wait on the network). Serve more "
            "worker processes to use more cores."
        ),
    )


class IngestSettings(_Section):
    """Ingestion: the HTTP collector's spool and the NATS JetStream consumer."""

    collector_flush_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often the API moves collected events from its spool into lake batches.",
    )
    collector_flush_rows: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Most collected events turned into one lake batch.",
    )
    collector_keep_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 366,
        description=(
            "How long flushed events stay in the collector's spool (to spot resent messageIds) "
            "before they are deleted; their data lives on in the lake."
        ),
    )
    nats_url: str = Field(
        default="nats://127.0.0.1:4222", description="NATS server for `aimsight ingest stream`."
    )
    stream_batch_size: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Messages fetched per stream batch; acknowledged only once it is committed.",
    )


class IdentitySettings(_Section):
    """Identity resolution: the engine Splink scores record pairs on."""

    backend: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description=(
            "Engine for identity runs (`aimsight identity run`, `POST /v1/identity/runs`) that "
            "name none: duckdb (in process, one machine) or spark (the cluster tier; needs "
            "`aimsight[spark]` and Java 17)."
        ),
    )
    spark_master: str = Field(
        default="local[2]",
        min_length=1,
        description=(
            "Spark master URL for the spark backend: local[N] runs Spark inside the process on "
            "N cores; spark://host:7077, yarn or k8s://... submit to a cluster."
        ),
    )


class LoggingSettings(_Section):
    """Process logs (never personal data)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level written."
    )
    json_format: bool = Field(default=True, description="Write one JSON object per line.")


class Settings(BaseSettings):
    """All aimsight settings; see ``docs/configuration.md`` for every key."""

    model_config = SettingsConfigDict(
        env_prefix="AIMSIGHT__",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    environment: Literal["development", "test", "production"] = Field(
        default="development",
        description=(
            "Deployment stage. production refuses unsafe defaults: migrations must be applied "
            "explicitly (store.auto_upgrade = false) and CORS may not allow every origin."
        ),
    )
    store: StoreSettings = Field(default_factory=StoreSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.environment != "production":
            return self
        if self.store.auto_upgrade:
            raise ValueError(
                "store.auto_upgrade must be false in production; apply migrations with "
                "`aimsight db upgrade` during a release"
            )
        if "*" in self.api.cors_origins:
            raise ValueError("api.cors_origins may not contain '*' in production; list origins")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del dotenv_settings, file_secret_settings
        toml_file = _TOML_FILE.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def load_settings(toml_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from ``toml_file`` (if given), the environment and ``overrides``.

    Raises:
        ConfigurationError: naming the first bad key, its value and what is allowed.
    """
    if toml_file is not None:
        _check_toml_syntax(toml_file)
    token = _TOML_FILE.set(toml_file)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, toml_file)) from None
    finally:
        _TOML_FILE.reset(token)


def _check_toml_syntax(toml_file: Path) -> None:
    try:
        tomllib.loads(toml_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{toml_file} is not valid TOML: {exc}; fix the file") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {toml_file}: {exc.strerror}") from None


def _describe(exc: ValidationError, toml_file: Path | None) -> str:
    """One line: which key, which value, what is allowed."""
    first = exc.errors()[0]
    if not first["loc"]:  # a rule across several keys
        return "settings are not allowed: " + first["msg"].removeprefix("Value error, ")
    key = ".".join(str(part) for part in first["loc"])
    env_name = "AIMSIGHT__" + "__".join(str(part).upper() for part in first["loc"])
    where = f" (in {toml_file.name} or {env_name})" if toml_file else f" ({env_name})"
    if first["type"] == "extra_forbidden":
        allowed = _known_keys(first["loc"][:-1])
        return f"unknown setting {key!r}{where}; known keys here: {', '.join(allowed)}"
    value = first.get("input")
    allowed_text = first["msg"][0].lower() + first["msg"][1:]
    allowed_text = allowed_text.removeprefix("value error, ")
    return f"setting {key} = {value!r}{where} is not allowed: {allowed_text}"


def _known_keys(parent: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in parent:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break
    return sorted(model.model_fields)


def settings_reference() -> str:
    """The configuration reference as Markdown (``docs/configuration.md`` is generated from it)."""
    lines = [
        "# Configuration reference",
        "",
        "Settings live in the workspace's `aimsight.toml`, one table per section. Any key can be",
        "overridden by an environment variable `AIMSIGHT__SECTION__KEY`, which wins over the file.",
        "A bad or unknown key stops every command with one line naming the key, the value and",
        "what is allowed. This page is generated from the code (`settings_reference()`).",
        "",
        "| key | environment variable | default | description |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            section = annotation()
            for key, sub in annotation.model_fields.items():
                default = getattr(section, key)
                env = f"AIMSIGHT__{name.upper()}__{key.upper()}"
                lines.append(
                    f"| `{name}.{key}` | `{env}` | `{default!r}` | {sub.description or ''} |"
                )
        else:
            env = f"AIMSIGHT__{name.upper()}"
            lines.append(f"| `{name}` | `{env}` | `{field.default!r}` | {field.description} |")
    return "\n".join(lines) + "\n"
