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

from shared.auth import Policy, Principal, Role, Tenant, policy
from shared.errors import Forbidden

STAFF_ROLES = (Role.ops_centre, Role.admin, Role.protection_officer)
RESTRICTED_ROLES = (Role.protection_officer, Role.admin)  # ops_centre: with the grant only


def require_staff(principal: Principal) -> Principal:
    if not principal.has_any(*STAFF_ROLES):
        raise Forbidden("This needs one of the roles: admin, ops_centre, protection_officer")
    return principal


Staff = Annotated[Principal, policy(*STAFF_ROLES, tenant=Tenant.any)]
STAFF_POLICY = Policy(frozenset(STAFF_ROLES), Tenant.any)
"""The live stream's policy: the same roles, proved by a single-use ticket, not a bearer."""


def sees_restricted(principal: Principal) -> bool:
    """Protection officers and administrators; an ops centre with the `restricted` grant."""
    return principal.sees_restricted
