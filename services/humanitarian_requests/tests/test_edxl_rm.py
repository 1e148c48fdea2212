"""The offer → accept → deliver exchange as EDXL-RM 1.0: valid messages, chained ids, access.

The schema is Concord's structural XSD of the EDXL-RM 1.0 elements it emits
(`services/humanitarian_requests/edxl/xsd/`): OASIS's own file imports CIQ and GML and
cannot be bundled (docs/humanitarian_requests.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from xml.etree import ElementTree

import httpx
import pytest
import xmlschema

from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.edxl.builder import (
    EXCHANGE_XSD,
    MSG,
    RM,
    Delivery,
    exchange_document,
)
from services.humanitarian_requests.tests.helpers import (
    aid_request_body,
    ngo_state,
    publish_registry_events,
    submit_triaged,
    unique_unit,
    wait_for_replica,
)
from shared.events.schemas.humanitarian_requests import (
    Fulfilment,
    OfferState,
    OfferStatus,
    OpenRequestSummary,
    RequestItem,
    RequestStatus,
)
from shared.testing import bearer, problem_of
from shared.vocabulary import Sector, Urgency

COUNTY = "SS1007"  # no other test offers logistics here
NS = {"m": MSG, "rm": RM}
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(EXCHANGE_XSD))


def summary() -> OpenRequestSummary:
    return OpenRequestSummary(
        request_id=uuid.uuid4(),
        sector=Sector.logistics,
        urgency=Urgency.urgent,
        pcode=COUNTY,
        admin1="SS10",
        items=[
            RequestItem(item="trucks", quantity=3, unit="vehicles", delivered_quantity=3),
            RequestItem(item="fuel", quantity=250.5, unit="litres", delivered_quantity=200),
        ],
        affected_total=900,
        priority_score=71.5,
        submitted_at=T0,
        details_withheld=False,
    )


def offer(
    request: OpenRequestSummary, status: OfferStatus, *, round_: int, reason: str | None = None
) -> OfferState:
    offered = T0 + timedelta(minutes=10 * round_)
    return OfferState(
        offer_id=uuid.uuid4(),
        request_id=request.request_id,
        ngo_id=uuid.uuid4(),
        status=status,
        round=round_,
        rank=round_,
        score=0.9,
        explanation=[],
        request=request,
        offered_at=offered,
        respond_by=offered + timedelta(hours=1),
        responded_at=None if status is OfferStatus.pending else offered + timedelta(minutes=5),
        decline_reason=reason,
        updated_at=offered,
        version=2,
    )


def messages(document: bytes) -> list[ElementTree.Element]:
    return list(ElementTree.fromstring(document))  # noqa: S314 (our own output)


def text(message: ElementTree.Element, path: str) -> str | None:
    return message.findtext(path, namespaces=NS)


def test_the_whole_exchange_validates_and_chains() -> None:
    request = summary()
    declined = offer(request, OfferStatus.declined, round_=1, reason="no trucks free")
    accepted = offer(request, OfferStatus.accepted, round_=2)
    delivery = Delivery(RequestStatus.fulfilled, Fulfilment.partial, T0, T0 + timedelta(days=1))
    document = exchange_document(request, [accepted, declined], delivery, generated_at=T0)
    schema().validate(document)

    sent = messages(document)
    kinds = [m.tag.split("}")[1] for m in sent]
    assert kinds == [
        "RequestResource",
        "ResponseToRequestResource",
        "RequestResource",
        "ResponseToRequestResource",
        "CommitResource",
    ]
    for message, kind in zip(sent, kinds, strict=True):
        assert text(message, "m:MessageContentType") == kind
        assert text(message, "m:SentDateTime").endswith("+00:00")  # type: ignore[union-attr]
    ids = [text(m, "m:MessageID") for m in sent]
    assert len(set(ids)) == 5
    first_request, decline, second_request, accept, commit = sent
    assert text(decline, "m:OriginatingMessageID") == ids[0]
    assert text(decline, "m:PrecedingMessageID") == ids[0]
    assert text(accept, "m:OriginatingMessageID") == ids[2]
    assert text(commit, "m:OriginatingMessageID") == ids[2]
    assert text(commit, "m:PrecedingMessageID") == ids[3]
    assert text(first_request, "m:OriginatingMessageID") is None

    requested = [
        text(i, "m:ResourceInfoElementID")
        for i in second_request.iterfind("m:ResourceInformation", NS)
    ]
    answered = [
        text(i, "rm:ResponseInformation/rm:PrecedingResourceInfoElementID")
        for i in accept.iterfind("m:ResourceInformation", NS)
    ]
    assert answered == requested and len(requested) == 2
    assert [
        text(i, "rm:ResponseInformation/rm:ResponseType")
        for i in decline.iterfind("m:ResourceInformation", NS)
    ] == ["Decline", "Decline"]
    assert text(decline, "m:ResourceInformation/rm:ResponseInformation/rm:ResponseReason") == (
        "no trucks free"
    )
    assert text(accept, "m:ResourceInformation/rm:ResponseInformation/rm:ResponseType") == "Accept"
    delivered = [
        text(i, "m:AssignmentInformation/rm:Quantity/rm:MeasuredQuantity/rm:Amount")
        for i in commit.iterfind("m:ResourceInformation", NS)
    ]
    assert delivered == ["3", "200"]
    assert text(commit, "m:ResourceInformation/m:ScheduleInformation/rm:ScheduleType") == (
        "ActualArrival"
    )
    # The same exchange fetched again has the same message ids.
    again = exchange_document(request, [declined, accepted], delivery, generated_at=T0)
    assert [text(m, "m:MessageID") for m in messages(again)] == ids


def test_a_pending_offer_is_a_request_alone_and_delivery_under_way_is_estimated() -> None:
    request = summary()
    pending = offer(request, OfferStatus.pending, round_=1)
    delivery = Delivery(RequestStatus.offered, Fulfilment.none, None, None)
    document = exchange_document(request, [pending], delivery, generated_at=T0)
    schema().validate(document)
    assert [m.tag for m in messages(document)] == [f"{{{MSG}}}RequestResource"]

    accepted = offer(request, OfferStatus.accepted, round_=1)
    under_way = Delivery(RequestStatus.in_progress, Fulfilment.none, T0, None)
    document = exchange_document(request, [accepted], under_way, generated_at=T0)
    schema().validate(document)
    commit = messages(document)[-1]
    assert text(commit, "m:ResourceInformation/m:ScheduleInformation/rm:ScheduleType") == (
        "EstimatedArrival"
    )
    assert (
        text(
            commit,
            "m:ResourceInformation/m:AssignmentInformation/rm:Quantity/rm:MeasuredQuantity/rm:Amount",
        )
        == "3"
    )


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("m:MessageID", "remove"),
        ("m:ResourceInformation/rm:ResponseInformation/rm:ResponseType", "Maybe"),
        ("m:SentDateTime", "2026-12-01T08:00:00Z"),
        ("m:MessageContentType", "RequestQuote"),
    ],
)
def test_the_schema_refuses_a_broken_message(path: str, change: str) -> None:
    request = summary()
    accepted = offer(request, OfferStatus.accepted, round_=1)
    delivery = Delivery(RequestStatus.accepted, Fulfilment.none, None, None)
    document = exchange_document(request, [accepted], delivery, generated_at=T0)
    root = ElementTree.fromstring(document)  # noqa: S314 (our own output)
    response = root[1]
    target = response.find(path, NS)
    assert target is not None
    if change == "remove":
        response.remove(target)
    else:
        target.text = change
    assert not schema().is_valid(ElementTree.tostring(root))


@pytest.mark.integration
async def test_each_party_sees_its_own_part_of_the_exchange(
    client: httpx.AsyncClient, settings: Settings, kafka_bootstrap: str, database_url: str
) -> None:
    near = ngo_state(name="EDXL near", sector=Sector.logistics, pcodes=[COUNTY])
    far = ngo_state(name="EDXL far", sector=Sector.logistics, pcodes=[COUNTY], near="SS1005")
    await publish_registry_events(kafka_bootstrap, [near, far])
    await wait_for_replica(database_url, near.ngo_id, 1)
    await wait_for_replica(database_url, far.ngo_id, 1)
    as_unit = bearer(settings, "field_unit", unit_id=unique_unit())
    as_near = bearer(settings, "ngo", ngo_id=near.ngo_id)
    as_far = bearer(settings, "ngo", ngo_id=far.ngo_id)
    as_other = bearer(settings, "ngo", ngo_id=uuid.uuid4())
    as_ops = bearer(settings, "ops_centre")

    body = aid_request_body(
        sector=Sector.logistics,
        pcode=COUNTY,
        items=[{"item": "trucks", "quantity": 2, "unit": "vehicles"}],
    )
    request = await submit_triaged(client, body, as_unit)
    assert request["offered_ngo_id"] == str(near.ngo_id)
    request_id = request["request_id"]
    path = f"/aid-requests/{request_id}/edxl-rm"
    declined = await client.post(
        f"/offers/{request['current_offer_id']}/decline",
        json={"reason": "fleet away"},
        headers=as_near,
    )
    assert declined.status_code == 200, declined.text
    current = (await client.get(f"/aid-requests/{request_id}", headers=as_ops)).json()
    assert current["offered_ngo_id"] == str(far.ngo_id)
    for step, call in [
        ("accept", client.post(f"/offers/{current['current_offer_id']}/accept", headers=as_far)),
        ("start", client.post(f"/aid-requests/{request_id}/start", headers=as_far)),
        (
            "deliver",
            client.post(
                f"/aid-requests/{request_id}/deliveries",
                json={"items": [{"item": "trucks", "delivered_quantity": 2}]},
                headers=as_far,
            ),
        ),
    ]:
        answer = await call
        assert answer.status_code == 200, (step, answer.text)

    views: dict[str, list[str]] = {}
    for name, headers in [("near", as_near), ("far", as_far), ("ops", as_ops)]:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (name, response.text)
        assert response.headers["content-type"].startswith("application/xml")
        schema().validate(response.content)
        for secret in (body["title"], body["description"], body["contact"], "school compound"):
            assert secret not in response.text, (name, secret)
        assert str(body["location"]["lat"]) not in response.text
        views[name] = [m.tag.split("}")[1] for m in messages(response.content)]
    assert views["near"] == ["RequestResource", "ResponseToRequestResource"]
    assert views["far"] == ["RequestResource", "ResponseToRequestResource", "CommitResource"]
    assert views["ops"] == views["near"] + views["far"]
    far_view = messages((await client.get(path, headers=as_far)).content)
    assert str(near.ngo_id) not in ElementTree.tostring(far_view[0]).decode()

    other = await client.get(path, headers=as_other)
    assert other.status_code == 404
    assert problem_of(other)["type"].endswith("edxl-rm-exchange-not-found")
    missing = await client.get(f"/aid-requests/{uuid.uuid4()}/edxl-rm", headers=as_ops)
    assert missing.status_code == 404
    problem_of(missing)
    unit = await client.get(path, headers=as_unit)
    assert unit.status_code == 403
    problem_of(unit)
    bad = await client.get("/aid-requests/not-a-uuid/edxl-rm", headers=as_ops)
    assert bad.status_code == 422
    problem_of(bad)
    anonymous = await client.get(path)
    assert anonymous.status_code == 401
    problem_of(anonymous)
