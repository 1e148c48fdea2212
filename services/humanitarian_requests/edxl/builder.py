"""The offer → accept → deliver exchange of one aid request as OASIS EDXL-RM 1.0 messages.

Pure: from the request's NGO-readable summary, its offers and its delivery state to XML
bytes, with no database and no clock. Per offer, in the order they were sent:

- `RequestResource` when the request was offered to the NGO (one `ResourceInformation` per
  requested item: sector, item, quantity and unit, and the county it is needed in);
- `ResponseToRequestResource` when the NGO answered: `Accept` or `Decline` (with its
  reason) for each item, naming the `ResourceInfoElementID` it answers;
- `CommitResource` once the accepted request is being delivered (`EstimatedArrival`, the
  quantities requested) or has been (`ActualArrival` at `fulfilled_at`, the quantities
  delivered).

Message ids are stable (derived from the offer's id), so fetching the exchange twice gives
the same ids; every response names the request message as `OriginatingMessageID` and the
message it follows as `PrecedingMessageID`. Only what the NGO may know goes in
(`OpenRequestSummary`: no title, description, contact, coordinates or reporting unit).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from shared.events.schemas.humanitarian_requests import (
    Fulfilment,
    OfferState,
    OfferStatus,
    OpenRequestSummary,
    RequestItem,
    RequestStatus,
)

RM = "urn:oasis:names:tc:emergency:EDXL:RM:1.0"
MSG = "urn:oasis:names:tc:emergency:EDXL:RM:1.0:msg"
EXCHANGE = "urn:concord:edxl-rm:exchange:1"
XSD_DIR = Path(__file__).with_name("xsd")
EXCHANGE_XSD = XSD_DIR / "concord-edxl-rm-exchange.xsd"
SECTOR_LIST = "urn:concord:vocabulary:sector"
UNIT_LIST = "urn:concord:vocabulary:unit"
DECLINE_REASONS = "urn:concord:edxl-rm:reason"
DELIVERING = frozenset({RequestStatus.in_progress, RequestStatus.fulfilled, RequestStatus.closed})

ElementTree.register_namespace("rm", RM)
ElementTree.register_namespace("", MSG)
ElementTree.register_namespace("concord", EXCHANGE)


@dataclass(frozen=True)
class Delivery:
    """How far the request's delivery has come (from the request's own state)."""

    status: RequestStatus
    fulfilment: Fulfilment
    in_progress_at: datetime | None
    fulfilled_at: datetime | None


def message_id(offer_id: uuid.UUID, kind: str) -> str:
    return f"urn:uuid:{uuid.uuid5(offer_id, kind)}"


def item_element_id(request_id: uuid.UUID, index: int, kind: str) -> str:
    return f"urn:concord:aid-request:{request_id}:item:{index}:{kind}"


def edxl_time(moment: datetime) -> str:
    """EDXL times name their offset (`+00:00`), never `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _amount(value: float) -> str:
    return f"{value:g}" if value == int(value) else repr(value)


def _sub(
    parent: ElementTree.Element, namespace: str, tag: str, text: str | None = None
) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{namespace}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _value_list(parent: ElementTree.Element, tag: str, urn: str, value: str) -> None:
    holder = _sub(parent, RM, tag)
    _sub(holder, RM, "ValueListURN", urn)
    _sub(holder, RM, "Value", value)


def _header(
    parent: ElementTree.Element,
    kind: str,
    *,
    offer: OfferState,
    sent: datetime,
    description: str,
    originating: str | None,
    preceding: str | None,
) -> ElementTree.Element:
    message = _sub(parent, MSG, kind)
    _sub(message, MSG, "MessageID", message_id(offer.offer_id, kind))
    _sub(message, MSG, "SentDateTime", edxl_time(sent))
    _sub(message, MSG, "MessageContentType", kind)
    _sub(message, MSG, "MessageDescription", description)
    if originating is not None:
        _sub(message, MSG, "OriginatingMessageID", originating)
    if preceding is not None:
        _sub(message, MSG, "PrecedingMessageID", preceding)
    return message


def _incident(message: ElementTree.Element, summary: OpenRequestSummary) -> None:
    incident = _sub(message, MSG, "IncidentInformation")
    area = summary.pcode + (f" ({summary.admin1})" if summary.admin1 else "")
    _sub(
        incident,
        RM,
        "IncidentDescription",
        f"Aid request {summary.request_id}: {summary.sector.value} need in {area}, "
        f"{summary.affected_total} people affected, urgency {summary.urgency.value}",
    )


def _contact(message: ElementTree.Element, role: str, description: str) -> None:
    contact = _sub(message, MSG, "ContactInformation")
    _sub(contact, RM, "ContactDescription", description)
    _sub(contact, RM, "ContactRole", role)


def _resource(
    info: ElementTree.Element, summary: OpenRequestSummary, item: RequestItem, amount: float
) -> None:
    resource = _sub(info, MSG, "Resource")
    _value_list(resource, "TypeStructure", SECTOR_LIST, summary.sector.value)
    _sub(resource, RM, "Name", item.item)
    assignment = _sub(info, MSG, "AssignmentInformation")
    quantity = _sub(_sub(assignment, RM, "Quantity"), RM, "MeasuredQuantity")
    _sub(quantity, RM, "Amount", _amount(amount))
    _value_list(quantity, "UnitOfMeasure", UNIT_LIST, item.unit)


def _schedule(
    info: ElementTree.Element, summary: OpenRequestSummary, kind: str, at: datetime | None
) -> None:
    schedule = _sub(info, MSG, "ScheduleInformation")
    _sub(schedule, RM, "ScheduleType", kind)
    if at is not None:
        _sub(schedule, RM, "DateTime", edxl_time(at))
    location = _sub(schedule, RM, "Location")
    _sub(location, RM, "LocationDescription", f"P-code {summary.pcode}")


def _request_resource(
    root: ElementTree.Element, summary: OpenRequestSummary, offer: OfferState
) -> str:
    message = _header(
        root,
        "RequestResource",
        offer=offer,
        sent=offer.offered_at,
        description=f"Aid request {summary.request_id} offered to NGO {offer.ngo_id} "
        f"(round {offer.round}); answer by {edxl_time(offer.respond_by)}",
        originating=None,
        preceding=None,
    )
    _incident(message, summary)
    _contact(message, "Requester", "Mission operations centre (Concord)")
    for index, item in enumerate(summary.items):
        info = _sub(message, MSG, "ResourceInformation")
        _sub(
            info,
            MSG,
            "ResourceInfoElementID",
            item_element_id(summary.request_id, index, "request"),
        )
        _resource(info, summary, item, item.quantity)
        _schedule(info, summary, "RequestedArrival", None)
    return message_id(offer.offer_id, "RequestResource")


def _response(
    root: ElementTree.Element, summary: OpenRequestSummary, offer: OfferState, request_message: str
) -> str | None:
    if offer.status not in (OfferStatus.accepted, OfferStatus.declined):
        return None  # pending, expired or withdrawn: the NGO sent no answer
    assert offer.responded_at is not None
    accepted = offer.status is OfferStatus.accepted
    message = _header(
        root,
        "ResponseToRequestResource",
        offer=offer,
        sent=offer.responded_at,
        description=f"NGO {offer.ngo_id} {'accepted' if accepted else 'declined'} "
        f"aid request {summary.request_id}",
        originating=request_message,
        preceding=request_message,
    )
    _contact(message, "Responder", f"NGO {offer.ngo_id}")
    for index, item in enumerate(summary.items):
        info = _sub(message, MSG, "ResourceInformation")
        _sub(
            info,
            MSG,
            "ResourceInfoElementID",
            item_element_id(summary.request_id, index, "response"),
        )
        answer = _sub(info, RM, "ResponseInformation")
        _sub(
            answer,
            RM,
            "PrecedingResourceInfoElementID",
            item_element_id(summary.request_id, index, "request"),
        )
        _sub(answer, RM, "ResponseType", "Accept" if accepted else "Decline")
        if not accepted and offer.decline_reason:
            _sub(answer, RM, "ResponseReason", offer.decline_reason)
        _resource(info, summary, item, item.quantity)
    return message_id(offer.offer_id, "ResponseToRequestResource")


def _commit(
    root: ElementTree.Element,
    summary: OpenRequestSummary,
    offer: OfferState,
    delivery: Delivery,
    *,
    request_message: str,
    response_message: str,
) -> None:
    if offer.status is not OfferStatus.accepted or delivery.status not in DELIVERING:
        return
    fulfilled = delivery.fulfilled_at is not None
    sent = delivery.fulfilled_at if fulfilled else delivery.in_progress_at
    assert sent is not None
    state = f"fulfilled ({delivery.fulfilment.value})" if fulfilled else "committed, under way"
    message = _header(
        root,
        "CommitResource",
        offer=offer,
        sent=sent,
        description=f"Delivery of aid request {summary.request_id} by NGO {offer.ngo_id}: {state}",
        originating=request_message,
        preceding=response_message,
    )
    _incident(message, summary)
    _contact(message, "Responder", f"NGO {offer.ngo_id}")
    for index, item in enumerate(summary.items):
        info = _sub(message, MSG, "ResourceInformation")
        _sub(
            info, MSG, "ResourceInfoElementID", item_element_id(summary.request_id, index, "commit")
        )
        _resource(info, summary, item, item.delivered_quantity if fulfilled else item.quantity)
        if fulfilled:
            _schedule(info, summary, "ActualArrival", delivery.fulfilled_at)
        else:
            _schedule(info, summary, "EstimatedArrival", None)


def exchange_document(
    summary: OpenRequestSummary,
    offers: list[OfferState],
    delivery: Delivery,
    *,
    generated_at: datetime,
) -> bytes:
    """The exchange as one XML document (`concord:Exchange` around the EDXL-RM messages)."""
    root = ElementTree.Element(
        f"{{{EXCHANGE}}}Exchange",
        {"requestId": str(summary.request_id), "generatedAt": edxl_time(generated_at)},
    )
    for offer in sorted(offers, key=lambda o: (o.offered_at, o.round)):
        request_message = _request_resource(root, summary, offer)
        response_message = _response(root, summary, offer, request_message)
        if response_message is not None:
            _commit(
                root,
                summary,
                offer,
                delivery,
                request_message=request_message,
                response_message=response_message,
            )
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
