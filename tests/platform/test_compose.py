"""docker-compose.yml cannot run here (no Docker engine), so check it against the code.

The broker's configuration is checked as the kafka service would get it: its entrypoint
(deploy/kafka/compose-entrypoint.sh) renders server.properties from the service's environment
into a temporary directory, with a stand-in for kafka-storage.sh (no broker is started).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.demo.runinfo import cache_dir
from deploy.kafka import ADMIN_PRINCIPAL, SASL_MECHANISM, SECURITY_PROTOCOL, service_principal
from deploy.prestart import kafka_provisioning_from_env
from deploy.services import SERVICES
from deploy.tls import ensure_broker_tls
from shared.config import ServiceSettings
from shared.events.kafka import KafkaSecurity

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENTRYPOINT = ROOT / "deploy" / "kafka" / "compose-entrypoint.sh"
LOCAL_TEMPLATE = ROOT / "deploy" / "kafka" / "server.properties.template"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"

# `${NAME}`, `${NAME:?message}`, `${NAME:-default}` as compose interpolates them.
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?P<rest>[^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET")

# The broker settings that make the local broker (make run, make test) secure; the compose
# broker must have the same.
SECURITY_PROPERTIES = (
    "listener.security.protocol.map",
    "controller.listener.names",
    "inter.broker.listener.name",
    "sasl.enabled.mechanisms",
    "listener.name.client.sasl.enabled.mechanisms",
    "listener.name.controller.sasl.enabled.mechanisms",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.mechanism.controller.protocol",
    "authorizer.class.name",
    "allow.everyone.if.no.acl.found",
    "super.users",
    "auto.create.topics.enable",
)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def required_variables() -> set[str]:
    """Every variable compose refuses to start without (`${NAME:?message}`)."""
    return {
        match["name"]
        for match in VARIABLE.finditer(COMPOSE_FILE.read_text())
        if match["rest"].startswith(":?")
    }


def operator_environment() -> dict[str, str]:
    """What an operator's `.env` holds: a random value for every required variable."""
    return {name: secrets.token_urlsafe(48) for name in sorted(required_variables())}


def interpolate(value: object, variables: Mapping[str, str]) -> str:
    """A value as compose passes it to the container, with `variables` set."""

    def substitute(match: re.Match[str]) -> str:
        name, rest = match["name"], match["rest"]
        if name in variables:
            return variables[name]
        if rest.startswith(":-"):
            return rest[2:]
        raise AssertionError(f"${{{name}}} is neither set nor defaulted")

    return VARIABLE.sub(substitute, str(value))


def container_environment(service: str, variables: Mapping[str, str]) -> dict[str, str]:
    environment = compose()["services"][service]["environment"]
    return {key: interpolate(value, variables) for key, value in environment.items()}


def shared_variables() -> set[str]:
    """Every environment variable ServiceSettings reads by a fixed name."""
    names = set()
    for field in ServiceSettings.model_fields.values():
        if isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
    return names


def read_properties(path: Path) -> dict[str, str]:
    properties = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            properties[key.strip()] = value.strip()
    return properties


