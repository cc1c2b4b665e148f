"""Settings: environment variables ``CASEBRIDGE_*`` over an optional TOML file over defaults.

Why strict: a misspelt variable (``CASEBRIDGE_DATABSE_URL``) silently falling back to the default
SQLite file would let a production hub run on the wrong database. Unknown keys are an error, and
every error is reduced to one line that names the setting and the rule.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from casebridge.errors import ConfigError, Said
from casebridge.i18n import N_

__all__ = ["ENV_PREFIX", "Settings", "load_settings"]

ENV_PREFIX = "CASEBRIDGE_"
# Variables with the prefix that are not settings of the running system: the settings file,
# and the command line's language (read by casebridge.i18n.cli_language, not a hub setting).
_NOT_SETTINGS = {"CASEBRIDGE_CONFIG", "CASEBRIDGE_LANG"}
_NOT_SETTINGS_PREFIXES = ("CASEBRIDGE_TEST_",)


class Settings(BaseSettings):
    """The running system's settings; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    var_dir: Path = Field(default=Path("var"), description="Working data: database, blobs, keys")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default: SQLite file var/casebridge.db (WAL)"
    )
    blob_dir: Path | None = Field(default=None, description="Dossier page store; default var/blobs")
    blob_backend: Literal["fs", "s3"] = Field(default="fs", description="Dossier page store kind")
    s3_bucket: str = Field(default="casebridge-pages", description="Bucket when blob_backend=s3")
    s3_endpoint_url: str | None = Field(default=None, description="S3 API endpoint (non-AWS)")
    s3_region: str = Field(default="us-east-1", description="S3 region name")
    crypto_suite: Literal["intl", "gm"] = Field(
        default="intl", description="intl: AES-256-GCM/SHA-256; gm: SM4-GCM/SM3"
    )
    kek_file: Path | None = Field(
        default=None, description="Key-encryption key file; default var/keys/kek.key"
    )
    dossier_max_bytes: int = Field(
        default=8 * 1024**3, ge=1, description="Largest dossier accepted (distinct page bytes)"
    )
    dossier_max_page_bytes: int = Field(
        default=64 * 1024**2, ge=1, description="Largest single page file accepted"
    )
    dossier_max_manifest_bytes: int = Field(
        default=64 * 1024**2,
        ge=1024,
        description="Largest manifest body the hub reads (~150 bytes a page)",
    )
    dossier_pack_slots: int = Field(
        default=4,
        ge=1,
        description="Packs one hub process receives at once; more wait (bounds its memory)",
    )
    sha256: Literal["auto", "hashlib", "simd"] = Field(
        default="auto",
        description="Page hashing: auto (the compiled kernel where the CPU lacks SHA-NI), "
        "hashlib, or simd (the kernel wherever it runs)",
    )
    tus_expiry_seconds: int = Field(
        default=86400, ge=60, description="Unfinished tus uploads expire after this long"
    )
    host: str = Field(default="127.0.0.1", description="Listen address of the hub")
    port: int = Field(default=8000, ge=0, le=65535, description="Listen port of the hub")
    holidays_file: Path | None = Field(
        default=None, description="Holiday calendar CSV replacing the shipped 2024–2026 one"
    )
    alert_due_soon_days: int = Field(
        default=3, ge=0, le=60, description="Raise a due_soon alert this many days before a limit"
    )
    audit_key_file: Path | None = Field(
        default=None, description="Ed25519 key signing audit checkpoints; default var/keys/"
    )
    audit_checkpoint_every: int = Field(
        default=1000, ge=1, description="Sign a Merkle tree head every N audit events"
    )
    lockout_threshold: int = Field(
        default=10, ge=1, le=100, description="Wrong passwords in a row that lock an account"
    )
    lockout_minutes: int = Field(default=15, ge=1, description="How long a lock lasts")
    session_hours: int = Field(default=8, ge=1, le=168, description="Browser session lifetime")
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only (off for plain http)"
    )
    tls_cert_file: Path | None = Field(default=None, description="Hub server certificate (PEM)")
    tls_key_file: Path | None = Field(default=None, description="Hub server key (PEM)")
    tls_client_ca_file: Path | None = Field(
        default=None, description="CA bundle for gateway client certificates (mutual TLS)"
    )
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() merges file and environment itself, so that it can name the source
        # of a bad value and refuse unknown keys; the class only validates what it is given.
        return (init_settings,)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'casebridge.db'}"

    @property
    def effective_audit_key_file(self) -> Path:
        return self.audit_key_file or self.var_dir / "keys" / "audit-ed25519.pem"

    @property
    def effective_blob_dir(self) -> Path:
        return self.blob_dir if self.blob_dir is not None else self.var_dir / "blobs"

    @property
    def effective_kek_file(self) -> Path:
        return self.kek_file if self.kek_file is not None else self.var_dir / "keys" / "kek.key"


def _field_env_names() -> set[str]:
    return {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def _check_unknown_env(environ: dict[str, str]) -> None:
    known = _field_env_names() | _NOT_SETTINGS
    for key in sorted(environ):
        if not key.startswith(ENV_PREFIX) or key in known:
            continue
        if key.startswith(_NOT_SETTINGS_PREFIXES):
            continue
        raise ConfigError(
            N_("unknown setting {key}; known settings: {known}"),
            params={"key": key, "known": ", ".join(sorted(_field_env_names()))},
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(N_("config file {path} does not exist"), params={"path": path}) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            N_("config file {path} is not valid TOML: {reason}"),
            params={"path": path, "reason": exc},
        ) from None
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            N_("unknown setting {key} in {path}; known settings: {known}"),
            params={
                "key": repr(unknown[0]),
                "path": path,
                "known": ", ".join(sorted(Settings.model_fields)),
            },
        )
    return data


def load_settings(
    config_file: Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Build settings, or raise :class:`ConfigError` with one line naming the bad setting."""
    env = dict(os.environ if environ is None else environ)
    _check_unknown_env(env)
    if config_file is None and env.get("CASEBRIDGE_CONFIG"):
        config_file = Path(env["CASEBRIDGE_CONFIG"])
    file_values = _read_toml(config_file) if config_file is not None else {}
    # Environment wins over the file: drop file values that the environment sets.
    init = {k: v for k, v in file_values.items() if ENV_PREFIX + k.upper() not in env}
    try:
        return _settings_from(env, init)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        source = (
            f"{ENV_PREFIX}{name.upper()}"
            if name not in init
            else Said(N_("{name} in {path}"), name=name, path=config_file)
        )
        raise ConfigError(
            N_("invalid setting {source}: {reason} (got {value})"),
            params={"source": source, "reason": err["msg"], "value": repr(err.get("input"))},
        ) from None


def _settings_from(env: dict[str, str], init: dict[str, Any]) -> Settings:
    """Settings from an explicit environment mapping (tests, subprocess wiring)."""
    values = dict(init)
    for name in Settings.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in env:
            values[name] = env[key]
    return Settings(**values)
