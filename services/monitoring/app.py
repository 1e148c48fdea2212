"""The service's application, run as `uvicorn --factory services.monitoring.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.monitoring.config import Settings
from services.monitoring.db.models import inbox, outbox
from shared.events.schemas import CATALOG
from shared.runtime import ServiceRuntime
from shared.web import create_service_app

DESCRIPTION = """
Read models over every event: KPIs, request funnel, coverage gaps, hotspots, SLA alerts,
the tamper-evident audit trail, reports, and the operations-centre dashboard.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings=settings, catalog=CATALOG, outbox=outbox, inbox=inbox)
    return create_service_app(
        title="Concord Monitoring", description=DESCRIPTION, runtime=runtime, routers=[]
    )
