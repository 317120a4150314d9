"""The console's alert store: one row per story (updates folded in), bounded, oldest story dropped first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newswatch.console.history import AlertHistory
from tests.console_alerts import synthetic, update_of


def test_updates_of_a_story_fold_under_its_alert_with_every_source() -> None:
    history = AlertHistory(100)
    first = synthetic(1)
    history.add(first)
    history.add(update_of(first, "Reuters", revision=1))
    history.add(update_of(update_of(first, "Reuters", revision=1), "AP", revision=2))
    (story,) = history.newest_first()
    assert story.messages == 3 and story.revision == 2 and story.kind == "update"
    assert [s["source"] for s in story.sources] == ["Feed 1", "Reuters", "AP"]
    assert story.first_detected == first["detected_at"]


def test_a_late_older_revision_does_not_replace_the_newer_document_but_adds_its_sources() -> None:
    history = AlertHistory(100)
    first = synthetic(1)
    history.add(update_of(first, "Reuters", revision=2))
    history.add(first)  # redelivered revision 0 after revision 2
    story = history.get(first["alert_id"])
    assert story is not None and story.revision == 2 and len(story.sources) == 2


def test_history_keeps_at_most_its_limit_dropping_the_story_detected_longest_ago() -> None:
    history = AlertHistory(3)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    # read from several partitions: arrival order is not time order
    for index, minutes in [(1, 10), (2, 30), (3, 20), (4, 5), (5, 40)]:
        history.add(synthetic(index, at=start + timedelta(minutes=minutes)))
    assert len(history) == 3
    assert [s.alert_id[-1] for s in history.newest_first()] == ["5", "2", "3"]  # 40, 30, 20 minutes
    assert history.get(synthetic(4)["alert_id"]) is None


def test_documents_without_an_alert_id_are_ignored_and_escalations_are_marked() -> None:
    history = AlertHistory(10)
    assert history.add({"kind": "alert"}) is None
    escalation = {**synthetic(7), "kind": "escalation", "escalation": {"count": 5, "distinct_sources": 3}}
    story = history.add(escalation)
    assert story is not None and story.escalated and len(history) == 1


def test_each_change_moves_the_version_the_live_page_watches() -> None:
    history = AlertHistory(10)
    before = history.version
    history.add(synthetic(1))
    history.add(update_of(synthetic(1), "AP"))
    assert history.version == before + 2
