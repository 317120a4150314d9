"""How every Kafka client connects: the one place that turns settings into TLS and SASL options.

kafka-python (pollers, admin, ``alerts tail``), aiokafka (the full-text stage) and Faust (the worker) each take
the same facts in their own shape; ``KafkaSecurity`` holds the facts once and hands each client its shape.
The password never appears in ``repr``, logs or error messages.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newswatch.core.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SecurityConfigError(ValueError):
    """A security setting that cannot work (a missing file, a password in two places, ...); names the setting."""


@dataclass(frozen=True)
class KafkaSecurity:
    """TLS and SASL settings of every Kafka client of one process."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = field(default="", repr=False)
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    check_hostname: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        """The security of ``settings``; the password from ``kafka_sasl_password`` or the file it names."""
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        if settings.kafka_sasl_password_file is not None:
            if password:
                raise SecurityConfigError(
                    "set NEWSWATCH_KAFKA_SASL_PASSWORD or NEWSWATCH_KAFKA_SASL_PASSWORD_FILE, not both"
                )
            path = settings.kafka_sasl_password_file
            try:
                password = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SecurityConfigError(
                    f"NEWSWATCH_KAFKA_SASL_PASSWORD_FILE: cannot read {path} ({exc.strerror or exc})"
                ) from None
        security = cls(
            protocol=settings.kafka_security_protocol,
            mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=password,
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
            check_hostname=settings.kafka_ssl_check_hostname,
        )
        security.check()
        return security

    @property
    def uses_sasl(self) -> bool:
        """True for SASL_PLAINTEXT and SASL_SSL."""
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        """True for SSL and SASL_SSL."""
        return self.protocol in ("SSL", "SASL_SSL")

    def check(self) -> None:
        """Raise SecurityConfigError for settings that cannot work, naming the setting to change."""
        if self.uses_sasl and (not self.username or not self.password):
            raise SecurityConfigError(
                f"NEWSWATCH_KAFKA_SECURITY_PROTOCOL={self.protocol} needs NEWSWATCH_KAFKA_SASL_USERNAME and "
                "NEWSWATCH_KAFKA_SASL_PASSWORD (or NEWSWATCH_KAFKA_SASL_PASSWORD_FILE)"
            )
        for name, path in (("CAFILE", self.cafile), ("CERTFILE", self.certfile), ("KEYFILE", self.keyfile)):
            if path is not None and not path.is_file():
                raise SecurityConfigError(f"NEWSWATCH_KAFKA_SSL_{name}: {path} does not exist")
        if (self.certfile is None) != (self.keyfile is None):
            raise SecurityConfigError("NEWSWATCH_KAFKA_SSL_CERTFILE and NEWSWATCH_KAFKA_SSL_KEYFILE go together")
        if not self.uses_tls and (self.cafile or self.certfile):
            raise SecurityConfigError(
                f"TLS files are set but NEWSWATCH_KAFKA_SECURITY_PROTOCOL={self.protocol}; use SSL or SASL_SSL"
            )

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context (system CAs, or the CA file; the client certificate for mTLS), or None without TLS."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        context.check_hostname = self.check_hostname
        if self.certfile and self.keyfile:
            context.load_cert_chain(str(self.certfile), str(self.keyfile))
        return context

    def kafka_python(self) -> dict[str, Any]:
        """Options for kafka-python's producer, consumer and admin client."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return options

    def aiokafka(self) -> dict[str, Any]:
        """Options for aiokafka's producer and consumer (same names as kafka-python's)."""
        return self.kafka_python()

    def faust_credentials(self) -> Any:
        """Faust's ``broker_credentials`` (None for PLAINTEXT)."""
        import faust  # the worker's dependency; pollers never get here

        if self.uses_sasl:
            return faust.SASLCredentials(
                username=self.username, password=self.password, ssl_context=self.ssl_context(), mechanism=self.mechanism
            )
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context())
        return None

    def describe(self) -> str:
        """What the clients use, for messages (never the password)."""
        if self.uses_sasl:
            return f"{self.protocol}, {self.mechanism} as user '{self.username}'"
        if self.certfile:
            return f"{self.protocol} with client certificate {self.certfile}"
        return self.protocol


