"""Matching: the replica from registry events, eligibility, expiry, escalation, NGO views."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.db.models.tables import AidRequest, NgoReplica
from services.humanitarian_requests.matching.ranking import TrackRecord, rank
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    eligibility_changed,
    fetch,
    ngo_state,
    point_apart,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
    wait_until_processed,
)
from shared.events.schemas.ngo_registry import NgoState, NgoUpdated, VettingStatus
from shared.testing import bearer
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


async def test_replica_ignores_stale_versions_and_follows_eligibility(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    county = "SS0103"
    v1 = ngo_state(name="Replica v1", sector=Sector.education, pcodes=[county])
    v3 = ngo_state(
        ngo_id=v1.ngo_id,
        name="Replica v3",
        sector=Sector.education,
        pcodes=[county],
        version=3,
        model=NgoUpdated,
    )
    stale = ngo_state(
        ngo_id=v1.ngo_id,
        name="Replica v2 (late)",
        sector=Sector.education,
        pcodes=[county],
        version=2,
        vetting=VettingStatus.suspended,
        eligible=False,
        model=NgoUpdated,
    )
    event_ids = await publish_registry_events(kafka_bootstrap, [v1, v3, stale])
    await wait_until_processed(database_url, event_ids[-1])
    row = (
        await fetch(
            database_url,
            "SELECT name, version, eligible FROM humanitarian_requests.ngo_replica"
            " WHERE ngo_id = :i",
            i=v1.ngo_id,
        )
    )[0]
    assert tuple(row) == ("Replica v3", 3, True)

    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    body = aid_request_body(sector=Sector.education, location=point_apart(county, 0))
    offered = await submit_triaged(client, body, as_unit)
    assert offered["offered_ngo_id"] == str(v1.ngo_id)

    revoked = eligibility_changed(v3, eligible=False, version=4)
    await publish_registry_events(kafka_bootstrap, [revoked])
    await wait_for_replica(database_url, v1.ngo_id, 4)
    escalated = await submit_triaged(
        client,
        # Beyond the duplicate radius of the first: linked to it, it would not escalate.
        aid_request_body(sector=Sector.education, location=point_apart(county, 1)),
        as_unit,
    )
    assert escalated["duplicate_of"] is None
    assert escalated["status"] == "escalated"
    assert escalated["escalation_reason"] == "no eligible NGO"


async def test_duplicates_cluster_and_ops_can_override(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ops = bearer(settings, "ops_centre")
    spot = {"lat": 9.1234, "lon": 29.4321, "pcode": None}
    body = aid_request_body(sector=Sector.cccm, location=spot)
    # Triaged before the second is submitted: the duplicate search only sees triaged requests.
    first = await submit_triaged(client, body, as_unit)
    near = {**spot, "lat": 9.1334}  # about 1 km north
    second = await submit_triaged(
        client, aid_request_body(sector=Sector.cccm, location=near), as_unit
    )
    assert second["duplicate_of"] == first["request_id"]
    assert second["cluster_id"] == first["cluster_id"] == first["request_id"]
    assert second["status"] == "triaged"  # one cluster, one offer

    unlinked = await client.post(
        f"/aid-requests/{second['request_id']}/link",
        json={"duplicate_of": None, "reason": "different camp"},
        headers=as_ops,
    )
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["duplicate_of"] is None
    assert unlinked.json()["status"] == "escalated"  # matched: nobody holds cccm grants there

    self_link = await client.post(
        f"/aid-requests/{second['request_id']}/link",
        json={"duplicate_of": second["request_id"], "reason": "x"},
        headers=as_ops,
    )
    assert self_link.status_code == 422

    override = await client.post(
        f"/aid-requests/{first['request_id']}/priority",
        json={"priority_score": 97.5, "reason": "cholera risk"},
        headers=as_ops,
    )
    assert override.status_code == 200
    assert override.json()["priority_overridden"] is True
    assert override.json()["priority_reason"] == "cholera risk"
    out_of_range = await client.post(
        f"/aid-requests/{first['request_id']}/priority",
        json={"priority_score": 150, "reason": "x"},
        headers=as_ops,
    )
    assert out_of_range.status_code == 422


async def test_ngo_sees_open_requests_in_its_scope_coarsened(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    county = "SS0106"
    ngo = ngo_state(name="Viewer", sector=Sector.early_recovery, pcodes=["SS01"])
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ngo = bearer(settings, "ngo", ngo_id=ngo.ngo_id)
    as_other_ngo = bearer(settings, "ngo", ngo_id=uuid.uuid4())
    open_one = await submit_triaged(
        client,
        aid_request_body(sector=Sector.early_recovery, pcode=county, urgency="routine"),
        as_unit,
    )
    secret = await submit_triaged(
        client,
        aid_request_body(
            sector=Sector.early_recovery,
            pcode=county,
            sensitivity="restricted",
            location={"lat": 3.2 + 1.1, "lon": 30.1, "pcode": "SS0104"},
        ),
        as_unit,
    )

    listed = (await client.get("/aid-requests", headers=as_ngo)).json()["items"]
    ids = {r["request_id"] for r in listed}
    assert secret["request_id"] not in ids
    mine = [r for r in listed if r["request_id"] in (open_one["request_id"],)]
    # The viewer holds a state-wide grant, so it is the one offered: visible either way.
    assert mine and all(
        "lat" not in r and "description" not in r and "contact" not in r for r in mine
    )
    assert all(r["pcode"].startswith("SS01") for r in listed)
    hidden = await client.get(f"/aid-requests/{secret['request_id']}", headers=as_other_ngo)
    assert hidden.status_code == 404
    # The viewer is the only early-recovery NGO there, so the restricted request was offered
    # to it: it sees that offer's request with details withheld and only the state.
    assert secret["offered_ngo_id"] == str(ngo.ngo_id)
    offered_secret = await client.get(f"/aid-requests/{secret['request_id']}", headers=as_ngo)
    assert offered_secret.status_code == 200
    assert offered_secret.json()["details_withheld"] is True
    assert offered_secret.json()["pcode"] == "SS01"
    assert "description" not in offered_secret.json()


def test_ranking_prefers_fit_proximity_and_low_load() -> None:
    def replica(state: NgoState) -> NgoReplica:
        data = state.model_dump(mode="json")
        data["ngo_id"] = state.ngo_id
        return NgoReplica(
            **{
                k: data[k]
                for k in (
                    "ngo_id",
                    "name",
                    "sectors",
                    "capacities",
                    "operating_areas",
                    "operating_points",
                    "vetting_status",
                    "eligibility",
                    "eligible",
                    "version",
                )
            }
        )

    close = ngo_state(name="close", sector=Sector.health, pcodes=["SS0101"])
    far = ngo_state(name="far", sector=Sector.health, pcodes=["SS0101"], near="SS0301")
    busy = ngo_state(name="busy", sector=Sector.health, pcodes=["SS0101"])
    suspended = ngo_state(
        name="suspended", sector=Sector.health, pcodes=["SS0101"], vetting=VettingStatus.suspended
    )
    request = AidRequest(sector="health", pcode="SS0101", lat=4.85, lon=31.6)
    ranked = rank(
        request,
        [replica(n) for n in (far, busy, close, suspended)],
        open_load={busy.ngo_id: 6},
        records={close.ngo_id: TrackRecord(accepted=3, timely=3)},
        today=date.today(),
    )
    # Proximity and a good record put "close" first; a saturated NGO falls below an idle one
    # farther away; the suspended one is not a candidate at all.
    assert [c.name for c in ranked] == ["close", "far", "busy"]
    assert {f.factor for f in ranked[0].factors} == {
        "sector_fit",
        "area_coverage",
        "distance",
        "spare_capacity",
        "open_load",
        "track_record",
    }
