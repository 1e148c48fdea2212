"""Tokens verified against an identity provider's key set (`CONCORD_JWT_JWKS_URL`), served
here by a real HTTP server on loopback: keys are found by `kid`, cached, and nothing but the
configured algorithm with a published key passes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from deploy.stack import free_port_block
from shared.auth import TokenVerifier
from shared.config import ServiceSettings
from shared.errors import InvalidToken, Unavailable

IDP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "idp-2026-12"


@dataclass
class KeySetServer:
    url: str
    hits: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def key_set() -> Iterator[KeySetServer]:
    jwk = RSAAlgorithm.to_jwk(IDP_KEY.public_key(), as_dict=True) | {
        "kid": KID,
        "alg": "RS256",
        "use": "sig",
    }
    body = json.dumps({"keys": [jwk]}).encode()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    running = KeySetServer(url=f"http://127.0.0.1:{server.server_port}/jwks", hits=hits)
    running.server = server
    yield running
    running.stop()


def _settings(url: str) -> ServiceSettings:
    return ServiceSettings(jwt_algorithm="RS256", jwt_jwks_url=url, environment="test")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "officer", "roles": ["ops_centre"], "iss": "concord", "aud": "concord"}
    return claims | {"iat": now, "exp": now + 600} | changes


def _token(key: Any = IDP_KEY, kid: str | None = KID, algorithm: str = "RS256") -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(_claims(), key, algorithm=algorithm, headers=headers)


async def test_a_token_signed_with_a_published_key_passes_and_the_key_is_cached(
    key_set: KeySetServer,
) -> None:
    verifier = TokenVerifier(_settings(key_set.url))
    assert key_set.hits == []  # nothing fetched at start-up: the provider may be away then
    for _ in range(3):
        principal = await verifier.authenticate(_token())
        assert principal.subject == "officer"
    assert len(key_set.hits) == 1
    key_set.stop()
    # The provider is gone; a key already known still verifies.
    assert (await verifier.authenticate(_token())).subject == "officer"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _token(kid="someone-elses-key"), id="unknown-kid"),
        pytest.param(lambda: _token(key=ATTACKER_KEY), id="attacker-key-with-the-idp-kid"),
        pytest.param(lambda: _token(kid=None), id="no-kid"),
        pytest.param(
            lambda: jwt.encode(
                _claims(), "guessed-secret-guessed-secret-0123", headers={"kid": KID}
            ),
            id="hs256-with-the-idp-kid",
        ),
        pytest.param(lambda: _token(algorithm="RS512"), id="other-algorithm"),
        pytest.param(lambda: "not-a-token", id="malformed"),
    ],
)
async def test_anything_else_is_an_invalid_token(key_set: KeySetServer, token: Any) -> None:
    verifier = TokenVerifier(_settings(key_set.url))
    with pytest.raises(InvalidToken):
        await verifier.authenticate(token())


async def test_an_unreachable_provider_is_503_not_401() -> None:
    nowhere = f"http://127.0.0.1:{free_port_block()}/jwks"
    verifier = TokenVerifier(_settings(nowhere))
    with pytest.raises(Unavailable):
        await verifier.authenticate(_token())
