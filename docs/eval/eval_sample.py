"""Draw the second evaluation sample (added to tests/fixtures/eval/labels.jsonl in round 2).

Usage: .venv/bin/python docs/eval/eval_sample.py [--seed 2026] [--per-pool 30 30 15] [--random 25]

Broad keyword pools, deliberately wider than the rules (so that recall is not measured only on articles that use the
rules' own words), one per event, over title + text of ../shared/data/articles/articles.jsonl. Articles already in
labels.jsonl before the draw (its first --base-rows rows) are left out. Then articles are drawn at random
(seeded) from each pool in turn, and a number more from all
remaining articles (whatever their words). Prints one line per drawn article: id, the pool it was drawn from, and the
dev/holdout split (sha1 of the id: even last hex digit = dev, the rule of the first 160 labels).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # docs/eval/ -> the checkout
LABELS = ROOT / "tests" / "fixtures" / "eval" / "labels.jsonl"
ARTICLES = ROOT.parent / "shared" / "data" / "articles" / "articles.jsonl"

POOLS = {
    "drone_attack": r"drone|\bUAVs?\b|unmanned|Shahed|Bayraktar|loitering|Lancet|kamikaze|Switchblade|Geran|"
    r"беспилот|дрон|БПЛА",
    "foreign_fighters": r"mercenar|foreign (fighter|volunteer|legion|troops|national|citizen|recruit)|legion|"
    r"volunteers|Wagner|Chechen|Kadyrov|Syrians?\b|recruited abroad|Nepal|Gurkha|soldiers? of fortune|"
    r"North Korean troops|Belarusian troops|наемник|найманц",
    "ceasefire_talks": r"cease-?fire|cease fire|truce|armistice|negotiat|peace|\btalks\b|humanitarian (corridor|pause)|"
    r"Istanbul|Minsk|перемири|переговор",
}


def split_of(article_id: str) -> str:
    return "dev" if int(hashlib.sha1(article_id.encode()).hexdigest(), 16) % 2 == 0 else "holdout"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--per-pool", type=int, nargs=3, default=[30, 30, 15], metavar=("DRONE", "FIGHTERS", "CEASEFIRE")
    )
    parser.add_argument("--random", type=int, default=25)
    parser.add_argument(
        "--base-rows", type=int, default=160, help="rows of labels.jsonl labelled before this draw (round 1: 160)"
    )
    args = parser.parse_args()

    lines = LABELS.open(encoding="utf-8").read().splitlines()[: args.base_rows]
    labelled = {json.loads(line)["id"] for line in lines}
    articles = [json.loads(line) for line in ARTICLES.open(encoding="utf-8")]
    rng = random.Random(args.seed)
    taken: set[str] = set(labelled)
    counts = dict(zip(("drone_attack", "foreign_fighters", "ceasefire_talks"), args.per_pool, strict=True))
    for event, pattern in POOLS.items():
        regex = re.compile(pattern, re.IGNORECASE)
        pool = sorted(a["id"] for a in articles if a["id"] not in taken and regex.search(a["title"] + " " + a["text"]))
        for article_id in rng.sample(pool, counts[event]):
            taken.add(article_id)
            print(article_id, event, split_of(article_id), f"(pool {len(pool)})")
    rest = sorted(a["id"] for a in articles if a["id"] not in taken)
    for article_id in rng.sample(rest, args.random):
        taken.add(article_id)
        print(article_id, "random", split_of(article_id), f"(pool {len(rest)})")


if __name__ == "__main__":
    main()
