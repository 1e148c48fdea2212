"""Bearer JWT authentication and role checks.

Tokens carry `sub`, `roles` (any of `field_unit`, `ngo`, `ops_centre`, `admin`) and, for field
units and NGOs, the `unit_id` or `ngo_id` they act for. HS256 with a shared secret serves local
runs and tests (`concord token --role …` issues one); RS256/ES256 with a public key
(`CONCORD_JWT_PUBLIC_KEY`) is how an identity provider plugs in. A missing or bad token is 401,
a wrong role 403; hiding another tenant's object behind 404 is the domain's job.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from shared.config import ServiceSettings
from shared.errors import Forbidden, Unauthorized


class Role(StrEnum):
    field_unit = "field_unit"
    ngo = "ngo"
    ops_centre = "ops_centre"
    admin = "admin"


class Principal(BaseModel):
    """Who is calling, as the token says."""

    subject: str
    roles: frozenset[Role]
    unit_id: str | None = None
    ngo_id: uuid.UUID | None = None

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        """Mission staff who may see everything: operations centres and administrators."""
        return self.has_any(Role.ops_centre, Role.admin)


def issue_token(
    settings: ServiceSettings,
    *,
    subject: str,
    roles: list[Role] | list[str],
    unit_id: str | None = None,
    ngo_id: uuid.UUID | str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """Sign a token with the configured secret (dev, tests, the demo's simulator)."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": subject,
        "roles": [Role(r).value for r in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    if unit_id is not None:
        claims["unit_id"] = unit_id
    if ngo_id is not None:
        claims["ngo_id"] = str(ngo_id)
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def decode_token(token: str, settings: ServiceSettings) -> Principal:
    key = settings.jwt_public_key or settings.jwt_secret
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
        principal = Principal(
            subject=claims["sub"],
            roles=frozenset(claims.get("roles", [])),
            unit_id=claims.get("unit_id"),
            ngo_id=claims.get("ngo_id"),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired") from None
    except (jwt.InvalidTokenError, ValidationError, KeyError) as exc:
        raise Unauthorized(f"The token is not valid: {exc}") from None
    if not principal.roles:
        raise Unauthorized("The token grants no role")
    if Role.field_unit in principal.roles and not principal.unit_id:
        raise Unauthorized("A field_unit token must name its unit_id")
    if Role.ngo in principal.roles and not principal.ngo_id:
        raise Unauthorized("An ngo token must name its ngo_id")
    return principal


_bearer = HTTPBearer(auto_error=False, description="A Concord JWT: `Authorization: Bearer …`")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required")
    settings: ServiceSettings = request.app.state.settings
    return decode_token(credentials.credentials, settings)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency that lets through only principals holding one of `roles`: use it in
    `dependencies=[require_roles(...)]` or as `Annotated[Principal, require_roles(...)]`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"This needs one of the roles: {allowed}")
        return principal

    return Depends(check)
