"""Who acts, as this service names them in events and history."""

from __future__ import annotations

from shared.auth import Principal, Role

SYSTEM = "system"


def actor_of(principal: Principal) -> str:
    if principal.is_staff:
        staff_roles = (Role.ops_centre, Role.admin, Role.protection_officer)
        role = next(r for r in staff_roles if r in principal.roles)
        return f"{role.value}:{principal.subject}"
    if principal.ngo_id is not None and Role.ngo in principal.roles:
        return f"ngo:{principal.ngo_id}"
    return f"{sorted(principal.roles)[0].value}:{principal.subject}"


def is_ngo(principal: Principal) -> bool:
    """An NGO acting for itself (not mission staff who also hold the ngo role)."""
    return Role.ngo in principal.roles and not principal.is_staff and principal.ngo_id is not None
