"""A timer: pick up edited rule files within seconds, without a restart or a lost message."""

from __future__ import annotations

import asyncio
import logging

from newswatch.core.kafka import ensure_service_topics
from newswatch.streams.topics import await_producer_leaders
from newswatch.streams.worker import Worker, rule_topic_names

log = logging.getLogger(__name__)

CHECK_EVERY = 2.0  # seconds; a stat() of each rule file, cheap enough to do often


def register(worker: Worker) -> None:
    """Add the rule-reload timer to ``worker.app``."""
    live_rules, metrics = worker.rules, worker.metrics

    async def warm(names: list[str]) -> None:
        missing = await await_producer_leaders(worker.app, names)
        if missing:
            log.warning("no leader known yet for rule topic(s) %s; their first alerts may wait for one", missing)

    @worker.app.task
    async def warm_rule_topics() -> None:
        """At start, learn where the rules' own topics live before their first alert (streams/topics.py)."""
        await warm(worker.rule_topic_names())

    @worker.app.timer(interval=CHECK_EVERY, name="reload_rules")
    async def reload_rules() -> None:
        """Swap in changed rules between two articles; an invalid edit keeps the last good rules, raises a metric."""
        had_error = live_rules.error
        candidate = live_rules.check()
        if candidate is not None:
            # A rule may name a new topic: create it before the new rules can send there (else the broker would
            # auto-create it with default settings while the producer waits for its metadata).
            names = rule_topic_names(candidate)
            await asyncio.to_thread(ensure_service_topics, names, worker.settings)
            await warm(names)
            live_rules.activate(candidate)
            worker.export_rule_set()
            metrics.rule_reloads.labels("ok").inc()
        elif live_rules.error and live_rules.error != had_error:
            metrics.rule_reloads.labels("error").inc()
        metrics.rule_reload_failing.set(1 if live_rules.error else 0)
