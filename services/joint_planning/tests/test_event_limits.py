"""An operation whose event would be over the broker's limit is refused with 413 before
anything is written (before, it got a 201 and its event was parked by the relay, unsent)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.joint_planning.config import Settings
from services.joint_planning.tests.helpers import operation_body, outbox_types, staff
from shared.testing import problem_of

pytestmark = pytest.mark.integration


async def test_an_operation_whose_event_is_over_the_limit_is_413_and_nothing_is_written(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    operation_id = uuid.uuid4()
    participants = [
        {
            "kind": "mission_component",
            "component": "civil_affairs",
            "name": f"Team {i}",
            "role": "supporting",
            "responsibilities": [f"{i}-{j} " + "x" * 1_500 for j in range(8)],
        }
        for i in range(100)
    ]  # about 1.2 MB of participants, all of them in the operation's event
    response = await client.post(
        "/operations",
        json=operation_body(operation_id=str(operation_id), participants=participants),
        headers=staff(settings),
    )
    assert response.status_code == 413, response.text[:500]
    assert problem_of(response)["type"].endswith("/event-too-large")
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.scalar(
            text("SELECT count(*) FROM operations WHERE id = :id"), {"id": operation_id}
        )
    assert rows == 0
    assert await outbox_types(app, operation_id) == []
    documented = app.openapi()["paths"]["/operations"]["post"]["responses"]
    assert "application/problem+json" in documented["413"]["content"]
    assert "application/problem+json" in documented["422"]["content"]
