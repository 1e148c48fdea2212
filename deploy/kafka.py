"""Start and stop the KRaft broker through `deploy/kafka/kafka.sh`, and know its principals.

The broker takes SASL/SCRAM-SHA-512 only. `concord-admin` is its super user (inter-broker,
topic creation, provisioning of ACLs and credentials); each service is its own principal,
`concord-<service>`, limited by ACLs (deploy/kafka_access.py). Passwords are generated on
first start into `<run_dir>/credentials/<principal>.password` (mode 0600) and the SCRAM
credentials added when the storage is formatted.

With an `ngo_port`, the broker also listens there for NGOs, SASL_SSL: SCRAM over TLS with a
certificate signed by the local CA (`deploy/tls.py`, made on first start into
`<run_dir>/tls/`, kept across runs). The services and tools stay on the loopback listener.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from deploy.services import SERVICES
from deploy.tls import BrokerTls, ensure_broker_tls
from shared.events.kafka import KafkaSecurity

SCRIPT = Path(__file__).resolve().parent / "kafka" / "kafka.sh"

ADMIN_PRINCIPAL = "concord-admin"
SECURITY_PROTOCOL = "SASL_PLAINTEXT"
SASL_MECHANISM = "SCRAM-SHA-512"
NGO_SECURITY_PROTOCOL = "SASL_SSL"


def service_principal(service: str) -> str:
    """The Kafka principal (SCRAM user name) a service authenticates as."""
    return f"concord-{service}"


def service_kafka_environment(service: str, password: str) -> dict[str, str]:
    """The variables a service reads its principal from (`shared.config.ServiceSettings`)."""
    prefix = service.upper()
    return {
        f"{prefix}_KAFKA_USERNAME": service_principal(service),
        f"{prefix}_KAFKA_PASSWORD": password,
    }


class LocalKafka:
    def __init__(
        self,
        run_dir: Path,
        *,
        port: int,
        nodes: int = 1,
        principals: Iterable[str] | None = None,
        ngo_port: int | None = None,
        ngo_host: str = "127.0.0.1",
    ) -> None:
        self.run_dir = run_dir
        self.port = port
        self.nodes = nodes
        self.ngo_port = ngo_port
        self.ngo_host = ngo_host
        self.principals = (
            [service_principal(spec.name) for spec in SERVICES]
            if principals is None
            else list(principals)
        )

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + 2 * i}" for i in range(self.nodes))

    @property
    def ngo_bootstrap_servers(self) -> str | None:
        """The NGO listener (SASL_SSL), or None when this broker has none."""
        if self.ngo_port is None:
            return None
        return ",".join(f"{self.ngo_host}:{self.ngo_port + i}" for i in range(self.nodes))

    @property
    def tls(self) -> BrokerTls:
        return BrokerTls(self.run_dir / "tls")

    def ngo_security(self, principal: str, password: str) -> KafkaSecurity:
        """How an NGO's client authenticates on the NGO listener: SCRAM over TLS, trusting
        the local CA."""
        return KafkaSecurity(
            protocol=NGO_SECURITY_PROTOCOL,
            mechanism=SASL_MECHANISM,
            username=principal,
            password=password,
            cafile=str(self.tls.ca_certificate),
        )

    @property
    def credentials_dir(self) -> Path:
        return self.run_dir / "credentials"

    def password(self, principal: str) -> str:
        """The principal's password, generated (mode 0600) when it has none yet."""
        path = self.credentials_dir / f"{principal}.password"
        if not path.exists():
            self.credentials_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Letters and digits only, like kafka.sh makes them (see ensure_password there).
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            value = "".join(secrets.choice(alphabet) for _ in range(40))
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(value)
        return path.read_text().strip()

    def security(self, principal: str = ADMIN_PRINCIPAL) -> KafkaSecurity:
        return KafkaSecurity(
            protocol=SECURITY_PROTOCOL,
            mechanism=SASL_MECHANISM,
            username=principal,
            password=self.password(principal),
        )

    def client_environment(self, principal: str = ADMIN_PRINCIPAL) -> dict[str, str]:
        """The `KAFKA_*` variables a tool (CLI, demo, tests) connects as `principal` with."""
        return {
            "KAFKA_SECURITY_PROTOCOL": SECURITY_PROTOCOL,
            "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
            "KAFKA_SASL_USERNAME": principal,
            "KAFKA_SASL_PASSWORD": self.password(principal),
        }

    def service_environment(self, service: str) -> dict[str, str]:
        return service_kafka_environment(service, self.password(service_principal(service)))

    def _env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("KAFKA_NGO_PORT", "KAFKA_NGO_HOST", "KAFKA_TLS_DIR")
        }
        env.update(
            KAFKA_RUN_DIR=str(self.run_dir),
            KAFKA_PORT=str(self.port),
            KAFKA_NODES=str(self.nodes),
            KAFKA_PRINCIPALS=" ".join(self.principals),
            PYTHON=sys.executable,
        )
        if self.ngo_port is not None:
            env.update(
                KAFKA_NGO_PORT=str(self.ngo_port),
                KAFKA_NGO_HOST=self.ngo_host,
                KAFKA_TLS_DIR=str(self.tls.directory),
            )
        return env

    def start(self) -> None:
        for principal in [ADMIN_PRINCIPAL, *self.principals]:
            self.password(principal)
        if self.ngo_port is not None:
            ensure_broker_tls(self.tls.directory, [self.ngo_host, "localhost"])
        subprocess.run(["bash", str(SCRIPT), "start"], env=self._env(), check=True, timeout=300)

    def stop(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=self._env(), check=False, timeout=120)

    @staticmethod
    def fetch() -> None:
        subprocess.run(["bash", str(SCRIPT), "fetch"], check=True, timeout=1200)
