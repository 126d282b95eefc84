"""Certificate chains as real package indexes serve them: a leaf under an intermediate under a root.

uv's TLS stack verifies RSA and ECDSA signatures on different code paths (arch-specific assembly in its
crypto library), so the session's index serves one chain of each kind, plus the same RSA chain without its
intermediate (which a client must refuse) and a leaf from a CA the target is never told to trust.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class KeySpec:
    kind: str  # "rsa" or "ecdsa"
    size: int  # RSA modulus bits, or the ECDSA curve's bits

    def generate(self):
        if self.kind == "rsa":
            return rsa.generate_private_key(public_exponent=65537, key_size=self.size)
        return ec.generate_private_key({256: ec.SECP256R1(), 384: ec.SECP384R1()}[self.size])

    @property
    def digest(self):
        return hashes.SHA384() if (self.kind, self.size) == ("ecdsa", 384) else hashes.SHA256()


@dataclass(frozen=True)
class ChainSpec:
    name: str  # the test id
    root: KeySpec
    intermediate: KeySpec | None
    leaf: KeySpec
    send_intermediate: bool = True


@dataclass(frozen=True)
class ServedChain:
    spec: ChainSpec
    root_pem: Path  # the only certificate the client is given
    served_pem: Path  # what the server sends: the leaf, then any intermediate
    key_pem: Path


RSA_2048 = KeySpec("rsa", 2048)
P256, P384 = KeySpec("ecdsa", 256), KeySpec("ecdsa", 384)

TRUSTED = (
    ChainSpec("rsa2048-leaf-rsa-intermediate-rsa-root", RSA_2048, RSA_2048, RSA_2048),
    ChainSpec("ecdsa-p256-leaf-p384-intermediate-p384-root", P384, P384, P256),
)
WITHOUT_INTERMEDIATE = ChainSpec("rsa2048-intermediate-not-sent", RSA_2048, RSA_2048, RSA_2048,
                                 send_intermediate=False)
UNTRUSTED = ChainSpec("ecdsa-p256-from-an-unknown-root", P256, None, P256)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "archsmoke"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: x509.Name, issuer_key, digest, ca: bool,
                 issuer_cert: x509.Certificate | None = None,
                 addresses: tuple[str, ...] = ("127.0.0.1",)) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(now - _ONE_DAY).not_valid_after(now + 30 * _ONE_DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    authority = (issuer_cert.public_key() if issuer_cert is not None else public)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    else:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.DNSName("localhost"), *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses)]),
                                  critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(issuer_key, digest)


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def make_chain(spec: ChainSpec, directory: Path, addresses: tuple[str, ...] = ("127.0.0.1",)) -> ServedChain:
    """Writes root, served chain and leaf key for one spec; each key signs with its own algorithm."""
    root_key = spec.root.generate()
    root_subject = f"archsmoke test root {spec.root.kind}{spec.root.size}"
    root = _certificate(root_subject, root_key, _name(root_subject), root_key, spec.root.digest, ca=True)
    issuer, issuer_key, issuer_spec, chain = root, root_key, spec.root, []
    if spec.intermediate is not None:
        key = spec.intermediate.generate()
        intermediate = _certificate(f"archsmoke test intermediate {spec.intermediate.kind}{spec.intermediate.size}",
                                    key, root.subject, root_key,
                                    spec.root.digest, ca=True, issuer_cert=root)
        issuer, issuer_key, issuer_spec = intermediate, key, spec.intermediate
        chain = [intermediate] if spec.send_intermediate else []
    leaf_key = spec.leaf.generate()
    leaf = _certificate("127.0.0.1", leaf_key, issuer.subject, issuer_key, issuer_spec.digest, ca=False,
                        issuer_cert=issuer, addresses=addresses)
    directory.mkdir(parents=True, exist_ok=True)
    paths = ServedChain(spec, directory / f"{spec.name}.root.pem", directory / f"{spec.name}.chain.pem",
                        directory / f"{spec.name}.key.pem")
    paths.root_pem.write_bytes(_pem(root))
    paths.served_pem.write_bytes(_pem(leaf, *chain))
    paths.key_pem.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    return paths
