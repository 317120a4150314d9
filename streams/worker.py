"""What the worker's agents share, built in one place from settings read once at the edge (the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from faust.types import TableT
from prometheus_client import CollectorRegistry

from newswatch.core.settings import Settings
from newswatch.matcher.engine import Matcher
from newswatch.matcher.reload import LiveRules
from newswatch.streams.app import NewswatchApp, make_app
from newswatch.streams.metrics import WorkerMetrics
from newswatch.streams.tables import declare_route_state
from newswatch.streams.topics import Topics, declare_topics


@dataclass
class Worker:
    """One worker process's app, topics, table, metrics and live rule set; the agents register on it."""

    settings: Settings
    app: NewswatchApp
    topics: Topics
    route_state: TableT
    metrics: WorkerMetrics
    rules: LiveRules

    def export_rule_set(self) -> None:
        """Show the active rule set in the metrics."""
        rules = self.rules.matcher.rules
        self.metrics.rules_loaded.labels("events").set(len(rules.events))
        self.metrics.rules_loaded.labels("actors").set(len(rules.actors))
        self.metrics.rules_info.info({"version": self.rules.version})

    def rule_topic_names(self) -> list[str]:
        """The topics the active rule set sends alerts to, besides ``alerts``."""
        return rule_topic_names(self.rules.matcher)


def rule_topic_names(matcher: Matcher) -> list[str]:
    """The topics a rule set sends alerts to, besides ``alerts``."""
    return sorted({event.topic for event in matcher.rules.events if event.topic})


def build_worker(settings: Settings, registry: CollectorRegistry, rules: LiveRules) -> Worker:
    """The app with its topics, table and metrics (in ``registry``), agents not yet registered."""
    metrics = WorkerMetrics(registry)
    app = make_app(settings, metrics, registry)
    worker = Worker(settings, app, declare_topics(app, settings), declare_route_state(app, settings), metrics, rules)
    worker.export_rule_set()
    return worker
