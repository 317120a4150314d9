"""The Alertmanager sink: what each newswatch alert becomes (labels, annotations, startsAt/endsAt), that a re-post
of one alert is the same Alertmanager alert, and the shipped example configuration (amtool check-config)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import CollectorRegistry

from newswatch.notify.alertmanager import Alertmanager, to_alertmanager
from newswatch.notify.config import AlertmanagerSink, NotifyConfig
from newswatch.notify.deliver import Deliverer, Sinks
from newswatch.notify.metrics import NotifyMetrics
from tests.conftest import ROOT
from tests.unit.notify.sample import alert, raw, receiver

NOW = datetime(2025, 4, 9, 10, 1, 30, tzinfo=UTC)


def sink(**options: object) -> AlertmanagerSink:
    return AlertmanagerSink.model_validate({"type": "alertmanager", "url": "http://127.0.0.1:9093", **options})


def test_an_alert_becomes_labels_and_annotations() -> None:
    posted = to_alertmanager(alert(), sink(labels={"env": "test"}), NOW)
    assert posted["labels"] == {
        "env": "test",
        "alertname": "drone_attack",
        "newswatch": "true",
        "alert_id": "0123456789abcdef0123456789abcdef",
        "rule": "drone_attack",
        "severity": "high",
        "category": "conflict",
        "kind": "alert",
        "source": "Seed story (sample)",
        "actors": "china,russia",
    }
    assert posted["annotations"] == {
        "title": "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia",
        "url": "https://example.org/story-1",
        "evidence": "launched 55 drones at Kyiv",
        "rule_title": "Drone attack",
        "published": "2025-04-09T10:00:00Z",
    }
    assert posted["generatorURL"] == "https://example.org/story-1"


def test_it_starts_when_detected_and_ends_resolve_after_later() -> None:
    posted = to_alertmanager(alert(), sink(resolve_after=3600), NOW)
    assert posted["startsAt"] == "2025-04-09T10:01:02.000Z"
    assert posted["endsAt"] == "2025-04-09T11:01:30.000Z"  # an hour after posting


def test_a_backlog_posted_late_still_fires() -> None:
    """notify down for a day: the alert it catches up on must not arrive already resolved (and unseen)."""
    later = NOW + timedelta(days=1)
    posted = to_alertmanager(alert(), sink(resolve_after=3600), later)
    assert posted["startsAt"] == "2025-04-09T10:01:02.000Z"
    assert datetime.fromisoformat(posted["endsAt"].replace("Z", "+00:00")) > later


def test_a_repost_of_the_same_alert_has_the_same_labels() -> None:
    """Alertmanager identifies an alert by its labels: a redelivered alert merges into the one already firing."""
    first = to_alertmanager(alert(), sink(), NOW)
    again = to_alertmanager(json.loads(raw(alert())), sink(), NOW + timedelta(minutes=5))
    assert first["labels"] == again["labels"] and first["startsAt"] == again["startsAt"]
    other_story = to_alertmanager(alert(alert_id="f" * 32), sink(), NOW)
    assert other_story["labels"] != first["labels"]


def test_missing_and_empty_parts_are_left_out_and_long_ones_cut() -> None:
    doc = alert(actors=[], matches=[], article={"url": None, "title": "x" * 10_000})
    posted = to_alertmanager(doc, sink(), NOW)
    assert "actors" not in posted["labels"] and "evidence" not in posted["annotations"]
    assert "url" not in posted["annotations"] and "generatorURL" not in posted
    assert len(posted["annotations"]["title"]) == 2048


def test_updates_are_not_posted_by_default() -> None:
    manager = Alertmanager("am", sink())
    assert manager.wants(alert()) and manager.wants(alert(kind="escalation"))
    assert not manager.wants(alert(kind="update", revision=1))
    assert Alertmanager("am", sink(kinds=["alert", "update"])).wants(alert(kind="update", revision=1))


def test_it_posts_a_list_of_one_to_the_v2_api() -> None:
    async def scenario() -> None:
        async with receiver(lambda n: 200, path="/api/v2/alerts") as got:
            cfg = NotifyConfig.model_validate(
                {"sinks": {"am": {"type": "alertmanager", "url": got.url + "/"}}, "routes": [{"sinks": "am"}]}
            )
            metrics = NotifyMetrics(CollectorRegistry())
            sinks = Sinks(metrics)
            sinks.update(cfg)
            async with httpx.AsyncClient() as client:
                deliverer = Deliverer(sinks, client, metrics)
                result = await deliverer.deliver("am", alert(), raw(alert()), 0.0)
                skipped = await deliverer.deliver("am", alert(kind="update", revision=1), b"", 0.0)
            assert result.delivered and skipped.skipped and len(got.requests) == 1
            headers, body = got.requests[0]
            posted = json.loads(body)
            assert headers["content-type"] == "application/json"
            assert isinstance(posted, list) and len(posted) == 1 and posted[0]["labels"]["rule"] == "drone_attack"

    asyncio.run(scenario())


def test_amtool_accepts_the_shipped_example() -> None:
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: `make install` runs scripts/install-system-deps (prometheus-alertmanager)"
    config = ROOT / "config" / "alertmanager" / "alertmanager.yml"
    done = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_lone_surrogate_in_feed_text_still_gives_a_valid_body() -> None:
    """JSON may carry "\\ud800"; encoded as UTF-8 it would raise and cost the alert its delivery."""
    from newswatch.notify.alertmanager import request_body

    body = request_body(alert(article={"title": "bad \ud800 title"}), sink(), NOW)
    assert json.loads(body)[0]["annotations"]["title"] == "bad \ud800 title"
