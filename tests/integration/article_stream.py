"""Streams of real articles for the scale-out tests, and the checks on the alerts they should give."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

from kafka import KafkaProducer

from bench.corpus import real_articles
from newswatch.alerts.build import alert_id
from newswatch.matcher import Matcher


def story_copies(matcher: Matcher, articles: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Copies (new id, URL and source) of the first ``count`` matching articles: the same stories again."""
    matched = [a for a in articles if matcher.match(a)][:count]
    return [
        {**a, "id": f"copy-{a['id']}", "url": f"https://copy.example/{i}", "source": "Copy Desk"}
        for i, a in enumerate(matched)
    ]


def produce(bootstrap: str, topic: str, articles: list[dict[str, Any]]) -> None:
    """Send articles keyed by id (as the poller does) and wait for every acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    for article in articles:
        producer.send(topic, key=article["id"].encode(), value=json.dumps(article).encode())
    producer.flush(60)
    producer.close()


def expected_pairs(matcher: Matcher, articles: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (article id, rule id) the rules match, computed offline with the worker's own engine."""
    return {(a["id"], m.rule.id) for a in articles for m in matcher.match(a)}


def covered(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(article id, rule id) pairs some alert or update accounts for in its ``sources``."""
    return {(s["article_id"], a["rule"]["id"]) for a in alerts if a["kind"] != "escalation" for s in a["sources"]}


def conflicting_ids(alerts: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """Pairs accounted for under more than one ``alert_id``: a duplicate must always be the same alert."""
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for alert in alerts:
        if alert["kind"] == "escalation":
            continue
        for source in alert["sources"]:
            ids[(source["article_id"], alert["rule"]["id"])].add(alert["alert_id"])
    return {pair: found for pair, found in ids.items() if len(found) > 1}


def copies_not_updating_their_original(
    matcher: Matcher, copies: list[dict[str, Any]], alerts: list[dict[str, Any]]
) -> list[str]:
    """Copies whose matches did not come out as ``update``s carrying the original article's ``alert_id``."""
    wrong = []
    for copy in copies:
        original = copy["id"].removeprefix("copy-")
        for match in matcher.match(copy):
            updates = [
                a
                for a in alerts
                if a["kind"] == "update"
                and a["rule"]["id"] == match.rule.id
                and copy["id"] in {s["article_id"] for s in a["sources"]}
            ]
            if not updates or any(u["alert_id"] != alert_id(original, match.rule.id) for u in updates):
                wrong.append(f"{copy['id']} / {match.rule.id}")
    return wrong


class SteadyProducer(threading.Thread):
    """Sends articles at a steady rate in the background, like pollers would; ``sent`` counts the acked ones."""

    def __init__(self, bootstrap: str, topic: str, articles: list[dict[str, Any]], per_second: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.articles, self.per_second = bootstrap, topic, articles, per_second
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        start = time.monotonic()
        try:
            for i, article in enumerate(self.articles):
                delay = start + i / self.per_second - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                producer.send(self.topic, key=article["id"].encode(), value=json.dumps(article).encode())
                self.sent = i + 1
            producer.flush(60)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread, which asserts on it
            self.error = exc
        finally:
            producer.close()

    def wait_sent(self, count: int, timeout: float) -> bool:
        """True once ``count`` articles were handed to the producer."""
        deadline = time.monotonic() + timeout
        while self.sent < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.1)
        return self.sent >= count


__all__ = ["real_articles"]
