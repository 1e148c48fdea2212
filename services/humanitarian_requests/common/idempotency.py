"""Idempotency-Key handling for every POST.

Why the key row is inserted *before* the work, in the same transaction: the unique primary key
(scope, key) makes a concurrent duplicate wait on our uncommitted row; when we commit, its
`INSERT ... ON CONFLICT DO NOTHING` inserts nothing and it replays our stored response
instead of creating a second entity (if we roll back instead, it claims the key itself).
A retry after a lost response finds the committed row. Because the row and the created
entity commit together, there is never a key without its entity or an entity without its
key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Response
from pydantic import TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.humanitarian_requests.common.errors import (
    InvalidIdempotencyKey,
    StoredResponsePurged,
)
from services.humanitarian_requests.db.models.tables import IdempotencyKey
from shared.auth import Principal
from shared.errors import IdempotencyKeyReused

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any


def request_hash(body: Any) -> str:
    try:
        encoded = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # An integer past 64 bits (a raw batch item may hold anything): the standard
        # encoder takes it; the items themselves are refused one by one later.
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def scope_of(principal: Principal, endpoint: str) -> str:
    """Keys are per caller and endpoint: two units may pick the same key without colliding."""
    return f"{endpoint}|{principal.unit_id or principal.ngo_id or principal.subject}"


async def claim_key(
    session: AsyncSession, *, scope: str, key: str, body_hash: str
) -> Replay | None:
    """Claim `key` for this request, or return the first request's response to replay.

    Returns None when the caller should do the work (and then `store_response`). Raises
    IdempotencyKeyReused when the key was used with a different body, StoredResponsePurged
    when the first response was purged under the retention policy.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    # ON CONFLICT DO NOTHING waits for a concurrent holder of the key to commit (the primary
    # key is the unique constraint that serialises them) and then inserts nothing.
    claimed = (
        await session.execute(
            insert(IdempotencyKey)
            .values(scope=scope, key=key, request_hash=body_hash)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
            .returning(IdempotencyKey.key)
        )
    ).scalar_one_or_none()
    if claimed is not None:
        return None
    existing = await _find(session, scope, key)
    if existing is None:  # pragma: no cover - only if the key were deleted meanwhile
        raise InvalidIdempotencyKey("The Idempotency-Key could not be claimed; retry")
    if existing.request_hash != body_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body",
            idempotency_key=key,
        )
    if existing.purged_at is not None:
        raise StoredResponsePurged(
            "The first response to this Idempotency-Key was purged under the retention "
            "policy; the request was not repeated",
            idempotency_key=key,
        )
    return Replay(status=existing.response_status or 200, body=existing.response_body)


async def store_response(
    session: AsyncSession, *, scope: str, key: str, status: int, body: Any
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .values(response_status=status, response_body=body)
    )


async def _find(session: AsyncSession, scope: str, key: str) -> IdempotencyKey | None:
    return (
        await session.execute(
            select(IdempotencyKey)
            .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


ViewT = TypeVar("ViewT")
Work = Callable[[], Awaitable[tuple[int, Any]]]


async def run_idempotent(
    session: AsyncSession,
    *,
    principal: Principal,
    endpoint: str,
    key: str | None,
    body: Any,
    response: Response,
    view: TypeAdapter[ViewT],
    work: Work,
) -> ViewT:
    """Do `work` once per Idempotency-Key: the first response is stored with what it created
    (same transaction) and replayed, with `Idempotent-Replayed: true`, to every retry.

    `work` returns the status and the body; both the first answer and a replay are
    validated as `view` (the route's response model) and returned for FastAPI to check and
    serialise, so a stored answer can never leave in a shape the OpenAPI document does not
    declare. The status and the replay header go on the route's `response`."""
    if key is None:
        status, payload = await work()
        response.status_code = status
        return view.validate_python(payload)
    scope = scope_of(principal, endpoint)
    replay = await claim_key(session, scope=scope, key=key, body_hash=request_hash(body))
    if replay is not None:
        response.status_code = replay.status
        response.headers["Idempotent-Replayed"] = "true"
        return view.validate_python(replay.body)
    status, payload = await work()
    shown = view.validate_python(payload)
    stored = view.dump_python(shown, mode="json")
    await store_response(session, scope=scope, key=key, status=status, body=stored)
    response.status_code = status
    return shown
