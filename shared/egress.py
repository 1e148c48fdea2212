"""Outbound HTTP to addresses someone else chose (webhooks): refuse the inside of the mission.

A URL an NGO registers is resolved, and every address it resolves to must be a public one:
loopback, private (RFC 1918, unique-local), carrier-grade NAT, link-local (which holds the
cloud metadata service at 169.254.169.254), multicast, reserved and unspecified addresses are
refused, IPv4-mapped IPv6 included. The check runs at registration and again before every
delivery, since what a name resolves to can change. Only `https` is accepted; tests may allow
`http` to loopback (and only loopback) for a receiver in the test process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

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
