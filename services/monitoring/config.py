"""Settings of the Monitoring service (environment variables; see shared.config)."""

from __future__ import annotations

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "monitoring"
    default_port: ClassVar[int] = 8004
