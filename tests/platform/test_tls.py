"""The local CA and the broker certificate of Kafka's NGO listener (deploy/tls.py)."""

from __future__ import annotations

import ipaddress
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import verification

from deploy.tls import BROKER_LIFETIME, BrokerTls, ensure_broker_tls, main

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def broker_certificate(tls: BrokerTls) -> tuple[x509.Certificate, list[x509.Certificate]]:
    _key, certificate, chain = pkcs12.load_key_and_certificates(
        tls.keystore.read_bytes(), tls.keystore_password().encode()
    )
    assert certificate is not None
    return certificate, chain


def verify(tls: BrokerTls, name: x509.verification.Subject, at: datetime) -> None:
    """What an NGO's client does: the broker's certificate, for this name, against the CA."""
    ca = x509.load_pem_x509_certificate(tls.ca_certificate.read_bytes())
    certificate, chain = broker_certificate(tls)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([ca]))
        .time(at)
        .build_server_verifier(name)
    )
    verifier.verify(certificate, chain)


def test_the_ca_is_made_once_and_signs_a_broker_certificate_for_the_listener(
    tmp_path: Path,
) -> None:
    tls = ensure_broker_tls(tmp_path / "tls", ["127.0.0.1", "localhost"], now=NOW)
    verify(tls, verification.IPAddress(ipaddress.ip_address("127.0.0.1")), NOW)
    verify(tls, verification.DNSName("localhost"), NOW)
    with pytest.raises(verification.VerificationError):
        verify(tls, verification.DNSName("broker.example.org"), NOW)
    # Secrets are the owner's only; the CA certificate is what NGOs are given.
    for secret in (tls.ca_key, tls.keystore, tls.keystore_password_file):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    ca = tls.ca_certificate.read_bytes()
    keystore = tls.keystore.read_bytes()

    # A restart keeps both: NGOs' trust in the CA outlives it, and nothing is reissued.
    again = ensure_broker_tls(tmp_path / "tls", ["127.0.0.1", "localhost"], now=NOW)
    assert again.ca_certificate.read_bytes() == ca and again.keystore.read_bytes() == keystore


def test_the_broker_certificate_is_reissued_for_a_new_host_or_before_it_expires(
    tmp_path: Path,
) -> None:
    tls = ensure_broker_tls(tmp_path / "tls", ["127.0.0.1"], now=NOW)
    ca = tls.ca_certificate.read_bytes()
    first, _ = broker_certificate(tls)

    ensure_broker_tls(tmp_path / "tls", ["127.0.0.1", "concord.mission.example"], now=NOW)
    renamed, _ = broker_certificate(tls)
    assert renamed.serial_number != first.serial_number
    verify(tls, verification.DNSName("concord.mission.example"), NOW)

    later = NOW + BROKER_LIFETIME - timedelta(days=10)
    ensure_broker_tls(tmp_path / "tls", ["127.0.0.1", "concord.mission.example"], now=later)
    renewed, _ = broker_certificate(tls)
    assert renewed.serial_number != renamed.serial_number
    verify(tls, verification.DNSName("concord.mission.example"), later + timedelta(days=300))
    assert tls.ca_certificate.read_bytes() == ca  # the same CA throughout


def test_a_broker_certificate_of_another_ca_is_not_trusted(tmp_path: Path) -> None:
    ours = ensure_broker_tls(tmp_path / "ours", ["127.0.0.1"], now=NOW)
    theirs = ensure_broker_tls(tmp_path / "theirs", ["127.0.0.1"], now=NOW)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "ca.pem").write_bytes(ours.ca_certificate.read_bytes())
    (mixed / "broker.p12").write_bytes(theirs.keystore.read_bytes())
    (mixed / "broker.password").write_bytes(theirs.keystore_password_file.read_bytes())
    with pytest.raises(verification.VerificationError):
        verify(BrokerTls(mixed), verification.IPAddress(ipaddress.ip_address("127.0.0.1")), NOW)


def test_the_compose_step_keeps_the_ca_apart_and_hands_the_broker_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uid = os.getuid()
    main([str(tmp_path / "tls"), "--ca-dir", str(tmp_path / "ca"), "--host", "localhost",
          "--host", "concord.mission.example", "--owner", str(uid)])  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == [
        "broker.p12",
        "broker.password",
    ]
    assert sorted(p.name for p in (tmp_path / "ca").iterdir()) == ["ca.key", "ca.pem"]
    tls = BrokerTls(tmp_path / "tls", tmp_path / "ca")
    assert tls.keystore.stat().st_uid == uid
    verify(tls, verification.DNSName("concord.mission.example"), datetime.now(UTC))
    assert str(tls.ca_certificate) in capsys.readouterr().out
