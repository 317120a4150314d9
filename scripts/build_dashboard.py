#!/usr/bin/env python3
"""Build the Grafana dashboard JSON from the panel list below (dashboard as code).

    .venv/bin/python scripts/build_dashboard.py        # rewrites config/grafana/dashboards/newswatch.json

tests/unit/test_deploy_config.py checks that the committed JSON is what this script builds;
tests/integration/test_observability.py that every panel's query returns data from a real Prometheus scraping a
real poller, full-text stage and worker (the Triage row: tests/integration/test_console.py, from a console with
verdicts).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "config" / "grafana" / "dashboards" / "newswatch.json"
DATASOURCE = {"type": "prometheus", "uid": "newswatch-prometheus"}

# (row, title, unit, [(legend, PromQL)], kind)
PANELS: list[tuple[str, str, str, list[tuple[str, str]], str]] = [
    ("Ingest", "Articles produced per feed", "ops",
     [("{{feed}}", "sum by (feed) (rate(newswatch_poller_articles_produced_total[5m]))")], "timeseries"),
    ("Ingest", "Fetches per outcome", "ops",
     [("{{outcome}}", "sum by (outcome) (rate(newswatch_poller_fetches_total[5m]))")], "timeseries"),
    ("Ingest", "Feed freshness (seconds since last success)", "s",
     [("{{feed}}", "time() - newswatch_poller_last_success_timestamp_seconds")], "table"),
    ("Full text", "Pages read per outcome", "ops",
     [("{{outcome}}", "sum by (outcome) (rate(newswatch_fulltext_pages_total[5m]))")], "timeseries"),
    ("Full text", "Articles passed on, by where their text came from", "ops",
     [("{{text_source}}", "sum by (text_source) (rate(newswatch_fulltext_articles_total[5m]))")], "timeseries"),
    ("Full text", "Page fetch and extraction time (p95)", "s",
     [("fetch", "histogram_quantile(0.95, sum by (le) (rate(newswatch_fulltext_fetch_seconds_bucket[5m])))"),
      ("extract", "histogram_quantile(0.95, sum by (le) (rate(newswatch_fulltext_extract_seconds_bucket[5m])))")],
     "timeseries"),
    ("Full text", "Pages in flight and the longest host queue", "short",
     [("in flight", "sum(newswatch_fulltext_in_flight)"),
      ("longest host queue", "max(newswatch_fulltext_host_queue) or vector(0)")], "timeseries"),
    ("Full text", "Page bytes downloaded", "Bps",
     [("bytes", "sum(rate(newswatch_fulltext_downloaded_bytes_total[5m]))")], "timeseries"),
    ("Classify", "Articles classified per second", "ops",
     [("{{outcome}}", "sum by (outcome) (rate(newswatch_classifier_articles_total[5m]))")], "timeseries"),
    ("Classify", "Classify duration", "s",
     [("p50", "histogram_quantile(0.5, sum by (le) (rate(newswatch_classifier_duration_seconds_bucket[5m])))"),
      ("p99", "histogram_quantile(0.99, sum by (le) (rate(newswatch_classifier_duration_seconds_bucket[5m])))")],
     "timeseries"),
    ("Classify", "Top actors (mentions, last hour)", "short",
     [("{{actor}}", "topk(10, sum by (actor) (increase(newswatch_classifier_actor_mentions_total[1h])))")],
     "bargauge"),
    ("Alerts", "Alerts per rule", "ops",
     [("{{rule}}", "sum by (rule) (rate(newswatch_alerts_emitted_total[5m]))")], "timeseries"),
    ("Alerts", "Alerts per severity", "ops",
     [("{{severity}}", "sum by (severity) (rate(newswatch_alerts_emitted_total[5m]))")], "timeseries"),
    ("Alerts", "Feed-to-alert latency", "s",
     [("p50", "histogram_quantile(0.5, sum by (le) (rate(newswatch_alert_latency_seconds_bucket[5m])))"),
      ("p95", "histogram_quantile(0.95, sum by (le) (rate(newswatch_alert_latency_seconds_bucket[5m])))"),
      ("p99", "histogram_quantile(0.99, sum by (le) (rate(newswatch_alert_latency_seconds_bucket[5m])))")],
     "timeseries"),
    ("Notify", "Alerts delivered per sink", "ops",
     [("{{sink}}", "sum by (sink) (rate(newswatch_notify_delivered_total[5m]))")], "timeseries"),
    ("Notify", "Retries and dead letters per sink", "ops",
     [("retried {{sink}}", "sum by (sink) (rate(newswatch_notify_retried_total[5m]))"),
      ("dead-lettered {{sink}}", "sum by (sink) (rate(newswatch_notify_dead_lettered_total[5m])) or vector(0)")],
     "timeseries"),
    ("Notify", "Delivery latency (p95, retries included)", "s",
     [("{{sink}}",
       "histogram_quantile(0.95, sum by (sink, le) (rate(newswatch_notify_delivery_seconds_bucket[5m])))")],
     "timeseries"),
    ("Notify", "Circuit breakers open", "short",
     [("{{sink}}", "max by (sink) (newswatch_notify_circuit_open)")], "stat"),
    ("Kafka", "Consumer lag per partition", "short",
     [("{{topic}}/{{partition}}", "sum by (topic, partition) (newswatch_kafka_consumer_lag_messages)")],
     "timeseries"),
    ("Kafka", "Faust events processed per second", "ops",
     [("events", "sum(rate(newswatch_faust_total_events_total[5m]))")], "timeseries"),
    ("Kafka", "Rule set", "short",
     [("{{kind}}", "sum by (kind) (newswatch_rules_loaded)")], "stat"),
    ("Triage", "Rule precision from analysts' triage (relevant / triaged)", "percentunit",
     [("{{rule}}", "max by (rule) (newswatch_console_rule_precision)")], "bargauge"),
    ("Triage", "Alerts triaged per rule and verdict", "short",
     [("{{rule}} {{verdict}}", "max by (rule, verdict) (newswatch_console_triaged_alerts)")], "table"),
]  # fmt: skip


def panel(pid: int, x: int, y: int, title: str, unit: str, targets: list[tuple[str, str]], kind: str) -> dict:
    """One Grafana panel querying Prometheus."""
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend,
             "instant": kind in ("table", "bargauge", "stat")}
            for i, (legend, expr) in enumerate(targets)
        ],
    }  # fmt: skip


def build() -> dict[str, Any]:
    """The whole dashboard: a row per pipeline stage, two panels a line."""
    panels: list[dict[str, Any]] = []
    y, pid, row = 0, 1, None
    column = 0
    for row_title, title, unit, targets, kind in PANELS:
        if row_title != row:
            if column:
                y += 8
            panels.append(
                {
                    "id": pid,
                    "type": "row",
                    "title": row_title,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                    "panels": [],
                }
            )
            pid, y, column, row = pid + 1, y + 1, 0, row_title
        panels.append(panel(pid, column * 12, y, title, unit, targets, kind))
        pid += 1
        column = (column + 1) % 2
        if column == 0:
            y += 8
    return {
        "uid": "newswatch",
        "title": "newswatch",
        "tags": ["newswatch"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": panels,
    }


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel."""
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT} ({len(queries(build()))} queries)", file=sys.stderr)
