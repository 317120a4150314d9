"""A timer: pick up edited rule files within seconds, without a restart or a lost message."""

from __future__ import annotations

import asyncio

from newswatch.core.kafka import ensure_service_topics
from newswatch.streams.worker import Worker, rule_topic_names

CHECK_EVERY = 2.0  # seconds; a stat() of each rule file, cheap enough to do often


def register(worker: Worker) -> None:
    """Add the rule-reload timer to ``worker.app``."""
    live_rules, metrics = worker.rules, worker.metrics

    @worker.app.timer(interval=CHECK_EVERY, name="reload_rules")
    async def reload_rules() -> None:
        """Swap in changed rules between two articles; an invalid edit keeps the last good rules, raises a metric."""
        had_error = live_rules.error
        candidate = live_rules.check()
        if candidate is not None:
            # A rule may name a new topic: create it before the new rules can send there (else the broker would
            # auto-create it with default settings while the producer waits for its metadata).
            await asyncio.to_thread(ensure_service_topics, rule_topic_names(candidate), worker.settings)
            live_rules.activate(candidate)
            worker.export_rule_set()
            metrics.rule_reloads.labels("ok").inc()
        elif live_rules.error and live_rules.error != had_error:
            metrics.rule_reloads.labels("error").inc()
        metrics.rule_reload_failing.set(1 if live_rules.error else 0)
