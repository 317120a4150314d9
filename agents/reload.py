"""A timer: pick up edited rule files within seconds, without a restart or a lost message."""

from __future__ import annotations

import asyncio

from agents.classify import export_rule_set, live_rules
from matcher import Matcher
from newswatch.kafka_admin import ensure_service_topics
from streams.app import app, metrics

CHECK_EVERY = 2.0  # seconds; a stat() of each rule file, cheap enough to do often


def rule_topics(matcher: Matcher | None = None) -> list[str]:
    """The topics a rule set (default: the active one) sends alerts to, besides ``alerts``."""
    rules = (matcher or live_rules.matcher).rules
    return sorted({event.topic for event in rules.events if event.topic})


@app.timer(interval=CHECK_EVERY)
async def reload_rules() -> None:
    """Swap in changed rules between two articles; an invalid edit keeps the last good rules and raises a metric."""
    had_error = live_rules.error
    candidate = live_rules.check()
    if candidate is not None:
        # A rule may name a new topic: create it before the new rules can send there (else the broker would
        # auto-create it with default settings while the producer waits for its metadata).
        await asyncio.to_thread(ensure_service_topics, rule_topics(candidate))
        live_rules.activate(candidate)
        export_rule_set()
        metrics.rule_reloads.labels("ok").inc()
    elif live_rules.error and live_rules.error != had_error:
        metrics.rule_reloads.labels("error").inc()
    metrics.rule_reload_failing.set(1 if live_rules.error else 0)
