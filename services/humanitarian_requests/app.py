"""The service's application.

Run as `uvicorn --factory services.humanitarian_requests.app:create_app`.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.humanitarian_requests.aid_request.router import router as aid_request_router
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.data_incident.handlers import (
    DATA_INCIDENT_GROUP,
    data_incident_router,
)
from services.humanitarian_requests.db.models import inbox, outbox
from services.humanitarian_requests.db.models.tables import NgoReplica
from services.humanitarian_requests.edxl.router import router as edxl_router
from services.humanitarian_requests.incident.router import router as incident_router
from services.humanitarian_requests.intake.router import router as intake_router
from services.humanitarian_requests.matching.handlers import replica_router_for
from services.humanitarian_requests.matching.router import router as offer_router
from services.humanitarian_requests.matching.tasks import offer_deadline_sweeper
from services.humanitarian_requests.retention.tasks import retention_sweep
from services.humanitarian_requests.triage.tasks import triage_worker
from shared.events.schemas import CATALOG
from shared.runtime import Consumes, ServiceRuntime
from shared.web import create_service_app

DESCRIPTION = """
Aid requests and incident reports from field units: idempotent, store-and-forward intake,
triage, matching to vetted NGOs, and the offer-to-fulfilment lifecycle.
"""

REPLICA_GROUP = "humanitarian_requests.ngo_replica"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings=settings,
        catalog=CATALOG,
        outbox=outbox,
        inbox=inbox,
        consumes=[
            Consumes(REPLICA_GROUP, replica_router_for(settings)),
            Consumes(DATA_INCIDENT_GROUP, data_incident_router()),
        ],
        background=[triage_worker, offer_deadline_sweeper, retention_sweep],
    )
    return create_service_app(
        title="Concord Humanitarian requests",
        description=DESCRIPTION,
        runtime=runtime,
        ngo_status=(NgoReplica.ngo_id, NgoReplica.vetting_status),
        routers=[aid_request_router, offer_router, incident_router, intake_router, edxl_router],
    )
