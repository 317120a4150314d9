"""The webhook sink: each alert POSTed as its alert v1 JSON (or a Jinja2 template's output), signed.

Headers a receiver gets (docs/notify.md shows how to check them):
- ``X-Newswatch-Signature-256: sha256=<hex>``: HMAC-SHA256 of the exact body bytes with the endpoint's secret;
- ``Idempotency-Key``: ``<alert_id>`` for an alert's first revision, ``<alert_id>.<revision>`` for its updates; the
  same on every try and every redelivery of one message, so a receiver keeps the first and drops repeats, yet an
  update (a further source of the story: same ``alert_id``, next ``revision``) is not dropped as a repeat;
- ``X-Newswatch-Alert-Id``, ``X-Newswatch-Revision``, ``X-Newswatch-Rule``, ``X-Newswatch-Severity``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from newswatch.notify.attempt import Outcome, post
from newswatch.notify.config import WebhookSink
from newswatch.notify.template import Template, TemplateFailed

SIGNATURE_HEADER = "X-Newswatch-Signature-256"


def signature(secret: bytes, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header)


def idempotency_key(alert: Mapping[str, Any]) -> str:
    """``alert_id`` for revision 0, ``alert_id.revision`` for an update (see the module's docstring)."""
    revision = alert.get("revision") or 0
    return str(alert["alert_id"]) + (f".{revision}" if revision else "")


def _ascii(value: object) -> str:
    """A header value from the alert: printable ASCII only (a header cannot carry the rest, nor a line break)."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in str(value))[:200]


class Webhook:
    """One configured webhook endpoint; ``await deliver_once(...)`` is one try."""

    def __init__(self, name: str, config: WebhookSink) -> None:
        self.name = name
        self.config = config
        self.template = Template(config.template_text) if config.template_text is not None else None
        self._secret = config.secret.get_secret_value().encode() if config.secret is not None else None

    def __repr__(self) -> str:  # the URL may hold a token and the secret must never reach a log
        return f"Webhook({self.name!r})"

    def wants(self, alert: Mapping[str, Any]) -> bool:
        """Every kind of alert routed here is posted (a route's ``match: {kind: ...}`` chooses)."""
        return True

    def request(self, alert: Mapping[str, Any], raw: bytes) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the request for ``alert`` (``raw``: its bytes as read off the topic).

        Raises TemplateFailed when the endpoint's template cannot render this alert.
        """
        body = self.template.render(alert, self.config.content_type) if self.template else raw
        headers = {
            **self.config.headers,
            "content-type": self.config.content_type,
            "idempotency-key": idempotency_key(alert),
            "x-newswatch-alert-id": str(alert["alert_id"]),
            "x-newswatch-revision": str(alert.get("revision") or 0),
            "x-newswatch-rule": _ascii(alert["rule"]["id"]),
            "x-newswatch-severity": _ascii(alert["rule"]["severity"]),
        }
        if self._secret is not None:
            headers[SIGNATURE_HEADER.lower()] = signature(self._secret, body)
        return body, headers

    async def deliver_once(self, client: httpx.AsyncClient, alert: Mapping[str, Any], raw: bytes) -> Outcome:
        """One POST of ``alert``; a template that fails is not retried (it would fail the same way)."""
        try:
            body, headers = self.request(alert, raw)
        except TemplateFailed as exc:
            return Outcome(False, "template", detail=str(exc))
        return await post(client, self.config.url, body, headers, self.config.timeout)
