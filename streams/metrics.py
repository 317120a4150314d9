"""Every metric the worker exports, declared in one place (prometheus-client, ``newswatch_`` prefix, base units).

Labels are bounded: rule ids, categories, severities, topics and actor ids come from the rule files; article ids
and URLs never become labels. Faust's own stream/table metrics come from its Prometheus sensor
(``newswatch_faust_*``), served on the same ``/metrics`` endpoint of the worker's web port.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

# Seconds from the poller fetching an article to the worker raising its alert; a fresh story should be seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


class WorkerMetrics:
    """The classify, alert, rule and Kafka metrics of one worker process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.articles = Counter(
            "newswatch_classifier_articles_total",
            "Articles taken from the articles topic, by outcome (classified, invalid).",
            ["outcome"],
            registry=registry,
        )
        self.classify_seconds = Histogram(
            "newswatch_classifier_duration_seconds",
            "Time to match one article against every rule.",
            buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
            registry=registry,
        )
        self.matches = Counter(
            "newswatch_classifier_matches_total",
            "Event rules matched, by rule and category.",
            ["rule", "category"],
            registry=registry,
        )
        self.actor_mentions = Counter(
            "newswatch_classifier_actor_mentions_total",
            "Articles mentioning an actor, by actor id and type.",
            ["actor", "type"],
            registry=registry,
        )
        self.alerts = Counter(
            "newswatch_alerts_emitted_total",
            "Alerts sent, by rule, severity and topic.",
            ["rule", "severity", "topic"],
            registry=registry,
        )
        self.suppressed = Counter(
            "newswatch_alerts_suppressed_total",
            "Matches not alerted again: the same story or the rule's suppress window, by rule and reason.",
            ["rule", "reason"],
            registry=registry,
        )
        self.escalations = Counter(
            "newswatch_alerts_escalations_total",
            "Escalation alerts fired, by rule.",
            ["rule"],
            registry=registry,
        )
        self.feed_to_alert = Histogram(
            "newswatch_alert_latency_seconds",
            "Seconds from the poller fetching an article to its alert being sent.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rules_loaded = Gauge(
            "newswatch_rules_loaded", "Rules in the active rule set, by kind.", ["kind"], registry=registry
        )
        self.rule_reloads = Counter(
            "newswatch_rules_reloads_total", "Rule-set reloads, by outcome (ok, error).", ["outcome"], registry=registry
        )
        self.rule_reload_failing = Gauge(
            "newswatch_rules_reload_failing",
            "1 while the rule files on disk are invalid and the last good set is kept.",
            registry=registry,
        )
        self.rules_info = Info("newswatch_rules", "The active rule set's version.", registry=registry)
        self.produce_errors = Counter(
            "newswatch_kafka_produce_errors_total",
            "Messages the worker failed to send, by topic.",
            ["topic"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "newswatch_kafka_consumer_lag_messages",
            "Messages on a partition not yet read by this worker's agents (high watermark - next offset read).",
            ["topic", "partition"],
            registry=registry,
        )
        self.stream_stalls = Counter(
            "newswatch_stream_stalls_total",
            "Partitions found fetched but not delivered to their agent, and re-read from the last message read.",
            ["topic"],
            registry=registry,
        )
        self.stream_gaps = Counter(
            "newswatch_stream_gap_messages_total",
            "Messages a worker was about to skip (a record ahead of the next offset) and re-read instead; or, "
            "after a retention deletion, could not read. By topic.",
            ["topic"],
            registry=registry,
        )
        self.stale_records_dropped = Counter(
            "newswatch_stream_stale_records_dropped_total",
            "Records fetched across a seek of their partition (a recovery, a re-read): dropped and read again.",
            registry=registry,
        )
        self.undelivered = Counter(
            "newswatch_undelivered_commits_refused_total",
            "Commits refused: a sent alert, match or dead-letter copy was not acknowledged (the worker restarts)",
            registry=registry,
        )
        self.stream_idle = Gauge(
            "newswatch_stream_idle_seconds",
            "Seconds this worker has read nothing from a partition that has messages waiting (0 when reading).",
            ["topic", "partition"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "newswatch_classifier_dead_letters_total",
            "Bad messages on articles or the matches topic skipped, by reason; counted once their dead-letter copy "
            "was acknowledged (at once when no dead-letter topic is set).",
            ["reason"],
            registry=registry,
        )
        self.dead_letter_errors = Counter(
            "newswatch_dead_letter_errors_total",
            "Dead-letter copies that could not be sent or were not acknowledged, by reason of the skip (the worker "
            "does not commit past such a message: it restarts and copies it again).",
            ["reason"],
            registry=registry,
        )

    def child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, looked up once: ``labels`` validates and locks on every call, and the agents
        call it several times per article (label values are bounded, see above, and these series are never
        removed)."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found
