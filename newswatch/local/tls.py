"""Certificates for a local secured broker (tests): a CA, a broker certificate for 127.0.0.1, a client
certificate, and a second CA nobody trusts. Made with the ``openssl`` command (Debian package ``openssl``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LocalCerts:
    """Where the PEM files of one set of certificates are."""

    folder: Path

    def path(self, name: str) -> Path:
        """``folder/name``."""
        return self.folder / name

    @property
    def ca(self) -> Path:
        """The CA that signed the broker's and the client's certificates."""
        return self.path("ca.pem")

    @property
    def other_ca(self) -> Path:
        """A CA that signed nothing here: trusting it instead of ``ca`` must fail."""
        return self.path("other-ca.pem")

    @property
    def broker_keystore(self) -> Path:
        """The broker's key and certificate chain in one PEM file (Kafka's ``ssl.keystore.type=PEM``)."""
        return self.path("broker-keystore.pem")

    @property
    def client_cert(self) -> Path:
        """The client's certificate (mTLS)."""
        return self.path("client.pem")

    @property
    def client_key(self) -> Path:
        """The client's private key (mTLS)."""
        return self.path("client-key.pem")

    def broker_config(self, client_auth_listener: str | None = "SSL") -> list[str]:
        """Broker settings for TLS listeners with these certificates; ``client_auth_listener`` requires client
        certificates on that listener."""
        lines = [
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.broker_keystore}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca}",
        ]
        if client_auth_listener:
            lines.append(f"listener.name.{client_auth_listener.lower()}.ssl.client.auth=required")
        return lines


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {done.stderr[-1000:]}")


def make_certs(folder: Path, host: str = "127.0.0.1") -> LocalCerts:
    """A CA, a broker certificate for ``host`` (and localhost), a client certificate, and an untrusted CA."""
    folder.mkdir(parents=True, exist_ok=True)
    days = "2"
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem",
                 "-days", days, "-subj", f"/CN=newswatch test {ca}", cwd=folder)  # fmt: skip
    (folder / "san.cnf").write_text(f"subjectAltName=IP:{host},DNS:localhost\n")
    for name, subject in (("broker", "/CN=localhost"), ("client", "/CN=newswatch-client")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
                 "-subj", subject, cwd=folder)  # fmt: skip
        extra = ["-extfile", "san.cnf"] if name == "broker" else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", days, *extra, cwd=folder)  # fmt: skip
    # PKCS#8 key first, then the chain: the layout Kafka's PEM keystore reads (an unencrypted key, no password)
    _openssl("pkcs8", "-topk8", "-nocrypt", "-in", "broker-key.pem", "-out", "broker-key8.pem", cwd=folder)
    keystore = (folder / "broker-key8.pem").read_text() + (folder / "broker.pem").read_text()
    (folder / "broker-keystore.pem").write_text(keystore)
    return LocalCerts(folder)
