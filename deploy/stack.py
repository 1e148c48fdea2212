"""The local stack: Postgres, Kafka and the four services on one machine, without Docker.

    python -m deploy.stack run     what `make run` does: everything up, URLs printed,
                                   Ctrl-C stops it all
    python -m deploy.stack infra   only Postgres and Kafka (for running services by hand)

`DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS`, when set, name servers that already run; the
stack then starts neither and only provisions schemas and topics on them. The test suite uses
`LocalStack` directly, on free ports and a temporary directory.

The embedded Postgres keeps full durability (fsync, synchronous_commit, full_page_writes on)
unless the caller opts out: `LocalStack(..., postgres_durable=False)` (what the test suite
and the benchmarks do) or `CONCORD_PG_DURABILITY=off` in the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.demo.client import ConcordClient
from deploy.demo.runinfo import (
    SEEDED_MARKER,
    cache_dir,
    clear_stack_environment,
    default_run_dir,
    write_stack_environment,
)
from deploy.demo.seed import seed as seed_demo
from deploy.kafka import LocalKafka, service_kafka_environment
from deploy.kafka_access import provision_kafka
from deploy.postgres import EmbeddedPostgres
from deploy.prestart import prepare_databases
from deploy.services import ROOT, SERVICES, ServiceSpec
from shared.events.kafka import KafkaSecurity

__all__ = [
    "LocalStack",
    "cache_dir",
    "free_port_block",
    "main",
    "port_is_free",
    "postgres_durability_from_environment",
    "stack_from_arguments",
]

DURABILITY_VARIABLE = "CONCORD_PG_DURABILITY"


def postgres_durability_from_environment() -> bool:
    """`CONCORD_PG_DURABILITY=off` opts out of durability; unset or `on` keeps it."""
    value = os.environ.get(DURABILITY_VARIABLE, "on").strip().lower()
    if value not in {"on", "off"}:
        raise ValueError(f"{DURABILITY_VARIABLE} must be 'on' or 'off', not {value!r}")
    return value == "on"


GRACEFUL_SHUTDOWN_SECONDS = 10
PROVISIONER = "kafka_provisioner"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int = 1) -> int:
    """A first port such that `count` consecutive ports are free on loopback."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + count < 65000 and all(port_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports found")


def _free_block_outside(count: int, *, taken: range) -> int:
    """A block of `count` free ports that does not overlap `taken` (ports chosen for a
    server that has not bound them yet, so they still look free)."""
    for _ in range(50):
        base = free_port_block(count)
        if base + count <= taken.start or base >= taken.stop:
            return base
    raise RuntimeError("no block of free ports found")


