"""Typed settings read from the environment.

Every service subclasses `ServiceSettings` and names itself. Settings shared by all services
(the database, Kafka, the token keys) use the same variable everywhere (`DATABASE_URL`,
`KAFKA_BOOTSTRAP_SERVERS`, `CONCORD_JWT_SECRET` …); settings of one service carry its prefix
(`NGO_REGISTRY_PORT`, `NGO_REGISTRY_DB_PASSWORD` …).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from enum import StrEnum
from typing import Any, ClassVar, Literal

import jwt
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEV_JWT_SECRET = "concord-dev-only-signing-key-change-me-0123456789"  # noqa: S105 - refused outside dev/test
DEV_DB_PASSWORD_PREFIX = "concord-dev-"  # noqa: S105

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MIN_SECRET_BYTES = 32
MIN_SECRET_BITS = 128.0
MAX_LEEWAY_SECONDS = 30


def secret_weakness(secret: str) -> str | None:
    """Why a signing secret is too weak to use, or None.

    A simple estimate, not a proof of randomness: at least 32 bytes, at least 10 different
    bytes, not one short piece repeated, and at least 128 bits by the Shannon entropy of its
    bytes. `secrets.token_urlsafe(48)` clears it by far.
    """
    raw = secret.encode()
    advice = (
        "use a random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
    )
    if len(raw) < MIN_SECRET_BYTES:
        return f"is {len(raw)} bytes long; it needs at least {MIN_SECRET_BYTES} ({advice})"
    counts = Counter(raw)
    if len(counts) < 10 or raw in (raw + raw)[1:-1]:
        return f"has too little entropy: it is a few characters or one piece repeated ({advice})"
    bits = max(0.0, -sum(n / len(raw) * math.log2(n / len(raw)) for n in counts.values()))
    if bits * len(raw) < MIN_SECRET_BITS:
        return (
            f"has about {bits * len(raw):.0f} bits of entropy; it needs at least "
            f"{MIN_SECRET_BITS:.0f} ({advice})"
        )
    return None


def load_verification_key(settings: ServiceSettings) -> Any:
    """The key tokens are verified with, parsed for the configured algorithm.

    Raises ValueError with the reason when the key cannot serve that algorithm: a PEM that
    does not parse, an EC key for RS256, a public key given as an HMAC secret, a private key
    where the services need only the public one, an RSA key under 2048 bits.
    """
    algorithm = settings.jwt_algorithm
    handler = jwt.PyJWS().get_algorithm_by_name(algorithm)
    if algorithm in HMAC_ALGORITHMS:
        name, material = "CONCORD_JWT_SECRET", settings.jwt_secret
    else:
        # A PEM in one environment variable often arrives with its newlines escaped.
        name, material = "CONCORD_JWT_PUBLIC_KEY", (settings.jwt_public_key or "")
        material = material.replace("\\n", "\n").strip()
    try:
        key = handler.prepare_key(material)
    except Exception as exc:  # each algorithm raises its own kinds: report them all the same
        raise ValueError(f"{name} cannot verify {algorithm} tokens: {exc}") from None
    if algorithm not in HMAC_ALGORITHMS:
        if hasattr(key, "private_bytes"):
            raise ValueError(f"{name} holds a private key; give the services only the public key")
        too_short = handler.check_key_length(key)
        if too_short:
            raise ValueError(f"{name} cannot verify {algorithm} tokens: {too_short}")
    return key


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class ServiceSettings(BaseSettings):
    """Settings every Concord service has. Subclasses set `service_name` and `default_port`."""

    service_name: ClassVar[str] = "concord"
    default_port: ClassVar[int] = 8000

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Production unless told otherwise: a service started without CONCORD_ENV=dev|test refuses
    # development secrets and weak keys and hides /docs and /metrics.
    environment: Environment = Field(Environment.prod, validation_alias="CONCORD_ENV")
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
    # How the service authenticates to the brokers (shared.events.kafka.KafkaSecurity): the
    # listener's protocol and mechanism are the same for all, the principal is the service's
    # own (`<SERVICE>_KAFKA_USERNAME`, `<SERVICE>_KAFKA_PASSWORD`).
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = Field(
        "SCRAM-SHA-512", validation_alias="KAFKA_SASL_MECHANISM"
    )
    kafka_ssl_cafile: str | None = Field(None, validation_alias="KAFKA_SSL_CAFILE")
    kafka_username: str | None = None
    kafka_password: str | None = Field(None, repr=False)

    # Bearer tokens: HS* with a shared secret (local runs, tests), or RS*/PS*/ES*/EdDSA with a
    # public key or an identity provider's JWKS (production). Only this algorithm is accepted.
    jwt_algorithm: str = Field("HS256", validation_alias="CONCORD_JWT_ALGORITHM")
    jwt_secret: str = Field(DEV_JWT_SECRET, validation_alias="CONCORD_JWT_SECRET")
    jwt_public_key: str | None = Field(None, validation_alias="CONCORD_JWT_PUBLIC_KEY")
    jwt_jwks_url: str | None = Field(None, validation_alias="CONCORD_JWT_JWKS_URL")
    jwt_jwks_cache_seconds: float = Field(
        300.0, gt=0, le=86400, validation_alias="CONCORD_JWT_JWKS_CACHE_SECONDS"
    )
    jwt_jwks_timeout_seconds: float = Field(
        5.0, gt=0, le=60, validation_alias="CONCORD_JWT_JWKS_TIMEOUT_SECONDS"
    )
    jwt_issuer: str = Field("concord", min_length=1, validation_alias="CONCORD_JWT_ISSUER")
    jwt_audience: str = Field("concord", min_length=1, validation_alias="CONCORD_JWT_AUDIENCE")
    # A token whose `exp` - `iat` exceeds this is refused, however it was signed.
    jwt_max_lifetime_seconds: int = Field(
        12 * 3600, gt=0, le=7 * 24 * 3600, validation_alias="CONCORD_JWT_MAX_LIFETIME_SECONDS"
    )
    # Clock skew forgiven on `exp`, `nbf` and `iat`.
    jwt_leeway_seconds: int = Field(
        10, ge=0, le=MAX_LEEWAY_SECONDS, validation_alias="CONCORD_JWT_LEEWAY_SECONDS"
    )

    # Unauthenticated operational routes: on in dev and test, off in production unless set.
    public_docs: bool | None = Field(None, validation_alias="CONCORD_PUBLIC_DOCS")
    public_metrics: bool | None = Field(None, validation_alias="CONCORD_PUBLIC_METRICS")

    host: str = Field("127.0.0.1", validation_alias="CONCORD_HOST")
    port: int = 0
    db_password: str = ""
    service_database_url_override: str | None = None

    outbox_poll_interval_seconds: float = Field(1.0, validation_alias="OUTBOX_POLL_INTERVAL")
    outbox_batch_size: int = Field(500, validation_alias="OUTBOX_BATCH_SIZE")
    consumer_batch_size: int = Field(200, validation_alias="CONSUMER_BATCH_SIZE")
    consumer_max_attempts: int = Field(5, validation_alias="CONSUMER_MAX_ATTEMPTS")
    max_body_bytes: int = Field(2_000_000, validation_alias="MAX_BODY_BYTES")
    # Per-principal token buckets (in process, per replica: N replicas admit N times these):
    # intake is every report a caller submits, exports every CSV or sitrep it pulls.
    rate_limit_intake_per_minute: float = Field(
        120.0, gt=0, validation_alias="CONCORD_RATE_LIMIT_INTAKE_PER_MINUTE"
    )
    rate_limit_intake_burst: int = Field(
        30, ge=1, validation_alias="CONCORD_RATE_LIMIT_INTAKE_BURST"
    )
    rate_limit_export_per_minute: float = Field(
        6.0, gt=0, validation_alias="CONCORD_RATE_LIMIT_EXPORT_PER_MINUTE"
    )
    rate_limit_export_burst: int = Field(
        5, ge=1, validation_alias="CONCORD_RATE_LIMIT_EXPORT_BURST"
    )
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
        """Read `<SERVICE>_PORT`, `<SERVICE>_DB_PASSWORD`, `<SERVICE>_DATABASE_URL`,
        `<SERVICE>_KAFKA_USERNAME` and `<SERVICE>_KAFKA_PASSWORD`."""
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
        for name in ("kafka_username", "kafka_password"):
            if os.environ.get(prefix + name.upper()):
                values.setdefault(name, os.environ[prefix + name.upper()])
        return values

    @model_validator(mode="after")
    def _check_token_keys(self) -> ServiceSettings:
        """Refuse at start-up what would otherwise fail (or pass) on a request: an unknown
        algorithm, a key of the wrong kind for it, a JWKS URL over plain HTTP in production.
        A public key is parsed here too, so a PEM that does not parse stops the service."""
        algorithm = self.jwt_algorithm
        if algorithm in HMAC_ALGORITHMS:
            if self.jwt_public_key or self.jwt_jwks_url:
                raise ValueError(
                    f"CONCORD_JWT_ALGORITHM={algorithm} verifies with the shared secret "
                    "CONCORD_JWT_SECRET; a public key or JWKS URL would be used as an HMAC "
                    "secret. Unset CONCORD_JWT_PUBLIC_KEY/CONCORD_JWT_JWKS_URL, or set "
                    "CONCORD_JWT_ALGORITHM to the identity provider's algorithm (e.g. RS256)"
                )
            load_verification_key(self)
        elif algorithm in PUBLIC_KEY_ALGORITHMS:
            if bool(self.jwt_public_key) == bool(self.jwt_jwks_url):
                raise ValueError(
                    f"CONCORD_JWT_ALGORITHM={algorithm} verifies with a public key: set "
                    "exactly one of CONCORD_JWT_PUBLIC_KEY (PEM) or CONCORD_JWT_JWKS_URL "
                    "(CONCORD_JWT_SECRET is an HMAC secret and is not used)"
                )
            if (
                self.jwt_jwks_url
                and self.environment is Environment.prod
                and not self.jwt_jwks_url.startswith("https://")
            ):
                raise ValueError("CONCORD_JWT_JWKS_URL must be an https:// URL in production")
            if self.jwt_public_key:
                load_verification_key(self)
        else:
            allowed = ", ".join(sorted(HMAC_ALGORITHMS | PUBLIC_KEY_ALGORITHMS))
            raise ValueError(
                f"CONCORD_JWT_ALGORITHM={algorithm!r} is not accepted; use one of {allowed}"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> ServiceSettings:
        if self.environment is Environment.prod:
            if self.jwt_algorithm in HMAC_ALGORITHMS:
                if self.jwt_secret == DEV_JWT_SECRET:
                    raise ValueError(
                        "CONCORD_JWT_SECRET must be set outside dev and test (the development "
                        "secret is public); for a local run set CONCORD_ENV=dev"
                    )
                weakness = secret_weakness(self.jwt_secret)
                if weakness:
                    raise ValueError(
                        f"CONCORD_JWT_SECRET is too weak for production: it {weakness}"
                    )
            if self.db_password.startswith(DEV_DB_PASSWORD_PREFIX):
                raise ValueError(f"{self.env_prefix()}DB_PASSWORD must be set outside dev and test")
        return self

    @property
    def docs_are_public(self) -> bool:
        """Whether `/docs`, `/redoc` and `/openapi.json` are served (without a token)."""
        if self.public_docs is not None:
            return self.public_docs
        return self.environment is not Environment.prod

    @property
    def metrics_are_public(self) -> bool:
        """Whether `/metrics` is served (without a token)."""
        if self.public_metrics is not None:
            return self.public_metrics
        return self.environment is not Environment.prod

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
