"""One story, one alert per rule: copies from other feeds and re-polls become updates, not new alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newswatch.alerts import stories
from newswatch.alerts.build import alert_id
from newswatch.alerts.fingerprint import simhash, story_of
from newswatch.alerts.stories import StoryIndex
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


class State(dict):
    """A rule state store and its story index, as the route agent keeps its table and index."""

    def __init__(self) -> None:
        super().__init__()
        self.index = StoryIndex()


def decide(state: State, rule: str, **kw: Any) -> stories.Decision:
    return stories.decide(state, rule, index=state.index, **kw)


def run(state: State, article: dict, now: float, **kw: float) -> str:
    return decide(
        state, "r", alert_id=alert_id(article["id"], "r"), story=story_of(article), now=now, window=3600, **kw
    ).action


def test_first_match_alerts_and_a_redelivery_is_sent_again_with_the_same_id() -> None:
    state = State()
    assert run(state, SEED, 0) == "alert"
    assert run(state, SEED, 5) == "resend"  # the same article again (e.g. after a worker restart)


def test_same_story_from_another_feed_is_an_update_listing_both_sources() -> None:
    state = State()
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
    state = State()
    run(state, SEED, 0)
    assert run(state, {**SEED, "id": "new-guid"}, 60) == "update"


def test_different_story_alerts_and_old_stories_expire() -> None:
    state = State()
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
    state = State()
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
    state = State()
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

    state = State()
    long_url = "https://news.example/" + "x" * 2000
    total = stories.MAX_STORIES + 300
    for i in range(total):
        story = {**SEED, "id": f"s{i}", "url": f"{long_url}/{i}", "title": f"story number {i} " * 8, "content": str(i)}
        assert run(state, story, i / 10) == "alert"  # all within the window: only the ring bounds them
    for copy in range(60):  # other sources of the newest story: updates, its sources list capped
        run(state, {**story, "id": f"s{i}-{copy}", "source": f"Outlet {copy}"}, total / 10)
    assert max(len(json.dumps(v)) for v in state.values()) < 150_000
    assert sum(1 for k in state if "|slot|" in k) == stories.MAX_STORIES
    assert len(state) == stories.MAX_STORIES + 1  # the stories and the rule's counters: no index in the table
    index = state.index.of(state, "r", state["r|rule"])
    assert sum(1 for k in index if "|urlh|" in k) == stories.MAX_STORIES  # the evicted stories' index is gone
    assert run(state, {**SEED, "id": "again", "url": f"{long_url}/{total - 1}"}, total / 10) == "update"
    assert (
        run(state, {**SEED, "id": "old", "url": f"{long_url}/0", "title": "x", "content": "0"}, total / 10) == "alert"
    )


def test_near_duplicate_found_through_any_band_of_its_fingerprint() -> None:
    """A copy whose SimHash differs in 3 bits, one in each of three bands, still meets the original in the fourth."""
    state = State()
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

    state = State()
    run(state, SEED, 0)
    for i in range(80):
        decision = decide(state, "r", alert_id=f"c{i}", story=story_of({**SEED, "id": f"c{i}"}), now=1 + i, window=3600)
        assert decision.action == "update" and decision.revision == i + 1
    assert len(decision.sources) == MAX_SOURCES
    again = decide(state, "r", alert_id="c79", story=story_of({**SEED, "id": "c79"}), now=100, window=3600)
    assert (again.action, again.revision) == ("resend", 80)


def test_stories_older_than_the_window_are_forgotten_with_their_index() -> None:
    """State levels off at what one window holds: memory stops growing after a window, not after MAX_STORIES."""
    state = State()
    for i in range(300):  # one new story a second, a 60 s window
        story = {**SEED, "id": f"s{i}", "url": f"https://x/{i}", "title": f"story number {i} " * 4, "content": str(i)}
        assert run_window(state, story, i, 60) == "alert"
    slots = [v for k, v in state.items() if "|slot|" in k]
    assert 55 <= len(slots) <= 70
    assert all(299 - s["first_seen"] <= 60 + 8 for s in slots)
    index = state.index.of(state, "r", state["r|rule"])
    assert sum(1 for k in index if "|urlh|" in k) == len(slots)
    assert all(len(v) for k, v in index.items() if "|fp" in k)  # no empty band lists left behind
    # the index rebuilt from the records (a restarted worker) is the one kept up to date story by story
    assert StoryIndex().of(state, "r", state["r|rule"]) == index


def run_window(state: State, article: dict, now: float, window: float) -> str:
    return decide(
        state, "r", alert_id=alert_id(article["id"], "r"), story=story_of(article), now=now, window=window
    ).action


def test_rules_keep_separate_stories() -> None:
    state = State()
    assert decide(state, "r1", alert_id="x1", story=story_of(SEED), now=0, window=3600).action == "alert"
    assert decide(state, "r2", alert_id="x2", story=story_of(SEED), now=0, window=3600).action == "alert"


def test_the_same_item_from_a_second_feed_is_an_update_not_a_resend() -> None:
    """Two feeds carrying one item give one article id: the second feed's copy adds its source."""
    state = State()
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
    state = State()
    run(state, SEED, 0)
    copy = {**SEED, "id": "b7", "feed_id": "two", "source": "Two"}
    decide(state, "r", alert_id=alert_id("b7", "r"), story=story_of(copy), now=1, window=3600)
    again = decide(state, "r", alert_id=alert_id("a1", "r"), story=story_of(SEED), now=2, window=3600)
    assert (again.action, again.revision) == ("resend", 0)
    assert [s["article_id"] for s in again.sources] == ["a1"]
    copy_again = decide(state, "r", alert_id=alert_id("b7", "r"), story=story_of(copy), now=3, window=3600)
    assert (copy_again.action, copy_again.revision) == ("resend", 1)
    assert [s["article_id"] for s in copy_again.sources] == ["a1", "b7"]


