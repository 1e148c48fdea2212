"""The offer → accept → deliver exchange of an aid request as EDXL-RM 1.0 XML."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response

from services.humanitarian_requests.edxl import service
from shared.auth import Principal, Role, Tenant, policy
from shared.deps import DbSession
from shared.web import error_responses

router = APIRouter(prefix="/aid-requests", tags=["EDXL-RM"])

XML_CONTENT_TYPE = "application/xml"
ExchangeReaders = Annotated[
    Principal, policy(Role.ngo, Role.ops_centre, Role.admin, tenant=Tenant.own_ngo)
]


class XmlResponse(Response):
    media_type = XML_CONTENT_TYPE


@router.get(
    "/{request_id}/edxl-rm",
    summary="The request's offer exchange as EDXL-RM 1.0 messages (XML)",
    response_class=XmlResponse,
    responses={
        200: {
            "content": {XML_CONTENT_TYPE: {}},
            "description": "RequestResource, ResponseToRequestResource and CommitResource "
            "messages in a concord:Exchange",
        },
        **error_responses(401, 403, 404, 422, 503),
    },
)
async def get_edxl_rm_exchange(
    request_id: uuid.UUID, session: DbSession, principal: ExchangeReaders
) -> XmlResponse:
    """Per offer, in the order sent: the `RequestResource` (the request as offered: sector,
    items and quantities, county; nothing restricted), the NGO's
    `ResponseToRequestResource` (Accept or Decline) and, once delivery is under way or done,
    the `CommitResource`. An NGO sees the offers made to it; another NGO, or a request never
    offered to it, is 404. The ops centre sees every offer. Schema:
    `services/humanitarian_requests/edxl/xsd/` (docs/humanitarian_requests.md)."""
    ngo_id = None if principal.is_staff else principal.ngo_id
    if ngo_id is None and not principal.is_staff:
        ngo_id = uuid.UUID(int=0)  # an NGO token without an ngo_id owns nothing
    return XmlResponse(await service.edxl_rm_exchange(session, request_id, ngo_id=ngo_id))
