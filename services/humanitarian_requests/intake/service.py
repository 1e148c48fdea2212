"""Store-and-forward intake: a unit back online uploads its queued reports in one batch.

Each item runs in its own SAVEPOINT (`session.begin_nested()`): a malformed or refused item
rolls back only its own writes and is reported `rejected` with the reasons, the rest of the
batch commits in the caller's one transaction. Items are idempotent by `client_id`, so
re-uploading a batch after a lost response reports `duplicate` for what already arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.aid_request.schemas import AidRequestIn
from services.humanitarian_requests.aid_request.service import submit_request
from services.humanitarian_requests.common.errors import BatchTooLarge
from services.humanitarian_requests.common.principals import actor_of, reporting_unit_of
from services.humanitarian_requests.common.text import has_nul
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.incident.schemas import IncidentIn
from services.humanitarian_requests.incident.service import report_incident
from services.humanitarian_requests.intake.schemas import (
    BatchOut,
    ItemHeader,
    ItemOutcome,
    ItemResult,
)
from shared.auth import Principal
from shared.errors import ConcordError
from shared.logging import get_logger
from shared.validation import validation_errors

log = get_logger(__name__)

_header = TypeAdapter(ItemHeader)


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
            errors=validation_errors(exc.errors()),
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


def check_batch_size(items: list[Any], settings: Settings) -> None:
    """More than the configured maximum items: 413, before anything is claimed or stored."""
    if len(items) > settings.batch_max_items:
        raise BatchTooLarge(
            f"A batch holds at most {settings.batch_max_items} items, not {len(items)}",
            max_items=settings.batch_max_items,
        )


async def store_batch(
    session: AsyncSession, principal: Principal, items: list[Any], *, settings: Settings
) -> BatchOut:
    """Store each item in its own savepoint and report every item's outcome."""
    results = []
    for index, raw in enumerate(items):
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
    return BatchOut(
        created=counts[ItemResult.created],
        duplicate=counts[ItemResult.duplicate],
        rejected=counts[ItemResult.rejected],
        results=results,
    )
