"""Authentication and role checks at the HTTP edge: who is calling, and may they call this.

`CurrentPrincipal` is the principal of the request's bearer token, checked by the app's
`TokenVerifier` (`shared.tokens`: what a token must be to pass); `policy(...)` is the one way
a route says which roles it admits and which tenant rule it follows. A missing or bad token
is 401, a wrong role 403; hiding another tenant's object behind 404 is the domain's job. An
NGO whose access is suspended is refused on every route, whatever its token says.

The token side lives in `shared.tokens` (it knows nothing of requests, and the app's typed
state in `shared.state` holds a verifier); its names are exported here too, so a route
imports everything of authentication from this one module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized
from shared.state import service_state
from shared.tokens import (
    RECLASSIFY_ROLES,
    REQUIRED_CLAIMS,
    RESTRICTED_DETAIL_ROLES,
    RESTRICTED_GRANT,
    Principal,
    Role,
    TokenVerifier,
    decode_token,
    issue_token,
    principal_from_claims,
)

__all__ = [
    "RECLASSIFY_ROLES",
    "REQUIRED_CLAIMS",
    "RESTRICTED_DETAIL_ROLES",
    "RESTRICTED_GRANT",
    "CurrentPrincipal",
    "NgoAccessSuspended",
    "Policy",
    "Principal",
    "Role",
    "Tenant",
    "TokenVerifier",
    "current_principal",
    "decode_token",
    "issue_token",
    "policy",
    "principal_from_claims",
    "public_route",
    "refuse_suspended_ngo",
    "require_roles",
    "route_policy",
]

_bearer = HTTPBearer(auto_error=False, description="A Concord JWT: `Authorization: Bearer …`")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # HTTPBearer hands back None for a missing header and for any scheme but Bearer.
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required (`Authorization: Bearer …`)")
    return await service_state(request).token_verifier.authenticate(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency that lets through only principals holding one of `roles`. It declares no
    policy: a route must use `policy(...)`, which the authorization matrix test reads (a
    route guarded only by this one fails it)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"This needs one of the roles: {allowed}")
        return principal

    return Depends(check)


class Tenant(StrEnum):
    """Whose objects a route serves to a caller who is not mission staff."""

    any = "any"
    """No tenant rule: what the route serves is the same for every allowed role."""
    own_ngo = "own_ngo"
    """An NGO sees and acts on its own NGO's objects only; another NGO's answer 404."""
    own_unit = "own_unit"
    """A field unit sees its own unit's objects only; another unit's answer 404."""
    own = "own"
    """Both: an NGO its own NGO's objects, a field unit its own unit's; others' answer 404."""
    public = "public"
    """No token at all: operations probes and the event contract."""


@dataclass(frozen=True)
class Policy:
    """Who may call a route: the roles (anyone else is 403 before the route runs) and the
    tenant rule (another tenant's object is 404, never 403 or 409). Declared once per route
    with `policy(...)`; `tests/platform/test_authorization_matrix.py` reads it back."""

    roles: frozenset[Role]
    tenant: Tenant

    def allows(self, principal: Principal) -> bool:
        return self.tenant is Tenant.public or principal.has_any(*self.roles)


def policy(*roles: Role, tenant: Tenant = Tenant.any) -> Any:
    """The one place a route says who may call it: a dependency that answers 403 to a
    principal holding none of `roles`, and that yields the principal. Use it as
    `Annotated[Principal, policy(...)]` or in `dependencies=[policy(...)]`."""
    if tenant is Tenant.public:
        raise ValueError("use public_route() for routes without a token")
    if not roles:
        raise ValueError("a policy names at least one role")
    declared = Policy(frozenset(roles), tenant)

    async def check(principal: CurrentPrincipal, request: Request) -> Principal:
        if not declared.allows(principal):
            allowed = ", ".join(sorted(r.value for r in declared.roles))
            raise Forbidden(f"This needs one of the roles: {allowed}")
        await refuse_suspended_ngo(principal, request)
        return principal

    check.policy = declared  # type: ignore[attr-defined]
    return Depends(check)


class NgoAccessSuspended(Forbidden):
    problem_type = "ngo-access-suspended"
    title = "This NGO's access is suspended"


async def refuse_suspended_ngo(principal: Principal, request: Request) -> None:
    """An NGO principal whose NGO is suspended (a vetting decision, or the containment of a
    data incident) is refused on every route of every service, whatever its token says: its
    token may live on until it expires, its access does not."""
    if principal.ngo_id is None or principal.is_staff or not principal.has_any(Role.ngo):
        return
    suspended = service_state(request).ngo_suspended
    if suspended is not None and await suspended(principal.ngo_id):
        raise NgoAccessSuspended(
            "This NGO's access to Concord is suspended; contact the mission's NGO liaison"
        )


def public_route() -> Any:
    """The policy of a route that takes no token (`dependencies=[public_route()]`)."""

    async def open_to_all() -> None:
        return None

    open_to_all.policy = Policy(frozenset(), Tenant.public)  # type: ignore[attr-defined]
    return Depends(open_to_all)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def route_policy(route: APIRoute, included: Sequence[Any] = ()) -> Policy | None:
    """The policy a route declares, None if it declares none; `included` are the
    dependencies of the routers it is included through. A router-wide policy and a route's
    own one combine: only roles both allow pass, and the route's tenant rule wins."""
    calls = [getattr(d, "dependency", None) for d in included]
    found: Policy | None = None
    for call in [*calls, *_calls(route.dependant)]:
        declared = getattr(call, "policy", None)
        if not isinstance(declared, Policy):
            continue
        if found is None or found.tenant is Tenant.public:
            found = declared
        elif declared.tenant is not Tenant.public and declared is not found:
            found = Policy(found.roles & declared.roles, declared.tenant)
    return found
