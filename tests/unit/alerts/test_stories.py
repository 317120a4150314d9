"""One story, one alert per rule: copies from other feeds and re-polls become updates, not new alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newswatch.alerts.build import alert_id
from newswatch.alerts.stories import decide, simhash, story_of
from newswatch.poller.articles import to_article
from newswatch.poller.parse import parse_feed

SEED = {
    "id": "a1",
    "url": "https://one.example/seed",
    "source": "One",
    "feed_id": "one",
    "title": "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia",
    "content": "On Wednesday, Ukraine expanded its claims that a significant number of Chinese nationals are "
    "fighting for Russia's invading forces, stating that it had gathered detailed intelligence.",
}


def run(state: dict, article: dict, now: float, **kw: float) -> str:
    return decide(
        state, "r", alert_id=alert_id(article["id"], "r"), story=story_of(article), now=now, window=3600, **kw
    ).action


def test_first_match_alerts_and_a_redelivery_is_sent_again_with_the_same_id() -> None:
    state: dict = {}
    assert run(state, SEED, 0) == "alert"
    assert run(state, SEED, 5) == "resend"  # the same article again (e.g. after a worker restart)


def test_same_story_from_another_feed_is_an_update_listing_both_sources() -> None:
    state: dict = {}
    run(state, SEED, 0)
    copy = {
        **SEED,
        "id": "b7",
        "url": "https://two.example/x",
        "source": "Two",
        "feed_id": "two",
        "title": SEED["title"].upper() + "!",
    }
    decision = decide(state, "r", alert_id=alert_id("b7", "r"), story=story_of(copy), now=10, window=3600)
    assert decision.action == "update" and decision.revision == 1
    assert decision.alert_id == alert_id("a1", "r")  # the original alert's id
    assert [s["source"] for s in decision.sources] == ["One", "Two"]


def test_republished_with_new_guid_same_url_is_the_same_story() -> None:
    state: dict = {}
    run(state, SEED, 0)
    assert run(state, {**SEED, "id": "new-guid"}, 60) == "update"


def test_different_story_alerts_and_old_stories_expire() -> None:
    state: dict = {}
    run(state, SEED, 0)
    other = {
        "id": "c",
        "url": "https://x/c",
        "title": "Drone attack on Kramatorsk injures three",
        "content": "A massive drone attack hit the city overnight, regional governor said.",
    }
    assert run(state, other, 10) == "alert"
    assert run(state, {**SEED, "id": "late"}, 4000) == "alert"  # outside the 1 h window: a new alert


def test_suppress_window_holds_back_new_stories_of_the_rule() -> None:
    state: dict = {}
    run(state, SEED, 0, suppress=600)
    other = {"id": "c", "url": "https://x/c", "title": "Another story entirely", "content": "Different words here."}
    assert run(state, other, 100, suppress=600) == "suppress"
    assert run(state, {**other, "id": "d", "url": "https://x/d"}, 700, suppress=600) == "alert"


def test_simhash_is_close_for_small_edits_and_far_for_other_text() -> None:
    text = SEED["content"] * 3
    assert bin(simhash(text) ^ simhash(text + " Updated.")).count("1") <= 3
    assert bin(simhash(text) ^ simhash("Officials in China dismissed the allegations as unfounded")).count("1") > 10


def test_two_snapshots_of_a_real_feed_alert_each_story_once(shared_data: Path) -> None:
    """BBC World polled twice, 5 h apart: every item of the second poll already seen is not a new alert."""
    now = datetime(2026, 8, 13, tzinfo=UTC)
    state: dict = {}
    actions = []
    for name in ("bbc_world__2026-08-13T0424Z__cloudphone.xml", "bbc_world__2026-08-13T0927Z__cloudphone.xml"):
        for entry in parse_feed((shared_data / "feeds" / name).read_bytes()).entries:
            article = to_article(entry, feed_id="bbc", feed_tags={}, source="BBC", language="en", fetched_at=now)
            actions.append(run(state, article, 0))
    first, second = actions[:28], actions[28:]
    assert first.count("alert") == 28
    # 28 of the second poll's 32 links were in the first; 3 of those came back with a new guid (an update)
    assert second.count("alert") == 4
    assert second.count("update") == 3


def test_state_stays_small_entries_and_bounded_however_many_stories() -> None:
    """Each write is one changelog message: entries stay small, and the oldest stories leave with their index."""
    import json

    from newswatch.alerts import stories

    state: dict = {}
    long_url = "https://news.example/" + "x" * 2000
    total = stories.MAX_STORIES + 300
    for i in range(total):
        story = {**SEED, "id": f"s{i}", "url": f"{long_url}/{i}", "title": f"story number {i} " * 8, "content": str(i)}
        assert run(state, story, i / 10) == "alert"  # all within the window: only the ring bounds them
    for copy in range(60):  # other sources of the newest story: updates, its sources list capped
        run(state, {**story, "id": f"s{i}-{copy}", "source": f"Outlet {copy}"}, total / 10)
    assert max(len(json.dumps(v)) for v in state.values()) < 150_000
    assert sum(1 for k in state if "|slot|" in k) == stories.MAX_STORIES
    assert sum(1 for k in state if "|urlh|" in k) == stories.MAX_STORIES  # the evicted stories' index is gone
    assert run(state, {**SEED, "id": "again", "url": f"{long_url}/{total - 1}"}, total / 10) == "update"
    assert (
        run(state, {**SEED, "id": "old", "url": f"{long_url}/0", "title": "x", "content": "0"}, total / 10) == "alert"
    )


def test_near_duplicate_found_through_any_band_of_its_fingerprint() -> None:
    """A copy whose SimHash differs in 3 bits, one in each of three bands, still meets the original in the fourth."""
    state: dict = {}
    story = story_of(SEED)
    decide(state, "r", alert_id="a", story=story, now=0, window=3600)
    flipped = story["fp"] ^ (1 << 3) ^ (1 << 20) ^ (1 << 40)
    copy = {**story, "article_id": "b", "url": "https://elsewhere/", "title": "", "fp": flipped}
    assert decide(state, "r", alert_id="b", story=copy, now=1, window=3600).action == "update"
    far = {**copy, "article_id": "c", "fp": flipped ^ (1 << 60)}
    assert decide(state, "r", alert_id="c", story=far, now=2, window=3600).action == "alert"


def test_a_redelivered_later_source_is_a_resend_even_past_the_listed_sources() -> None:
    """Sources listed in an update stop at 50, but a redelivery of the 80th copy is still recognised."""
    from newswatch.alerts.stories import MAX_SOURCES

    state: dict = {}
    run(state, SEED, 0)
    for i in range(80):
        decision = decide(state, "r", alert_id=f"c{i}", story=story_of({**SEED, "id": f"c{i}"}), now=1 + i, window=3600)
        assert decision.action == "update" and decision.revision == i + 1
    assert len(decision.sources) == MAX_SOURCES
    again = decide(state, "r", alert_id="c79", story=story_of({**SEED, "id": "c79"}), now=100, window=3600)
    assert (again.action, again.revision) == ("resend", 80)


def test_stories_older_than_the_window_are_forgotten_with_their_index() -> None:
    """State levels off at what one window holds: memory stops growing after a window, not after MAX_STORIES."""
    state: dict = {}
    for i in range(300):  # one new story a second, a 60 s window
        story = {**SEED, "id": f"s{i}", "url": f"https://x/{i}", "title": f"story number {i} " * 4, "content": str(i)}
        assert run_window(state, story, i, 60) == "alert"
    slots = [v for k, v in state.items() if "|slot|" in k]
    assert 55 <= len(slots) <= 70
    assert all(299 - s["first_seen"] <= 60 + 8 for s in slots)
    assert sum(1 for k in state if "|urlh|" in k) == len(slots)
    assert all(len(v) for k, v in state.items() if "|fp" in k)  # no empty band lists left behind


def run_window(state: dict, article: dict, now: float, window: float) -> str:
    return decide(
        state, "r", alert_id=alert_id(article["id"], "r"), story=story_of(article), now=now, window=window
    ).action


def test_rules_keep_separate_stories() -> None:
    state: dict = {}
    assert decide(state, "r1", alert_id="x1", story=story_of(SEED), now=0, window=3600).action == "alert"
    assert decide(state, "r2", alert_id="x2", story=story_of(SEED), now=0, window=3600).action == "alert"


def test_the_same_item_from_a_second_feed_is_an_update_not_a_resend() -> None:
    """Two feeds carrying one item give one article id: the second feed's copy adds its source."""
    state: dict = {}
    assert run(state, SEED, 0) == "alert"
    section = {**SEED, "feed_id": "one-world", "source": "One World"}
    decision = decide(state, "r", alert_id=alert_id("a1", "r"), story=story_of(section), now=5, window=3600)
    assert (decision.action, decision.revision) == ("update", 1)
    assert [s["feed_id"] for s in decision.sources] == ["one", "one-world"]
    # each feed's message redelivered (a worker restart) is its own first decision again, nothing new
    assert run(state, SEED, 6) == "resend"
    assert run(state, section, 7) == "resend"


def test_a_redelivery_after_later_updates_resends_its_own_revision_and_sources() -> None:
    """One (alert id, revision) never names two articles: the original, redelivered, is still revision 0."""
    state: dict = {}
    run(state, SEED, 0)
    copy = {**SEED, "id": "b7", "feed_id": "two", "source": "Two"}
    decide(state, "r", alert_id=alert_id("b7", "r"), story=story_of(copy), now=1, window=3600)
    again = decide(state, "r", alert_id=alert_id("a1", "r"), story=story_of(SEED), now=2, window=3600)
    assert (again.action, again.revision) == ("resend", 0)
    assert [s["article_id"] for s in again.sources] == ["a1"]
    copy_again = decide(state, "r", alert_id=alert_id("b7", "r"), story=story_of(copy), now=3, window=3600)
    assert (copy_again.action, copy_again.revision) == ("resend", 1)
    assert [s["article_id"] for s in copy_again.sources] == ["a1", "b7"]
