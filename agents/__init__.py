"""Faust agents and timers, one module each, and ``create_app``, which builds a worker and registers them.

Data flows one way: ``classify`` (articles -> matches, keyed by rule id) -> ``route`` (matches -> alert topics);
``lag`` and ``reload`` are timers. Importing this package registers nothing: ``create_app`` does, on an app it
builds from settings the CLI read once.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from newswatch.agents import classify, lag, reload, route
from newswatch.core.settings import Settings
from newswatch.matcher.reload import LiveRules
from newswatch.streams.worker import Worker, build_worker


def create_app(settings: Settings, registry: CollectorRegistry, rules: LiveRules) -> Worker:
    """The worker for ``settings``: its Faust app, topics, table and metrics (in ``registry``), every agent and
    timer registered, and ``rules`` (already loaded and checked) as its live rule set."""
    worker = build_worker(settings, registry, rules)
    for module in (classify, route, lag, reload):
        module.register(worker)
    return worker


__all__ = ["Worker", "create_app"]
