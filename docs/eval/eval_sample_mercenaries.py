"""Draw the round-9 labelling sample for the `mercenaries` event (issue 21; deterministic, seed 3216).

Two files:
  round9-sample.jsonl: every article not yet in tests/fixtures/eval/labels.jsonl from a broad mercenary keyword
    pool (152), then 50 from all remaining articles; labelled blind for all four events.
  reread.jsonl: the already labelled rows whose article matches the same pool; re-read for `mercenaries` only.
    A labelled row outside the pool gets `mercenaries: false` (none of the pool's words occurs in it, so it
    cannot describe a mercenary or a PMC by name).
Keyword matching is a plain case-insensitive substring test on title + text; the pools only decide *which*
articles are read, labels are assigned by reading.

  python docs/eval/eval_sample_mercenaries.py OUTDIR
"""

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = ROOT.parent / "shared" / "data" / "articles" / "articles.jsonl"
LABELLED = ROOT / "tests" / "fixtures" / "eval" / "labels.jsonl"
SEED = 3216
POOL = [
    "mercenar", "wagner", "pmc", "private military", "military contractor", "security contractor", "contractor",
    "soldier of fortune", "soldiers of fortune", "prigozhin", "africa corps", "redut", "academi", "blackwater",
    "constellis", "dyncorp", "sadat", "patriot", "convoy", "enot", "e.n.o.t", "utkin", "storm-z", "legion",
    "наемник", "наёмник", "найманц", "найманець", "наймит", "вагнер", "чвк", "пвк", "пригожин",
]  # fmt: skip


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    articles = {a["id"]: a for a in map(json.loads, ARTICLES.open(encoding="utf-8"))}
    # the rows labelled before this round (the labels file now holds round 9 too)
    labelled = [row for row in map(json.loads, LABELLED.open(encoding="utf-8")) if row["split"] != "round9"]
    done = {row["id"] for row in labelled}

    def in_pool(i: str) -> bool:
        hay = (articles[i].get("title", "") + "\n" + articles[i].get("text", "")).lower()
        return any(word in hay for word in POOL)

    rng = random.Random(SEED)
    candidates = sorted(i for i in articles if i not in done)
    pool = [i for i in candidates if in_pool(i)]
    drawn = rng.sample(pool, len(pool))  # all of them, in a random order
    rest = sorted(set(candidates) - set(drawn))
    drawn_random = rng.sample(rest, 50)
    print(f"pool: {len(pool)} unlabelled articles match, took all; random: drew 50 of {len(rest)}")
    with (out / "round9-sample.jsonl").open("w", encoding="utf-8") as f:
        for i, name in [*((i, "mercenary") for i in drawn), *((i, "random") for i in drawn_random)]:
            a = articles[i]
            f.write(
                json.dumps({"id": i, "pool": name, "source": a["source"], "title": a["title"]}, ensure_ascii=False)
                + "\n"
            )
    reread = [row for row in labelled if in_pool(row["id"])]
    print(f"labelled rows: {len(labelled)}, in the pool (re-read for mercenaries): {len(reread)}")
    with (out / "reread.jsonl").open("w", encoding="utf-8") as f:
        for row in reread:
            f.write(
                json.dumps({"id": row["id"], "source": row["source"], "title": row["title"]}, ensure_ascii=False) + "\n"
            )


if __name__ == "__main__":
    main()
