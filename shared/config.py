"""Typed settings read from the environment.

Every service subclasses `ServiceSettings` and names itself. Settings shared by all services
(the database, Kafka, the token keys) use the same variable everywhere (`DATABASE_URL`,
`KAFKA_BOOTSTRAP_SERVERS`, `CONCORD_JWT_SECRET` …); settings of one service carry its prefix
(`NGO_REGISTRY_PORT`, `NGO_REGISTRY_DB_PASSWORD` …).
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEV_JWT_SECRET = "concord-dev-only-signing-key-change-me-0123456789"  # noqa: S105 - refused outside dev/test
DEV_DB_PASSWORD_PREFIX = "concord-dev-"  # noqa: S105


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class ServiceSettings(BaseSettings):
    """Settings every Concord service has. Subclasses set `service_name` and `default_port`."""

    service_name: ClassVar[str] = "concord"
    default_port: ClassVar[int] = 8000

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Environment = Field(Environment.dev, validation_alias="CONCORD_ENV")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_json: bool = Field(True, validation_alias="LOG_JSON")

    # The administrator URL provisions roles and schemas; a service itself connects as its own
    # role (see `service_database_url`), which can reach its own schema and nothing else.
    database_url: str = Field(
        "postgresql://postgres:concord-dev@127.0.0.1:5432/concord", validation_alias="DATABASE_URL"
    )
    db_pool_size: int = Field(10, validation_alias="DB_POOL_SIZE")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    kafka_replication_factor: int = Field(1, validation_alias="KAFKA_REPLICATION_FACTOR")
    kafka_partitions: int = Field(3, validation_alias="KAFKA_PARTITIONS")

    jwt_algorithm: str = Field("HS256", validation_alias="CONCORD_JWT_ALGORITHM")
    jwt_secret: str = Field(DEV_JWT_SECRET, validation_alias="CONCORD_JWT_SECRET")
    jwt_public_key: str | None = Field(None, validation_alias="CONCORD_JWT_PUBLIC_KEY")
    jwt_issuer: str = Field("concord", validation_alias="CONCORD_JWT_ISSUER")
    jwt_audience: str = Field("concord", validation_alias="CONCORD_JWT_AUDIENCE")

    host: str = Field("127.0.0.1", validation_alias="CONCORD_HOST")
    port: int = 0
    db_password: str = ""
    service_database_url_override: str | None = None

    outbox_poll_interval_seconds: float = Field(1.0, validation_alias="OUTBOX_POLL_INTERVAL")
    outbox_batch_size: int = Field(500, validation_alias="OUTBOX_BATCH_SIZE")
    consumer_batch_size: int = Field(200, validation_alias="CONSUMER_BATCH_SIZE")
    consumer_max_attempts: int = Field(5, validation_alias="CONSUMER_MAX_ATTEMPTS")
    max_body_bytes: int = Field(2_000_000, validation_alias="MAX_BODY_BYTES")
    # Processed-event rows are kept at least this long (see shared/events/pruning.py), and
    # pruned about this often (jittered, so replicas do not prune in step).
    inbox_retention_seconds: float = Field(
        7 * 24 * 3600, ge=3600, validation_alias="INBOX_RETENTION_SECONDS"
    )
    inbox_prune_interval_seconds: float = Field(
        3600.0, gt=0, validation_alias="INBOX_PRUNE_INTERVAL"
    )

    @classmethod
    def env_prefix(cls) -> str:
        return cls.service_name.upper() + "_"

    @model_validator(mode="before")
    @classmethod
    def _read_service_variables(cls, values: Any) -> Any:
        """Read `<SERVICE>_PORT`, `<SERVICE>_DB_PASSWORD` and `<SERVICE>_DATABASE_URL`."""
        if not isinstance(values, dict):
            return values
        prefix = cls.env_prefix()
        values.setdefault("port", int(os.environ.get(prefix + "PORT", cls.default_port)))
        values.setdefault(
            "db_password",
            os.environ.get(prefix + "DB_PASSWORD", DEV_DB_PASSWORD_PREFIX + cls.service_name),
        )
        if os.environ.get(prefix + "DATABASE_URL"):
            values.setdefault("service_database_url_override", os.environ[prefix + "DATABASE_URL"])
        return values

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> ServiceSettings:
        if self.environment is Environment.prod:
            if self.jwt_algorithm.startswith("HS") and self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError("CONCORD_JWT_SECRET must be set outside dev and test")
            if self.db_password.startswith(DEV_DB_PASSWORD_PREFIX):
                raise ValueError(f"{self.env_prefix()}DB_PASSWORD must be set outside dev and test")
        return self

    @property
    def db_schema(self) -> str:
        """The Postgres schema this service owns; named like the service."""
        return self.service_name

    @property
    def db_role(self) -> str:
        return f"concord_{self.service_name}"

    @property
    def service_database_url(self) -> str:
        """The URL this service connects with: its own role, its own schema first on the path."""
        if self.service_database_url_override:
            return self.service_database_url_override
        url = make_url(self.database_url).set(username=self.db_role, password=self.db_password)
        return url.render_as_string(hide_password=False)
