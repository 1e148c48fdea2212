"""Who acts, as this service names them in events and history."""

from __future__ import annotations

from shared.auth import Principal, Role

SYSTEM = "system"


def actor_of(principal: Principal) -> str:
    if principal.is_staff:
        role = Role.ops_centre if Role.ops_centre in principal.roles else Role.admin
        return f"{role.value}:{principal.subject}"
    if principal.ngo_id is not None and Role.ngo in principal.roles:
        return f"ngo:{principal.ngo_id}"
    return f"{sorted(principal.roles)[0].value}:{principal.subject}"


def is_ngo(principal: Principal) -> bool:
    """An NGO acting for itself (not mission staff who also hold the ngo role)."""
    return Role.ngo in principal.roles and not principal.is_staff and principal.ngo_id is not None