def diagnose(bootstrap: str, security: KafkaSecurity, timeout: float = 5.0) -> str:
    """Why the first bootstrap server does not take our connection, when a TLS handshake can tell; else "".

    Kafka clients report a TLS or protocol mismatch as a bootstrap timeout; this probe says which setting to fix.
    """
    import socket

    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        raw = socket.create_connection((host, int(port or 9092)), timeout=timeout)
    except OSError as exc:
        return f"nothing answers at {first} ({exc.strerror or exc})"
    with raw:
        if security.uses_tls:
            context = security.ssl_context()
            assert context is not None
            try:
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    tls.settimeout(0.5)
                    try:
                        tls.recv(1)  # TLS 1.3 reports a refused client certificate only after the handshake
                    except TimeoutError:
                        return ""
                    return ""
            except ssl.SSLCertVerificationError as exc:
                if "hostname" in str(exc.verify_message or exc).lower() or "IP address mismatch" in str(exc):
                    return (
                        f"the certificate of {first} does not name '{host}' ({exc.verify_message}); connect by a "
                        "name the certificate lists, or set NEWSWATCH_KAFKA_SSL_CHECK_HOSTNAME=false"
                    )
                return (
                    f"the certificate of {first} is not trusted ({exc.verify_message}); set "
                    "NEWSWATCH_KAFKA_SSL_CAFILE to the CA that signed the brokers' certificates"
                )
            except ssl.SSLError as exc:
                text = str(exc)
                if "CERTIFICATE_REQUIRED" in text.upper() or "certificate required" in text:
                    return (
                        f"{first} requires a client certificate; set NEWSWATCH_KAFKA_SSL_CERTFILE and "
                        "NEWSWATCH_KAFKA_SSL_KEYFILE"
                    )
                if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text or "EOF" in text:
                    return (
                        f"{first} does not speak TLS (a PLAINTEXT or SASL_PLAINTEXT listener) but "
                        f"NEWSWATCH_KAFKA_SECURITY_PROTOCOL={security.protocol}"
                    )
                return f"TLS with {first} failed: {text[:200]}"
            except OSError as exc:
                return (
                    f"{first} closed the connection during the TLS handshake ({exc}); is it a TLS listener? "
                    f"NEWSWATCH_KAFKA_SECURITY_PROTOCOL={security.protocol}"
                )
        probe = ssl.create_default_context()
        probe.check_hostname = False
        probe.verify_mode = ssl.CERT_NONE
        raw.settimeout(timeout)
        try:
            with probe.wrap_socket(raw, server_hostname=host):
                return (
                    f"{first} speaks TLS but NEWSWATCH_KAFKA_SECURITY_PROTOCOL={security.protocol}; "
                    "set it to SSL or SASL_SSL"
                )
        except ssl.SSLError as exc:
            if "CERTIFICATE_REQUIRED" in str(exc).upper():
                return f"{first} speaks TLS (with client certificates) but the protocol is {security.protocol}"
            return ""
        except OSError:
            return ""


class SaslRefusals(logging.Handler):
    """Catches the broker's refusal of our SASL credentials in kafka-python's log, which is the only place it appears:
    kafka-python (like aiokafka) reports a refused login to its caller as a bootstrap timeout.

    Two records carry it: the connection manager's "Connection failed: ... SaslAuthenticationFailedError ..." (an
    ERROR, logged on every refused try) and, at DEBUG, the protocol parser's ``SaslAuthenticateResponse``.
    ``found`` is the broker's reason, "" while none was seen. Attach it with :func:`catching_refusals`.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found = ""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "SaslAuthenticateResponse" in message and "error_code=0," not in message:
            reason = re.search(r"error_message='([^']*)'", message)
            self.found = reason.group(1) if reason else "credentials refused"
        elif "SaslAuthenticationFailedError" in message:
            # "...SaslAuthenticationFailedError: <the broker's message>": keep what follows the last class name
            self.found = message.rsplit("SaslAuthenticationFailedError", 1)[1].lstrip(":] ").strip()[:200] or (
                "credentials refused"
            )


@contextmanager
def catching_refusals(debug: bool = False) -> Iterator[SaslRefusals]:
    """A :class:`SaslRefusals` on kafka-python's connection manager (and, with ``debug``, its protocol parser) for
    the block. A logger the console does not show at that level (newswatch shows kafka-python's from CRITICAL up,
    NEWSWATCH_KAFKA_CLIENT_LOG_LEVEL) is opened for the block with its records kept out of the console."""
    catch = SaslRefusals()
    taps = [("kafka.net.manager", logging.ERROR)] + ([("kafka.protocol.parser", logging.DEBUG)] if debug else [])
    saved = []
    for name, level in taps:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        if logger.getEffectiveLevel() > level:
            logger.setLevel(level)
            logger.propagate = False
        logger.addHandler(catch)
    try:
        yield catch
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(catch)
            logger.setLevel(level)
            logger.propagate = propagate


def sasl_refusal(bootstrap: str, security: KafkaSecurity, timeout: float = 15.0) -> str:
    """The broker's reason when it refuses our SASL credentials, else "".

    One short connection is made with kafka-python's log caught (:class:`SaslRefusals`). It runs only after a
    failure in which no refusal was logged, so its timeout is generous: a TLS and SCRAM handshake on a loaded machine
    took longer than 5 s (CI flake).
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    with catching_refusals(debug=True) as catch:
        try:
            client = KafkaAdminClient(
                bootstrap_servers=bootstrap, bootstrap_timeout_ms=int(timeout * 1000), **security.kafka_python()
            )
            client.close()
        except (KafkaError, OSError):
            pass
    return catch.found
