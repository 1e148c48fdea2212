"""The local certificate authority and the broker's certificate for Kafka's NGO listener.

NGOs reach the broker over SASL_SSL: their SCRAM exchange and every event they read travel
encrypted, and they know they talk to Concord's broker because its certificate is signed by
the mission's CA. On a host without one, the first start generates it here:

    <tls_dir>/ca.pem            the CA certificate: give it to NGOs (public)
    <tls_dir>/ca.key            its private key (0600, never leaves the host)
    <tls_dir>/broker.p12        the broker's key and certificate chain, PKCS#12 (0600)
    <tls_dir>/broker.password   the keystore's password (0600)

The CA is kept across runs (an NGO's trust in it must outlive a restart); the broker's
certificate is reissued when it is missing, close to expiry, or does not name the host NGOs
connect to. A mission with its own PKI puts its CA and a broker keystore in place instead.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = timedelta(days=3650)
BROKER_LIFETIME = timedelta(days=397)
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class BrokerTls:
    """Where the broker's TLS material is, for kafka.sh and for clients."""

    directory: Path
    ca_directory: Path | None = None  # where the CA lives, when not beside the broker's files

    @property
    def ca_certificate(self) -> Path:
        return (self.ca_directory or self.directory) / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return (self.ca_directory or self.directory) / "ca.key"

    @property
    def keystore(self) -> Path:
        return self.directory / "broker.p12"

    @property
    def keystore_password_file(self) -> Path:
        return self.directory / "broker.password"

    def keystore_password(self) -> str:
        return self.keystore_password_file.read_text().strip()


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by the owner only, replacing it atomically."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    partial.replace(path)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Concord"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _load_or_create_ca(
    tls: BrokerTls, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if tls.ca_certificate.exists() and tls.ca_key.exists():
        certificate = x509.load_pem_x509_certificate(tls.ca_certificate.read_bytes())
        key = serialization.load_pem_private_key(tls.ca_key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{tls.ca_key} is not the EC key this module writes")
        if certificate.not_valid_after_utc - now > RENEW_BEFORE:
            return certificate, key
        raise ValueError(
            f"the local CA in {tls.directory} expires on"
            f" {certificate.not_valid_after_utc:%Y-%m-%d}: issue NGOs a new ca.pem, then"
            " remove ca.pem and ca.key to generate one"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name("Concord local CA")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        tls.ca_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    tls.ca_certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate, key


def _alternative_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _broker_is_current(tls: BrokerTls, hosts: list[str], now: datetime) -> bool:
    if not (tls.keystore.exists() and tls.keystore_password_file.exists()):
        return False
    try:
        _key, certificate, _chain = pkcs12.load_key_and_certificates(
            tls.keystore.read_bytes(), tls.keystore_password().encode()
        )
    except ValueError:
        return False
    if certificate is None or certificate.not_valid_after_utc - now <= RENEW_BEFORE:
        return False
    ca = x509.load_pem_x509_certificate(tls.ca_certificate.read_bytes())
    if certificate.issuer != ca.subject:
        return False
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names) >= set(_alternative_names(hosts))


def ensure_broker_tls(
    directory: Path,
    hosts: list[str],
    *,
    now: datetime | None = None,
    ca_directory: Path | None = None,
) -> BrokerTls:
    """The CA (made once) and a broker certificate naming `hosts`, issued when needed. With
    `ca_directory`, the CA is kept there (docker-compose: a volume the broker never mounts)."""
    moment = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if ca_directory is not None:
        ca_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tls = BrokerTls(directory, ca_directory)
    ca_certificate, ca_key = _load_or_create_ca(tls, moment)
    if _broker_is_current(tls, hosts, moment):
        return tls
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - timedelta(minutes=5))
        .not_valid_after(moment + BROKER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_alternative_names(hosts)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(32)
    keystore = pkcs12.serialize_key_and_certificates(
        b"kafka",
        key,
        certificate,
        [ca_certificate],
        serialization.BestAvailableEncryption(password.encode()),
    )
    _write_private(tls.keystore_password_file, password.encode())
    _write_private(tls.keystore, keystore)
    return tls


def main(argv: list[str] | None = None) -> None:
    """`python -m deploy.tls DIR --host NAME … [--ca-dir DIR] [--owner UID]`: what the
    docker-compose `kafka_tls` service runs before the broker starts (idempotent)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.tls", description=main.__doc__)
    parser.add_argument("directory", type=Path, help="where broker.p12 and its password go")
    parser.add_argument("--host", action="append", required=True, help="a name NGOs connect to")
    parser.add_argument("--ca-dir", type=Path, help="where the CA is kept (default: DIR)")
    parser.add_argument(
        "--owner", type=int, help="give the broker's files to this uid (the broker's user)"
    )
    args = parser.parse_args(argv)
    tls = ensure_broker_tls(args.directory, args.host, ca_directory=args.ca_dir)
    if args.owner is not None:
        for path in (tls.directory, tls.keystore, tls.keystore_password_file):
            os.chown(path, args.owner, -1)
    print(f"tls: broker certificate for {', '.join(args.host)} in {tls.directory}")
    print(f"tls: CA certificate for NGOs: {tls.ca_certificate}")


if __name__ == "__main__":
    main()
