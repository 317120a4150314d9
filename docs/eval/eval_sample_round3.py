"""Draw the round-3 labelling sample (deterministic, seed 2611).

180 articles not already in tests/fixtures/eval/labels.jsonl:
  60 from a broad foreign-fighter keyword pool,
  45 from a broad drone keyword pool,
  30 from a broad ceasefire keyword pool,
  45 from all remaining articles.
Pools are drawn in this order; each later draw excludes earlier picks.
Keyword matching is a plain case-insensitive substring test on title + text.
The pools only decide *which* articles are read; labels are assigned by reading.

Writes sample.jsonl (id, pool, source, title) and prints pool sizes.
"""

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # docs/eval/ -> the checkout
ARTICLES = ROOT.parent / "shared" / "data" / "articles" / "articles.jsonl"
LABELLED = ROOT / "tests" / "fixtures" / "eval" / "labels.jsonl"
OUT = Path("round3-sample.jsonl")  # in the current directory
SEED = 2611

POOLS = [
    (
        "foreign_fighter",
        60,
        [
            "mercenar",
            "volunteer",
            "foreign fighter",
            "foreign legion",
            "international legion",
            "legion",
            "wagner",
            "chechen",
            "kadyrov",
            "syrian",
            "belarusian",
            "georgian",
            "british national",
            "american citizen",
            "recruit",
            "наемник",
            "найманц",
            "доброволец",
            "добровольц",
        ],
    ),
    (
        "drone",
        45,
        [
            "drone",
            "uav",
            "unmanned",
            "shahed",
            "bayraktar",
            "lancet",
            "geran",
            "kamikaze",
            "loitering",
            "quadcopter",
            "беспилотник",
            "дрон",
            "безпілотник",
        ],
    ),
    (
        "ceasefire",
        30,
        [
            "ceasefire",
            "cease-fire",
            "truce",
            "armistice",
            "peace talks",
            "negotiat",
            "minsk",
            "istanbul talks",
            "humanitarian pause",
            "перемири",
            "переговор",
        ],
    ),
]
N_RANDOM = 45


def main():
    articles = [json.loads(line) for line in ARTICLES.open(encoding="utf-8")]
    # rounds 1 and 2 only: the round-3 rows were later appended to the same file
    done = {row["id"] for row in map(json.loads, LABELLED.open(encoding="utf-8")) if row["split"] in ("dev", "holdout")}
    by_id = {a["id"]: a for a in articles}
    candidates = sorted(i for i in by_id if i not in done)
    rng = random.Random(SEED)
    picked, rows = set(), []

    def hay(a):
        return (a.get("title", "") + "\n" + a.get("text", "")).lower()

    for name, n, kws in POOLS:
        pool = [i for i in candidates if any(k in hay(by_id[i]) for k in kws)]
        avail = [i for i in pool if i not in picked]
        draw = rng.sample(avail, n)
        print(
            f"pool {name}: {len(pool)} unlabelled articles match, {len(avail)} available after earlier picks, drew {n}"
        )
        for i in draw:
            picked.add(i)
            rows.append((i, name))
    rest = [i for i in candidates if i not in picked]
    draw = rng.sample(rest, N_RANDOM)
    print(f"pool random: {len(rest)} available, drew {N_RANDOM}")
    for i in draw:
        picked.add(i)
        rows.append((i, "random"))
    print(f"articles {len(articles)}, already labelled {len(done)}, unlabelled {len(candidates)}, sampled {len(rows)}")

    with OUT.open("w", encoding="utf-8") as f:
        for i, pool in rows:
            a = by_id[i]
            f.write(
                json.dumps({"id": i, "pool": pool, "source": a["source"], "title": a["title"]}, ensure_ascii=False)
                + "\n"
            )


if __name__ == "__main__":
    main()
