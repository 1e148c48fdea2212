"""Outbound HTTP to addresses someone else chose (webhooks): refuse the inside of the mission.

A URL an NGO registers is resolved, and every address it resolves to must be a public one:
loopback, private (RFC 1918, unique-local), carrier-grade NAT, link-local (which holds the
cloud metadata service at 169.254.169.254), multicast, reserved and unspecified addresses are
refused, IPv4-mapped IPv6 included. The check runs at registration and again before every
delivery, since what a name resolves to can change, and the delivery's connection goes to an
address that check accepted (`outbound_client`: no DNS rebinding between check and connect).
Only `https` is accepted; tests may allow `http` to loopback (and only loopback) for a
receiver in the test process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from shared.errors import Unprocessable

# Named although `is_global` already excludes them: the addresses an attacker aims at.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
MAX_URL_LENGTH = 2000


class UnsafeUrl(Unprocessable):
    problem_type = "webhook-url-refused"
    title = "This URL may not receive webhooks"


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def refused_reason(address: IpAddress, *, allow_loopback: bool) -> str | None:
    """Why this address may not be called, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    for reason, hit in (
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
    ):
        if hit:
            return reason
    if not address.is_global:
        return "a non-public address"
    return None


def check_url_shape(url: str, *, allow_loopback: bool) -> str:
    """The host of `url` if its shape is acceptable (scheme, host, no credentials)."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"url: longer than {MAX_URL_LENGTH} characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"url: {exc}", field="url") from None
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrl("url: only https:// endpoints receive webhooks", field="url")
    if not parts.hostname:
        raise UnsafeUrl("url: no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("url: credentials in the URL are refused; we sign instead", field="url")
    if parts.fragment:
        raise UnsafeUrl("url: a fragment is never sent; leave it out", field="url")
    if port == 0:
        raise UnsafeUrl("url: port 0", field="url")
    return parts.hostname


async def resolve(host: str) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_outbound_url(url: str, *, allow_loopback: bool = False) -> None:
    """Refuse (`UnsafeUrl`, a 422) a URL that is not https, does not resolve, or resolves to
    any address that is not public. With `allow_loopback`, http and loopback are accepted,
    and only loopback may then be reached over plain http."""
    host = check_url_shape(url, allow_loopback=allow_loopback)
    try:
        addresses = await resolve(host)
    except OSError as exc:
        raise UnsafeUrl(f"url: {host} does not resolve ({exc})", field="url") from None
    if not addresses:
        raise UnsafeUrl(f"url: {host} does not resolve", field="url")
    for address in addresses:
        reason = refused_reason(address, allow_loopback=allow_loopback)
        if reason is not None:
            raise UnsafeUrl(f"url: {host} resolves to {address}, {reason}", field="url")
    if urlsplit(url).scheme == "http" and not all(a.is_loopback for a in addresses):
        raise UnsafeUrl("url: only https:// endpoints receive webhooks", field="url")


# --- Pinning: the address checked is the address connected to --------------------------
#
# Checking a URL and then letting the HTTP client resolve its name again leaves a window: a
# name with a short TTL can answer a public address to the check and 127.0.0.1 to the
# connection (DNS rebinding). `outbound_client` closes it: its transport resolves the name
# once per connection, refuses it if any address is not public, and connects to one of the
# addresses it checked. TLS still verifies the certificate against the URL's host name.


class RefusedConnection(httpx.ConnectError):
    """The name resolved, at connection time, to an address that may not be called."""


class _RefusedAddress(httpcore.ConnectError):
    pass


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to addresses `refused_reason` accepts."""

    def __init__(
        self, *, allow_loopback: bool, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.allow_loopback = allow_loopback
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve ({exc})") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} does not resolve")
        for address in addresses:
            reason = refused_reason(address, allow_loopback=self.allow_loopback)
            if reason is not None:
                raise _RefusedAddress(f"{host} resolves to {address}, {reason}")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never an outbound destination")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


# Most specific first: the first match maps an httpcore error to httpx's.
_ERRORS: list[tuple[type[Exception], type[httpx.RequestError]]] = [
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
]


def _as_httpx(exc: Exception, request: httpx.Request) -> Exception:
    if isinstance(exc, _RefusedAddress):
        return RefusedConnection(str(exc), request=request)
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(str(exc), request=request)
    return exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], request: httpx.Request) -> None:
        self.stream = stream
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self.stream:
                yield part
        except Exception as exc:
            raise _as_httpx(exc, self.request) from exc

    async def aclose(self) -> None:
        close = getattr(self.stream, "aclose", None)
        if close is not None:
            await close()


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx's transport over an httpcore pool whose connections go through `PinnedBackend`."""

    def __init__(self, *, allow_loopback: bool, max_connections: int = 100) -> None:
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=PinnedBackend(allow_loopback=allow_loopback),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self.pool.handle_async_request(core_request)
        except Exception as exc:
            raise _as_httpx(exc, request) from exc
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


def outbound_client(*, allow_loopback: bool = False) -> httpx.AsyncClient:
    """The client for URLs someone else chose: pinned to checked addresses, no redirects
    (one could lead anywhere), no proxy or other settings from the environment."""
    return httpx.AsyncClient(
        transport=PinnedTransport(allow_loopback=allow_loopback),
        follow_redirects=False,
        trust_env=False,
    )
