"""What the full-text stage is for: on a summary-only feed, the pack finds (nearly) what it finds on whole articles.

The labelled articles (tests/fixtures/eval/labels.jsonl) are served as a feed that carries only each story's title
and first sentence, each item linking to a real news page (boilerplate kept) holding the whole story. The pack is
scored on what reaches ``articles`` with ``fulltext: never`` and with ``auto``, against its score on the whole
texts. ``make test`` runs every 4th labelled article; ``make test-slow`` all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newswatch.local.feedserver import FeedServer, Route
from newswatch.local.storypages import first_sentence, story_page, teaser_feed
from newswatch.matcher.engine import Matcher
from newswatch.matcher.evaluate import EVENTS, classify, load_labels, score
from newswatch.matcher.load import load_rules
from tests.conftest import FIXTURES, ROOT, Topics
from tests.integration.fulltext_helpers import local_options, run_stage, teasers_topic, templates
from tests.integration.poller_helpers import allowing, feeds_config, run_poller, topic_messages

pytestmark = pytest.mark.integration

FEED_SIZE = 100  # items per feed, as a busy real feed carries


def rates(rows: list[dict[str, Any]], found: dict[str, set[str]]) -> dict[str, tuple[float, float]]:
    out = {}
    for event in EVENTS:
        tp, fp, fn = score(rows, found, event)
        out[event] = (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)
    return out


def check_quality(kafka_bootstrap: str, topics: Topics, shared_data: Path, every: int) -> None:
    labels, corpus = load_labels(FIXTURES / "eval" / "labels.jsonl", shared_data / "articles" / "articles.jsonl")
    rows = labels[::every]
    matcher = Matcher(load_rules(ROOT / "config" / "rules"))
    whole = rates(rows, classify(matcher, rows, corpus))
    pages = templates(shared_data)
    index = {f"/story/{n}": row["id"] for n, row in enumerate(rows)}

    def page(path: str) -> Route | None:
        if path not in index:
            return None
        n = int(path.rsplit("/", 1)[1])
        article = corpus[index[path]]
        return Route(story_page(pages[n % len(pages)], article["title"], article["text"]), content_type="text/html")

    with FeedServer(dynamic=page) as server:
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        feeds = {}
        for start in range(0, len(rows), FEED_SIZE):
            items = [
                {
                    "guid": row["id"],
                    "title": corpus[row["id"]]["title"],
                    "link": server.url(f"/story/{n}"),
                    "description": first_sentence(corpus[row["id"]]["text"]),
                }
                for n, row in enumerate(rows[start : start + FEED_SIZE], start=start)
            ]
            server.routes[f"/feed/{start}"] = Route(teaser_feed(items))
            feeds[f"f{start}"] = server.url(f"/feed/{start}")
        config = feeds_config(feeds)

        never = topics.articles
        run_poller(config, kafka_bootstrap, never, None, teasers=None, limits=allowing(server))  # fulltext: never
        auto = f"{topics.articles}-auto"
        teasers = teasers_topic(kafka_bootstrap, auto)
        run_poller(config, kafka_bootstrap, auto, None, teasers=teasers, limits=allowing(server))
        _metrics, took = run_stage(
            kafka_bootstrap, teasers, auto, len(rows), local_options(server), timeout=900, in_flight=16
        )

    scored = {}
    for name, topic in (("never", never), ("auto", auto)):
        articles = {a["id"].split(":", 1)[1]: a for a in topic_messages(kafka_bootstrap, topic)}
        assert len(articles) == len(rows), name
        scored[name] = rates(rows, {row["id"]: {m.rule.id for m in matcher.match(articles[row["id"]])} for row in rows})
        if name == "auto":
            kept = {k: a["page"]["outcome"] for k, a in articles.items() if a["text_source"] != "page"}
            # a story of a sentence or two can give a page with no main text to find ("empty")
            assert len(kept) <= len(rows) // 100, f"{len(kept)} articles kept their teaser: {kept}"
    report = "; ".join(
        f"{event}: whole {whole[event][0]:.3f}/{whole[event][1]:.3f}, never {scored['never'][event][0]:.3f}/"
        f"{scored['never'][event][1]:.3f}, auto {scored['auto'][event][0]:.3f}/{scored['auto'][event][1]:.3f}"
        for event in EVENTS
    )
    print(f"\n{len(rows)} labelled articles, stage {took:.1f} s (precision/recall): {report}")
    for event in EVENTS:
        (p_whole, r_whole), (p_auto, r_auto) = whole[event], scored["auto"][event]
        assert r_auto >= r_whole - 0.03, f"{event}: recall {r_auto:.3f} with auto vs {r_whole:.3f} whole ({report})"
        assert p_auto >= p_whole - 0.01, f"{event}: precision {p_auto:.3f} with auto vs {p_whole:.3f} ({report})"
        assert scored["never"][event][1] < r_whole - 0.3  # what the stage is for: teasers alone miss most events


def test_on_teasers_with_their_pages_the_pack_keeps_its_recall(
    kafka_bootstrap: str, topics: Topics, shared_data: Path
) -> None:
    check_quality(kafka_bootstrap, topics, shared_data, every=4)


@pytest.mark.slow
def test_on_teasers_with_their_pages_the_pack_keeps_its_recall_on_every_labelled_article(
    kafka_bootstrap: str, topics: Topics, shared_data: Path
) -> None:
    check_quality(kafka_bootstrap, topics, shared_data, every=1)
