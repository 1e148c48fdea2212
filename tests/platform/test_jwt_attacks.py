"""The JWT attack set against all four services, in-process: every forged, stale, misdirected
or malformed token is a 401 problem with a `Bearer` challenge, under a shared secret (HS256,
local runs) and under an identity provider's public key (RS256, production)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from deploy.services import SERVICES, ServiceSpec
from shared.testing import problem_of, serve_in_process

pytestmark = pytest.mark.integration

# One authenticated route per service that an admin may read: what each attack is tried on.
PROBES = {
    "ngo_registry": "/directory",
    "joint_planning": "/operations",
    "humanitarian_requests": "/aid-requests",
    "monitoring": "/api/kpis",
}


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


IDP_KEY = _rsa_key()
ATTACKER_KEY = _rsa_key()
ATTACKER_SECRET = "an-attackers-guess-at-the-secret-0123456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _hs256_by_hand(claims: dict[str, Any], secret: bytes) -> str:
    """HS256 signed with any bytes, even a PEM public key (PyJWT refuses to, rightly)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


@dataclass
class Issuer:
    """Signs tokens the way the services under test are configured to accept them."""

    algorithm: str
    secret: str

    def settings(self) -> dict[str, Any]:
        if self.algorithm == "RS256":
            return {"jwt_algorithm": "RS256", "jwt_public_key": _public_pem(IDP_KEY).decode()}
        return {"jwt_algorithm": "HS256"}

    @property
    def key(self) -> Any:
        return IDP_KEY if self.algorithm == "RS256" else self.secret

    def claims(self, *, drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "attack-tester",
            "roles": ["admin"],
            "iss": "concord",
            "aud": "concord",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        claims.update(changes)
        for name in drop:
            claims.pop(name, None)
        return claims

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm=self.algorithm)

    def other_family(self, claims: dict[str, Any]) -> str:
        """The algorithm-confusion token: HS256 keyed with the RSA public key when RS256 is
        configured; RS256 (the attacker's key pair) when HS256 is."""
        if self.algorithm == "RS256":
            return _hs256_by_hand(claims, _public_pem(IDP_KEY))
        return jwt.encode(claims, ATTACKER_KEY, algorithm="RS256")


Attack = Callable[[Issuer], dict[str, str]]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ATTACKS: dict[str, Attack] = {
    "expired": lambda i: _bearer(
        i.sign(i.claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 120))
    ),
    "not-yet-valid-nbf": lambda i: _bearer(i.sign(i.claims(nbf=int(time.time()) + 300))),
    "issued-in-the-future": lambda i: _bearer(
        i.sign(i.claims(iat=int(time.time()) + 300, exp=int(time.time()) + 600))
    ),
    "alg-none": lambda i: _bearer(_unsigned({"alg": "none", "typ": "JWT"}, i.claims())),
    "alg-none-capitalised": lambda i: _bearer(_unsigned({"alg": "None"}, i.claims())),
    "wrong-key": lambda i: _bearer(
        jwt.encode(i.claims(), ATTACKER_KEY, algorithm="RS256")
        if i.algorithm == "RS256"
        else jwt.encode(i.claims(), ATTACKER_SECRET, algorithm="HS256")
    ),
    "algorithm-confusion": lambda i: _bearer(i.other_family(i.claims())),
    "other-algorithm-same-family": lambda i: _bearer(
        jwt.encode(i.claims(), i.key, algorithm="RS512" if i.algorithm == "RS256" else "HS512")
    ),
    "signature-stripped": lambda i: _bearer(i.sign(i.claims()).rsplit(".", 1)[0] + "."),
    "payload-tampered": lambda i: _bearer(_tamper(i.sign(i.claims(roles=["ngo"])))),
    "wrong-issuer": lambda i: _bearer(i.sign(i.claims(iss="someone-else"))),
    "wrong-audience": lambda i: _bearer(i.sign(i.claims(aud="another-system"))),
    "missing-sub": lambda i: _bearer(i.sign(i.claims(drop=("sub",)))),
    "empty-sub": lambda i: _bearer(i.sign(i.claims(sub=""))),
    "missing-iss": lambda i: _bearer(i.sign(i.claims(drop=("iss",)))),
    "missing-aud": lambda i: _bearer(i.sign(i.claims(drop=("aud",)))),
    "missing-iat": lambda i: _bearer(i.sign(i.claims(drop=("iat",)))),
    "missing-exp": lambda i: _bearer(i.sign(i.claims(drop=("exp",)))),
    "over-long-lifetime": lambda i: _bearer(
        i.sign(i.claims(exp=int(time.time()) + 12 * 3600 + 600))
    ),
    "no-role": lambda i: _bearer(i.sign(i.claims(roles=[]))),
    "malformed": lambda i: _bearer("not.a.jwt"),
    "garbage": lambda i: _bearer("Zm9vYmFy"),
    "empty-bearer": lambda i: {"Authorization": "Bearer "},
    "wrong-scheme-basic": lambda i: {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "wrong-scheme-token": lambda i: {"Authorization": f"Token {i.sign(i.claims())}"},
    "no-header": lambda i: {},
}


