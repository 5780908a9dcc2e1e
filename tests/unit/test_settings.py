from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_defaults_are_for_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_ENV", raising=False)
    settings = Settings()
    assert settings.env == "development" and settings.database_url is None and settings.temporal_address is None
    assert "hotline1022" in str(settings.data_dir)


def test_data_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.data_dir == tmp_path and settings.pg_dir == tmp_path / "postgres"


def test_production_refuses_default_and_short_secrets() -> None:
    with pytest.raises(ValidationError, match="HOTLINE_SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="HOTLINE_SECRET_KEY"):
        Settings(env="production", secret_key="short")
    assert Settings(env="production", secret_key="x" * 40).is_production


def test_production_refuses_ari_without_password() -> None:
    with pytest.raises(ValidationError, match="HOTLINE_ARI_PASSWORD"):
        Settings(env="production", secret_key="x" * 40, ari_url="http://127.0.0.1:8088")


def test_secrets_are_not_printed() -> None:
    settings = Settings(secret_key="a-very-secret-value-that-must-not-leak-0123")
    assert "a-very-secret" not in repr(settings) and "a-very-secret" not in str(settings.model_dump())
