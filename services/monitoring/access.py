"""Who may read the monitoring data: operations centres and administrators.

The bearer token comes in the `Authorization` header, or — for the dashboard's
`EventSource`, which cannot set headers — in the `token` query parameter. Restricted data
(protection incidents, exact locations of vulnerable groups) is shown only to the roles in
`RESTRICTED_ROLES`; everyone else gets it coarsened to the admin area.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from shared.auth import Principal, Role, decode_token
from shared.config import ServiceSettings
from shared.errors import Forbidden, Unauthorized

STAFF_ROLES = (Role.ops_centre, Role.admin)
RESTRICTED_ROLES = (Role.ops_centre, Role.admin)


async def _staff(
    request: Request, token: Annotated[str | None, Query(include_in_schema=False)] = None
) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    raw = credentials if scheme.lower() == "bearer" and credentials else token
    if not raw:
        raise Unauthorized("A bearer token is required")
    settings: ServiceSettings = request.app.state.settings
    principal = decode_token(raw, settings)
    if not principal.has_any(*STAFF_ROLES):
        raise Forbidden("This needs one of the roles: admin, ops_centre")
    return principal


Staff = Annotated[Principal, Depends(_staff)]


def sees_restricted(principal: Principal) -> bool:
    return principal.has_any(*RESTRICTED_ROLES)