def _tamper(token: str) -> str:
    """Swap the payload for one granting `admin`, keeping the original signature."""
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["roles"] = ["admin"]
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


def _create_app(spec: ServiceSpec, settings: Any) -> Any:
    module_name, _, factory = spec.app_factory.partition(":")
    app = getattr(importlib.import_module(module_name), factory)(settings)
    app.state.runtime.run_consumers = False
    app.state.runtime.run_background = False
    return app


@pytest.fixture(scope="module", params=["HS256", "RS256"])
async def deployment(
    request: pytest.FixtureRequest, stack: Any
) -> AsyncIterator[tuple[Issuer, dict[str, httpx.AsyncClient]]]:
    """The four services configured for one algorithm, each with its lifespan running."""
    issuer = Issuer(algorithm=request.param, secret="")
    async with AsyncExitStack() as running:
        clients: dict[str, httpx.AsyncClient] = {}
        for spec in SERVICES:
            settings = spec.settings_class(**issuer.settings())
            issuer.secret = settings.jwt_secret
            app = _create_app(spec, settings)
            clients[spec.name] = await running.enter_async_context(serve_in_process(app))
        yield issuer, clients


@pytest.mark.parametrize("service", sorted(PROBES))
async def test_a_valid_token_passes(
    deployment: tuple[Issuer, dict[str, httpx.AsyncClient]], service: str
) -> None:
    """The control: the same request with a proper token is served."""
    issuer, clients = deployment
    response = await clients[service].get(
        PROBES[service], headers=_bearer(issuer.sign(issuer.claims()))
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("service", sorted(PROBES))
@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_every_attack_is_401_on_every_service(
    deployment: tuple[Issuer, dict[str, httpx.AsyncClient]], service: str, attack: str
) -> None:
    issuer, clients = deployment
    response = await clients[service].get(PROBES[service], headers=ATTACKS[attack](issuer))
    assert response.status_code == 401, (attack, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = problem_of(response)
    assert "Traceback" not in response.text
    assert body["type"].endswith(("/unauthorized", "/invalid-token"))


@pytest.mark.parametrize("service", sorted(PROBES))
async def test_a_valid_token_in_the_url_is_refused(
    deployment: tuple[Issuer, dict[str, httpx.AsyncClient]], service: str
) -> None:
    issuer, clients = deployment
    token = issuer.sign(issuer.claims())
    for name in ("access_token", "token"):
        response = await clients[service].get(PROBES[service], params={name: token})
        assert response.status_code == 401, (name, response.text)
        assert "not accepted in URLs" in problem_of(response)["detail"]


@pytest.mark.parametrize("service", sorted(PROBES))
async def test_every_authenticated_route_refuses_a_forged_token_and_documents_401(
    deployment: tuple[Issuer, dict[str, httpx.AsyncClient]], service: str
) -> None:
    """Not just the probe: every operation that declares the bearer scheme, whatever its
    parameters and body, answers a forged token with 401 before anything else."""
    issuer, clients = deployment
    client = clients[service]
    document = (await client.get("/openapi.json")).json()
    forged = _bearer(issuer.other_family(issuer.claims()))
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue
            assert "401" in operation["responses"], (method, path)
            url = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", str(uuid.uuid4()))
            response = await client.request(method.upper(), url, headers=forged, json={})
            assert response.status_code == 401, (method, path, response.text)
            checked += 1
    assert checked >= 3