def entrypoint_variable(name: str) -> str:
    """A setting of the entrypoint script (read by sourcing it, as the tests run it)."""
    result = subprocess.run(
        ["bash", "-c", f'source "$0" && printf %s "${name}"', str(ENTRYPOINT)],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def run_entrypoint(
    steps: str, environment: Mapping[str, str], *arguments: str
) -> subprocess.CompletedProcess[str]:
    """Source the entrypoint (it then defines only) and run `steps`; `$1`… are `arguments`.

    The environment is the container's alone: none of this process's KAFKA_* variables
    (the test session's broker) may become a broker property."""
    return subprocess.run(
        ["bash", "-c", f'source "$0" && {steps}', str(ENTRYPOINT), *arguments],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_infrastructure_has_healthchecks_and_kraft() -> None:
    services = compose()["services"]
    assert services["postgres"]["healthcheck"]["test"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert kafka["healthcheck"]["test"]
    assert services["prestart"]["command"] == ["python", "-m", "deploy.prestart"]
    assert services["prestart"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["prestart"]["depends_on"]["kafka"]["condition"] == "service_healthy"


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
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        environment = service["environment"]
        prefix = spec.name.upper()
        expected = {
            "DATABASE_URL",
            "KAFKA_BOOTSTRAP_SERVERS",
            "KAFKA_SECURITY_PROTOCOL",
            "KAFKA_SASL_MECHANISM",
            "CONCORD_JWT_SECRET",
            "CONCORD_ENV",
            "CONCORD_HOST",
            f"{prefix}_DB_PASSWORD",
            f"{prefix}_PORT",
            f"{prefix}_KAFKA_USERNAME",
            f"{prefix}_KAFKA_PASSWORD",
        }
        assert expected <= set(environment), expected - set(environment)
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert "@postgres:5432/" in environment["DATABASE_URL"]


def test_prestart_knows_every_service_password() -> None:
    environment = compose()["services"]["prestart"]["environment"]
    for spec in SERVICES:
        assert f"{spec.name.upper()}_DB_PASSWORD" in environment
        assert f"{spec.name.upper()}_KAFKA_PASSWORD" in environment


def test_compose_names_only_variables_the_code_reads() -> None:
    for spec in SERVICES:
        own = {f"{spec.name.upper()}_{suffix}" for suffix in ("KAFKA_USERNAME", "KAFKA_PASSWORD")}
        known = (
            shared_variables()
            | {
                f"{other.name.upper()}_{suffix}"
                for other in SERVICES
                for suffix in ("DB_PASSWORD", "PORT")
            }
            | own
        )
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
    assert "concord-dev" not in COMPOSE_FILE.read_text()
    services = compose()["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    for spec in SERVICES:
        environment = services[spec.name]["environment"]
        assert environment["CONCORD_ENV"] == "${CONCORD_ENV:-prod}"
        # `${NAME:?message}`: compose refuses to start without it, saying which is missing.
        prefix = spec.name.upper()
        for name in ("CONCORD_JWT_SECRET", f"{prefix}_DB_PASSWORD", f"{prefix}_KAFKA_PASSWORD"):
            assert environment[name].startswith("${" + name + ":?"), name


def test_no_secret_has_a_default_value() -> None:
    text = COMPOSE_FILE.read_text()
    referenced = [m for m in VARIABLE.finditer(text) if SECRET_NAME.search(m["name"])]
    assert referenced
    for match in referenced:
        assert match["rest"].startswith(":?"), f"{match[0]} must be required (`:?`)"
    unbraced = re.findall(r"\$(?!\{)\w*(?:PASSWORD|SECRET)\w*", text)
    assert not unbraced, f"write them as ${{NAME:?message}}: {unbraced}"
    # And no secret is written out: every variable named like one is a required reference.
    sections = [compose()[name] for name in compose() if name.startswith("x-")]
    sections += [service.get("environment", {}) for service in compose()["services"].values()]
    for environment in sections:
        if not isinstance(environment, dict):
            continue
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                reference = VARIABLE.fullmatch(str(value))
                assert reference and reference["rest"].startswith(":?"), f"{key}: {value}"


def test_kafka_listeners_take_sasl_only_with_acls_and_the_admin_as_super_user() -> None:
    environment = compose()["services"]["kafka"]["environment"]
    protocols = dict(
        pair.split(":") for pair in environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(protocols.values()) <= {"SASL_PLAINTEXT", "SASL_SSL"}, protocols
    assert "PLAINTEXT" not in protocols.values()
    for variable in ("KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS"):
        for listener in environment[variable].split(","):
            assert listener.split("://")[0] in protocols, listener
    assert environment["KAFKA_CONTROLLER_LISTENER_NAMES"] in protocols
    assert environment["KAFKA_INTER_BROKER_LISTENER_NAME"] in protocols
    assert environment["KAFKA_ADVERTISED_LISTENERS"] == (
        "CLIENT://kafka:9092,NGO://${CONCORD_KAFKA_NGO_HOST:-localhost}:9094"
    )
    assert environment["KAFKA_SASL_ENABLED_MECHANISMS"] == SASL_MECHANISM
    assert environment["KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS"] == SASL_MECHANISM
    # KRaft controllers cannot check SCRAM: the admin authenticates to them with PLAIN.
    assert environment["KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS"] == "PLAIN"
    assert (
        environment["KAFKA_AUTHORIZER_CLASS_NAME"]
        == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert environment["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert environment["KAFKA_SUPER_USERS"] == f"User:{ADMIN_PRINCIPAL}"
    assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert environment["KAFKA_ADMIN_PASSWORD"].startswith("${KAFKA_ADMIN_PASSWORD:?")
    # The broker knows the admin only; the services' credentials are set by prestart.
    assert not [name for name in environment if name.endswith("_KAFKA_PASSWORD")]


def test_kafka_runs_the_entrypoint_that_formats_with_the_admin_credential() -> None:
    kafka = compose()["services"]["kafka"]
    mounted = [v for v in kafka["volumes"] if v.startswith("./deploy/kafka/compose-entrypoint.sh:")]
    assert len(mounted) == 1
    _, target, mode = mounted[0].split(":")
    assert mode == "ro"
    assert kafka["entrypoint"] == ["bash", target]
    data_volume = next(v for v in kafka["volumes"] if v.startswith("kafka-data:"))
    assert data_volume.split(":")[1] == kafka["environment"]["KAFKA_LOG_DIRS"]
    # The healthcheck authenticates with the client configuration the entrypoint writes.
    health = " ".join(kafka["healthcheck"]["test"])
    assert f"--command-config {entrypoint_variable('config_dir')}/admin.properties" in health
    assert "--bootstrap-server localhost:9092" in health


def test_entrypoint_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(ENTRYPOINT)], check=True)


def test_entrypoint_renders_the_local_brokers_security(tmp_path: Path) -> None:
    variables = operator_environment()
    environment = container_environment("kafka", variables)
    assert environment["KAFKA_NGO_TLS_DIR"] == "/opt/concord/tls"
    # What the kafka_tls service leaves in the kafka-tls volume.
    tls = ensure_broker_tls(tmp_path / "tls", ["localhost"], ca_directory=tmp_path / "ca")
    environment["KAFKA_NGO_TLS_DIR"] = str(tls.directory)
    result = run_entrypoint(
        'check_admin_password && render_config "$1"', environment, str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    password = variables["KAFKA_ADMIN_PASSWORD"]

    server = tmp_path / "server.properties"
    rendered = read_properties(server)
    local = {
        key: value.replace("@ADMIN_USER@", ADMIN_PRINCIPAL)
        for key, value in read_properties(LOCAL_TEMPLATE).items()
    }
    for key in SECURITY_PROPERTIES:
        assert rendered.get(key) == local[key], key
    assert rendered["listeners"] == "CLIENT://:9092,CONTROLLER://127.0.0.1:9093,NGO://:9094"
    assert rendered["advertised.listeners"] == "CLIENT://kafka:9092,NGO://localhost:9094"
    # The NGO listener: SCRAM over TLS with the keystore kafka_tls made, its password read
    # from the volume (never from the environment).
    assert rendered["listener.name.ngo.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert rendered["listener.name.ngo.ssl.keystore.type"] == "PKCS12"
    assert rendered["listener.name.ngo.ssl.keystore.location"] == str(tls.keystore)
    assert rendered["listener.name.ngo.ssl.keystore.password"] == tls.keystore_password()
    assert rendered["listener.name.ngo.ssl.client.auth"] == "none"
    assert "KAFKA_NGO_TLS_DIR" not in server.read_text() and "ngo.tls.dir" not in rendered
    assert rendered["log.dirs"] == "/var/lib/kafka/data"
    assert rendered["node.id"] == "1"
    client_jaas = rendered["listener.name.client.scram-sha-512.sasl.jaas.config"]
    assert "ScramLoginModule required" in client_jaas
    assert f'username="{ADMIN_PRINCIPAL}" password="{password}";' in client_jaas
    controller_jaas = rendered["listener.name.controller.plain.sasl.jaas.config"]
    assert "PlainLoginModule required" in controller_jaas
    assert f'user_{ADMIN_PRINCIPAL}="{password}"' in controller_jaas
    # The password is in the JAAS lines only, never a property of its own.
    assert [key for key, value in rendered.items() if password in value] == [
        "listener.name.client.scram-sha-512.sasl.jaas.config",
        "listener.name.controller.plain.sasl.jaas.config",
    ]

    client = read_properties(tmp_path / "admin.properties")
    assert client["security.protocol"] == SECURITY_PROTOCOL
    assert client["sasl.mechanism"] == SASL_MECHANISM
    assert f'username="{ADMIN_PRINCIPAL}" password="{password}";' in client["sasl.jaas.config"]
    for path in (server, tmp_path / "admin.properties"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "not set"),
        ("short-but-random-Zx81", "at least 32"),
        ('"' + secrets.token_urlsafe(40), "may hold only"),
        (secrets.token_urlsafe(30) + ",name=x]", "may hold only"),
    ],
)
def test_entrypoint_refuses_an_unusable_admin_password(password: str, reason: str) -> None:
    result = run_entrypoint("check_admin_password", {"KAFKA_ADMIN_PASSWORD": password})
    assert result.returncode != 0
    assert reason in result.stderr
    if password:
        assert password not in result.stderr


def test_entrypoint_formats_the_storage_once_with_the_admins_scram_credential(
    tmp_path: Path,
) -> None:
    """kafka-storage.sh is a stand-in that records how it is called."""
    bin_dir, data_dir, config_dir = tmp_path / "bin", tmp_path / "data", tmp_path / "config"
    bin_dir.mkdir()
    data_dir.mkdir()
    calls = tmp_path / "calls"
    storage = bin_dir / "kafka-storage.sh"
    storage.write_text(
        "#!/usr/bin/env bash\n"
        'echo "$*" >> "$CALLS"\n'
        'case "$1" in\n'
        "  random-uuid) echo generated-cluster-id ;;\n"
        '  format) echo "cluster.id=x" > "$KAFKA_LOG_DIRS/meta.properties" ;;\n'
        "esac\n"
    )
    storage.chmod(0o755)
    variables = operator_environment()
    environment = {
        **container_environment("kafka", variables),
        "KAFKA_LOG_DIRS": str(data_dir),
        "CALLS": str(calls),
    }
    steps = 'kafka_bin="$1" && render_config "$2" && format_storage_once "$2/server.properties"'
    arguments = (str(bin_dir), str(config_dir))

    first = run_entrypoint(steps, environment, *arguments)
    assert first.returncode == 0, first.stderr
    second = run_entrypoint(steps, environment, *arguments)
    assert second.returncode == 0, second.stderr
    recorded = calls.read_text().splitlines()
    assert recorded == [
        "random-uuid",
        f"format --cluster-id generated-cluster-id --config {config_dir}/server.properties "
        f"--add-scram SCRAM-SHA-512=[name={ADMIN_PRINCIPAL},"
        f"password={variables['KAFKA_ADMIN_PASSWORD']}]",
    ]
    assert variables["KAFKA_ADMIN_PASSWORD"] not in first.stderr

    # A storage this entrypoint did not format has no admin credential: it is refused.
    marker = entrypoint_variable("formatted_marker")
    (data_dir / marker).unlink()
    refused = run_entrypoint(steps, environment, *arguments)
    assert refused.returncode != 0
    assert "formatted without the SCRAM credential" in refused.stderr
    volume = f"{compose()['name']}_kafka-data"
    assert volume in refused.stderr
    assert len(calls.read_text().splitlines()) == 2

    # A CLUSTER_ID given is the one formatted with.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    given = run_entrypoint(
        steps, {**environment, "KAFKA_LOG_DIRS": str(fresh), "CLUSTER_ID": "given"}, *arguments
    )
    assert given.returncode == 0, given.stderr
    assert calls.read_text().splitlines()[-1].startswith("format --cluster-id given ")


def local_kafka_version() -> str:
    found = re.search(r"<kafka.version>(.+)</kafka.version>", KAFKA_POM.read_text())
    assert found
    return found[1]


def test_the_image_is_the_kafka_version_the_local_broker_runs() -> None:
    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{local_kafka_version()}"


def test_kafka_itself_accepts_the_configuration_and_formats_with_the_admin(
    tmp_path: Path,
) -> None:
    """Kafka's own storage tool, from the jars `make test` fetches (no broker starts): it
    validates the rendered server.properties as a broker configuration, then formats."""
    version = local_kafka_version()
    libs = cache_dir() / f"kafka-{version}" / "libs"
    java = shutil.which("java")
    if not (libs / f"kafka_2.13-{version}.jar").exists() or java is None:
        pytest.skip("needs the Kafka jars (deploy/kafka/kafka.sh fetch) and a java on the PATH")
    bin_dir, data_dir = tmp_path / "bin", tmp_path / "data"
    bin_dir.mkdir()
    data_dir.mkdir()
    storage = bin_dir / "kafka-storage.sh"
    storage.write_text(
        "#!/usr/bin/env bash\n"
        f'exec "{java}" -cp "{libs}/*" -Dkafka.logs.dir="{tmp_path}" '
        f'-Dlog4j2.configurationFile="{ROOT / "deploy" / "kafka" / "log4j2.xml"}" '
        'kafka.tools.StorageTool "$@"\n'
    )
    storage.chmod(0o755)
    variables = operator_environment()
    environment = {**container_environment("kafka", variables), "KAFKA_LOG_DIRS": str(data_dir)}
    result = run_entrypoint(
        'kafka_bin="$1" && check_admin_password && render_config "$2" '
        '&& format_storage_once "$2/server.properties"',
        environment,
        str(bin_dir),
        str(tmp_path / "config"),
    )
    assert result.returncode == 0, result.stderr.replace(variables["KAFKA_ADMIN_PASSWORD"], "*")
    assert f"UserScramCredentialRecord(name='{ADMIN_PRINCIPAL}', mechanism=2" in result.stderr
    assert (data_dir / "meta.properties").exists()


def test_shared_service_environment_carries_no_kafka_credential() -> None:
    for anchor in ("x-service-env", "x-kafka-client"):
        environment = compose()[anchor]
        assert "KAFKA_SASL_USERNAME" not in environment, anchor
        assert "KAFKA_SASL_PASSWORD" not in environment, anchor
        assert not [k for k in environment if k.endswith(("_KAFKA_USERNAME", "_KAFKA_PASSWORD"))]
        assert "KAFKA_ADMIN_PASSWORD" not in str(environment), anchor


def test_every_service_holds_its_own_principal_and_no_other_kafka_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    variables = operator_environment()
    for spec in SERVICES:
        prefix = spec.name.upper()
        declared = compose()["services"][spec.name]["environment"]
        assert declared[f"{prefix}_KAFKA_USERNAME"] == service_principal(spec.name)
        assert declared[f"{prefix}_KAFKA_PASSWORD"].startswith(f"${{{prefix}_KAFKA_PASSWORD:?")
        assert declared["KAFKA_SECURITY_PROTOCOL"] == SECURITY_PROTOCOL
        assert declared["KAFKA_SASL_MECHANISM"] == SASL_MECHANISM
        assert "KAFKA_SASL_USERNAME" not in declared, spec.name
        assert "KAFKA_SASL_PASSWORD" not in declared, spec.name
        others = {
            k
            for k in declared
            if k.endswith(("_KAFKA_USERNAME", "_KAFKA_PASSWORD")) and not k.startswith(prefix + "_")
        }
        assert not others, f"{spec.name} holds another principal's variables: {others}"
        assert "KAFKA_ADMIN_PASSWORD" not in str(declared), spec.name

        # And the service's settings read that principal (what its clients log in as).
        with monkeypatch.context() as patch:
            for key, value in container_environment(spec.name, variables).items():
                patch.setenv(key, value)
            security = KafkaSecurity.from_settings(spec.settings_class())
        assert security.protocol == SECURITY_PROTOCOL
        assert security.username == service_principal(spec.name)
        assert security.password == variables[f"{prefix}_KAFKA_PASSWORD"]


def test_prestart_and_the_provisioner_run_as_the_admin() -> None:
    services = compose()["services"]
    variables = operator_environment()
    for name in ("prestart", "kafka_provisioner"):
        declared = services[name]["environment"]
        assert declared["KAFKA_SASL_USERNAME"] == ADMIN_PRINCIPAL
        assert declared["KAFKA_SASL_PASSWORD"].startswith("${KAFKA_ADMIN_PASSWORD:?")
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
        admin = KafkaSecurity.from_env(container_environment(name, variables))
        assert admin.sasl and admin.protocol == SECURITY_PROTOCOL
        assert admin.mechanism == SASL_MECHANISM
        assert (admin.username, admin.password) == (
            ADMIN_PRINCIPAL,
            variables["KAFKA_ADMIN_PASSWORD"],
        )

    # Prestart provisions every service's credential from the passwords the services get.
    provisioning = kafka_provisioning_from_env(container_environment("prestart", variables))
    assert provisioning is not None
    assert provisioning.bootstrap_servers == "kafka:9092"
    assert provisioning.service_passwords == {
        service_principal(spec.name): variables[f"{spec.name.upper()}_KAFKA_PASSWORD"]
        for spec in SERVICES
    }

    provisioner = services["kafka_provisioner"]
    assert provisioner["command"] == ["python", "-m", "deploy.kafka_provisioner"]
    assert provisioner["image"] == services[SERVICES[0].name]["image"]
    assert provisioner["build"] == services[SERVICES[0].name]["build"]
    assert provisioner["depends_on"]["prestart"]["condition"] == "service_completed_successfully"
    # Kafka only: no database, no token secret, no service's password.
    assert set(provisioner["environment"]) == {
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
    }


def test_readme_names_every_variable_compose_requires() -> None:
    readme = (ROOT / "README.md").read_text()
    docker = readme.split("\n## Docker\n", 1)[1].split("\n## ", 1)[0]
    for name in sorted(required_variables()):
        generic = re.sub(
            "^(" + "|".join(spec.name.upper() for spec in SERVICES) + ")_", "<SERVICE>_", name
        )
        assert f"`{name}`" in docker or f"`{generic}`" in docker, name


def test_entrypoint_refuses_an_ngo_listener_without_its_keystore(tmp_path: Path) -> None:
    environment = container_environment("kafka", operator_environment())
    environment["KAFKA_NGO_TLS_DIR"] = str(tmp_path / "empty")
    result = run_entrypoint('render_config "$1"', environment, str(tmp_path / "config"))
    assert result.returncode != 0 and "holds no broker.p12" in result.stderr


def test_the_ngo_listener_is_published_with_tls_made_before_the_broker_starts() -> None:
    services = compose()["services"]
    kafka, tls = services["kafka"], services["kafka_tls"]
    assert kafka["ports"] == ["9094:9094"]
    assert kafka["depends_on"]["kafka_tls"]["condition"] == "service_completed_successfully"
    assert "kafka-tls:/opt/concord/tls:ro" in kafka["volumes"]
    assert tls["command"][:3] == ["python", "-m", "deploy.tls"]
    # The CA's key is in a volume only kafka_tls mounts.
    mounting_ca = [
        name
        for name, service in services.items()
        if any(str(v).startswith("kafka-ca:") for v in service.get("volumes", []))
    ]
    assert mounting_ca == ["kafka_tls"]
    protocols = dict(
        entry.split(":")
        for entry in kafka["environment"]["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert protocols["NGO"] == "SASL_SSL"
    assert "NGO://" in kafka["environment"]["KAFKA_LISTENERS"]
