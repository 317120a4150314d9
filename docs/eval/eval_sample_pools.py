"""Draw a labelling sample for a later evaluation round (deterministic for a seed).

Articles not yet in tests/fixtures/eval/labels.jsonl, drawn from round 3's broad keyword pools
(docs/eval/eval_sample_round3.py) in the order drone, foreign fighter, ceasefire, then from all remaining articles;
each later draw excludes earlier picks. The pools only decide *which* articles are read; labels are assigned by
reading. Writes OUT (id, pool, source, title) and prints pool sizes.

  round 4: --seed 2711 --drone 70 --foreign 40 --ceasefire 35 --random 35 round4-sample.jsonl
  round 5: --seed 2812 --drone 50 --foreign 70 --ceasefire 45 --random 35 round5-sample.jsonl
  round 6: --seed 2913 --drone 80 --foreign 80 --ceasefire 70 --random 70 round6-sample.jsonl
  round 7: --seed 3014 --drone 60 --foreign 100 --ceasefire 60 --random 80 round7-sample.jsonl
  round 8: --seed 3115 --drone 35 --foreign 80 --ceasefire 60 --random 75 round8-sample.jsonl
"""

import argparse
import importlib.util
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the round-3 script is a record of how that round was drawn, so its pools are loaded from it, not copied
_spec = importlib.util.spec_from_file_location("eval_sample_round3", HERE / "eval_sample_round3.py")
round3 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(round3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--drone", type=int, required=True)
    parser.add_argument("--foreign", type=int, required=True)
    parser.add_argument("--ceasefire", type=int, required=True)
    parser.add_argument("--random", type=int, required=True)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    counts = {"drone": args.drone, "foreign_fighter": args.foreign, "ceasefire": args.ceasefire}
    articles = [json.loads(line) for line in round3.ARTICLES.open(encoding="utf-8")]
    done = {row["id"] for row in map(json.loads, round3.LABELLED.open(encoding="utf-8"))}
    by_id = {a["id"]: a for a in articles}
    candidates = sorted(i for i in by_id if i not in done)
    rng = random.Random(args.seed)
    picked: set[str] = set()
    rows: list[tuple[str, str]] = []

    def hay(a: dict) -> str:
        return (a.get("title", "") + "\n" + a.get("text", "")).lower()

    pools = {name: kws for name, _, kws in round3.POOLS}
    for name, n in counts.items():
        pool = [i for i in candidates if any(k in hay(by_id[i]) for k in pools[name])]
        avail = [i for i in pool if i not in picked]
        if n > len(avail):
            raise SystemExit(f"pool {name}: only {len(avail)} unlabelled articles left, cannot draw {n}")
        draw = rng.sample(avail, n)
        print(
            f"pool {name}: {len(pool)} unlabelled articles match, {len(avail)} available after earlier picks, drew {n}"
        )
        picked.update(draw)
        rows.extend((i, name) for i in draw)
    rest = [i for i in candidates if i not in picked]
    draw = rng.sample(rest, args.random)
    print(f"pool random: {len(rest)} available, drew {args.random}")
    rows.extend((i, "random") for i in draw)
    print(f"articles {len(articles)}, already labelled {len(done)}, unlabelled {len(candidates)}, sampled {len(rows)}")

    with args.out.open("w", encoding="utf-8") as f:
        for i, pool in rows:
            a = by_id[i]
            row = {"id": i, "pool": pool, "source": a["source"], "title": a["title"]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
