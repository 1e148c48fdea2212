"""The service's application.

Run as `uvicorn --factory services.humanitarian_requests.app:create_app`.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models import inbox, outbox
from shared.events.schemas import CATALOG
from shared.runtime import ServiceRuntime
from shared.web import create_service_app

DESCRIPTION = """
Aid requests and incident reports from field units: idempotent, store-and-forward intake,
triage, matching to vetted NGOs, and the offer-to-fulfilment lifecycle.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings=settings, catalog=CATALOG, outbox=outbox, inbox=inbox)
    return create_service_app(
        title="Concord Humanitarian requests", description=DESCRIPTION, runtime=runtime, routers=[]
    )
