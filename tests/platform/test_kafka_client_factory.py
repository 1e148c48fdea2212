"""The one client factory (`shared.events.kafka`): every Kafka client in the tree is built by
it, and it gives each the security its settings or environment name (unit tests, no broker)."""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

import pytest

from services.ngo_registry.config import Settings as RegistrySettings
from shared.events.kafka import (
    KafkaSecurity,
    create_admin,
    create_consumer,
    create_producer,
)

ROOT = Path(__file__).resolve().parents[2]
FACTORY = ROOT / "shared" / "events" / "kafka.py"
CLIENT_CLASSES = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}

SASL_ENV = {
    "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "concord-admin",
    "KAFKA_SASL_PASSWORD": "s3cret-password",
}


def test_no_client_is_built_outside_the_factory() -> None:
    """A client built by hand would skip authentication: only the factory calls the classes."""
    offenders = []
    for top in ("shared", "services", "deploy", "tests", "bench"):
        for path in (ROOT / top).rglob("*.py"):
            if path == FACTORY or ".venv" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    if name in CLIENT_CLASSES:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == []


def test_the_detector_finds_a_client_built_by_hand() -> None:
    tree = ast.parse("from aiokafka import AIOKafkaConsumer\nc = AIOKafkaConsumer('t')\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert [c.func.id for c in calls if isinstance(c.func, ast.Name)] == ["AIOKafkaConsumer"]


def test_plaintext_by_default() -> None:
    security = KafkaSecurity.from_env({})
    assert security.protocol == "PLAINTEXT"
    assert security.client_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_from_the_environment() -> None:
    security = KafkaSecurity.from_env(SASL_ENV)
    assert security.client_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "concord-admin",
        "sasl_plain_password": "s3cret-password",
    }
    assert "s3cret" not in repr(security)


def test_sasl_ssl_verifies_the_broker_with_the_ca(tmp_path: Path) -> None:
    security = KafkaSecurity.from_env({**SASL_ENV, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    context = security.client_options()["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SSL_PLAIN"}, "not one of"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "needs a username and a password"),
        ({**SASL_ENV, "KAFKA_SASL_PASSWORD": ""}, "needs a username and a password"),
        ({**SASL_ENV, "KAFKA_SASL_MECHANISM": "PLAIN"}, "SASL mechanism"),
    ],
)
def test_incomplete_security_is_refused(env: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        KafkaSecurity.from_env(env)


def test_a_service_uses_its_own_principal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "concord-admin")  # the tools' variable: not used
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "admin-password")
    monkeypatch.setenv("NGO_REGISTRY_KAFKA_USERNAME", "concord-ngo_registry")
    monkeypatch.setenv("NGO_REGISTRY_KAFKA_PASSWORD", "registry-password")
    security = KafkaSecurity.from_settings(RegistrySettings())
    assert (security.username, security.password) == ("concord-ngo_registry", "registry-password")
    assert "registry-password" not in repr(RegistrySettings())


def test_a_service_without_its_principal_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.delenv("NGO_REGISTRY_KAFKA_USERNAME", raising=False)
    monkeypatch.delenv("NGO_REGISTRY_KAFKA_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="NGO_REGISTRY_KAFKA_USERNAME"):
        KafkaSecurity.from_settings(RegistrySettings())


async def test_every_client_gets_the_security() -> None:
    security = KafkaSecurity.from_env(SASL_ENV)
    producer = create_producer("127.0.0.1:1", client_id="p", security=security, linger_ms=0)
    consumer = create_consumer("t", bootstrap_servers="127.0.0.1:1", security=security)
    admin = create_admin("127.0.0.1:1", security=security)
    clients = [producer.client, consumer._client, admin._client]
    for client in clients:
        assert client._security_protocol == "SASL_PLAINTEXT"
        assert client._sasl_mechanism == "SCRAM-SHA-512"
        assert client._sasl_plain_username == "concord-admin"
        assert client._sasl_plain_password == "s3cret-password"
    # The producer keeps the backbone's guarantees whatever else is overridden.
    assert producer._txn_manager is not None  # idempotence on
    assert producer.client._client_id == "p"
    await consumer.stop()
    await producer.stop()
    await admin.close()
