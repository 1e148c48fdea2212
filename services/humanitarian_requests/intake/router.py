"""HTTP route of store-and-forward intake: a unit back online uploads its queued reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import TypeAdapter

from services.humanitarian_requests.common.deps import AppSettings, IdempotencyKey
from services.humanitarian_requests.common.errors import IDEMPOTENCY_ERRORS, BatchTooLarge
from services.humanitarian_requests.common.idempotency import run_idempotent
from services.humanitarian_requests.intake import service
from services.humanitarian_requests.intake.schemas import BatchIn, BatchOut
from shared.auth import Role, Tenant, policy
from shared.deps import CurrentPrincipal, DbSession
from shared.ratelimit import rate_limit
from shared.web import error_responses

router = APIRouter(prefix="/reports", tags=["store-and-forward"])
BATCH = TypeAdapter(BatchOut)


@router.post(
    "/batch",
    response_model=BatchOut,
    dependencies=[
        policy(Role.field_unit, Role.ops_centre, Role.admin, tenant=Tenant.own_unit),
        rate_limit("intake"),
    ],
    responses=error_responses(BatchTooLarge, *IDEMPOTENCY_ERRORS),
)
async def upload_batch(
    body: BatchIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> BatchOut:
    """Upload queued reports (aid requests and incidents) in one go. Each item gets its own
    result — created, duplicate (its `client_id` already arrived) or rejected with reasons —
    and one bad item never sinks the batch. More than the configured maximum items → 413."""
    service.check_batch_size(body.items, settings)

    async def work() -> tuple[int, Any]:
        return 200, await service.store_batch(session, principal, body.items, settings=settings)

    return await run_idempotent(
        session,
        principal=principal,
        endpoint="reports/batch",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        response=response,
        view=BATCH,
        work=work,
    )
