"""Store-and-forward intake: a unit back online uploads its queued reports in one batch.

Each item runs in its own SAVEPOINT (`session.begin_nested()`): a malformed or refused item
rolls back only its own writes and is reported `rejected` with the reasons, the rest of the
batch commits in the request's one transaction. Items are idempotent by `client_id`, so
re-uploading a batch after a lost response reports `duplicate` for what already arrived.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request.schemas import AidRequestIn
from services.humanitarian_requests.aid_request.service import submit_request
from services.humanitarian_requests.common.deps import AppSettings
from services.humanitarian_requests.common.idempotency import run_idempotent
from services.humanitarian_requests.common.principals import actor_of, reporting_unit_of
from services.humanitarian_requests.common.text import has_nul
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.incident.schemas import IncidentIn
from services.humanitarian_requests.incident.service import report_incident
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import CurrentPrincipal, DbSession
from shared.errors import ConcordError, PayloadTooLarge
from shared.logging import get_logger
from shared.ratelimit import rate_limit

log = get_logger(__name__)

router = APIRouter(prefix="/reports", tags=["store-and-forward"])


class ItemResult(StrEnum):
    created = "created"
    duplicate = "duplicate"
    rejected = "rejected"


class ItemHeader(BaseModel):
    """What every queued item must carry, whatever its kind."""

    model_config = ConfigDict(extra="allow")
    kind: Literal["aid_request", "incident"]
    client_id: str = Field(min_length=1, max_length=200)
    observed_at: datetime


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Any] = Field(
        # A hard ceiling for the schema; `HUMANITARIAN_REQUESTS_BATCH_MAX_ITEMS` (1000) is the
        # operative bound, answered with 413.
        max_length=100_000,
        description="Queued reports, each with `kind`, "
        "`client_id` and `observed_at` plus the report fields",
    )


class ItemOutcome(BaseModel):
    index: int
    client_id: str | None
    kind: str | None
    result: ItemResult
    id: uuid.UUID | None = None
    status: str | None = None
    errors: list[dict[str, Any]] = []


class BatchOut(BaseModel):
    created: int
    duplicate: int
    rejected: int
    results: list[ItemOutcome]


_header = TypeAdapter(ItemHeader)


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": [str(p) for p in e.get("loc", ())],
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]


async def _store_item(
    session: AsyncSession,
    index: int,
    raw: dict[str, Any],
    *,
    principal: Principal,
    settings: Settings,
) -> ItemOutcome:
    # Echoed back in the stored (JSONB) response: never echo what Postgres cannot store.
    client_id = raw.get("client_id")
    client_id = client_id if isinstance(client_id, str) and not has_nul(client_id) else None
    kind = (
        raw.get("kind") if isinstance(raw.get("kind"), str) and not has_nul(raw["kind"]) else None
    )
    try:
        header = _header.validate_python(raw)
        fields = {k: v for k, v in raw.items() if k != "kind"}
        now = datetime.now(UTC)
        unit, actor = reporting_unit_of(principal), actor_of(principal)
        async with session.begin_nested():
            if header.kind == "aid_request":
                intake = await submit_request(
                    session,
                    AidRequestIn.model_validate(fields),
                    reporting_unit=unit,
                    actor=actor,
                    settings=settings,
                    now=now,
                )
                entity_id, status, created = (
                    intake.request.id,
                    intake.request.status,
                    intake.created,
                )
            else:
                incident = await report_incident(
                    session,
                    IncidentIn.model_validate(fields),
                    reporting_unit=unit,
                    actor=actor,
                    settings=settings,
                    now=now,
                )
                entity_id, status, created = incident.incident.id, None, incident.created
    except ValidationError as exc:
        return ItemOutcome(
            index=index,
            client_id=client_id,
            kind=kind,
            result=ItemResult.rejected,
            errors=_errors(exc),
        )
    except ConcordError as exc:
        return ItemOutcome(
            index=index,
            client_id=client_id,
            kind=kind,
            result=ItemResult.rejected,
            errors=[{"message": exc.detail, "type": exc.problem_type, **exc.extensions}],
        )
    result = ItemResult.created if created else ItemResult.duplicate
    return ItemOutcome(
        index=index, client_id=client_id, kind=kind, result=result, id=entity_id, status=status
    )


@router.post(
    "/batch",
    response_model=BatchOut,
    dependencies=[
        policy(Role.field_unit, Role.ops_centre, Role.admin, tenant=Tenant.own_unit),
        rate_limit("intake"),
    ],
)
async def upload_batch(
    body: BatchIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Upload queued reports (aid requests and incidents) in one go. Each item gets its own
    result — created, duplicate (its `client_id` already arrived) or rejected with reasons —
    and one bad item never sinks the batch. More than the configured maximum items → 413."""
    if len(body.items) > settings.batch_max_items:
        raise PayloadTooLarge(
            f"A batch holds at most {settings.batch_max_items} items, not {len(body.items)}",
            max_items=settings.batch_max_items,
        )

    async def work() -> tuple[int, Any]:
        results = []
        for index, raw in enumerate(body.items):
            if not isinstance(raw, dict):
                results.append(
                    ItemOutcome(
                        index=index,
                        client_id=None,
                        kind=None,
                        result=ItemResult.rejected,
                        errors=[{"message": "an item must be an object"}],
                    )
                )
                continue
            results.append(
                await _store_item(session, index, raw, principal=principal, settings=settings)
            )
        counts = {r: sum(1 for o in results if o.result == r) for r in ItemResult}
        log.info("intake.batch", items=len(results), **{k.value: v for k, v in counts.items()})
        out = BatchOut(
            created=counts[ItemResult.created],
            duplicate=counts[ItemResult.duplicate],
            rejected=counts[ItemResult.rejected],
            results=results,
        )
        return 200, out.model_dump(mode="json")

    return await run_idempotent(
        session,
        principal=principal,
        endpoint="reports/batch",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        work=work,
    )
