"""What an NGO may receive by webhook, and whether a subscription's filter matches it.

Entitled: the registry's NGO topic (the public directory), the requests' open-request topic
(already coarsened and never restricted) and, of the requests' offer topic, only the offers
addressed to the NGO itself. Each payload is the event's data parsed through its catalog
model and dumped again, so a field that is not in the NGO-readable contract never leaves.
An NGO event from before the bases were coarsened (exact points, no grid) is coarsened here,
so neither a replay nor an old stored event delivers an exact base.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from services.ngo_registry.ngo.coarsening import GRID_DEGREES, coarse_points
from shared.events.schemas import CATALOG
from shared.events.schemas.humanitarian_requests import (
    OFFER_TOPIC,
    OPEN_REQUEST_TOPIC,
    OfferState,
    OpenRequestSummary,
)
from shared.events.schemas.ngo_registry import NGO_TOPIC, NgoState
from shared.gazetteer import gazetteer

ENTITLED_TOPICS = (NGO_TOPIC, OPEN_REQUEST_TOPIC, OFFER_TOPIC)


def deliverable_types() -> list[str]:
    """Every event type a webhook may ask for."""
    names = {topic.name for topic in ENTITLED_TOPICS}
    return sorted(entry.name for entry in CATALOG if entry.topic.name in names)


@dataclass(frozen=True)
class Entitled:
    """An event as webhooks see it: its redacted payload and what filters look at."""

    payload: dict[str, Any]
    sectors: list[str]
    pcodes: list[str]
    target_ngo_id: uuid.UUID | None  # set: only this NGO may receive it


def entitled(data: BaseModel) -> Entitled:
    if isinstance(data, NgoState) and data.operating_points_grid_degrees is None:
        data = data.model_copy(
            update={
                "operating_points": coarse_points(data.operating_points),
                "operating_points_grid_degrees": GRID_DEGREES,
            }
        )
    payload = data.model_dump(mode="json")
    if isinstance(data, OfferState):
        request = data.request
        return Entitled(payload, [request.sector.value], _areas(request), data.ngo_id)
    if isinstance(data, OpenRequestSummary):
        return Entitled(payload, [data.sector.value], _areas(data), None)
    if isinstance(data, NgoState):
        return Entitled(payload, [s.value for s in data.sectors], list(data.operating_areas), None)
    # A retraction (a tombstone) names no sector or area: it goes to every subscription
    # of its type, since any of them may hold the listing it withdraws.
    return Entitled(payload, [], [], None)


def _areas(request: OpenRequestSummary) -> list[str]:
    return [p for p in dict.fromkeys([request.pcode, request.admin1]) if p]


def area_matches(wanted: list[str], event_areas: list[str]) -> bool:
    """An event matches an area filter when one of its areas is a wanted area, lies inside
    one, or contains one (a request known only by its state reaches a county's filter)."""
    if not wanted or not event_areas:
        return True
    g = gazetteer()
    for area in event_areas:
        above = set(g.ancestors(area)) | {area}
        for want in wanted:
            if want in above or area in g.ancestors(want):
                return True
    return False


def matches(
    *,
    ngo_id: uuid.UUID,
    event_types: list[str],
    sectors: list[str],
    pcodes: list[str],
    event_type: str,
    event: Entitled,
) -> bool:
    if event.target_ngo_id is not None and event.target_ngo_id != ngo_id:
        return False
    if event_types and event_type not in event_types:
        return False
    if sectors and event.sectors and not set(sectors) & set(event.sectors):
        return False
    return area_matches(pcodes, event.pcodes)
