"""Per-rule precision from triage, in the page's figures and the Prometheus gauge."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from newswatch.console.feedback import FeedbackStore, Verdict
from newswatch.console.metrics import ConsoleMetrics
from newswatch.console.precision import precision_by_rule


def verdict(alert: str, rule: str, relevant: bool) -> Verdict:
    return Verdict(alert, "relevant" if relevant else "not_relevant", rule, rule, f"a-{alert}", "t", "s", "", "")


def test_precision_is_relevant_over_triaged_per_rule() -> None:
    verdicts = [verdict("1", "drone", True), verdict("2", "drone", True), verdict("3", "drone", False)]
    verdicts += [verdict("4", "talks", False)]
    found = precision_by_rule(verdicts)
    assert (found["drone"].relevant, found["drone"].triaged, found["drone"].not_relevant) == (2, 3, 1)
    assert round(found["drone"].precision, 4) == 0.6667
    assert found["talks"].precision == 0.0
    assert precision_by_rule([]) == {}


def test_a_changed_verdict_counts_once_and_a_withdrawn_one_not_at_all() -> None:
    store = FeedbackStore()
    store.apply("1", verdict("1", "drone", True))
    store.apply("1", verdict("1", "drone", False))  # the analyst changed their mind
    store.apply("2", verdict("2", "drone", True))
    store.apply("3", verdict("3", "drone", True))
    store.apply("3", None)  # tombstone
    found = precision_by_rule(store.all())["drone"]
    assert (found.relevant, found.triaged) == (1, 2)


def test_the_gauge_follows_the_verdicts_at_each_scrape() -> None:
    store, registry = FeedbackStore(), CollectorRegistry()
    ConsoleMetrics(registry, store.all)
    assert registry.get_sample_value("newswatch_console_rule_precision", {"rule": "drone"}) is None
    store.apply("1", verdict("1", "drone", True))
    store.apply("2", verdict("2", "drone", False))
    assert registry.get_sample_value("newswatch_console_rule_precision", {"rule": "drone"}) == 0.5
    labels = {"rule": "drone", "verdict": "not_relevant"}
    assert registry.get_sample_value("newswatch_console_triaged_alerts", labels) == 1
