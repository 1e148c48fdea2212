"""The service's application, run as `uvicorn --factory services.monitoring.app:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.monitoring.audit.gaps import DeadLetterRecorder
from services.monitoring.audit.router import router as audit_router
from services.monitoring.cap.router import router as cap_router
from services.monitoring.config import Settings
from services.monitoring.consumers import consumer_groups
from services.monitoring.dashboard.router import router as dashboard_router
from services.monitoring.dashboard.router import static_files
from services.monitoring.db.models import inbox, outbox
from services.monitoring.db.models.read_models import ngos as ngo_read_model
from services.monitoring.insights.router import router as insights_router
from services.monitoring.live import BROADCASTER, Broadcaster
from services.monitoring.planning.router import router as planning_router
from services.monitoring.reports.router import router as reports_router
from services.monitoring.retention.tasks import retention_sweep
from services.monitoring.sla.engine import SlaSweep
from shared.events.schemas import CATALOG
from shared.runtime import ServiceRuntime
from shared.state import service_state
from shared.web import create_service_app

DESCRIPTION = """
Read models over every event: KPIs, request funnel, coverage gaps, hotspots, SLA alerts,
joint planning's open conflicts and overdue tasks, the tamper-evident audit trail, reports,
and the operations-centre dashboard.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    broadcaster = Broadcaster(
        max_subscribers=settings.live_max_subscribers,
        max_per_principal=settings.live_max_subscribers_per_principal,
    )
    runtime = ServiceRuntime(
        settings=settings,
        catalog=CATALOG,
        outbox=outbox,
        inbox=inbox,
        consumes=consumer_groups(settings),
        background=[
            SlaSweep(settings),
            broadcaster.run,
            DeadLetterRecorder(),
            retention_sweep,
        ],
    )
    app = create_service_app(
        title="Concord Monitoring",
        description=DESCRIPTION,
        runtime=runtime,
        ngo_status=(ngo_read_model.c.ngo_id, ngo_read_model.c.vetting_status),
        routers=[
            insights_router,
            planning_router,
            audit_router,
            reports_router,
            cap_router,
            dashboard_router,
        ],
    )
    service_state(app).set(BROADCASTER, broadcaster)
    app.mount("/static", static_files(), name="static")
    return app
