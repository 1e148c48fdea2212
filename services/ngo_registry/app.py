"""The service's application, run as `uvicorn --factory services.ngo_registry.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.ngo_registry.agreement.router import router as agreement_router
from services.ngo_registry.config import Settings
from services.ngo_registry.data_incident.handlers import DATA_INCIDENT_GROUP, data_incident_router
from services.ngo_registry.data_incident.router import router as data_incident_http_router
from services.ngo_registry.db.models import inbox, outbox
from services.ngo_registry.db.models.registry import Ngo
from services.ngo_registry.expiry.tasks import expiry_sweeper
from services.ngo_registry.ngo.router import router as ngo_router
from services.ngo_registry.report.router import router as report_router
from services.ngo_registry.search.router import router as search_router
from services.ngo_registry.vetting.router import router as vetting_router
from services.ngo_registry.webhook.handlers import WEBHOOK_GROUP, webhook_router
from services.ngo_registry.webhook.router import router as webhook_http_router
from services.ngo_registry.webhook.tasks import webhook_pruner, webhook_sender
from shared.events.schemas import CATALOG
from shared.runtime import Consumes, ServiceRuntime
from shared.web import create_service_app

DESCRIPTION = """
The authority on which NGOs exist, what they can do, where, with what resources, whether
they are vetted, and under which agreement they work with the mission.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings=settings,
        catalog=CATALOG,
        outbox=outbox,
        inbox=inbox,
        consumes=[
            Consumes(WEBHOOK_GROUP, webhook_router()),
            Consumes(DATA_INCIDENT_GROUP, data_incident_router()),
        ],
        background=[expiry_sweeper, webhook_sender, webhook_pruner],
    )
    return create_service_app(
        title="Concord NGO registry",
        description=DESCRIPTION,
        runtime=runtime,
        ngo_status=(Ngo.id, Ngo.vetting_status),
        routers=[
            ngo_router,
            vetting_router,
            agreement_router,
            report_router,
            search_router,
            webhook_http_router,
            data_incident_http_router,
        ],
    )
