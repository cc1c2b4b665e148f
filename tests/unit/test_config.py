"""Settings: defaults, precedence, and one clear error for every bad or unknown setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebridge.config import Settings, load_settings
from casebridge.errors import ConfigError


def test_defaults_use_sqlite_under_var() -> None:
    s = load_settings(environ={})
    assert s.effective_database_url == "sqlite:///var/casebridge.db"
    assert s.effective_blob_dir == Path("var/blobs")
    assert (s.host, s.port, s.log_format) == ("127.0.0.1", 8000, "json")


def test_unknown_environment_setting_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown setting CASEBRIDGE_DATABSE_URL"):
        load_settings(environ={"CASEBRIDGE_DATABSE_URL": "sqlite:///x.db"})


def test_the_command_line_language_is_not_a_hub_setting() -> None:
    """CASEBRIDGE_LANG picks the CLI's language; every command that loads settings (init,
    audit, serve, …) once refused to start with it set ("unknown setting")."""
    s = load_settings(environ={"CASEBRIDGE_LANG": "zh_Hans"})
    assert s.port == 8000


def test_test_only_variables_are_not_settings() -> None:
    s = load_settings(environ={"CASEBRIDGE_TEST_POSTGRES_URL": "postgresql+psycopg://x/y"})
    assert s.database_url == ""


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("CASEBRIDGE_PORT", "abc", "invalid setting CASEBRIDGE_PORT"),
        ("CASEBRIDGE_PORT", "70000", "invalid setting CASEBRIDGE_PORT"),
        ("CASEBRIDGE_LOG_FORMAT", "xml", "invalid setting CASEBRIDGE_LOG_FORMAT"),
        ("CASEBRIDGE_DATABASE_URL", "mysql://x", "invalid setting CASEBRIDGE_DATABASE_URL"),
        ("CASEBRIDGE_SHA256", "fast", "invalid setting CASEBRIDGE_SHA256"),
    ],
)
def test_invalid_setting_names_variable_and_value(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={key: value})
    assert expected in err.value.message
    assert repr(value) in err.value.message
    assert "\n" not in err.value.message


def test_page_hashing_is_a_setting() -> None:
    from typing import get_args

    from casebridge.native import sha256 as native

    # the setting's values are the ones the command line checks and configure() takes
    assert get_args(Settings.model_fields["sha256"].annotation) == native.CHOICES
    assert load_settings(environ={}).sha256 == "auto"
    assert load_settings(environ={"CASEBRIDGE_SHA256": "hashlib"}).sha256 == "hashlib"


def test_toml_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    cfg = tmp_path / "cb.toml"
    cfg.write_text('port = 9001\nhost = "::1"\n')
    s = load_settings(cfg, environ={"CASEBRIDGE_PORT": "9002"})
    assert (s.host, s.port) == ("::1", 9002)


def test_toml_unknown_key_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "cb.toml"
    cfg.write_text("prot = 9001\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings(cfg, environ={})


def test_toml_invalid_value_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "cb.toml"
    cfg.write_text('port = "x"\n')
    with pytest.raises(ConfigError, match=r"invalid setting port in .*cb\.toml"):
        load_settings(cfg, environ={})


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, environ={})


def test_config_file_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "cb.toml"
    cfg.write_text("port = 9003\n")
    assert load_settings(environ={"CASEBRIDGE_CONFIG": str(cfg)}).port == 9003
