"""Playing the NGOs: answering offers and delivering, one step at a time from the current state.

Each step reads the request first and acts only on what it finds, so replaying a plan (a
second seed, a retried simulator step) never repeats a transition: a request already past a
step is simply left alone.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from deploy.demo.client import REQUESTS, ConcordClient
from shared.auth import Role

# A transition that lost a race (the offer expired, someone else answered) is a 409: the
# next read shows what happened instead.
RACE = (409,)


async def read_request(client: ConcordClient, request_id: uuid.UUID) -> dict[str, Any]:
    state: dict[str, Any] = await client.get_json(REQUESTS, f"/aid-requests/{request_id}")
    return state


async def read_triaged(
    client: ConcordClient, request_id: uuid.UUID, *, timeout: float = 60.0
) -> dict[str, Any]:
    """The request once the requests service's triage worker has triaged it (a 201 is
    `submitted`; its duplicate link and first offer follow within moments). A request still
    waiting after `timeout` is returned as it is: the caller leaves it alone."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await read_request(client, request_id)
        if state["status"] != "submitted" or asyncio.get_running_loop().time() > deadline:
            return state
        await asyncio.sleep(0.1)


async def answer_offer(
    client: ConcordClient, state: dict[str, Any], *, accept: bool, reason: str | None = None
) -> bool:
    """Accept or decline the request's current offer as the NGO holding it."""
    offer_id, ngo_id = state.get("current_offer_id"), state.get("offered_ngo_id")
    if offer_id is None or ngo_id is None:
        return False
    verb = "accept" if accept else "decline"
    response = await client.call(
        REQUESTS,
        "POST",
        f"/offers/{offer_id}/{verb}",
        role=Role.ngo,
        ngo_id=uuid.UUID(ngo_id),
        json=None if accept else {"reason": reason or "No capacity in that area this week"},
        headers={"Idempotency-Key": f"{verb}-{offer_id}"},
        allow=RACE,
    )
    return response.status_code == 200


async def start_delivery(client: ConcordClient, state: dict[str, Any]) -> bool:
    response = await client.call(
        REQUESTS,
        "POST",
        f"/aid-requests/{state['request_id']}/start",
        role=Role.ngo,
        ngo_id=uuid.UUID(state["assigned_ngo_id"]),
        headers={"Idempotency-Key": f"start-{state['request_id']}"},
        allow=RACE,
    )
    return response.status_code == 200


async def deliver(client: ConcordClient, state: dict[str, Any], *, fraction: float = 1.0) -> bool:
    """Record a delivery of `fraction` of what is still outstanding; 1.0 finishes it."""
    items = [
        {
            "item": item["item"],
            "delivered_quantity": max(
                1.0, round((item["quantity"] - item.get("delivered_quantity", 0)) * fraction, 1)
            ),
        }
        for item in state.get("items", [])
        if item["quantity"] > item.get("delivered_quantity", 0)
    ]
    response = await client.call(
        REQUESTS,
        "POST",
        f"/aid-requests/{state['request_id']}/deliveries",
        role=Role.ngo,
        ngo_id=uuid.UUID(state["assigned_ngo_id"]),
        json={"items": items, "final": fraction >= 1.0},
        headers={"Idempotency-Key": f"deliver-{state['request_id']}-{state['version']}"},
        allow=RACE,
    )
    return response.status_code == 200


async def drive_request(client: ConcordClient, request_id: uuid.UUID, outcome: str) -> int:
    """Move a request towards `outcome` (fulfilled, in_progress, accepted, declined_once —
    declined by the first NGO, then accepted by the next — or pending); returns steps taken."""
    steps = 0
    for _ in range(6):
        state = await read_triaged(client, request_id)
        status = state["status"]
        if status == "offered":
            if outcome == "pending":
                break
            decline = outcome == "declined_once" and state.get("offer_round", 1) <= 1
            done = await answer_offer(client, state, accept=not decline)
        elif status == "accepted" and outcome in ("in_progress", "fulfilled"):
            done = await start_delivery(client, state)
        elif status == "in_progress" and outcome == "fulfilled":
            done = await deliver(client, state)
        else:
            break
        steps += done
        if not done:
            break
    return steps
