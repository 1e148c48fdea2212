"""The item vocabulary (issue 13): a reporter's item text never reaches an NGO.

Intake codes every item (the reporter's `item_code`, else the conservative match of the text,
else `other`); the NGO-readable payloads — the open listing, the offers, the NGO API views, the
EDXL-RM exchange, a delivery's refusal — name items by the code's label; staff keep the typed
text (the positive control: the same scan finds the plant there). Real Kafka and Postgres.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.humanitarian_requests.common.items import delivered_item, listed_items
from services.humanitarian_requests.common.need_to_know import withhold
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    fetch,
    ngo_state,
    point_apart,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
)
from shared.auth import Principal, Role
from shared.events.envelope import CloudEvent
from shared.events.schemas.humanitarian_requests import (
    AID_REQUEST_TOPIC,
    OFFER_TOPIC,
    OPEN_REQUEST_TOPIC,
)
from shared.testing import bearer, problem_of, read_events
from shared.vocabulary import (
    ITEMS,
    ItemCode,
    Sector,
    item_label,
    items_of,
    match_item,
    match_unit,
)

COUNTY = "SS1002"  # no other test offers shelter here


@pytest.mark.parametrize(
    ("text", "sector", "code"),
    [
        ("20L jerrycans", None, ItemCode.jerrycan),
        ("Jerry-cans", None, ItemCode.jerrycan),
        ("water", None, ItemCode.drinking_water),
        # The longer phrase wins: water trucking is not also drinking water.
        ("water trucking for the camp", None, ItemCode.water_trucking),
        ("Water purification tablets", None, ItemCode.water_purification_tablets),
        ("ORS sachets", None, ItemCode.oral_rehydration_salts),
        ("Dignity kits", None, ItemCode.dignity_kit),
        ("plastic sheeting", None, ItemCode.tarpaulin),
        ("Mosquito nets (LLINs)", None, ItemCode.mosquito_net),
        # Nothing clear: a bare "kit", a word that merely contains a phrase, a name.
        ("kits for Nyandeng", None, ItemCode.other),
        ("mattress", None, ItemCode.other),
        ("waterproof boots", None, ItemCode.other),
        ("Achol's request", None, ItemCode.other),
        # Two things named: other, unless exactly one is of the request's sector.
        ("blankets and jerrycans", None, ItemCode.other),
        ("blankets and jerrycans", Sector.shelter_nfi, ItemCode.blanket),
        ("blankets and jerrycans", Sector.health, ItemCode.other),
    ],
)
def test_the_match_is_conservative(text: str, sector: Sector | None, code: ItemCode) -> None:
    assert match_item(text, sector) is code


def test_every_code_has_a_label_and_a_sector() -> None:
    assert set(ITEMS) == set(ItemCode)
    assert len({entry.label for entry in ITEMS.values()}) == len(ITEMS)
    assert all(entry.sector is not None for code, entry in ITEMS.items() if code != "other")
    assert ITEMS[ItemCode.other].sector is None and item_label(ItemCode.other) == "Other item"
    assert ItemCode.hygiene_kit in items_of(Sector.wash)
    assert ItemCode.dignity_kit in items_of(Sector.gbv)
    # Every phrase names its own code (no phrase is shadowed by another code's).
    for code, entry in ITEMS.items():
        for phrase in entry.phrases:
            assert match_item(phrase, entry.sector) is code, phrase


@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("pieces", "piece"),
        ("Pcs", "piece"),
        ("m³", "m3"),
        ("m3/day", "m3/day"),
        ("L", "litre"),
        ("cartons", "box"),
        ("tons", "tonne"),
        ("20L jerrycans", "unit"),
        ("Nyandeng", "unit"),
    ],
)
def test_a_typed_unit_reads_as_its_canonical_spelling(typed: str, unit: str) -> None:
    assert match_unit(typed) == unit


def test_listed_items_name_labels_and_number_repeats() -> None:
    stored: list[dict[str, Any]] = [
        {"item": "kit for A", "item_code": "other", "quantity": 1, "unit": "box"},
        {"item": "tarps", "item_code": "tarpaulin", "quantity": 2, "unit": "pieces"},
        {"item": "rope for B", "item_code": "other", "quantity": 3, "unit": "m"},
        # A row from before the vocabulary: its code is the match of its text.
        {"item": "jerrycans", "quantity": 4, "unit": "pieces", "delivered_quantity": 1.0},
    ]
    listed = listed_items(stored, "shelter_nfi")
    assert [(i.item, i.item_code) for i in listed] == [
        ("Other item (1)", ItemCode.other),
        ("Tarpaulin", ItemCode.tarpaulin),
        ("Other item (2)", ItemCode.other),
        ("Jerrycan", ItemCode.jerrycan),
    ]
    assert [(i.quantity, i.unit, i.delivered_quantity) for i in listed][-1] == (4, "piece", 1.0)
    # A delivery names an item as the NGO reads it, or by the reporter's text.
    assert delivered_item(stored, "shelter_nfi", "Other item (2)") == 2
    assert delivered_item(stored, "shelter_nfi", "tarps") == 1
    assert delivered_item(stored, "shelter_nfi", "Other item") is None


def test_a_coarsened_staff_view_names_items_by_their_labels() -> None:
    """An operations centre without the grant reads a restricted request coarsened: its
    items by the labels too (the typed text may name the people it is for)."""
    view = {
        "sensitivity": "restricted",
        "sector": "gbv",
        "reporting_unit": "unit-x",
        "title": "Kits for Nyandeng",
        "cancellation_reason": "Nyandeng moved",
        "location": {"lat": 4.8, "lon": 31.6, "pcode": "SS0101", "admin1": "SS01"},
        "items": [{"item": "kits for Nyandeng", "item_code": "dignity_kit", "quantity": 5}],
    }
    ops = Principal(subject="ops-1", roles=frozenset({Role.ops_centre}))
    coarse = withhold(ops, view)
    assert coarse["details_withheld"] is True and "Nyandeng" not in str(coarse)
    assert coarse["items"] == [{"item": "Dignity kit", "item_code": "dignity_kit", "quantity": 5}]
    officer = Principal(subject="po-1", roles=frozenset({Role.protection_officer}))
    assert withhold(officer, view)["items"] == view["items"]  # the control: in full


def _mentions(texts: list[str], plant: str) -> list[str]:
    return [text for text in texts if plant in text]


def _json(events: list[CloudEvent]) -> list[str]:
    return [e.model_dump_json() for e in events]


@pytest.mark.integration
async def test_ngo_readable_payloads_carry_labels_never_typed_item_text(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    plant = f"Achol-{uuid.uuid4().hex[:10]}"
    ngo = ngo_state(name="Shelter partner", sector=Sector.shelter_nfi, pcodes=[COUNTY])
    await publish_registry_events(kafka_bootstrap, [ngo])
    await wait_for_replica(database_url, ngo.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_ngo = bearer(settings, "ngo", ngo_id=ngo.ngo_id)
    as_ops = bearer(settings, "ops_centre")

    # Internal (listed for NGOs), the plant only in the items' typed text.
    typed = [
        {"item": f"jerrycans for {plant}'s family", "quantity": 20, "unit": "pieces"},
        {"item": f"what {plant} showed us", "item_code": "tarpaulin", "quantity": 5, "unit": "p"},
        {"item": f"cooking fuel {plant} asked for", "quantity": 2, "unit": "boxes"},
        {"item": f"a bag for {plant}", "quantity": 1, "unit": "boxes"},
    ]
    request = await submit_triaged(
        client,
        aid_request_body(
            sector=Sector.shelter_nfi,
            location=point_apart(COUNTY, 0),
            title="Shelter for displaced families",
            items=typed,
        ),
        as_unit,
    )
    request_id, offer_id = request["request_id"], request["current_offer_id"]
    assert request["sensitivity"] == "internal"
    assert request["offered_ngo_id"] == str(ngo.ngo_id), request

    # Staff (and the reporter) read the typed text, with the codes intake gave it.
    staff = await client.get(f"/aid-requests/{request_id}", headers=as_ops)
    assert [i["item"] for i in staff.json()["items"]] == [i["item"] for i in typed]
    # Derived, explicit, derived ("fuel"), and nothing clear ("a bag"): other.
    assert [i["item_code"] for i in staff.json()["items"]] == [
        "jerrycan",
        "tarpaulin",
        "fuel",
        "other",
    ]

    expected = [
        # Units by their canonical spelling; one the vocabulary does not spell is "unit".
        {"item": "Jerrycan", "item_code": "jerrycan", "quantity": 20, "unit": "piece"},
        {"item": "Tarpaulin", "item_code": "tarpaulin", "quantity": 5, "unit": "unit"},
        {"item": "Fuel", "item_code": "fuel", "quantity": 2, "unit": "box"},
        {"item": "Other item", "item_code": "other", "quantity": 1, "unit": "box"},
    ]
    expected = [{**i, "delivered_quantity": 0.0} for i in expected]
    detail = await client.get(f"/aid-requests/{request_id}", headers=as_ngo)
    assert detail.status_code == 200 and detail.json()["items"] == expected
    listed = await client.get("/aid-requests", headers=as_ngo)
    mine = [r for r in listed.json()["items"] if r["request_id"] == request_id]
    assert mine and mine[0]["items"] == expected
    offer = await client.get(f"/offers/{offer_id}", headers=as_ngo)
    assert offer.status_code == 200 and offer.json()["request"]["items"] == expected
    edxl = await client.get(f"/aid-requests/{request_id}/edxl-rm", headers=as_ngo)
    assert edxl.status_code == 200 and ">Jerrycan</" in edxl.text, edxl.text
    ngo_responses = [detail, listed, offer, await client.get("/offers", headers=as_ngo), edxl]

    # The NGO accepts, starts and delivers, naming the items as it reads them.
    accepted = await client.post(f"/offers/{offer_id}/accept", headers=as_ngo)
    assert accepted.status_code == 200, accepted.text
    started = await client.post(f"/aid-requests/{request_id}/start", headers=as_ngo)
    assert started.status_code == 200, started.text
    refused = await client.post(
        f"/aid-requests/{request_id}/deliveries",
        json={"items": [{"item": "Other item (3)", "delivered_quantity": 1}]},
        headers=as_ngo,
    )
    assert refused.status_code == 422
    problem = problem_of(refused)
    assert problem["type"].endswith("/unknown-delivery-items")
    assert problem["allowed"] == sorted(["Jerrycan", "Tarpaulin", "Fuel", "Other item"])
    delivered = await client.post(
        f"/aid-requests/{request_id}/deliveries",
        json={
            "items": [
                {"item": "Jerrycan", "delivered_quantity": 20},
                {"item": "Other item", "delivered_quantity": 1},
            ]
        },
        headers=as_ngo,
    )
    assert delivered.status_code == 200, delivered.text
    assert [i["delivered_quantity"] for i in delivered.json()["items"]] == [20, 0, 0, 1]
    ngo_responses += [accepted, started, refused, delivered]
    assert _mentions([r.text for r in ngo_responses], plant) == []
    after = (await client.get(f"/aid-requests/{request_id}", headers=as_ops)).json()
    assert [i["delivered_quantity"] for i in after["items"]] == [20, 0, 0, 1]
    assert after["items"][0]["item"] == typed[0]["item"]

    # The NGO-readable topic (opened, then closed on the accept) and the offers carry the
    # labels; the internal topic carries the typed text (the scan can find it).
    listing = await read_events(
        kafka_bootstrap,
        [OPEN_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(e.type.endswith("open_request.closed.v1") for e in found),
    )
    assert all(e.data["items"][0]["item"] == "Jerrycan" for e in listing)
    offers = await read_events(
        kafka_bootstrap,
        [OFFER_TOPIC.name],
        where=lambda e: e.subject == offer_id,
        until=lambda found: any(e.type.endswith("offer.accepted.v1") for e in found),
    )
    assert _mentions(_json(listing) + _json(offers), plant) == []
    internal = await read_events(
        kafka_bootstrap,
        [AID_REQUEST_TOPIC.name],
        where=lambda e: e.subject == request_id,
        until=lambda found: any(e.type.endswith("partially_fulfilled.v1") for e in found),
    )
    assert len(_mentions(_json(internal), plant)) == len(internal)
    assert internal[0].data["items"][1] == {**typed[1], "delivered_quantity": 0.0}
    stored = await fetch(
        database_url,
        "SELECT items FROM humanitarian_requests.aid_requests WHERE id = :id",
        id=request_id,
    )
    assert [i["item_code"] for i in stored[0][0]] == ["jerrycan", "tarpaulin", "fuel", "other"]


@pytest.mark.integration
async def test_an_unknown_item_code_is_refused_and_documented(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    unit = unique_unit()
    as_unit = bearer(settings, "field_unit", unit_id=unit)
    bad_items = [{"item": "water", "item_code": "bottled_water", "quantity": 1, "unit": "l"}]
    refused = await client.post(
        "/aid-requests", json=aid_request_body(items=bad_items), headers=as_unit
    )
    assert refused.status_code == 422
    problem = problem_of(refused)
    [error] = problem["errors"]
    assert error["location"][-1] == "item_code"
    assert "jerrycan" in str(error["allowed"])
    batch = await client.post(
        "/reports/batch",
        json={
            "items": [
                {
                    **aid_request_body(items=bad_items, client_id="queued-1"),
                    "kind": "aid_request",
                    "observed_at": "2026-12-01T08:00:00Z",
                }
            ]
        },
        headers=as_unit,
    )
    assert batch.status_code == 200, batch.text
    [outcome] = batch.json()["results"]
    assert outcome["result"] == "rejected" and "item_code" in str(outcome["errors"])
    sql = "SELECT count(*) FROM humanitarian_requests.aid_requests WHERE reporting_unit = :u"
    assert (await fetch(database_url, sql, u=unit))[0][0] == 0

    openapi = (await client.get("/openapi.json")).json()
    assert "422" in openapi["paths"]["/aid-requests"]["post"]["responses"]
    item_in = openapi["components"]["schemas"]["ItemIn"]["properties"]["item_code"]
    assert "ItemCode" in str(item_in)
    assert set(openapi["components"]["schemas"]["ItemCode"]["enum"]) == set(ItemCode)
