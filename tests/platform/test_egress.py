"""The outbound-URL guard (shared/egress.py): webhooks reach public https endpoints only."""

from __future__ import annotations

import ipaddress

import pytest

from shared.egress import UnsafeUrl, check_outbound_url, refused_reason

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
