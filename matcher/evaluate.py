"""Precision and recall of a rule set on hand-labelled articles (``scripts/eval_rules.py``, the quality-floor test).

Labels are JSON lines: ``id`` (an article of the corpus), ``split``, one boolean per event, ``title``, ``reason``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from newswatch.matcher.engine import Matcher

EVENTS = ("foreign_fighters", "drone_attack", "ceasefire_talks", "mercenaries")


def load_labels(labels: Path, corpus: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The labelled rows, and the articles of ``corpus`` (JSON lines) they label, by id."""
    rows = [json.loads(line) for line in labels.open(encoding="utf-8")]
    wanted = {row["id"] for row in rows}
    articles = {}
    for line in corpus.open(encoding="utf-8"):
        article = json.loads(line)
        if article["id"] in wanted:
            articles[article["id"]] = article
    return rows, articles


def classify(matcher: Matcher, rows: list[dict[str, Any]], articles: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Article id -> the ids of the events the matcher finds in it."""
    return {row["id"]: {m.rule.id for m in matcher.match(articles[row["id"]])} for row in rows}


def score(rows: list[dict[str, Any]], found: dict[str, set[str]], event: str) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of ``event`` on ``rows``."""
    tp = sum(1 for r in rows if r[event] and event in found[r["id"]])
    fp = sum(1 for r in rows if not r[event] and event in found[r["id"]])
    fn = sum(1 for r in rows if r[event] and event not in found[r["id"]])
    return tp, fp, fn
