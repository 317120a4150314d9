"""The console's Prometheus metrics, in one place, on a registry the caller gives (tests use their own).

Precision and triaged counts are computed from the verdicts at scrape time (a collector), so every console
instance reports the same figures: they come from the shared feedback topic, not from what this instance did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from newswatch.console.feedback import Verdict
from newswatch.console.precision import precision_by_rule


class TriageCollector(Collector):
    """Per-rule precision (relevant / triaged) and triaged alerts by verdict, from the current verdicts."""

    def __init__(self, verdicts: Callable[[], Iterable[Verdict]]) -> None:
        self.verdicts = verdicts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The two gauge families (present, maybe empty, before any triage)."""
        precision = GaugeMetricFamily(
            "newswatch_console_rule_precision",
            "Share of a rule's triaged alerts that analysts judged relevant (relevant / triaged)",
            labels=["rule"],
        )
        triaged = GaugeMetricFamily(
            "newswatch_console_triaged_alerts",
            "Alerts with an analyst's verdict, by rule and verdict",
            labels=["rule", "verdict"],
        )
        for rule, counts in precision_by_rule(self.verdicts()).items():
            precision.add_metric([rule], counts.precision)
            triaged.add_metric([rule, "relevant"], counts.relevant)
            triaged.add_metric([rule, "not_relevant"], counts.not_relevant)
        yield precision
        yield triaged


class ConsoleMetrics:
    """Every metric of a console process."""

    def __init__(self, registry: CollectorRegistry, verdicts: Callable[[], Iterable[Verdict]]) -> None:
        self.registry = registry
        self.triage = Counter(
            "newswatch_console_triage",
            "Verdicts analysts gave through this console instance",
            ["verdict"],
            registry=registry,
        )
        self.refused = Counter(
            "newswatch_console_requests_refused",
            "Requests this console refused: unauthenticated, cross-site or without a valid CSRF token",
            ["reason"],
            registry=registry,
        )
        self.history = Gauge(
            "newswatch_console_history_alerts", "Alerts (stories) the console holds in memory", registry=registry
        )
        registry.register(TriageCollector(verdicts))
