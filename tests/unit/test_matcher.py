"""The shipped rule pack: valid, its own examples pass, and the seed story gives its three events and actors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newswatch.matcher import Matcher, load_rules
from newswatch.matcher.evaluate import EVENTS, classify, load_labels, score
from newswatch.matcher.examples import run_examples
from tests.conftest import FIXTURES, ROOT
from tests.unit.test_cli_errors import newswatch

RULES = ROOT / "config" / "rules"
SEED_TITLE = "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(RULES))


def seed_article(shared_data: Path) -> dict:
    text = (shared_data / "seed-article.txt").read_text(encoding="utf-8")
    return {"id": "seed", "title": SEED_TITLE, "content": text}


def test_rule_pack_examples_all_pass() -> None:
    rules = load_rules(RULES)
    assert sum(len(e.examples.match) + len(e.examples.no_match) for e in rules.events) >= 15
    assert run_examples(Matcher(rules)) == []


def test_seed_story_matches_its_events_with_its_actors(matcher: Matcher, shared_data: Path) -> None:
    analysis = matcher.analyze(seed_article(shared_data))
    found = {m.rule.id: m for m in analysis.events}
    # Chinese mercenaries fighting for Russia: foreign fighters and mercenaries both (issue 21)
    assert {"foreign_fighters", "mercenaries", "drone_attack", "ceasefire_talks"} <= set(found)
    # the title's "Chinese Mercenaries": "Mercenaries" is evidence (with "Chinese", the nationality next to it)
    assert any(h.term == "Mercenaries" and h.field == "title" for h in found["foreign_fighters"].hits)
    assert any(h.term.lower() == "ceasefire" for h in found["ceasefire_talks"].hits)
    assert any("Kramatorsk" in h.snippet for h in found["drone_attack"].hits)
    actors = {a.id for a in analysis.actors}
    assert {"china", "russia", "ukraine", "north_korea", "united_states"} <= actors
    assert {"iran", "eu", "zelensky", "kellogg", "kallas", "lin_jian", "filashkin"} <= actors


def test_ordinary_news_matches_nothing(matcher: Matcher) -> None:
    article = {"id": "x", "title": "Chinese goods", "content": "Stores sell Chinese goods; the truck hit traffic."}
    assert matcher.match(article) == []


def test_rules_check_passes_on_the_pack() -> None:
    done = newswatch("rules", "check")
    assert done.returncode == 0, done.stderr
    assert "0 failed" in done.stdout


def test_rules_check_prints_each_failure_and_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text(
        "events:\n  - id: e\n    title: E\n    match: {any: [truce]}\n    examples: {match: [a ceasefire]}\n"
    )
    done = newswatch("rules", "check", "--rules", str(tmp_path))
    assert done.returncode == 1
    assert "rule 'e'" in done.stderr and "'a ceasefire'" in done.stderr and "Traceback" not in done.stderr


def test_rules_test_prints_events_and_actors() -> None:
    done = newswatch("rules", "test", "--text", "Russia launched 55 Shahed drones at Kyiv overnight")
    assert done.returncode == 0, done.stderr
    assert "drone_attack" in done.stdout and "Ukraine" in done.stdout


def test_classify_writes_one_line_per_article(tmp_path: Path) -> None:
    lines = [
        {"id": "1", "title": "Truce agreed", "text": "A truce was agreed in the east of Ukraine."},
        {"id": "2", "title": "Weather", "text": "Sunny."},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    done = newswatch("classify", str(path))
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in out] == ["1", "2"]
    (event,) = out[0]["events"]
    assert event["id"] == "ceasefire_talks" and {"category", "severity", "actors", "matches"} <= event.keys()
    assert out[0]["actors"][0]["id"] == "ukraine" and out[1]["events"] == []


def test_worker_refuses_invalid_rules(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("events:\n  - id: e\n    title: E\n    match: {any: [$nope]}\n")
    done = newswatch("worker", NEWSWATCH_RULES_PATH=str(tmp_path))
    assert done.returncode == 2
    assert f"{tmp_path / 'e.yaml'}:4:" in done.stderr and "unknown list" in done.stderr
    assert "Traceback" not in done.stderr


def test_rule_pack_keeps_its_precision_and_recall_on_the_labelled_articles(matcher: Matcher, shared_data: Path) -> None:
    # shared_data: the labels name articles of ../shared/data/articles. The floor is issue 5's target; the pack
    # is at 0.92-0.94 precision and 0.88-0.95 recall on all labelled rows (docs/rules.md, Evaluation). A rule edit
    # that drops an event below it shows here, not in users' alerts.
    labels, articles = load_labels(FIXTURES / "eval" / "labels.jsonl", shared_data / "articles" / "articles.jsonl")
    assert len(labels) >= 1600 and len(articles) == len({row["id"] for row in labels})
    found = classify(matcher, labels, articles)
    for event in EVENTS:
        tp, fp, fn = score(labels, found, event)
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        assert precision >= 0.90 and recall >= 0.85, f"{event}: precision {precision:.2f}, recall {recall:.2f}"


def _fixture_rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "eval" / name).open(encoding="utf-8")]


def test_foreign_fighters_finds_the_forms_it_took_after_2022(matcher: Matcher) -> None:
    # tests/fixtures/eval/post2022.jsonl: 88 news paragraphs written (by a labeller blind to the rules) for the forms
    # of 2023-2026 the 2022 corpus lacks: North Korean troops for Russia, men recruited abroad into Russia's army,
    # foreign militias in Syria, foreign troops beside an ally's army in Africa, Colombians in Ukraine and Sudan,
    # and near misses. Issue 21's target: recall >= 0.85 on them.
    rows = _fixture_rows("post2022.jsonl")
    for event, recall_floor in (("foreign_fighters", 0.85), ("mercenaries", 0.80)):
        found = [
            event in {m.rule.id for m in matcher.match({"id": r["id"], "title": r["title"], "content": r["text"]})}
            for r in rows
        ]
        tp = sum(1 for r, hit in zip(rows, found, strict=True) if hit and r[event])
        fp = sum(1 for r, hit in zip(rows, found, strict=True) if hit and not r[event])
        fn = sum(1 for r, hit in zip(rows, found, strict=True) if not hit and r[event])
        assert tp / (tp + fn) >= recall_floor, f"{event}: recall {tp / (tp + fn):.2f} on the post-2022 forms"
        assert tp / (tp + fp) >= 0.85, f"{event}: precision {tp / (tp + fp):.2f} on the post-2022 forms"


def test_real_2024_to_2026_feed_items_raise_no_false_mercenary_or_foreign_fighter_alert(matcher: Matcher) -> None:
    # tests/fixtures/eval/recent-feeds.jsonl: the 459 items of the 2024 and 2026 feeds in ../shared/data/feeds,
    # labelled blind; one article (twice) is about both events
    for row in _fixture_rows("recent-feeds.jsonl"):
        found = {m.rule.id for m in matcher.match({"id": row["id"], "title": row["title"], "content": row["text"]})}
        for event in ("foreign_fighters", "mercenaries"):
            assert (event in found) == row[event], f"{event} on {row['title']!r}"
