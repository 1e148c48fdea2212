"""Settings of the Joint planning service (environment variables; see shared.config)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "joint_planning"
    default_port: ClassVar[int] = 8002

    # A security incident this close to a notified route or site (km) is a conflict.
    incident_radius_km: float = Field(
        15.0, gt=0, le=200, validation_alias="JOINT_PLANNING_INCIDENT_RADIUS_KM"
    )
    # An incident counts if it happened at most this long before the notified window starts
    # (or during the window).
    incident_window_hours: float = Field(
        72.0, gt=0, validation_alias="JOINT_PLANNING_INCIDENT_WINDOW_HOURS"
    )
    # How often the overdue sweep looks for overdue tasks and missed milestones.
    sweep_interval_seconds: float = Field(60.0, validation_alias="JOINT_PLANNING_SWEEP_INTERVAL")

    # Retention (docs/data-responsibility.md): a restricted incident of the replica, or a
    # restricted operation that ended, whose last change is older than this many days loses
    # what could identify people (`retention/service.py`); the sweep looks about every
    # `retention_sweep_interval_seconds`.
    retention_restricted_days: int = Field(
        365, ge=1, le=36500, validation_alias="JOINT_PLANNING_RETENTION_RESTRICTED_DAYS"
    )
    # The internal class (notifications, internal incidents of the replica): longer, the same
    # default as the other services.
    retention_internal_days: int = Field(
        730, ge=1, le=36500, validation_alias="JOINT_PLANNING_RETENTION_INTERNAL_DAYS"
    )
    retention_sweep_interval_seconds: float = Field(
        3600.0, gt=0, validation_alias="JOINT_PLANNING_RETENTION_SWEEP_INTERVAL"
    )