class CountingState(State):
    """A state that counts its writes and deletes: each is one changelog message of the route agent's table."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.writes += 1
        super().__delitem__(key)


def test_a_new_story_is_two_table_writes_and_an_update_one() -> None:
    """The story index lives in memory: six more changelog messages per new story held the worker back (issue 20)."""
    state = CountingState()
    run(state, SEED, 0)
    assert state.writes == 2  # the story and the rule's counters
    state.writes = 0
    run(state, {**SEED, "id": "b7", "feed_id": "two", "source": "Two"}, 1)
    assert state.writes == 1  # the story's record, with its new source
    state.writes = 0
    assert run(state, SEED, 2) == "resend"
    assert state.writes == 0


def test_a_restarted_worker_decides_as_the_one_that_kept_its_index(shared_data: Path) -> None:
    """The index rebuilt from the table (a restart, a rebalance) finds what the live one found: the same decisions
    over two real polls of a feed, with a fresh index before every match."""
    now = datetime(2026, 8, 13, tzinfo=UTC)
    kept, restarted = State(), State()
    for name in ("bbc_world__2026-08-13T0424Z__cloudphone.xml", "bbc_world__2026-08-13T0927Z__cloudphone.xml"):
        for entry in parse_feed((shared_data / "feeds" / name).read_bytes()).entries:
            article = to_article(entry, feed_id="bbc", feed_tags={}, source="BBC", language="en", fetched_at=now)
            restarted.index = StoryIndex()
            assert run(restarted, article, 0) == run(kept, article, 0)
    assert dict(restarted) == dict(kept)


def test_an_index_behind_the_table_is_rebuilt() -> None:
    """Another worker decided the rule's matches meanwhile (a rebalance and back): its stories are found."""
    state = State()
    run(state, SEED, 0)
    other = State()
    other.update(state)  # the same table, seen by a second worker with its own index
    story = {"id": "c", "url": "https://x/c", "title": "Drone attack on Kramatorsk injures three", "content": "x"}
    assert run(other, story, 1) == "alert"
    state.update(other)  # the first worker gets the partition back, the table restored from the changelog
    assert run(state, {**story, "id": "c2", "feed_id": "two"}, 2) == "update"


def test_index_entries_an_earlier_version_wrote_to_the_table_are_read_never_and_dropped_with_their_story() -> None:
    state = State()
    run_window(state, SEED, 0, 60)
    legacy = state.index.of(state, "r", state["r|rule"])
    state.update({**legacy, "r|url|" + SEED["url"]: 0})  # as the versions before this one wrote them
    state.index = StoryIndex()  # the new version starting
    assert run_window(state, {**SEED, "id": "again", "feed_id": "two"}, 1, 60) == "update"
    story = {"id": "c", "url": "https://x/c", "title": "Drone attack on Kramatorsk injures three", "content": "x"}
    assert run_window(state, story, 100, 60) == "alert"  # the first story expires, its old entries with it
    assert sorted(state) == ["r|rule", "r|slot|1"]


def test_the_native_fingerprint_is_the_python_one(shared_data: Path) -> None:
    """simhash runs natively (matcher/native/src/simhash.rs); a different bit would split or merge stories."""
    import json

    from newswatch.alerts.fingerprint import fingerprint_text, simhash_python

    lines = (shared_data / "articles" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [fingerprint_text(json.loads(line)) for line in lines[::4]]
    texts += ["", "one", "two words", "a b c", "İstanbul STRASSE straße ΣΊΣΥΦΟΣ 東京 مرحبا x_y 123 ½ ⅷ", "é" * 5000]
    assert [simhash(t) for t in texts] == [simhash_python(t) for t in texts]


def test_the_native_word_split_is_pythons_on_every_code_point() -> None:
    """The native fingerprint splits and lower-cases the words itself: Python's ``\\w`` and ``str.lower`` on every
    code point, 'İ' lowering to two characters and a word's final 'Σ' (case-ignorable characters around it)."""
    import re

    from newswatch_scan import simhash_words_of

    def python(text: str) -> list[str]:
        return [w.lower() for w in re.findall(r"\w+", text)]

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    for start in range(0, len(every), 5_000):
        assert simhash_words_of(every[start : start + 5_000]) == python(every[start : start + 5_000])
    sigmas = ["ΟΔΟΣ", "ΣΑΣ'Β", "ΑΣ.Β", "ΑΣ\u0301", "Α\u0301Σ", "Σ", "ΣΣ", "aΣb", "Σ_", "İSTANBUL", "\u00adΣ"]
    assert [simhash_words_of(t) for t in sigmas] == [python(t) for t in sigmas]
