"""The prestart step's Kafka half refuses, naming what is missing, before it touches anything.

No broker and no database: these read the environment only (and the last one runs
`python -m deploy.prestart` against addresses where nothing listens).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.kafka import ADMIN_PRINCIPAL, SASL_MECHANISM, SECURITY_PROTOCOL, service_principal
from deploy.prestart import (
    KAFKA_ADMIN_VARIABLES,
    PrestartMisconfigured,
    kafka_provisioning_from_env,
)
from deploy.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = "kafka:9092"


def admin_environment() -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
        "KAFKA_SECURITY_PROTOCOL": SECURITY_PROTOCOL,
        "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
        "KAFKA_SASL_USERNAME": ADMIN_PRINCIPAL,
        "KAFKA_SASL_PASSWORD": "admin-password",
    }


def service_passwords() -> dict[str, str]:
    return {f"{spec.name.upper()}_KAFKA_PASSWORD": f"{spec.name}-password" for spec in SERVICES}


def test_without_a_broker_there_is_nothing_to_provision() -> None:
    assert kafka_provisioning_from_env({}) is None
    assert kafka_provisioning_from_env({"KAFKA_SASL_PASSWORD": "x"}) is None


def test_a_broker_without_the_admin_is_refused_naming_every_missing_variable() -> None:
    with pytest.raises(PrestartMisconfigured) as refused:
        kafka_provisioning_from_env({"KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP, **service_passwords()})
    for name in KAFKA_ADMIN_VARIABLES:
        assert name in str(refused.value)

    partial = {**admin_environment(), **service_passwords()}
    del partial["KAFKA_SASL_PASSWORD"]
    with pytest.raises(PrestartMisconfigured, match=r"set KAFKA_SASL_PASSWORD$"):
        kafka_provisioning_from_env(partial)


def test_an_unauthenticated_admin_is_refused() -> None:
    environment = {
        **admin_environment(),
        **service_passwords(),
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
    }
    with pytest.raises(PrestartMisconfigured, match="SASL_PLAINTEXT or SASL_SSL"):
        kafka_provisioning_from_env(environment)


def test_a_bad_mechanism_is_refused_with_the_reason() -> None:
    environment = {**admin_environment(), **service_passwords(), "KAFKA_SASL_MECHANISM": "PLAIN"}
    with pytest.raises(PrestartMisconfigured, match="SASL mechanism 'PLAIN'"):
        kafka_provisioning_from_env(environment)


def test_a_service_without_its_password_is_refused_by_name() -> None:
    passwords = service_passwords()
    del passwords["MONITORING_KAFKA_PASSWORD"]
    del passwords["NGO_REGISTRY_KAFKA_PASSWORD"]
    with pytest.raises(PrestartMisconfigured) as refused:
        kafka_provisioning_from_env({**admin_environment(), **passwords})
    message = str(refused.value)
    assert "NGO_REGISTRY_KAFKA_PASSWORD" in message
    assert "MONITORING_KAFKA_PASSWORD" in message
    assert "JOINT_PLANNING_KAFKA_PASSWORD" not in message


def test_a_complete_environment_gives_the_admin_and_every_service_credential() -> None:
    environment = {**admin_environment(), **service_passwords(), "KAFKA_PARTITIONS": "6"}
    provisioning = kafka_provisioning_from_env(environment)
    assert provisioning is not None
    assert provisioning.bootstrap_servers == BOOTSTRAP
    assert provisioning.admin.username == ADMIN_PRINCIPAL
    assert provisioning.admin.password == "admin-password"
    assert provisioning.admin.protocol == SECURITY_PROTOCOL
    assert (provisioning.partitions, provisioning.replication_factor) == (6, 1)
    assert provisioning.service_passwords == {
        service_principal(spec.name): f"{spec.name}-password" for spec in SERVICES
    }
    assert "-password" not in repr(provisioning)


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, list(KAFKA_ADMIN_VARIABLES)),
        ({}, ["DATABASE_URL"]),
    ],
)
def test_the_command_refuses_before_touching_anything(
    environment: dict[str, str], named: list[str]
) -> None:
    database = {"DATABASE_URL": "postgresql://postgres:x@127.0.0.1:1/concord"}
    if "DATABASE_URL" in named:
        database = {}
    result = subprocess.run(
        [sys.executable, "-m", "deploy.prestart"],
        env={"PATH": os.environ["PATH"], "CONCORD_ENV": "test", **database, **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("prestart: "), result.stderr
    assert "Traceback" not in result.stderr
    for name in named:
        assert name in result.stderr
