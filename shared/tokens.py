"""Bearer JWTs: what a token says (`Principal`, `Role`), how one is issued and verified.

Tokens carry `sub`, `roles` (any of `field_unit`, `ngo`, `ops_centre`, `admin`,
`protection_officer`) and, for field units and NGOs, the `unit_id` or `ngo_id` they act for.
HS256 with a shared secret serves local runs and tests (`concord token --role …` issues one);
RS256/ES256 with a public key (`CONCORD_JWT_PUBLIC_KEY`) or an identity provider's key set
(`CONCORD_JWT_JWKS_URL`) is how production plugs in.

What a token must be to pass, whatever signed it:
- signed with the one configured algorithm and key (no `alg=none`, no HS256 token verified
  with an RSA public key as its secret, no key from the token's own header);
- `sub`, `iss`, `aud`, `iat` and `exp` present, issuer and audience the configured ones;
- not expired, not issued or valid only in the future (a leeway of at most 30 s for clocks);
- `exp - iat` no longer than `CONCORD_JWT_MAX_LIFETIME_SECONDS`, so that a stolen token of
  a misconfigured issuer does not work for a year.

The key is loaded when the app is created (`TokenVerifier`), so a PEM that does not parse or
a key of the wrong kind for the algorithm stops the service at start-up, not at its first
request. This module knows nothing of HTTP requests: `shared.auth` reads the verifier from
the app's state (`shared.state`) and turns a principal into route policies; routes import
these names from `shared.auth`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from pydantic import BaseModel, ValidationError

from shared.config import HMAC_ALGORITHMS, ServiceSettings, load_verification_key
from shared.errors import InvalidToken, Unavailable

REQUIRED_CLAIMS = ("sub", "iss", "aud", "iat", "exp")


class Role(StrEnum):
    field_unit = "field_unit"
    ngo = "ngo"
    ops_centre = "ops_centre"
    admin = "admin"
    protection_officer = "protection_officer"


RESTRICTED_GRANT = "restricted"
"""The `grants` claim value that lets an `ops_centre` principal see restricted details."""

RESTRICTED_DETAIL_ROLES = frozenset({Role.protection_officer, Role.admin})
"""Roles that see restricted records in full; `ops_centre` sees them coarsened unless its
token carries the `restricted` grant (docs/data-responsibility.md, "Who sees what")."""

RECLASSIFY_ROLES = (Role.ops_centre, Role.admin, Role.protection_officer)
"""Roles that may reclassify a request or an incident (with a reason)."""


class Principal(BaseModel):
    """Who is calling, as the token says."""

    subject: str
    roles: frozenset[Role]
    unit_id: str | None = None
    ngo_id: uuid.UUID | None = None
    grants: frozenset[str] = frozenset()

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        """Mission staff who may see everything: operations centres and administrators."""
        return self.has_any(Role.ops_centre, Role.admin, Role.protection_officer)

    @property
    def sees_restricted(self) -> bool:
        """Need to know: protection officers and administrators see restricted details;
        an operations centre only with the `restricted` grant in its token."""
        if self.has_any(*RESTRICTED_DETAIL_ROLES):
            return True
        return Role.ops_centre in self.roles and RESTRICTED_GRANT in self.grants


def issue_token(
    settings: ServiceSettings,
    *,
    subject: str,
    roles: list[Role] | list[str],
    unit_id: str | None = None,
    ngo_id: uuid.UUID | str | None = None,
    ttl: timedelta | None = None,
    signing_key: Any = None,
    grants: list[str] | None = None,
) -> str:
    """Sign a token the way the configured verifier expects it (dev, tests, the demo's
    simulator). HS* signs with `CONCORD_JWT_SECRET`; any other algorithm needs the private
    key (`signing_key`), which the services themselves never hold. `ttl` defaults to the
    longest lifetime the services accept."""
    if signing_key is None:
        if settings.jwt_algorithm not in HMAC_ALGORITHMS:
            raise ValueError(
                f"CONCORD_JWT_ALGORITHM={settings.jwt_algorithm}: tokens come from the identity "
                "provider (or pass its private key as signing_key)"
            )
        signing_key = settings.jwt_secret
    now = datetime.now(UTC)
    lifetime = ttl if ttl is not None else timedelta(seconds=settings.jwt_max_lifetime_seconds)
    claims: dict[str, object] = {
        "sub": subject,
        "roles": [Role(r).value for r in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
    }
    if unit_id is not None:
        claims["unit_id"] = unit_id
    if ngo_id is not None:
        claims["ngo_id"] = str(ngo_id)
    if grants:
        claims["grants"] = list(grants)
    return jwt.encode(claims, signing_key, algorithm=settings.jwt_algorithm)


class TokenVerifier:
    """Checks bearer tokens against the settings; built once per app, at start-up."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.algorithm = settings.jwt_algorithm
        self._key: Any = None
        self._jwks: jwt.PyJWKClient | None = None
        if settings.jwt_jwks_url:
            # The key set is fetched on first use and cached for `jwt_jwks_cache_seconds`:
            # an identity provider that is briefly away does not stop requests whose key is
            # already known. No per-key cache on top: PyJWKClient's never expires, so a key
            # the provider withdrew would be trusted until the process restarts.
            self._jwks = jwt.PyJWKClient(
                settings.jwt_jwks_url,
                cache_jwk_set=True,
                lifespan=settings.jwt_jwks_cache_seconds,
                cache_keys=False,
                timeout=settings.jwt_jwks_timeout_seconds,
            )
        else:
            self._key = load_verification_key(settings)

    async def authenticate(self, token: str) -> Principal:
        """The principal a token names, or `InvalidToken` (401) for any reason not to trust
        it; `Unavailable` (503) when the identity provider's keys cannot be fetched."""
        key = self._key
        if self._jwks is not None:
            # PyJWKClient fetches over blocking HTTP on a cache miss: keep it off the loop.
            key = await asyncio.to_thread(self._signing_key, token)
        return self.verify(token, key)

    def _signing_key(self, token: str) -> jwt.PyJWK:
        assert self._jwks is not None
        try:
            return self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise Unavailable(
                "The identity provider's signing keys cannot be fetched right now",
                retry_after=5,
            ) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise InvalidToken(f"The token is not valid: {exc}") from None

    def verify(self, token: str, key: Any = None) -> Principal:
        settings = self.settings
        try:
            claims = jwt.decode(
                token,
                key if key is not None else self._key,
                algorithms=[self.algorithm],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired") from None
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken(f"The token is not valid yet: {exc}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(
                f"The token is not valid: it lacks the `{exc.claim}` claim"
            ) from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(
                f"The token is not valid: only {self.algorithm} tokens are accepted"
            ) from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"The token is not valid: {exc}") from None
        try:
            lifetime = float(claims["exp"]) - float(claims["iat"])
        except (TypeError, ValueError):
            raise InvalidToken("The token is not valid: `exp` and `iat` must be numbers") from None
        if lifetime > settings.jwt_max_lifetime_seconds:
            raise InvalidToken(
                f"The token is not valid: it lives {lifetime:.0f} s, longer than the "
                f"{settings.jwt_max_lifetime_seconds} s this service accepts"
            )
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The principal of verified claims; `InvalidToken` if they do not make one."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidToken("The token is not valid: `sub` must be a non-empty string")
    try:
        principal = Principal(
            subject=subject,
            roles=frozenset(claims.get("roles") or []),
            unit_id=claims.get("unit_id"),
            ngo_id=claims.get("ngo_id"),
            grants=frozenset(claims.get("grants") or []),
        )
    except (ValidationError, TypeError) as exc:
        raise InvalidToken(f"The token is not valid: {exc}") from None
    if not principal.roles:
        raise InvalidToken("The token grants no role")
    if Role.field_unit in principal.roles and not principal.unit_id:
        raise InvalidToken("A field_unit token must name its unit_id")
    if Role.ngo in principal.roles and not principal.ngo_id:
        raise InvalidToken("An ngo token must name its ngo_id")
    return principal


def decode_token(token: str, settings: ServiceSettings) -> Principal:
    """Verify a token with a static key (secret or PEM) outside an app: the CLI, tests."""
    return TokenVerifier(settings).verify(token)
