"""The service's application, run as `uvicorn --factory services.joint_planning.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.joint_planning.config import Settings
from services.joint_planning.db.models import inbox, outbox
from services.joint_planning.db.models.replicas import NgoEligibility
from services.joint_planning.deconfliction.handlers import incident_router_for
from services.joint_planning.eligibility.handlers import eligibility_router_for
from services.joint_planning.meeting.router import router as meeting_router
from services.joint_planning.milestone.router import router as milestone_router
from services.joint_planning.notification.router import router as notification_router
from services.joint_planning.operation.router import router as operation_router
from services.joint_planning.operation.service import raise_for_restricted_incident
from services.joint_planning.overdue.tasks import overdue_sweeper
from services.joint_planning.participant.router import router as participant_router
from services.joint_planning.retention.tasks import retention_sweep
from services.joint_planning.task.router import router as task_router
from shared.events.schemas import CATALOG
from shared.runtime import Consumes, ServiceRuntime
from shared.web import create_service_app

DESCRIPTION = """
Joint operations between the mission and NGOs: objectives, participants, tasks, milestones,
coordination meetings, humanitarian movement notifications and deconfliction.
"""

ELIGIBILITY_GROUP = "joint_planning.ngo_replica"
INCIDENT_GROUP = "joint_planning.incident_replica"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings=settings,
        catalog=CATALOG,
        outbox=outbox,
        inbox=inbox,
        consumes=[
            Consumes(ELIGIBILITY_GROUP, eligibility_router_for(settings)),
            Consumes(
                INCIDENT_GROUP,
                incident_router_for(settings, on_restricted=raise_for_restricted_incident),
            ),
        ],
        background=[overdue_sweeper, retention_sweep],
    )
    return create_service_app(
        title="Concord Joint planning",
        description=DESCRIPTION,
        runtime=runtime,
        ngo_status=(NgoEligibility.ngo_id, NgoEligibility.vetting_status),
        routers=[
            operation_router,
            participant_router,
            task_router,
            milestone_router,
            meeting_router,
            notification_router,
        ],
    )
