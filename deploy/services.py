"""The four services, as the local stack, the prestart step and the CLI see them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.humanitarian_requests.config import Settings as RequestsSettings
from services.joint_planning.config import Settings as PlanningSettings
from services.monitoring.config import Settings as MonitoringSettings
from services.ngo_registry.config import Settings as RegistrySettings
from shared.config import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    settings_class: type[ServiceSettings]

    @property
    def app_factory(self) -> str:
        return f"services.{self.name}.app:create_app"

    @property
    def migrations_dir(self) -> Path:
        return ROOT / "services" / self.name / "migrations"

    def settings(self) -> ServiceSettings:
        return self.settings_class()


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ngo_registry", RegistrySettings),
    ServiceSpec("joint_planning", PlanningSettings),
    ServiceSpec("humanitarian_requests", RequestsSettings),
    ServiceSpec("monitoring", MonitoringSettings),
)
