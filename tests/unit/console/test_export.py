"""``feedback export``: analysts' verdicts as labelled JSON lines the rule evaluation reads and scores."""

from __future__ import annotations

import io
import json
from pathlib import Path

from newswatch.console.export import label_rows, write_jsonl
from newswatch.console.feedback import Verdict, verdict_for
from newswatch.console.history import AlertHistory
from newswatch.matcher.evaluate import classify, load_labels, score
from tests.console_alerts import alerts_for, matcher, seed_article


def seed_verdicts() -> list[Verdict]:
    history = AlertHistory(100)
    verdicts = []
    for alert in alerts_for(seed_article()):
        story = history.add(alert)
        assert story is not None
        judged = "not_relevant" if alert["rule"]["id"] == "ceasefire_talks" else "relevant"
        verdicts.append(verdict_for(story, judged, "talks are only mentioned" if judged == "not_relevant" else ""))
    return verdicts


def test_one_line_per_article_with_a_boolean_per_judged_rule_and_the_alert_text() -> None:
    (row,) = label_rows(seed_verdicts())
    assert row["id"] == "seed-1" and row["split"] == "triage" and row["title"].startswith("Ukraine Claims")
    assert row["drone_attack"] is True and row["mercenaries"] is True and row["ceasefire_talks"] is False
    assert "drone attack" in row["text"]  # the evidence snippets the alert holds
    assert row["reason"] == "ceasefire_talks: talks are only mentioned"
    assert len(row["alert_ids"]) == 5
    assert label_rows(seed_verdicts(), {"drone_attack"})[0].keys() >= {"drone_attack"}
    assert "mercenaries" not in label_rows(seed_verdicts(), {"drone_attack"})[0]


def test_the_evaluation_reads_the_export_as_labels_and_corpus_and_scores_it(tmp_path: Path) -> None:
    out = io.StringIO()
    assert write_jsonl(label_rows(seed_verdicts()), out) == 1
    path = tmp_path / "triage.jsonl"
    path.write_text(out.getvalue())
    rows, articles = load_labels(path, path)  # each line carries its text: labels and corpus at once
    assert [r["id"] for r in rows] == ["seed-1"] and json.loads(path.read_text())["id"] in articles
    found = classify(matcher(), rows, articles)
    # the rules re-run on the alert's own evidence still find the drone attack the analyst confirmed
    assert score(rows, found, "drone_attack") == (1, 0, 0)
    tp, _, fn = score(rows, found, "ceasefire_talks")
    assert tp == 0 and fn == 0  # judged not relevant: a finding on it counts against the rule
