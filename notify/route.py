"""Which sinks an alert goes to: the union of the sinks of every route whose ``match`` it meets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from newswatch.notify.config import SEVERITIES, Match, NotifyConfig


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def matches(match: Match, alert: Mapping[str, Any]) -> bool:
    """Whether ``alert`` (an alert v1 document) meets every condition ``match`` sets."""
    rule = _mapping(alert.get("rule"))
    severity = rule.get("severity")
    if match.rule is not None and rule.get("id") not in match.rule:
        return False
    if match.category is not None and rule.get("category") not in match.category:
        return False
    if match.severity is not None and severity not in match.severity:
        return False
    if match.min_severity is not None and (
        severity not in SEVERITIES or SEVERITIES.index(severity) < SEVERITIES.index(match.min_severity)
    ):
        return False
    if match.kind is not None and alert.get("kind", "alert") not in match.kind:
        return False
    if match.actor is not None:
        actors = alert.get("actors") if isinstance(alert.get("actors"), list) else []
        ids = {_mapping(actor).get("id") for actor in actors}
        if not ids & set(match.actor):
            return False
    return True


def route(config: NotifyConfig, alert: Mapping[str, Any]) -> list[str]:
    """The names of the sinks ``alert`` goes to, in the order the file first names them, each once."""
    chosen: dict[str, None] = {}
    for candidate in config.routes:
        if matches(candidate.match, alert):
            chosen.update(dict.fromkeys(candidate.sinks))
    return list(chosen)
