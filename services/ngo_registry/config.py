"""Settings of the NGO registry service (environment variables; see shared.config)."""

from __future__ import annotations

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "ngo_registry"
    default_port: ClassVar[int] = 8001
