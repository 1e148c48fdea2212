"""The service's application, run as `uvicorn --factory services.joint_planning.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.db.models import inbox, outbox
from shared.events.schemas import CATALOG
from shared.runtime import ServiceRuntime
from shared.web import create_service_app

DESCRIPTION = """
Joint operations between the mission and NGOs: objectives, participants, tasks, milestones,
coordination meetings, humanitarian movement notifications and deconfliction.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings=settings, catalog=CATALOG, outbox=outbox, inbox=inbox)
    return create_service_app(
        title="Concord Joint planning", description=DESCRIPTION, runtime=runtime, routers=[]
    )
