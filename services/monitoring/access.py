"""Who may read the monitoring data: operations centres and administrators.

The bearer token comes in the `Authorization` header, never in a URL. The dashboard's
`EventSource`, which cannot set headers, trades its token for a short-lived single-use
ticket first (`services.monitoring.live_tickets`). Restricted data (protection incidents,
exact locations of vulnerable groups) is shown only to the roles in `RESTRICTED_ROLES` (and
to an `ops_centre` token with the `restricted` grant); every other staff role gets it
coarsened to the admin area. A bulk read (the map layers, the alert feed, the audit trail's
search, the requests export) serves restricted records in full only when the entitled reader
also says why (`purpose`), as the requests service's lists do; every read that served them in
full is recorded (`services.monitoring.access_audit`).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import Query

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


PURPOSE_MAX_LENGTH = 500

Purpose = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=PURPOSE_MAX_LENGTH,
        description="Why you read restricted records (1-500 characters): recorded in the "
        "access log; a bulk read serves restricted records in full only with it",
    ),
]


class View(Enum):
    """How restricted records are served to a reader."""

    full = "full"
    coarsened = "coarsened"


def single_view(principal: Principal) -> View:
    """One record (a drill-down, a CAP message): in full for an entitled reader."""
    return View.full if sees_restricted(principal) else View.coarsened


def bulk_view(principal: Principal, purpose: str | None) -> View:
    """Many records at once (a map, a feed, an export): in full only for an entitled reader
    who gave a `purpose`; without one even a protection officer gets them coarsened."""
    return View.full if sees_restricted(principal) and purpose is not None else View.coarsened
