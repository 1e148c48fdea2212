"""HTTP routes of webhooks: an NGO's endpoints, their deliveries, re-drive and replay."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.ngo_registry.common.deps import AppSettings
from services.ngo_registry.webhook import service
from services.ngo_registry.webhook.schemas import (
    DeliveryPage,
    ReplayRequest,
    Requeued,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookWithSecret,
)
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import MAX_OFFSET, DbSession
from shared.events.schemas.ngo_registry import DeliveryStatus

router = APIRouter(tags=["webhooks"])

# The NGO manages its own endpoints (an administrator may act for it); the operations centre
# reads every NGO's and re-drives their dead deliveries, but never sees or makes a secret.
Owner = Annotated[Principal, policy(Role.admin, Role.ngo, tenant=Tenant.own_ngo)]
OwnerOrOps = Annotated[
    Principal, policy(Role.ops_centre, Role.admin, Role.ngo, tenant=Tenant.own_ngo)
]


@router.post("/ngos/{ngo_id}/webhooks", status_code=201, response_model=WebhookWithSecret)
async def register_webhook(
    ngo_id: uuid.UUID,
    body: WebhookCreate,
    session: DbSession,
    principal: Owner,
    settings: AppSettings,
    response: Response,
) -> WebhookWithSecret:
    """Register an HTTPS endpoint and what it receives (event types, sectors, P-codes).

    The answer holds the signing secret, shown this once. A URL that is not https or that
    resolves to a loopback, private, link-local or metadata address is a 422; an event type
    no webhook can receive is a 422 listing those it can; an NGO has at most 10 active
    webhooks (409 past that).
    """
    view = await service.register(
        session, principal, ngo_id, body, allow_loopback=settings.webhook_allow_loopback
    )
    response.headers["Location"] = f"/webhooks/{view.webhook_id}"
    return view


@router.get("/ngos/{ngo_id}/webhooks", response_model=WebhookList)
async def list_webhooks(
    ngo_id: uuid.UUID, session: DbSession, principal: OwnerOrOps
) -> WebhookList:
    """The NGO's webhooks, active and disabled (never their secrets)."""
    return await service.list_for_ngo(session, principal, ngo_id)


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(
    webhook_id: uuid.UUID, session: DbSession, principal: OwnerOrOps
) -> WebhookOut:
    """One webhook. Another NGO's is a 404."""
    return service.view_of(await service.load_for(session, principal, webhook_id))


@router.delete("/webhooks/{webhook_id}", response_model=WebhookOut)
async def disable_webhook(
    webhook_id: uuid.UUID, session: DbSession, principal: Owner
) -> WebhookOut:
    """Disable the webhook: nothing more is sent to it. Its deliveries stay listed."""
    return await service.disable(session, principal, webhook_id)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
async def rotate_webhook_secret(
    webhook_id: uuid.UUID, session: DbSession, principal: Owner, settings: AppSettings
) -> WebhookWithSecret:
    """Replace the signing secret; the new one is in the answer, shown this once, and signs
    every delivery from now on. For a day (`NGO_REGISTRY_WEBHOOK_SECRET_OVERLAP`) the old
    one signs too, as a second signature in `webhook-signature`. A disabled webhook is a 409.
    """
    overlap = timedelta(seconds=settings.webhook_secret_overlap_seconds)
    return await service.rotate_secret(session, principal, webhook_id, overlap=overlap)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: DbSession,
    principal: OwnerOrOps,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DeliveryPage:
    """Deliveries in event order with every attempt (status code, error, duration);
    `status=dead` is the dead-letter list."""
    return await service.list_deliveries(
        session, principal, webhook_id, status=status, limit=limit, offset=offset
    )


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redrive", response_model=Requeued)
async def redrive_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: DbSession, principal: OwnerOrOps
) -> Requeued:
    """Queue one dead delivery again with a fresh retry budget (409 if it is not dead)."""
    return await service.redrive_one(session, principal, webhook_id, delivery_id)


@router.post("/webhooks/{webhook_id}/redrive", response_model=Requeued)
async def redrive_dead(
    webhook_id: uuid.UUID, session: DbSession, principal: OwnerOrOps
) -> Requeued:
    """Queue every dead delivery again, each with a fresh retry budget, in event order."""
    return await service.redrive_all(session, principal, webhook_id)


@router.post("/webhooks/{webhook_id}/replay", response_model=Requeued)
async def replay_webhook(
    webhook_id: uuid.UUID, body: ReplayRequest, session: DbSession, principal: Owner
) -> Requeued:
    """Send again every stored event since `from` that matches the filter, in order, as new
    deliveries (new `webhook-id`s; the event's own `id` is in the body)."""
    return await service.replay(session, principal, webhook_id, body.replay_from)
