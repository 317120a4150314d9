"""Dump ``Matcher.analyze()`` for every real article under the shipped pack and the bench's generated rule sets.

Usage: .venv/bin/python bench/dump_analysis.py OUT_DIR [--sizes 100,1000,10000]

One JSON line per article: each event's rule id, its hits (field, start, end, term as found, pattern, snippet),
score and actors (id, count, near), then the article's actors. Two dumps of the same corpus compare with
``cmp``: this is how an engine change proves it reports exactly what the engine before it did.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_matcher import generate, load_articles, vocabulary  # noqa: E402

from newswatch.matcher import Matcher, RuleSet, load_rules  # noqa: E402

FIELD_ORDER = {"title": 0, "summary": 1, "content": 2, "text": 3}
ARTICLES = ROOT.parent / "shared" / "data" / "articles" / "articles.jsonl"


def _hits(match) -> list[dict]:
    # hits at the same field and start (a stem and a phrase starting on one word) came out in set order before
    # the native engine (hash-dependent between runs); compare them in one canonical order
    hits = [h.to_dict() for h in match.hits]
    return sorted(hits, key=lambda h: (FIELD_ORDER[h["field"]], h["start"], h["end"], h["pattern"], h["term"]))


def dump(matcher: Matcher, articles: list[dict], out: Path) -> None:
    with out.open("w", encoding="utf-8") as f:
        for a in articles:
            analysis = matcher.analyze(a)
            row = {
                "id": a["id"],
                "events": [
                    [m.rule.id, m.score, _hits(m), [[x.id, x.count, x.near] for x in m.actors]] for m in analysis.events
                ],
                "actors": [[x.id, x.count, x.near] for x in analysis.actors],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # the shipped pack sees every field of the real article (summary and content too, when present)
    full = [json.loads(line) for line in ARTICLES.open(encoding="utf-8")]
    rules = load_rules(ROOT / "config" / "rules")
    dump(Matcher(rules), full, args.out / "pack.jsonl")
    articles = load_articles()
    words, bigrams = vocabulary(articles)
    for n in [int(s) for s in args.sizes.split(",")]:
        events = generate(n, words, bigrams)
        dump(Matcher(RuleSet(events=events, actors=list(rules.actors))), articles, args.out / f"gen{n}.jsonl")
        print(n, "done", flush=True)


if __name__ == "__main__":
    main()
