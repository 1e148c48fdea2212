"""A small HTTP client for the four services, as the CLI, the seeder and the simulator use them.

It only ever talks to loopback: the demo is a local tool, not a load generator to point at
someone else's servers. Tokens are dev tokens signed with the configured secret, one per
(role, unit, NGO) and cached.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from deploy.demo.retrying import RetryPolicy
from deploy.services import SERVICES, ServiceSpec
from shared.auth import Role, issue_token
from shared.config import ServiceSettings

LOOPBACK = "127.0.0.1"

REGISTRY = "ngo_registry"
PLANNING = "joint_planning"
REQUESTS = "humanitarian_requests"
MONITORING = "monitoring"


class ServiceUnreachable(Exception):
    """A service did not answer: the CLI turns this into a one-line error."""

    def __init__(self, service: str, url: str) -> None:
        super().__init__(
            f"The {service} service is not reachable at {url}. Start Concord with `make run` "
            f"(or set {service.upper()}_PORT to where it listens)."
        )
        self.service = service
        self.url = url


class ServiceError(Exception):
    """A service answered with an unexpected status; carries its problem+json detail."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            body = response.json()
            detail = body.get("detail") or body.get("title") or body
        except ValueError:
            detail = response.text[:300]
        request = response.request
        super().__init__(f"{request.method} {request.url.path} → {response.status_code}: {detail}")
        self.status_code = response.status_code
        self.response = response


def service_port(spec: ServiceSpec) -> int:
    return int(os.environ.get(f"{spec.name.upper()}_PORT", spec.settings_class.default_port))


def service_url(name: str) -> str:
    spec = next(s for s in SERVICES if s.name == name)
    return f"http://{LOOPBACK}:{service_port(spec)}"


def dev_token(
    *,
    role: Role | str,
    subject: str | None = None,
    unit_id: str | None = None,
    ngo_id: uuid.UUID | str | None = None,
) -> str:
    """A dev JWT signed with the configured secret (`CONCORD_JWT_SECRET`, else the dev one)."""
    role = Role(role)
    if role is Role.field_unit and unit_id is None:
        raise ValueError("a field_unit token needs --unit-id")
    if role is Role.ngo and ngo_id is None:
        raise ValueError("an ngo token needs --ngo-id")
    subject = subject or (unit_id or (f"ngo-{ngo_id}" if ngo_id else f"demo-{role.value}"))
    try:
        # Signing a token needs no database: leave its password out of the checks.
        settings = ServiceSettings(db_password="-")  # noqa: S106
    except ValidationError as exc:
        reasons = "; ".join(str(error["msg"]) for error in exc.errors())
        raise ValueError(
            f"cannot sign a token: {reasons} (a running `make run` sets CONCORD_ENV=dev for "
            "`concord`; otherwise set CONCORD_ENV=dev or the real CONCORD_JWT_SECRET)"
        ) from None
    return issue_token(settings, subject=subject, roles=[role], unit_id=unit_id, ngo_id=ngo_id)


@dataclass
class ConcordClient:
    """Async HTTP to the services with per-principal dev tokens; loopback only."""

    timeout: float = 15.0
    # None: one attempt per call (the CLI's commands). The simulator sets a field unit's policy.
    retry: RetryPolicy | None = None
    _http: httpx.AsyncClient = field(init=False)
    _tokens: dict[tuple[str, str | None, str | None], str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._http = httpx.AsyncClient(timeout=self.timeout)

    async def __aenter__(self) -> ConcordClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def token(
        self, role: Role, *, unit_id: str | None = None, ngo_id: uuid.UUID | None = None
    ) -> str:
        key = (role.value, unit_id, str(ngo_id) if ngo_id else None)
        if key not in self._tokens:
            self._tokens[key] = dev_token(role=role, unit_id=unit_id, ngo_id=ngo_id)
        return self._tokens[key]

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        role: Role = Role.admin,
        unit_id: str | None = None,
        ngo_id: uuid.UUID | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201),
        allow: tuple[int, ...] = (),
        retry: bool = True,
    ) -> httpx.Response:
        """One request; statuses outside `ok` + `allow` raise `ServiceError`.

        With a `retry` policy on the client (and `retry=True`), a 5xx, a 429 or a dropped
        connection or timeout is tried again with the same headers — so the same
        `Idempotency-Key` — when replaying cannot apply anything twice: a read, a request
        with an `Idempotency-Key`, or one whose connection was never made."""
        base = service_url(service)
        all_headers = {
            "Authorization": "Bearer " + self.token(role, unit_id=unit_id, ngo_id=ngo_id),
            **(headers or {}),
        }
        policy = self.retry if retry else None
        replayable = method.upper() in ("GET", "HEAD") or any(
            name.lower() == "idempotency-key" for name in all_headers
        )
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    method, base + path, json=json, params=params, headers=all_headers
                )
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if policy is not None:
                    reason = policy.reason_for_error(exc)
                    if (replayable or never_sent) and policy.within_budget(started):
                        await policy.wait(attempt, reason)
                        continue
                    policy.gave_up[reason] += 1
                if never_sent:
                    raise ServiceUnreachable(service, base) from exc
                raise
            if response.status_code in ok + allow:
                return response
            if policy is not None:
                status_reason = policy.reason_for_status(response.status_code)
                if status_reason is not None:
                    if replayable and policy.within_budget(started):
                        await policy.wait(
                            attempt, status_reason, response.headers.get("retry-after")
                        )
                        continue
                    policy.gave_up[status_reason] += 1
            raise ServiceError(response)

    async def get_json(self, service: str, path: str, **kwargs: Any) -> Any:
        return (await self.call(service, "GET", path, **kwargs)).json()

    async def is_up(self, service: str) -> bool:
        try:
            response = await self._http.get(service_url(service) + "/readyz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200
