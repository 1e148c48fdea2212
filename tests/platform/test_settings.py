"""Settings come from the environment, refuse development secrets and weak keys in
production (the default), and stop a service at start-up when its key cannot verify tokens."""

from __future__ import annotations

import importlib

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from pydantic import ValidationError

from deploy.services import SERVICES, ServiceSpec
from services.ngo_registry.app import create_app as create_registry_app
from services.ngo_registry.config import Settings as RegistrySettings
from shared.config import DEV_JWT_SECRET


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


STRONG_SECRET = "Zq3-vK8tWm1xRb7LpN0sYd5HcE2uJg9fTa4oQi6"


def _rsa_pem(*, private: bool = False, bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _ec_public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Production settings with everything right, for one test to spoil."""
    monkeypatch.setenv("CONCORD_ENV", "prod")
    monkeypatch.setenv("CONCORD_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("NGO_REGISTRY_DB_PASSWORD", "a-real-password")
    for name in ("CONCORD_JWT_ALGORITHM", "CONCORD_JWT_PUBLIC_KEY", "CONCORD_JWT_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_is_the_default(production: pytest.MonkeyPatch) -> None:
    production.delenv("CONCORD_ENV")
    assert RegistrySettings().environment == "prod"
    production.delenv("CONCORD_JWT_SECRET")
    with pytest.raises(ValidationError, match="CONCORD_JWT_SECRET must be set"):
        RegistrySettings()


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("short-but-random-Q7x", "bytes long"),
        ("x" * 64, "too little entropy"),
        ("password" * 6, "too little entropy"),
        ("0123456789abcdef" * 2, "too little entropy"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaabcdefghijklm", "bits of entropy"),
    ],
)
def test_production_refuses_a_weak_secret(
    production: pytest.MonkeyPatch, secret: str, why: str
) -> None:
    production.setenv("CONCORD_JWT_SECRET", secret)
    with pytest.raises(ValidationError, match=f"too weak.*{why}"):
        RegistrySettings()


def test_dev_and_test_accept_the_development_secret(production: pytest.MonkeyPatch) -> None:
    production.delenv("CONCORD_JWT_SECRET")
    for environment in ("dev", "test"):
        production.setenv("CONCORD_ENV", environment)
        assert RegistrySettings().jwt_secret == DEV_JWT_SECRET


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"CONCORD_JWT_ALGORITHM": "none"}, "'none' is not accepted"),
        ({"CONCORD_JWT_ALGORITHM": "HS257"}, "'HS257' is not accepted"),
        ({"CONCORD_JWT_ALGORITHM": "RS256"}, "set exactly one of CONCORD_JWT_PUBLIC_KEY"),
        (
            {"CONCORD_JWT_ALGORITHM": "RS256", "CONCORD_JWT_PUBLIC_KEY": "not a pem"},
            "CONCORD_JWT_PUBLIC_KEY cannot verify RS256 tokens",
        ),
        (
            {"CONCORD_JWT_ALGORITHM": "RS256", "CONCORD_JWT_PUBLIC_KEY": "@ec"},
            "CONCORD_JWT_PUBLIC_KEY cannot verify RS256 tokens",
        ),
        (
            {"CONCORD_JWT_ALGORITHM": "ES256", "CONCORD_JWT_PUBLIC_KEY": "@rsa"},
            "CONCORD_JWT_PUBLIC_KEY cannot verify ES256 tokens",
        ),
        (
            {"CONCORD_JWT_ALGORITHM": "RS256", "CONCORD_JWT_PUBLIC_KEY": "@rsa-private"},
            "holds a private key",
        ),
        (
            {"CONCORD_JWT_ALGORITHM": "RS256", "CONCORD_JWT_PUBLIC_KEY": "@rsa-1024"},
            "cannot verify RS256 tokens.*2048",
        ),
        (
            {
                "CONCORD_JWT_ALGORITHM": "RS256",
                "CONCORD_JWT_PUBLIC_KEY": "@rsa",
                "CONCORD_JWT_JWKS_URL": "https://idp.example/jwks",
            },
            "set exactly one of",
        ),
        (
            {"CONCORD_JWT_ALGORITHM": "RS256", "CONCORD_JWT_JWKS_URL": "http://idp.example/j"},
            "https:// URL in production",
        ),
        ({"CONCORD_JWT_PUBLIC_KEY": "@rsa"}, "would be used as an HMAC secret"),
        ({"CONCORD_JWT_SECRET": "@rsa"}, "CONCORD_JWT_SECRET cannot verify HS256 tokens"),
        ({"CONCORD_JWT_LEEWAY_SECONDS": "31"}, "CONCORD_JWT_LEEWAY_SECONDS"),
        ({"CONCORD_JWT_MAX_LIFETIME_SECONDS": "0"}, "CONCORD_JWT_MAX_LIFETIME_SECONDS"),
    ],
)
def test_a_key_that_cannot_verify_stops_the_service_at_start_up(
    production: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    keys = {
        "@rsa": _rsa_pem,
        "@rsa-private": lambda: _rsa_pem(private=True),
        "@rsa-1024": lambda: _rsa_pem(bits=1024),
        "@ec": _ec_public_pem,
    }
    for name, value in variables.items():
        production.setenv(name, keys[value]() if value in keys else value)
    # create_app is what uvicorn's --factory calls: it fails before serving a request.
    with pytest.raises(ValidationError, match=message):
        create_registry_app()


def test_a_public_key_with_escaped_newlines_is_accepted(production: pytest.MonkeyPatch) -> None:
    production.setenv("CONCORD_JWT_ALGORITHM", "RS256")
    production.setenv("CONCORD_JWT_PUBLIC_KEY", _rsa_pem().replace("\n", "\\n"))
    assert RegistrySettings().jwt_algorithm == "RS256"


async def _served_paths(
    app: FastAPI, paths: tuple[str, ...] = ("/docs", "/openapi.json", "/metrics", "/healthz")
) -> set[str]:
    """Which of the operational paths answer (no lifespan needed: none touches the DB)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return {path for path in paths if (await client.get(path)).status_code == 200}


async def test_docs_and_metrics_are_hidden_in_production_unless_asked_for(
    production: pytest.MonkeyPatch,
) -> None:
    assert await _served_paths(create_registry_app()) == {"/healthz"}
    production.setenv("CONCORD_PUBLIC_DOCS", "true")
    production.setenv("CONCORD_PUBLIC_METRICS", "true")
    assert await _served_paths(create_registry_app()) == {
        "/docs",
        "/openapi.json",
        "/metrics",
        "/healthz",
    }


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.name)
async def test_no_service_serves_docs_or_metrics_in_production_unless_asked_for(
    production: pytest.MonkeyPatch, spec: ServiceSpec
) -> None:
    """Every one of the four apps, not only the registry: `/docs`, `/redoc`, `/openapi.json`
    and `/metrics` answer 404 in production by default, and come back when asked for."""
    production.setenv(f"{spec.settings_class.env_prefix()}DB_PASSWORD", "a-real-password")
    paths = ("/docs", "/redoc", "/openapi.json", "/metrics", "/healthz")
    assert await _served_paths(_app_of(spec), paths) == {"/healthz"}
    production.setenv("CONCORD_PUBLIC_DOCS", "true")
    assert await _served_paths(_app_of(spec), paths) == {
        "/docs",
        "/redoc",
        "/openapi.json",
        "/healthz",
    }
    production.setenv("CONCORD_PUBLIC_DOCS", "false")
    production.setenv("CONCORD_PUBLIC_METRICS", "true")
    assert await _served_paths(_app_of(spec), paths) == {"/metrics", "/healthz"}


def _app_of(spec: ServiceSpec) -> FastAPI:
    module_name, _, factory = spec.app_factory.partition(":")
    app: FastAPI = getattr(importlib.import_module(module_name), factory)(spec.settings_class())
    return app


async def test_docs_and_metrics_are_served_in_dev_and_test(production: pytest.MonkeyPatch) -> None:
    production.setenv("CONCORD_ENV", "test")
    assert "/metrics" in await _served_paths(create_registry_app())
    production.setenv("CONCORD_PUBLIC_METRICS", "false")
    assert await _served_paths(create_registry_app()) == {"/docs", "/openapi.json", "/healthz"}
