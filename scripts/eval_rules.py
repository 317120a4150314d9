"""Precision and recall of the rule pack on the hand-labelled sample (tests/fixtures/eval/labels.jsonl).

Usage: .venv/bin/python scripts/eval_rules.py [--rules config/rules] [--split SPLIT|all] [--errors]

SPLIT: a split of the labels file (dev, holdout, round3, round4, ...).

The labels hold article ids only; the text comes from ../shared/data/articles/articles.jsonl. Rounds 1-2 are 260
articles drawn from broad keyword pools and at random (tests/fixtures/eval/README.md), split dev/holdout by a hash
of their id; rounds 3 on are fresh samples labelled blind to the rules, each scoring the rules tuned on the rounds
before it. `--errors` lists the errors of the split(s) asked for only. tests/unit/test_matcher.py holds the pack to its
quality floor with the same functions (newswatch.matcher.evaluate).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.matcher import Matcher, load_rules  # noqa: E402
from newswatch.matcher.evaluate import EVENTS, classify, load_labels, score  # noqa: E402

LABELS = ROOT / "tests" / "fixtures" / "eval" / "labels.jsonl"
ARTICLES = ROOT.parent / "shared" / "data" / "articles" / "articles.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=str(ROOT / "config" / "rules"))
    parser.add_argument("--split", default="all", help="a split of the labels (dev, holdout, round3, ...) or all")
    parser.add_argument("--errors", action="store_true", help="list each false positive and false negative")
    args = parser.parse_args()

    labels, articles = load_labels(LABELS, ARTICLES)
    known = list(dict.fromkeys(row["split"] for row in labels))  # in file order
    if args.split != "all" and args.split not in known:
        parser.error(f"--split {args.split}: the labels have {', '.join(known)} (or all)")
    matcher = Matcher(load_rules(args.rules))
    splits = [*known, "all"] if args.split == "all" else [args.split]
    print(f"{'split':8} {'event':18} {'n':>4} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    found = classify(matcher, labels, articles)
    for split in splits:
        rows = [r for r in labels if split == "all" or r["split"] == split]
        for event in EVENTS:
            tp, fp, fn = score(rows, found, event)
            precision = tp / (tp + fp) if tp + fp else float("nan")
            recall = tp / (tp + fn) if tp + fn else float("nan")
            positives = tp + fn
            print(
                f"{split:8} {event:18} {len(rows):4} {positives:4} {tp:4} {fp:4} {fn:4} {precision:9.2f} {recall:7.2f}"
            )
    if args.errors:
        # only the rows of the split(s) asked for: `--split dev --errors` must not show holdout errors
        for row in (r for r in labels if args.split == "all" or r["split"] == args.split):
            for event in EVENTS:
                got = event in found[row["id"]]
                if got != row[event]:
                    kind = "FP" if got else "FN"
                    print(f"{kind} {event:17} {row['split']:7} {row['id']} {row['title'][:70]!r} -- {row['reason']}")


if __name__ == "__main__":
    main()
