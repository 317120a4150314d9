"""Matcher throughput on the real articles with generated rule sets of 10 .. 10,000 rules (prints its figures).

Usage: .venv/bin/python bench/bench_matcher.py [--sizes 10,100,1000,10000] [--articles N]

Rules are generated from the corpus' own vocabulary (words of mid frequency, so rules do fire): each rule has
2-6 terms (a third stems, a fifth two-word phrases) in two groups that must both occur (`all`), like the
shipped pack's "drone words AND attack words", or, one rule in five, a `near` block; the shipped
actors are loaded too. The baseline is what the walking skeleton did: one compiled Python regex per rule
(its terms as an alternation with word boundaries), searched rule by rule over each article. The baseline sees
fewer articles at large rule counts so the run takes minutes; rates are per article either way. One process,
one core.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.matcher import Matcher, RuleSet, load_rules  # noqa: E402
from newswatch.matcher.model import Event  # noqa: E402

ARTICLES = ROOT.parent / "shared" / "data" / "articles" / "articles.jsonl"
WORD = re.compile(r"[^\W\d_]{4,}")


def load_articles() -> list[dict[str, str]]:
    articles = []
    for line in ARTICLES.open(encoding="utf-8"):
        a = json.loads(line)
        articles.append({"id": a["id"], "title": a["title"], "text": a["text"]})
    return articles


def vocabulary(articles: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    """Corpus words and bigrams below the 1,500 / 1,000 commonest (those would make every rule fire everywhere)."""
    words: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    for a in articles[:1500]:
        tokens = WORD.findall(a["text"].lower())
        words.update(tokens)
        bigrams.update(f"{x} {y}" for x, y in pairwise(tokens))
    ranked = [w for w, _ in words.most_common()]
    return ranked[1500:30000], [b for b, _ in bigrams.most_common()[1000:30000]]


def generate(n: int, words: list[str], bigrams: list[str], seed: int = 7) -> list[Event]:
    rnd = random.Random(seed + n)
    events = []
    for i in range(n):
        terms: list[str] = []
        for _ in range(rnd.randint(3, 6)):
            roll = rnd.random()
            if roll < 0.2:
                terms.append(rnd.choice(bigrams))
            elif roll < 0.5:
                word = rnd.choice(words)
                terms.append(word[: max(4, len(word) - 2)] + "*")
            else:
                terms.append(rnd.choice(words))
        # like the shipped pack: a topic group AND a second group (drone words AND attack words), or near
        half = len(terms) // 2
        match: dict = {"all": [{"any": terms[:half]}, {"any": terms[half:]}]}
        if rnd.random() < 0.2:
            match = {"any": terms[:half], "near": [terms[half:], [rnd.choice(words)]], "within": 10}
        events.append(Event.model_validate({"id": f"r{i}", "title": f"rule {i}", "match": match}))
    return events


def baseline_patterns(events: list[Event]) -> list[re.Pattern[str]]:
    """One regex per rule: every term as an alternative, whole words, any case (the naive engine)."""
    patterns = []
    for event in events:
        groups = [event.match, *(event.match.all or [])]
        terms = [t for g in groups for t in (g.any or [])] + [t for side in event.match.near or [] for t in side]
        body = "|".join(
            r"\s+".join(re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in t.split())
            for t in terms
        )
        patterns.append(re.compile(rf"\b(?:{body})\b", re.IGNORECASE))
    return patterns


def run(sizes: list[int], limit: int) -> None:
    articles = load_articles()[:limit]
    mb = sum(len((a["title"] + " " + a["text"]).encode()) for a in articles) / 1e6
    words, bigrams = vocabulary(articles)
    actors = load_rules(ROOT / "config" / "rules").actors
    print(f"{len(articles)} articles, {mb:.1f} MB (title + text, UTF-8); Python {sys.version.split()[0]}")
    print(
        f"{'rules':>6} {'compile s':>9} {'engine art/s':>12} {'engine MB/s':>11} {'matches/art':>11} "
        f"{'base n':>6} {'base art/s':>10} {'base MB/s':>9} {'speed-up':>8}"
    )
    for n in sizes:
        events = generate(n, words, bigrams)
        started = time.perf_counter()
        matcher = Matcher(RuleSet(events=events, actors=list(actors)))
        compile_s = time.perf_counter() - started
        started = time.perf_counter()
        found = sum(len(matcher.match(a)) for a in articles)
        engine_s = time.perf_counter() - started
        sample = articles[: max(20, min(len(articles), 2_000_000 // (n * 50)))]
        sample_mb = sum(len((a["title"] + " " + a["text"]).encode()) for a in sample) / 1e6
        patterns = baseline_patterns(events)
        started = time.perf_counter()
        for a in sample:
            text = a["title"] + "\n" + a["text"]
            for p in patterns:
                p.search(text)
        base_s = time.perf_counter() - started
        engine_rate, base_rate = len(articles) / engine_s, len(sample) / base_s
        print(
            f"{n:>6} {compile_s:>9.2f} {engine_rate:>12.0f} {mb / engine_s:>11.2f} {found / len(articles):>11.2f} "
            f"{len(sample):>6} {base_rate:>10.1f} {sample_mb / base_s:>9.3f} {engine_rate / base_rate:>7.0f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--articles", type=int, default=100_000, help="use at most this many articles")
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(",")], args.articles)


if __name__ == "__main__":
    main()
