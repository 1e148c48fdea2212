"""Settings come from the environment and refuse development secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.ngo_registry.config import Settings as RegistrySettings


def test_service_variables_use_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGO_REGISTRY_PORT", "9101")
    monkeypatch.setenv("NGO_REGISTRY_DB_PASSWORD", "s3cret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:pw@db.example:5432/concord")
    settings = RegistrySettings()
    assert settings.port == 9101
    assert settings.db_schema == "ngo_registry"
    assert settings.service_database_url == (
        "postgresql://concord_ngo_registry:s3cret@db.example:5432/concord"
    )


def test_production_refuses_the_development_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_ENV", "prod")
    monkeypatch.setenv("NGO_REGISTRY_DB_PASSWORD", "a-real-password")
    monkeypatch.delenv("CONCORD_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="CONCORD_JWT_SECRET"):
        RegistrySettings()


def test_production_refuses_the_development_database_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONCORD_ENV", "prod")
    monkeypatch.setenv("CONCORD_JWT_SECRET", "a-long-production-secret-from-the-vault-0123")
    monkeypatch.delenv("NGO_REGISTRY_DB_PASSWORD", raising=False)
    with pytest.raises(ValidationError, match="NGO_REGISTRY_DB_PASSWORD"):
        RegistrySettings()


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_ENV", "prod")
    monkeypatch.setenv("CONCORD_JWT_SECRET", "a-long-production-secret-from-the-vault-0123")
    monkeypatch.setenv("NGO_REGISTRY_DB_PASSWORD", "a-real-password")
    assert RegistrySettings().environment == "prod"
