"""``newswatch feedback export``: analysts' verdicts as labelled JSON lines for the rule evaluation.

One line per article, in the format of the labels files (tests/fixtures/eval/*.jsonl) that
``newswatch.matcher.evaluate`` reads: ``id``, ``split``, ``source``, ``title``, ``text``, one boolean per rule
an analyst judged on that article (``true`` = relevant), ``reason`` (the notes). The ``text`` is what the alerts
hold of the article (the evidence snippets of every judged alert on it): the alert contract carries no full text.
A line carries its own text, so the file is both the labels and the corpus: ``load_labels(path, path)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from newswatch.console.feedback import Verdict

SPLIT = "triage"  # the split name of exported rows, apart from the hand-labelled rounds


def label_rows(verdicts: Iterable[Verdict], rules: set[str] | None = None) -> list[dict[str, Any]]:
    """One labels row per article, its rules' verdicts merged; only ``rules`` when given. Sorted by article id."""
    rows: dict[str, dict[str, Any]] = {}
    for verdict in sorted(verdicts, key=lambda v: (v.article_id, v.rule_id, v.triaged_at)):
        if not verdict.article_id or not verdict.rule_id or (rules and verdict.rule_id not in rules):
            continue
        row = rows.setdefault(
            verdict.article_id,
            {
                "id": verdict.article_id,
                "split": SPLIT,
                "source": verdict.source,
                "title": verdict.title,
                "text": verdict.text,
                "url": verdict.url,
                "reason": "",
                "alert_ids": [],
            },
        )
        row[verdict.rule_id] = verdict.relevant
        row["alert_ids"].append(verdict.alert_id)
        # each alert holds the evidence of its own rule: the article's text is all of it, every passage once
        passages = row["text"].split("\n") if row["text"] else []
        row["text"] = "\n".join(dict.fromkeys([*passages, *verdict.text.split("\n")]))
        if verdict.note:
            note = f"{verdict.rule_id}: {verdict.note}"
            row["reason"] = f"{row['reason']}; {note}" if row["reason"] else note
    return list(rows.values())


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write ``rows`` as JSON lines; return how many."""
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
