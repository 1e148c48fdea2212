"""The `concord` CLI without a running stack: help, tokens, catalog, and one-line errors.

What it does against a running stack is in `test_make_run.py`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deploy.cli import app
from deploy.cli.events import resolve_topic
from deploy.services import SERVICES
from deploy.stack import free_port_block
from shared.auth import Role, decode_token
from shared.config import ServiceSettings
from shared.events.schemas import CATALOG

runner = CliRunner()

COMMANDS = [
    [], ["token"], ["topics"], ["tail"], ["seed"], ["reset"], ["simulate"], ["rebuild"],
    ["audit"], ["audit", "verify"], ["export"], ["export", "sitrep"], ["export", "3w"],
    ["subscribe"],
]  # fmt: skip


@pytest.fixture
def nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every service at a port where nothing listens."""
    base = free_port_block(len(SERVICES))
    for offset, spec in enumerate(SERVICES):
        monkeypatch.setenv(f"{spec.name.upper()}_PORT", str(base + offset))


def assert_one_line_error(output: str, exit_code: int, fragment: str) -> None:
    assert exit_code == 1, output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), output
    assert fragment in lines[0], output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "concord")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("role", list(Role))
def test_token_is_a_valid_dev_jwt_for_the_role(role: Role) -> None:
    ngo_id = uuid.uuid4()
    args = ["token", "--role", role.value, "--unit-id", "ts-bor", "--ngo-id", str(ngo_id)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    principal = decode_token(result.stdout.strip(), ServiceSettings())
    assert principal.roles == {role}
    assert principal.unit_id == "ts-bor" and principal.ngo_id == ngo_id


def test_token_refuses_what_the_services_would_refuse() -> None:
    missing_unit = runner.invoke(app, ["token", "--role", "field_unit"])
    assert_one_line_error(missing_unit.stderr, missing_unit.exit_code, "--unit-id")
    missing_ngo = runner.invoke(app, ["token", "--role", "ngo"])
    assert_one_line_error(missing_ngo.stderr, missing_ngo.exit_code, "--ngo-id")
    assert runner.invoke(app, ["token", "--role", "superuser"]).exit_code == 2
    assert runner.invoke(app, ["token", "--role", "ngo", "--ngo-id", "not-a-uuid"]).exit_code == 2


def test_token_outside_a_dev_stack_needs_the_real_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Production is the default: with no `make run` stack (whose concord.env says dev) and
    no CONCORD_ENV, the development secret signs nothing."""
    monkeypatch.setenv("CONCORD_RUN_DIR", str(tmp_path))
    monkeypatch.delenv("CONCORD_ENV")
    monkeypatch.delenv("CONCORD_JWT_SECRET", raising=False)
    refused = runner.invoke(app, ["token"])
    assert_one_line_error(refused.stderr, refused.exit_code, "CONCORD_ENV=dev")
    monkeypatch.setenv("CONCORD_JWT_SECRET", "Zq3-vK8tWm1xRb7LpN0sYd5HcE2uJg9fTa4oQi6")
    signed = runner.invoke(app, ["token"])
    assert signed.exit_code == 0, signed.output
    monkeypatch.setenv("CONCORD_ENV", "test")
    assert decode_token(signed.stdout.strip(), ServiceSettings()).roles == {Role.ops_centre}


def test_topics_lists_the_catalog_with_audiences() -> None:
    result = runner.invoke(app, ["topics"], terminal_width=250)
    assert result.exit_code == 0, result.output
    for topic in CATALOG.topics():
        assert topic.name in result.stdout
    assert " ngo " in result.stdout and " internal " in result.stdout


@pytest.mark.parametrize(
    ("command", "service"),
    [
        (["audit", "verify"], "monitoring"),
        (["export", "sitrep"], "monitoring"),
        (["export", "3w", "--days", "3"], "monitoring"),
        (["seed"], "ngo_registry"),
        (["simulate", "--duration", "1"], "humanitarian_requests"),
    ],
)
@pytest.mark.usefixtures("nothing_listens")
def test_a_service_that_is_not_running_is_one_clear_line(command: list[str], service: str) -> None:
    result = runner.invoke(app, command)
    assert_one_line_error(
        result.stderr, result.exit_code, f"The {service} service is not reachable"
    )
    assert "make run" in result.stderr


def test_tail_explains_unknown_topics_and_an_absent_kafka() -> None:
    unknown = runner.invoke(app, ["tail", "no-such-topic"])
    assert_one_line_error(unknown.stderr, unknown.exit_code, "No topic 'no-such-topic'")
    ambiguous = runner.invoke(app, ["tail", "concord"])
    assert_one_line_error(ambiguous.stderr, ambiguous.exit_code, "matches several topics")
    port = free_port_block()
    absent = runner.invoke(app, ["tail", "offer", "--bootstrap", f"127.0.0.1:{port}"])
    assert_one_line_error(absent.stderr, absent.exit_code, "Kafka is not reachable")


def test_simulate_refuses_out_of_range_options() -> None:
    assert runner.invoke(app, ["simulate", "--rate", "0"]).exit_code == 2
    assert runner.invoke(app, ["simulate", "--duration", "-5"]).exit_code == 2


@pytest.mark.usefixtures("nothing_listens")
def test_reset_deletes_only_a_stopped_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "postgres").mkdir(parents=True)
    (run_dir / "demo-seeded").touch()
    result = runner.invoke(app, ["reset", "--run-dir", str(run_dir), "--yes"])
    assert result.exit_code == 0, result.output
    assert not run_dir.exists()
    again = runner.invoke(app, ["reset", "--run-dir", str(run_dir), "--yes"])
    assert again.exit_code == 0 and "nothing to reset" in again.stdout


@pytest.mark.parametrize(
    ("fragment", "topic"),
    [
        ("ngo", "concord.ngo_registry.ngo.v1"),
        ("agreement", "concord.ngo_registry.agreement.v1"),
        ("offer", "concord.humanitarian_requests.offer.v1"),
        ("concord.monitoring.sla.v1", "concord.monitoring.sla.v1"),
    ],
)
def test_tail_finds_a_topic_by_its_entity_or_full_name(fragment: str, topic: str) -> None:
    assert resolve_topic(fragment) == topic


def test_rebuild_without_a_database_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port_block()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres:x@127.0.0.1:{port}/concord")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
    result = runner.invoke(app, ["rebuild"])
    assert_one_line_error(result.stderr, result.exit_code, "Postgres is not reachable")
