"""List filters: read from the URL, written back into it, and what each one keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from newswatch.console.filters import Filters
from newswatch.console.history import AlertHistory
from tests.console_alerts import synthetic, update_of


def shown(history: AlertHistory, query: str) -> list[int]:
    filters = Filters.from_query(parse_qs(query))
    return sorted(int(s.alert_id, 16) for s in history.newest_first() if filters.keep(s))


def history() -> AlertHistory:
    found = AlertHistory(100)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    found.add(synthetic(1, rule="drone_attack", severity="high", title="Drones over Kyiv", at=start))
    found.add(synthetic(2, rule="ceasefire_talks", severity="medium", title="Talks in Riyadh", at=start))
    third = synthetic(3, rule="mercenaries", severity="high", title="Wagner recruits", at=start + timedelta(hours=5))
    third["actors"] = [{"id": "wagner", "name": "Wagner Group", "type": "organisation", "count": 1, "near": True}]
    found.add(third)
    found.add(update_of(third, "Kyiv Independent"))
    return found


def test_each_filter_narrows_the_list() -> None:
    alerts = history()
    assert shown(alerts, "") == [1, 2, 3]
    assert shown(alerts, "rule=drone_attack") == [1]
    assert shown(alerts, "rule=drone_attack&rule=mercenaries") == [1, 3]
    assert shown(alerts, "severity=high") == [1, 3]
    assert shown(alerts, "actor=wagner") == [3]
    assert shown(alerts, "source=kyiv+independent") == [3]  # an update's source counts
    assert shown(alerts, "q=RIYADH") == [2]
    assert shown(alerts, "q=launched+drones") == [1, 2, 3]  # evidence snippets are searched
    assert shown(alerts, "since=2026-12-01T02:00") == [3]
    assert shown(alerts, "until=2026-12-01T02:00") == [1, 2]


def test_the_url_carries_the_filters_so_a_shared_link_shows_the_same_list() -> None:
    filters = Filters.from_query(parse_qs("rule=a&rule=b&severity=high&actor=x&q=two+words&page=3"))
    again = Filters.from_query(parse_qs(filters.query()))
    assert again == filters
    assert "page=4" in filters.query(page=4) and "page" not in filters.query(page=1)


def test_hostile_query_values_are_bounded_and_unknown_severities_dropped() -> None:
    filters = Filters.from_query(parse_qs(f"severity=urgent&severity=high&q={'x' * 5000}&page=-4&since=yesterday"))
    assert filters.severities == ("high",)
    assert len(filters.text) == 200 and filters.page == 1
    assert shown(history(), "since=yesterday") == []  # an unreadable time keeps nothing rather than everything
