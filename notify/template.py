"""A webhook's optional Jinja2 template: a chat-style payload (Slack, Teams, ...) instead of the alert's JSON.

Templates run in Jinja2's sandbox: the values they read are feed text written by third parties, and a template
gets nothing but the alert (``alert``), Jinja2's own filters (``tojson`` quotes a value as a JSON string) and
``mrkdwn`` (escapes ``& < >`` for Slack).
A template is compiled when the notify file is loaded, so a syntax error is reported at start with its line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

MAX_BODY_BYTES = 256 * 1024  # a rendered body larger than this is a template bug (a loop over something huge)


class TemplateFailed(ValueError):
    """The template cannot render this alert, or rendered something that is not what its content type says."""


def mrkdwn(value: object) -> str:
    """Text escaped for Slack's mrkdwn: a headline's ``<`` would otherwise open a link of its author's choosing."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _environment() -> SandboxedEnvironment:
    # ChainableUndefined: an alert without an optional part (``escalation`` on a plain alert) renders as empty
    # instead of failing the delivery; autoescape off because the output is JSON or text, not HTML.
    env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["mrkdwn"] = mrkdwn
    return env


class Template:
    """A compiled template; ``render(alert, content_type)`` gives the request body."""

    def __init__(self, source: str) -> None:
        """Compile ``source``; raises TemplateFailed with the template's line on a syntax error."""
        try:
            self._template = _environment().from_string(source)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            raise TemplateFailed(f"template line {line}: {exc}" if line else f"template: {exc}") from None

    def render(self, alert: Mapping[str, Any], content_type: str = "application/json") -> bytes:
        """The body for ``alert``; with a JSON content type the output must parse as JSON."""
        try:
            text = self._template.render(alert=alert)
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            raise TemplateFailed(f"rendering failed: {type(exc).__name__}: {exc}"[:300]) from None
        body = text.encode("utf-8", "replace")
        if len(body) > MAX_BODY_BYTES:
            raise TemplateFailed(f"rendered {len(body):,} bytes, over the {MAX_BODY_BYTES:,}-byte limit")
        if "json" in content_type:
            try:
                json.loads(body)
            except ValueError as exc:
                raise TemplateFailed(f"rendered text is not JSON ({exc}); quote values with |tojson") from None
        return body
