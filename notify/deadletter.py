"""What goes on ``notify.dead-letter``: an alert no sink accepted (or a message that is not an alert), with why.

Value (JSON): ``schema_version`` 1, ``sink``, ``reason`` (the last try's: ``http_503``, ``timeout``,
``circuit_open``, ``template``, ``malformed``, ...), ``attempts``, ``detail``, ``dead_lettered_at``, where it was
read (``topic``, ``partition``, ``offset``) and ``alert`` (the alert document, or null), ``raw`` (a malformed
message's first bytes, as text). Key: the alert id (or the message's own key). Headers: ``sink``, ``reason``.
Replaying one is producing its ``alert`` back onto the alert topic (the receivers' idempotency keys drop repeats).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
MAX_RAW_BYTES = 64 * 1024  # of a malformed message: enough to see what it was


def record(
    *,
    sink: str,
    reason: str,
    attempts: int,
    detail: str,
    topic: str,
    partition: int,
    offset: int,
    alert: dict[str, Any] | None,
    raw: bytes | None = None,
    now: datetime | None = None,
) -> bytes:
    """The dead-letter message's value."""
    value = {
        "schema_version": SCHEMA_VERSION,
        "sink": sink,
        "reason": reason,
        "attempts": attempts,
        "detail": detail[:1000],
        "dead_lettered_at": (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "alert": alert,
        "raw": raw[:MAX_RAW_BYTES].decode("utf-8", "replace") if alert is None and raw is not None else None,
    }
    return json.dumps(value, ensure_ascii=True).encode()


def headers(sink: str, reason: str) -> list[tuple[str, bytes]]:
    """Kafka headers, so a consumer of the dead letters can filter without parsing."""
    return [("content-type", b"application/json"), ("sink", sink.encode()), ("reason", reason.encode())]
