"""Who may use a console and how its forms are protected: binding, token / basic auth, cross-site checks.

Safe by default: a console binds 127.0.0.1; bound anywhere else it refuses to start unless a token or basic-auth
credentials come from the environment. Triage POSTs need the page's per-session CSRF token and a same-origin
request (``Sec-Fetch-Site`` / ``Origin``). Secrets never appear in ``repr``, logs or pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from newswatch.core.settings import Settings


class ConsoleConfigError(ValueError):
    """Console settings that cannot be used safely (no credentials off loopback, a secret in two places, ...)."""


def _secret(name: str, value: SecretStr | None, path: Path | None) -> str:
    """A secret from its variable or, better, the file the ``*_FILE`` variable names; never both."""
    if value is not None and path is not None:
        raise ConsoleConfigError(f"set NEWSWATCH_{name} or NEWSWATCH_{name}_FILE, not both")
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConsoleConfigError(f"NEWSWATCH_{name}_FILE: cannot read {path} ({exc.strerror or exc})") from None
    return value.get_secret_value() if value is not None else ""


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, ``localhost``)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


@dataclass(frozen=True)
class ConsoleAuth:
    """The credentials a request must present: a token, basic-auth user and password, either, or none."""

    token: str = field(default="", repr=False)
    user: str = ""
    password: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleAuth:
        """The credentials of ``settings``; ConsoleConfigError for half-set or unreadable ones."""
        token = _secret("CONSOLE_TOKEN", settings.console_token, settings.console_token_file)
        password = _secret("CONSOLE_PASSWORD", settings.console_password, settings.console_password_file)
        if bool(settings.console_user) != bool(password):
            raise ConsoleConfigError(
                "NEWSWATCH_CONSOLE_USER and NEWSWATCH_CONSOLE_PASSWORD (or _PASSWORD_FILE) go together"
            )
        return cls(token=token, user=settings.console_user, password=password)

    @property
    def required(self) -> bool:
        """True when requests must authenticate."""
        return bool(self.token or self.user)

    def allows(self, authorization: str) -> bool:
        """True when the ``Authorization`` header carries the token (as ``Bearer`` or as a basic-auth password)
        or the basic-auth user and password; always True when no credentials are set."""
        if not self.required:
            return True
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.token:
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if scheme != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        by_token = bool(self.token) and hmac.compare_digest(password.encode(), self.token.encode())
        by_user = bool(self.user) and (
            hmac.compare_digest(user.encode(), self.user.encode())
            & hmac.compare_digest(password.encode(), self.password.encode())
        )
        return by_token or by_user


def check_binding(host: str, auth: ConsoleAuth) -> None:
    """Raise ConsoleConfigError when ``host`` is reachable from other machines and no credentials are set."""
    if not is_loopback(host) and not auth.required:
        raise ConsoleConfigError(
            f"the console would listen on {host}, reachable from other machines, without authentication: set "
            "NEWSWATCH_CONSOLE_TOKEN (or _TOKEN_FILE) or NEWSWATCH_CONSOLE_USER and NEWSWATCH_CONSOLE_PASSWORD "
            "(or _PASSWORD_FILE), or bind 127.0.0.1"
        )


class CsrfTokens:
    """Per-session CSRF tokens: an HMAC of the session id under a key only this process knows.

    A page's forms carry the token of the session cookie the page was served with; a request from another site
    neither has the cookie (``SameSite=Strict``) nor can read the token.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    @staticmethod
    def new_session() -> str:
        """A fresh, unguessable session id."""
        return secrets.token_urlsafe(24)

    def token(self, session: str) -> str:
        """The CSRF token of ``session``."""
        return hmac.new(self._key, session.encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str, token: str) -> bool:
        """True when ``token`` belongs to ``session``."""
        return bool(session and token) and hmac.compare_digest(self.token(session), token)


def cross_site(headers: dict[str, str], host: str) -> str:
    """Why a state-changing request looks cross-site (``headers`` lower-cased names), or "" when it does not.

    Browsers send ``Sec-Fetch-Site`` and, on POSTs, ``Origin``; either naming another site refuses the request.
    """
    fetch_site = headers.get("sec-fetch-site", "")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {fetch_site}"
    origin = headers.get("origin", "")
    if origin and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower()):
        return "Origin is another site"
    return ""
