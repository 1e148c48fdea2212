"""Who may read the monitoring data: operations centres and administrators.

The bearer token comes in the `Authorization` header, never in a URL. The dashboard's
`EventSource`, which cannot set headers, trades its token for a short-lived single-use
ticket first (`services.monitoring.live_tickets`). Restricted data (protection incidents,
exact locations of vulnerable groups) is shown only to the roles in `RESTRICTED_ROLES` (and
to an `ops_centre` token with the `restricted` grant); every other staff role gets it
coarsened to the admin area.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import CurrentPrincipal, Principal, Role
from shared.errors import Forbidden

STAFF_ROLES = (Role.ops_centre, Role.admin, Role.protection_officer)
RESTRICTED_ROLES = (Role.protection_officer, Role.admin)  # ops_centre: with the grant only


def require_staff(principal: Principal) -> Principal:
    if not principal.has_any(*STAFF_ROLES):
        raise Forbidden("This needs one of the roles: admin, ops_centre, protection_officer")
    return principal


async def _staff(principal: CurrentPrincipal) -> Principal:
    return require_staff(principal)


Staff = Annotated[Principal, Depends(_staff)]


def sees_restricted(principal: Principal) -> bool:
    """Protection officers and administrators; an ops centre with the `restricted` grant."""
    return principal.sees_restricted
