"""Timestamps as newswatch writes them: UTC, ISO-8601, with a ``Z`` (article and alert fields)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(moment: datetime) -> str:
    """``moment`` in UTC as ``2025-04-09T12:00:00Z`` (microseconds kept when it has them)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
