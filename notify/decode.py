"""What a message on the alert topic must be for notify to route it: a JSON object with the alert contract's
identifying parts (config/schemas/alert.v1.json). Anything else is dead-lettered as ``malformed``."""

from __future__ import annotations

import json
import re
from typing import Any

_ALERT_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_ALERT_BYTES = 1024 * 1024  # the worker's own bound on what it produces


def decode_alert(value: bytes | None) -> dict[str, Any] | None:
    """The alert in ``value``, or None when it is not one notify can route and deliver."""
    if not value or len(value) > MAX_ALERT_BYTES:
        return None
    try:
        alert = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(alert, dict) or alert.get("schema_version") != 1:
        return None
    rule = alert.get("rule")
    if not (isinstance(alert.get("alert_id"), str) and _ALERT_ID.match(alert["alert_id"])):
        return None
    if not (isinstance(rule, dict) and isinstance(rule.get("id"), str) and isinstance(rule.get("severity"), str)):
        return None
    revision = alert.get("revision", 0)
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        return None
    return alert
