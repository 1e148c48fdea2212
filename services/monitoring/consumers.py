"""The monitoring service's two consumer groups.

`monitoring.read_models` applies typed handlers to the registry, request, incident, offer,
SLA and joint planning topics. `monitoring.audit` is a separate group with one catch-all
handler that chains every event of every topic into the audit log: separate, so a
read-model bug that dead-letters an event can never leave a hole in the audit trail, and
each keeps its own offsets.
"""

from __future__ import annotations

from services.monitoring.aid_request.handlers import build_request_router
from services.monitoring.audit.handlers import AUDIT_GROUP, build_audit_router
from services.monitoring.config import Settings
from services.monitoring.incident.handlers import build_incident_router
from services.monitoring.planning.handlers import build_planning_router
from services.monitoring.registry.handlers import build_registry_router
from services.monitoring.sla.handlers import build_alert_router
from shared.events.inbox import EventRouter
from shared.events.schemas import CATALOG
from shared.runtime import Consumes

READ_MODEL_GROUP = "monitoring.read_models"


def build_read_model_router(
    settings: Settings, *, sla: bool = True, live: bool = True
) -> EventRouter:
    router = EventRouter(CATALOG)
    for part in (
        build_registry_router(live=live),
        build_request_router(settings, sla=sla, live=live),
        build_incident_router(live=live),
        build_alert_router(live=live),
        build_planning_router(live=live),
    ):
        router.include(part)
    return router


def consumer_groups(settings: Settings) -> list[Consumes]:
    return [
        Consumes(READ_MODEL_GROUP, build_read_model_router(settings)),
        Consumes(AUDIT_GROUP, build_audit_router()),
    ]
