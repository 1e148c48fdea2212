"""Settings of the Monitoring service (environment variables; see shared.config)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings

# Seconds from the moment a stage's clock starts until it must be reached, per urgency.
DEFAULT_SLA_TARGETS: dict[str, dict[str, float]] = {
    "life_threatening": {
        "triage": 15 * 60,
        "offer": 60 * 60,
        "acceptance": 2 * 3600,
        "fulfilment": 24 * 3600,
    },
    "urgent": {
        "triage": 2 * 3600,
        "offer": 6 * 3600,
        "acceptance": 12 * 3600,
        "fulfilment": 72 * 3600,
    },
    "routine": {
        "triage": 24 * 3600,
        "offer": 48 * 3600,
        "acceptance": 72 * 3600,
        "fulfilment": 14 * 24 * 3600,
    },
}


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "monitoring"
    default_port: ClassVar[int] = 8004

    # JSON in the environment, e.g. MONITORING_SLA_TARGETS='{"urgent": {"triage": 3600, …}}';
    # urgencies or stages left out keep their defaults.
    sla_targets: dict[str, dict[str, float]] = Field(
        default_factory=dict, validation_alias="MONITORING_SLA_TARGETS"
    )
    # A warning goes out when this fraction of the target has elapsed.
    sla_warning_fraction: float = Field(0.75, gt=0, lt=1, validation_alias="MONITORING_SLA_WARN_AT")
    # Who is told at each level: index 0 the warning, 1 the breach, 2+ each escalation step.
    sla_escalation_chain: list[str] = Field(
        default_factory=lambda: ["duty_officer", "sector_lead", "head_of_ops_centre"],
        validation_alias="MONITORING_SLA_ESCALATION_CHAIN",
    )
    # After a breach, escalate one step further each time this fraction of the target passes.
    sla_escalation_fraction: float = Field(
        0.5, gt=0, validation_alias="MONITORING_SLA_ESCALATE_EVERY"
    )
    sla_sweep_interval_seconds: float = Field(
        5.0, gt=0, validation_alias="MONITORING_SLA_SWEEP_INTERVAL"
    )

    # The CAP `sender` of SLA and security alerts: unique to this mission, no spaces or commas.
    cap_sender: str = Field(
        "monitoring@concord.example.org",
        pattern=r"^[^\s,<&]+$",
        validation_alias="MONITORING_CAP_SENDER",
    )

    # A report is overdue once its period's due date plus this many days has passed.
    report_grace_days: int = Field(7, ge=0, validation_alias="MONITORING_REPORT_GRACE_DAYS")

    # The dashboard's live stream: a ticket from POST /api/live/tickets opens it once, within
    # this many seconds; at most this many streams are open per process.
    live_ticket_ttl_seconds: int = Field(
        30, ge=1, le=60, validation_alias="MONITORING_LIVE_TICKET_TTL_SECONDS"
    )
    live_max_subscribers: int = Field(
        200, ge=1, le=100_000, validation_alias="MONITORING_LIVE_MAX_SUBSCRIBERS"
    )
    # ... and at most this many of them by one principal (a token's subject): a 429 past it.
    live_max_subscribers_per_principal: int = Field(
        5, ge=1, le=1000, validation_alias="MONITORING_LIVE_MAX_SUBSCRIBERS_PER_PRINCIPAL"
    )

    # Small-cell suppression in the 3W export and the situation report: in a sensitive sector
    # (protection, GBV, child protection) a count below this is not shown, and 3W rows of those
    # sectors stop at admin level 1 (docs/data-responsibility.md).
    small_cell_threshold: int = Field(
        5, ge=1, le=1000, validation_alias="MONITORING_SMALL_CELL_THRESHOLD"
    )

    # Retention (docs/data-responsibility.md): restricted data older than this many days is
    # purged from monitoring's stores (audit payloads, exact coordinates and titles in the read
    # models); the job looks every `retention_sweep_interval_seconds`.
    retention_restricted_days: int = Field(
        365, ge=1, le=36500, validation_alias="MONITORING_RETENTION_RESTRICTED_DAYS"
    )
    # Internal requests that ended and internal incidents past this many days lose the same
    # personal data (titles, exact points, typed reasons, their audit payloads), as the
    # requests service's own internal purge does (HUMANITARIAN_REQUESTS_RETENTION_INTERNAL_DAYS).
    retention_internal_days: int = Field(
        730, ge=1, le=36500, validation_alias="MONITORING_RETENTION_INTERNAL_DAYS"
    )
    retention_sweep_interval_seconds: float = Field(
        3600.0, gt=0, validation_alias="MONITORING_RETENTION_SWEEP_INTERVAL"
    )

    def sla_target(self, urgency: str, stage: str) -> float:
        """Seconds allowed for `stage` of a request of `urgency`."""
        override = self.sla_targets.get(urgency, {})
        return float(override.get(stage, DEFAULT_SLA_TARGETS[urgency][stage]))