@dataclass
class LocalStack:
    """Postgres and Kafka for Concord, started here or taken from the environment."""

    run_dir: Path
    postgres_port: int | None = None
    kafka_port: int | None = None
    kafka_ngo_port: int | None = None
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    kafka_bootstrap_servers: str | None = field(
        default_factory=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    )
    postgres: EmbeddedPostgres | None = field(init=False, default=None)
    kafka: LocalKafka | None = field(init=False, default=None)
    kafka_nodes: int = 1
    postgres_durable: bool = field(default_factory=postgres_durability_from_environment)
    processes: dict[str, subprocess.Popen[bytes]] = field(init=False, default_factory=dict)
    # Where each started service process (a second replica too) answers /readyz.
    service_urls: dict[str, str] = field(init=False, default_factory=dict)

    def start_infrastructure(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        if self.kafka_bootstrap_servers is None:
            port = self.kafka_port or free_port_block(2 * self.kafka_nodes)
            ngo_port = self.kafka_ngo_port or _free_block_outside(
                self.kafka_nodes, taken=range(port, port + 2 * self.kafka_nodes)
            )
            self.kafka = LocalKafka(
                self.run_dir / "kafka", port=port, nodes=self.kafka_nodes, ngo_port=ngo_port
            )
            self.kafka.start()
            self.kafka_bootstrap_servers = self.kafka.bootstrap_servers
        # This process (the stack, the test session) is the admin: it provisions topics,
        # credentials and ACLs. Each service process gets its own principal only.
        os.environ.update(self.environment())
        os.environ.update(self.admin_environment())
        os.environ.update(self.ngo_listener_environment())
        for spec in SERVICES:
            os.environ.update(self.service_environment(spec))
        asyncio.run(self._prepare())

    def start_postgres(self) -> None:
        """Start the embedded Postgres unless `DATABASE_URL` names a server already."""
        if self.database_url is not None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        port = self.postgres_port or free_port_block()
        self.postgres = EmbeddedPostgres(
            self.run_dir / "postgres", port=port, durable=self.postgres_durable
        )
        self.postgres.start()
        self.database_url = self.postgres.admin_url

    async def _prepare(self) -> None:
        assert self.database_url and self.kafka_bootstrap_servers
        await prepare_databases(self.database_url)
        passwords = {}
        for spec in SERVICES:
            env = self.service_environment(spec)
            prefix = spec.name.upper()
            if env.get(f"{prefix}_KAFKA_PASSWORD"):
                passwords[env[f"{prefix}_KAFKA_USERNAME"]] = env[f"{prefix}_KAFKA_PASSWORD"]
        await provision_kafka(
            self.kafka_bootstrap_servers,
            self.admin_security(),
            partitions=int(os.environ.get("KAFKA_PARTITIONS", "3")),
            replication_factor=int(os.environ.get("KAFKA_REPLICATION_FACTOR", "1")),
            service_passwords=passwords,
        )

    def environment(self) -> dict[str, str]:
        """What every process of the stack shares: the servers and how Kafka authenticates
        (not who: see `admin_environment` and `service_environment`)."""
        assert self.database_url and self.kafka_bootstrap_servers
        env = {
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
        }
        if self.kafka is not None:
            admin = self.kafka.client_environment()
            env["KAFKA_SECURITY_PROTOCOL"] = admin["KAFKA_SECURITY_PROTOCOL"]
            env["KAFKA_SASL_MECHANISM"] = admin["KAFKA_SASL_MECHANISM"]
        return env

    def admin_environment(self) -> dict[str, str]:
        """The Kafka admin's credentials (`KAFKA_SASL_*`), for the stack itself and its tools;
        empty for a Kafka the stack did not start (the environment names its credentials)."""
        if self.kafka is None:
            return {}
        admin = self.kafka.client_environment()
        return {k: v for k, v in admin.items() if k.startswith("KAFKA_SASL_")}

    def admin_security(self) -> KafkaSecurity:
        if self.kafka is not None:
            return self.kafka.security()
        return KafkaSecurity.from_env()

    def service_environment(self, spec: ServiceSpec) -> dict[str, str]:
        """The service's own Kafka principal (`<SERVICE>_KAFKA_USERNAME/_PASSWORD`)."""
        if self.kafka is not None:
            return self.kafka.service_environment(spec.name)
        prefix = spec.name.upper()
        password = os.environ.get(f"{prefix}_KAFKA_PASSWORD")
        if not password:
            return {}
        env = service_kafka_environment(spec.name, password)
        env[f"{prefix}_KAFKA_USERNAME"] = os.environ.get(
            f"{prefix}_KAFKA_USERNAME", env[f"{prefix}_KAFKA_USERNAME"]
        )
        return env

    def process_environment(
        self, spec: ServiceSpec, extra_env: dict[str, str] | None = None
    ) -> dict[str, str]:
        """A service process's environment: this one without any Kafka credential but the
        service's own."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("KAFKA_SASL_")
            and not key.endswith(("_KAFKA_USERNAME", "_KAFKA_PASSWORD"))
        }
        return {
            **inherited,
            **self.environment(),
            **self.service_environment(spec),
            **(extra_env or {}),
        }

    def run_environment(self) -> dict[str, str]:
        """What `concord` needs to find this stack from another shell (see deploy.demo.runinfo):
        its servers, the service ports, and that it is a development stack (so `concord token`
        signs with the development secret the services accept), and the Kafka admin's
        credentials (the file is the owner's only, like `kafka/credentials/`)."""
        ports = {f"{spec.name.upper()}_PORT": str(self.service_port(spec)) for spec in SERVICES}
        mode = {"CONCORD_ENV": os.environ.get("CONCORD_ENV", "dev")}
        return {
            **self.environment(),
            **self.admin_environment(),
            **self.ngo_listener_environment(),
            **ports,
            **mode,
        }

    def ngo_listener_environment(self) -> dict[str, str]:
        """Where NGOs connect (`CONCORD_KAFKA_NGO_BOOTSTRAP`, SASL_SSL) and the CA their
        clients trust (`CONCORD_KAFKA_NGO_CAFILE`): what `concord kafka-credentials` hands
        out with an NGO's password. Empty for a broker without an NGO listener."""
        if self.kafka is None or self.kafka.ngo_bootstrap_servers is None:
            return {}
        return {
            "CONCORD_KAFKA_NGO_BOOTSTRAP": self.kafka.ngo_bootstrap_servers,
            "CONCORD_KAFKA_NGO_CAFILE": str(self.kafka.tls.ca_certificate),
        }

    def service_url(self, spec: ServiceSpec) -> str:
        return f"http://127.0.0.1:{self.service_port(spec)}"

    def service_port(self, spec: ServiceSpec) -> int:
        return int(os.environ.get(f"{spec.name.upper()}_PORT", spec.settings_class.default_port))

    def start_services(self, extra_env: dict[str, str] | None = None) -> None:
        for spec in SERVICES:
            self.start_service(spec, extra_env)
        self.start_kafka_provisioner()
        self.wait_until_ready()

    def start_kafka_provisioner(self) -> subprocess.Popen[bytes] | None:
        """The NGO principals' provisioner (deploy/kafka_provisioner.py), as the admin; not
        started on a broker without authentication (it would have nothing to grant)."""
        if not self.admin_security().sasl:
            return None
        logs = self.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_file = (logs / f"{PROVISIONER}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.kafka_provisioner"],
            cwd=ROOT,
            env={**os.environ, **self.environment(), **self.admin_environment()},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        self.processes[PROVISIONER] = process
        return process

    def start_service(
        self,
        spec: ServiceSpec,
        extra_env: dict[str, str] | None = None,
        *,
        name: str | None = None,
        port: int | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start one service process (`name`/`port` for a second replica of it)."""
        name = name or spec.name
        port = port or self.service_port(spec)
        logs = self.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if not port_is_free(port):
            raise RuntimeError(f"port {port} for {name} is taken; set {spec.name.upper()}_PORT")
        log_file = (logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                spec.app_factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                # SIGTERM: in-flight requests get this long to finish, then the lifespan
                # shutdown (bounded itself, see ServiceRuntime.stop) runs.
                "--timeout-graceful-shutdown",
                str(GRACEFUL_SHUTDOWN_SECONDS),
            ],
            cwd=ROOT,
            env=self.process_environment(spec, extra_env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        self.service_urls[name] = f"http://127.0.0.1:{port}"
        return process

    def wait_until_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {n: url for n, url in self.service_urls.items() if n in self.processes}
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name, url in list(pending.items()):
                    process = self.processes[name]
                    if process.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with {process.returncode}; see "
                            f"{self.run_dir / 'logs' / (name + '.log')}"
                        )
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(url + "/readyz").status_code == 200:
                            del pending[name]
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not ready after {timeout} s: {sorted(pending)}")
                time.sleep(0.3)

    def stop_services(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=40)  # a service's own shutdown is bounded at about 35 s
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def stop(self) -> None:
        self.stop_services()
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[LocalStack]:
        try:
            self.start_infrastructure()
            yield self
        finally:
            self.stop()


def _seed_demo(stack: LocalStack) -> None:
    """Seed the demo mission once per run directory (the seeding itself is idempotent)."""
    marker = stack.run_dir / SEEDED_MARKER
    if marker.exists():
        print("Demo mission already seeded (`concord seed` tops it up).", flush=True)
        return
    print("Seeding the demo mission through the services' APIs …", flush=True)

    def progress(phase: str, done: int, total: int) -> None:
        if done == total:
            print(f"  {phase:<24} {done}/{total}", flush=True)

    async def run() -> str:
        async with ConcordClient(timeout=60) as client:
            return (await seed_demo(client, progress)).summary()

    started = time.monotonic()
    try:
        summary = asyncio.run(run())
    except Exception as exc:  # the platform is up and usable without the demo: say so, go on
        print(f"Seeding the demo failed: {exc}. Retry with `concord seed`.", flush=True)
        return
    marker.touch()
    print(f"Demo mission seeded in {time.monotonic() - started:.0f} s: {summary}", flush=True)


def _print_banner(stack: LocalStack) -> None:
    monitoring = next(s for s in SERVICES if s.name == "monitoring")
    print()
    print(f"  dashboard              {stack.service_url(monitoring)}/")
    print("                         (paste a token from `concord token --role ops_centre`)")
    print("  OpenAPI docs")
    for spec in SERVICES:
        print(f"    {spec.name:<22} {stack.service_url(spec)}/docs")
    print(f"  Kafka                  {stack.kafka_bootstrap_servers}")
    if stack.kafka is not None and stack.kafka.ngo_bootstrap_servers:
        print(f"  Kafka for NGOs         {stack.kafka.ngo_bootstrap_servers} (SASL_SSL)")
        print(f"    CA certificate       {stack.kafka.tls.ca_certificate}")
    durability = ""
    if stack.postgres is not None:
        durability = " (durable)" if stack.postgres.durable else " (NOT durable: fsync off)"
    print(f"  Postgres               {stack.database_url}{durability}")
    print(f"  logs                   {stack.run_dir / 'logs'}")
    tail = f"concord tail aid_request --bootstrap {stack.kafka_bootstrap_servers}"
    print(f"  tail events            {tail}")
    print("  drive the field        concord simulate --rate 2 --duration 120")
    print()
    print("Concord is running. Press Ctrl-C to stop everything.", flush=True)


def stack_from_arguments(argv: list[str] | None = None) -> tuple[LocalStack, argparse.Namespace]:
    """The stack `python -m deploy.stack` (and so `make run`) starts, and its arguments."""
    parser = argparse.ArgumentParser(prog="python -m deploy.stack")
    parser.add_argument("command", choices=["run", "infra"])
    parser.add_argument("--run-dir", type=Path, default=default_run_dir())
    parser.add_argument(
        "--postgres-port", type=int, default=int(os.environ.get("CONCORD_PG_PORT", "55432"))
    )
    parser.add_argument(
        "--kafka-port", type=int, default=int(os.environ.get("CONCORD_KAFKA_PORT", "9092"))
    )
    parser.add_argument(
        "--kafka-ngo-port",
        type=int,
        default=int(os.environ.get("CONCORD_KAFKA_NGO_PORT", "9094")),
        help="the broker's SASL_SSL listener for NGOs",
    )
    parser.add_argument("--no-seed", action="store_true", help="do not seed the demo mission")
    args = parser.parse_args(argv)
    # The services default to production, which refuses the development secrets; what
    # `make run` starts on loopback is a development stack unless told otherwise.
    os.environ.setdefault("CONCORD_ENV", "dev")

    stack = LocalStack(
        args.run_dir,
        postgres_port=args.postgres_port,
        kafka_port=args.kafka_port,
        kafka_ngo_port=args.kafka_ngo_port,
    )
    return stack, args


def main() -> None:
    stack, args = stack_from_arguments()
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    try:
        with stack.running():
            if args.command == "run":
                stack.start_services()
                write_stack_environment(stack.run_dir, stack.run_environment())
                if not args.no_seed:
                    _seed_demo(stack)
            _print_banner(stack)
            while True:
                time.sleep(1)
                for name, process in stack.processes.items():
                    if process.poll() is not None:
                        print(f"{name} exited with {process.returncode}; stopping", flush=True)
                        raise KeyboardInterrupt
    except KeyboardInterrupt:
        print("\nStopping Concord …", flush=True)
    finally:
        clear_stack_environment(args.run_dir)
    print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
