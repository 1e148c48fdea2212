"""Who acts, as this service names them in events and history."""

from __future__ import annotations

from services.humanitarian_requests.common.errors import NotAReporter
from shared.auth import Principal, Role


def actor_of(principal: Principal) -> str:
    if principal.is_staff:
        staff_roles = (Role.ops_centre, Role.protection_officer, Role.admin)
        role = next(r for r in staff_roles if r in principal.roles)
        return f"{role.value}:{principal.subject}"
    if principal.ngo_id is not None and Role.ngo in principal.roles:
        return f"ngo:{principal.ngo_id}"
    return f"field_unit:{principal.unit_id}"


def reporting_unit_of(principal: Principal) -> str:
    """The unit a report belongs to: the field unit's id, or the staff member's desk."""
    if Role.field_unit in principal.roles and principal.unit_id:
        return principal.unit_id
    if principal.is_staff:
        return f"ops:{principal.subject}"
    raise NotAReporter("Only field units and the ops centre submit reports")


def is_ngo(principal: Principal) -> bool:
    return Role.ngo in principal.roles and not principal.is_staff and principal.ngo_id is not None
