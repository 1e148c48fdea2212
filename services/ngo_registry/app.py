"""The service's application, run as `uvicorn --factory services.ngo_registry.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.ngo_registry.config import Settings
from services.ngo_registry.db.models import inbox, outbox
from shared.events.schemas import CATALOG
from shared.runtime import ServiceRuntime
from shared.web import create_service_app

DESCRIPTION = """
The authority on which NGOs exist, what they can do, where, with what resources, whether
they are vetted, and under which agreement they work with the mission.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings=settings, catalog=CATALOG, outbox=outbox, inbox=inbox)
    return create_service_app(
        title="Concord NGO registry", description=DESCRIPTION, runtime=runtime, routers=[]
    )
