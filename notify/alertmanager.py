"""The Alertmanager sink: each newswatch alert becomes one Prometheus Alertmanager alert (API v2,
``POST <url>/api/v2/alerts``), which Alertmanager then groups, inhibits, silences and delivers to its receivers.

Labels (what Alertmanager routes, groups and silences on, and what makes an alert the same alert):
``alertname`` (the rule id), ``alert_id``, ``rule``, ``severity``, ``category``, ``kind``, ``source`` (the story's
first source), ``actors`` (actor ids, sorted, comma-separated), ``newswatch="true"`` and the sink's extra labels.
Annotations: ``title``, ``url``, ``evidence`` (the first match's snippet), ``rule_title``, ``published``.

Timing. A news alert is an event, not a state: nothing will ever report that a drone attack "stopped", so the
alert is given its own end. ``startsAt`` is when newswatch detected the story (``detected_at``) and ``endsAt`` is
``resolve_after`` (default 1 h) after the later of that and the moment of posting. So:
- a story notifies once: ``repeat_interval`` longer than ``resolve_after`` (the shipped example: 4 h > 1 h) never
  repeats it, and ``send_resolved: false`` keeps its end quiet;
- re-posting the same ``alert_id`` (a redelivery after a crash, the same message read twice) is harmless: the
  labels, hence Alertmanager's fingerprint, are the same, the alert is still firing, and Alertmanager merges the
  two (a later ``endsAt`` only extends it): no second notification;
- a backlog posted late (notify was down for hours) still fires rather than arriving already resolved;
- ``group_wait`` gathers the alerts of one burst (many stories on one event) into one message.
Updates (a further source of a story already alerted) are not posted by default (``kinds``): their labels could
differ (another article, other actors), which would notify the story again; their annotations would change
nothing a receiver shows. Escalations have alert ids of their own and are posted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from newswatch.notify.attempt import Outcome, post
from newswatch.notify.config import AlertmanagerSink

MAX_LABEL_CHARS = 256  # label values are indexed by Alertmanager and shown in every grouped message: keep short
MAX_ANNOTATION_CHARS = 2048


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _clip(value: object, limit: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_alertmanager(alert: Mapping[str, Any], sink: AlertmanagerSink, now: datetime) -> dict[str, Any]:
    """The Alertmanager v2 alert (``postableAlert``) for newswatch ``alert``, posted at ``now``."""
    rule, article = _mapping(alert.get("rule")), _mapping(alert.get("article"))
    sources = alert.get("sources") if isinstance(alert.get("sources"), list) else []
    first = _mapping(sources[0]) if sources else {}
    actors = alert.get("actors") if isinstance(alert.get("actors"), list) else []
    actor_ids = sorted({str(_mapping(actor).get("id")) for actor in actors if _mapping(actor).get("id")})
    labels = {
        **sink.labels,
        "alertname": rule.get("id"),
        "newswatch": "true",
        "alert_id": alert.get("alert_id"),
        "rule": rule.get("id"),
        "severity": rule.get("severity"),
        "category": rule.get("category"),
        "kind": alert.get("kind", "alert"),
        "source": first.get("source") or first.get("feed_id") or article.get("source") or article.get("feed_id"),
        "actors": ",".join(actor_ids),
    }
    matches = alert.get("matches") if isinstance(alert.get("matches"), list) else []
    annotations = {
        "title": article.get("title"),
        "url": article.get("url"),
        "evidence": _mapping(matches[0]).get("snippet") if matches else None,
        "rule_title": rule.get("title"),
        "published": article.get("published"),
    }
    detected = min(_time(alert.get("detected_at")) or now, now)  # a clock ahead of ours must not start it later
    body: dict[str, Any] = {
        # Alertmanager treats an empty label as absent: leave those out rather than post ""
        "labels": {k: _clip(v, MAX_LABEL_CHARS) for k, v in labels.items() if v not in (None, "")},
        "annotations": {k: _clip(v, MAX_ANNOTATION_CHARS) for k, v in annotations.items() if v not in (None, "")},
        "startsAt": _iso(detected),
        "endsAt": _iso(max(detected, now) + timedelta(seconds=sink.resolve_after)),
    }
    url = article.get("url")
    if isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) <= 2048:
        body["generatorURL"] = url
    return body


def request_body(alert: Mapping[str, Any], sink: AlertmanagerSink, now: datetime) -> bytes:
    """The POST body: a list of one alert, as ASCII JSON (a lone surrogate in feed text cannot make it invalid)."""
    return json.dumps([to_alertmanager(alert, sink, now)], ensure_ascii=True).encode("ascii")


class Alertmanager:
    """One configured Alertmanager; ``await deliver_once(...)`` is one try."""

    def __init__(self, name: str, config: AlertmanagerSink) -> None:
        self.name = name
        self.config = config
        self.endpoint = config.url.rstrip("/") + "/api/v2/alerts"

    def __repr__(self) -> str:
        return f"Alertmanager({self.name!r})"

    def wants(self, alert: Mapping[str, Any]) -> bool:
        """Whether this alert's kind is posted at all (updates are not, by default: see the module's docstring)."""
        return alert.get("kind", "alert") in self.config.kinds

    async def deliver_once(self, client: httpx.AsyncClient, alert: Mapping[str, Any], raw: bytes) -> Outcome:
        """One POST of the alert, as a list of one (what the API takes)."""
        body = request_body(alert, self.config, datetime.now(UTC))
        return await post(client, self.endpoint, body, {"content-type": "application/json"}, self.config.timeout)
