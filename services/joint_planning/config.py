"""Settings of the Joint planning service (environment variables; see shared.config)."""

from __future__ import annotations

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "joint_planning"
    default_port: ClassVar[int] = 8002
