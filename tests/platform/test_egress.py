"""The outbound-URL guard (shared/egress.py): webhooks reach public https endpoints only."""

from __future__ import annotations

import asyncio
import ipaddress
import re

import pytest

from shared import egress
from shared.egress import (
    IpAddress,
    RefusedConnection,
    UnsafeUrl,
    check_outbound_url,
    outbound_client,
    refused_reason,
)

REFUSED = [
    "127.0.0.1",
    "::1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.10.10",
    "fe80::1",
    "fd00:ec2::254",
    "fc00::1",
    "100.64.0.1",
    "100.100.100.200",
    "224.0.0.251",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "255.255.255.255",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "192.0.2.1",
    "2001:db8::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused(address: str) -> None:
    assert refused_reason(ipaddress.ip_address(address), allow_loopback=False) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert refused_reason(ipaddress.ip_address(address), allow_loopback=False) is None


def test_the_test_allowance_opens_loopback_and_nothing_else() -> None:
    assert refused_reason(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refused_reason(ipaddress.ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    for address in ("10.0.0.1", "169.254.169.254", "192.168.0.1"):
        assert refused_reason(ipaddress.ip_address(address), allow_loopback=True) is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/hook",  # plain http
        "https://127.0.0.1/hook",  # loopback without the test allowance
        "http://127.0.0.1:8080/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://user:secret@8.8.8.8/hook",
        "https://8.8.8.8/hook#frag",
        "https:///hook",
        "https://8.8.8.8:99999/hook",
        "gopher://8.8.8.8/",
        "https://name.invalid/hook",
    ],
)
async def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_outbound_url(url, allow_loopback=False)


async def test_a_public_https_address_passes() -> None:
    await check_outbound_url("https://8.8.8.8/hook", allow_loopback=False)
    await check_outbound_url("http://127.0.0.1:8080/hook", allow_loopback=True)


class Receiver:
    """A loopback HTTP endpoint that records the Host header of each request it gets."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        host = next(line for line in head.split("\r\n") if line.lower().startswith("host:"))
        self.hosts.append(host.split(":", 1)[1].strip())
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


def answering(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[str]:
    """Make name resolution answer `answers` in turn (the last one for good): a DNS server
    with a short TTL, under an attacker's control. Returns the names looked up."""
    asked: list[str] = []
    queue = list(answers)

    async def resolve(host: str) -> list[IpAddress]:
        asked.append(host)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(a) for a in answer]

    monkeypatch.setattr(egress, "resolve", resolve)
    return asked


async def test_a_name_rebound_inside_after_the_check_is_not_connected_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: public to the check, loopback a moment later. The connection is made
    to what the transport itself resolved and checked, so it is refused, and the receiver
    inside never sees a request."""
    receiver = Receiver()
    async with receiver as port:
        url = f"https://rebind.example:{port}/hook"
        asked = answering(monkeypatch, ["93.184.216.34"], ["127.0.0.1"])
        await check_outbound_url(url, allow_loopback=False)  # passes: a public address
        async with outbound_client(allow_loopback=False) as client:
            with pytest.raises(RefusedConnection, match=re.escape("127.0.0.1, a loopback address")):
                await client.post(url, content=b"{}")
        assert asked == ["rebind.example", "rebind.example"]
        assert receiver.hosts == []


async def test_the_client_connects_to_the_address_it_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name no real resolver knows reaches the receiver: the connection went to the
    transport's own (checked) answer; the request still names the URL's host."""
    receiver = Receiver()
    async with receiver as port:
        answering(monkeypatch, ["127.0.0.1"])
        async with outbound_client(allow_loopback=True) as client:
            response = await client.post(f"http://receiver.invalid:{port}/hook", content=b"{}")
    assert response.status_code == 204
    assert receiver.hosts == [f"receiver.invalid:{port}"]


async def test_a_name_with_any_inside_address_is_refused_even_if_one_is_public(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(monkeypatch, ["93.184.216.34", "10.0.0.7"])
    async with outbound_client(allow_loopback=False) as client:
        with pytest.raises(RefusedConnection, match=re.escape("10.0.0.7, a private address")):
            await client.post("https://mixed.example/hook", content=b"{}")


async def test_the_client_follows_no_redirect_and_reads_no_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9/")
    client = outbound_client()
    try:
        assert client.follow_redirects is False and client.trust_env is False
    finally:
        await client.aclose()
