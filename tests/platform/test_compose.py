"""docker-compose.yml cannot run here (no Docker engine), so check it against the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from deploy.services import SERVICES
from shared.config import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def shared_variables() -> set[str]:
    """Every environment variable ServiceSettings reads by a fixed name."""
    names = set()
    for field in ServiceSettings.model_fields.values():
        if isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
    return names


def test_infrastructure_has_healthchecks_and_kraft() -> None:
    services = compose()["services"]
    assert services["postgres"]["healthcheck"]["test"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert kafka["healthcheck"]["test"]
    assert services["prestart"]["command"] == ["python", "-m", "deploy.prestart"]
    assert services["prestart"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_service_is_present_with_its_port_command_and_environment() -> None:
    services = compose()["services"]
    for spec in SERVICES:
        service = services[spec.name]
        port = spec.settings_class.default_port
        assert service["ports"] == [f"{port}:{port}"]
        assert spec.app_factory in service["command"]
        assert str(port) in service["command"]
        assert str(port) in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["prestart"]["condition"] == "service_completed_successfully"
        environment = service["environment"]
        expected = {
            "DATABASE_URL",
            "KAFKA_BOOTSTRAP_SERVERS",
            "CONCORD_JWT_SECRET",
            "CONCORD_ENV",
            "CONCORD_HOST",
            f"{spec.name.upper()}_DB_PASSWORD",
            f"{spec.name.upper()}_PORT",
        }
        assert expected <= set(environment), expected - set(environment)
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert "@postgres:5432/" in environment["DATABASE_URL"]


def test_prestart_knows_every_service_password() -> None:
    environment = compose()["services"]["prestart"]["environment"]
    for spec in SERVICES:
        assert f"{spec.name.upper()}_DB_PASSWORD" in environment


def test_compose_names_only_variables_the_code_reads() -> None:
    known = shared_variables() | {
        f"{spec.name.upper()}_{suffix}" for spec in SERVICES for suffix in ("DB_PASSWORD", "PORT")
    }
    for spec in SERVICES:
        unknown = set(compose()["services"][spec.name]["environment"]) - known
        assert not unknown, f"{spec.name}: variables no code reads: {unknown}"


def test_image_is_built_from_the_dockerfile_with_pinned_requirements() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert "==" in line, f"unpinned requirement: {line}"


def test_compose_runs_in_production_mode_and_ships_no_secret() -> None:
    assert "concord-dev" not in (ROOT / "docker-compose.yml").read_text()
    services = compose()["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    for spec in SERVICES:
        environment = services[spec.name]["environment"]
        assert environment["CONCORD_ENV"] == "${CONCORD_ENV:-prod}"
        # `${NAME:?message}`: compose refuses to start without it, saying which is missing.
        for name in ("CONCORD_JWT_SECRET", f"{spec.name.upper()}_DB_PASSWORD"):
            assert environment[name].startswith("${" + name + ":?"), name
