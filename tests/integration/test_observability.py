"""Metrics end to end: a real Prometheus scrapes a running worker, poller, full-text stage and notifier; every
dashboard panel has data."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from newswatch.local.feedserver import FeedServer, Route
from newswatch.local.prometheus import query, start_prometheus, wait_ready
from newswatch.local.storypages import teaser_feed
from tests.conftest import ROOT, SAMPLES, Topics
from tests.integration.helpers import (
    at_least,
    collect,
    free_port,
    service_env,
    start_fulltext,
    start_poller,
    start_service,
    start_worker,
    stop,
)
from tests.integration.test_pipeline import SEED_EVENTS

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "config" / "grafana" / "dashboards" / "newswatch.json"


class _Receiver:
    """A webhook receiver on a free port that answers 200 and counts what it got."""

    def __init__(self) -> None:
        import http.server
        import threading

        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.count += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.count = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_prometheus_scrapes_the_worker_and_every_dashboard_query_returns_data(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    web_port, poller_port, fulltext_port, prom_port = free_port(), free_port(), free_port(), free_port()
    notify_port, hooks = free_port(), _Receiver()
    notify_yaml = tmp_path / "notify.yaml"
    notify_yaml.write_text(
        f"sinks:\n  hook: {{type: webhook, url: 'http://127.0.0.1:{hooks.port}/hook', sign: false}}\n"
        "routes:\n  - sinks: hook\n"
    )
    pages = FeedServer().__enter__()
    pages.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    story = b"<html><body><article><p>" + b"A drone hit a depot. " * 40 + b"</p></article></body></html>"
    pages.routes["/story"] = Route(story, content_type="text/html")
    teaser = {"guid": "t1", "title": "Depot hit", "link": pages.url("/story"), "description": "A drone hit."}
    pages.routes["/teasers.rss"] = Route(teaser_feed([teaser]))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}, interval: 2}}\n"
        f"  - {{id: teasers, url: '{pages.url('/teasers.rss')}', interval: 2}}\n"
    )
    env = service_env(
        kafka_bootstrap,
        topics,
        tmp_path,
        NEWSWATCH_WORKER_WEB_PORT=str(web_port),
        NEWSWATCH_POLLER_METRICS_PORT=str(poller_port),
        NEWSWATCH_FEEDS_FILE=str(feeds),
        NEWSWATCH_FEED_STATE_TOPIC=f"feed-state-{topics.articles}",
        NEWSWATCH_FULLTEXT_ENABLED="true",
        NEWSWATCH_FULLTEXT_METRICS_PORT=str(fulltext_port),
        NEWSWATCH_FULLTEXT_PRIVATE_ALLOWED=f"127.0.0.1:{pages.port}",
        NEWSWATCH_POLLER_PRIVATE_ALLOWED=f"127.0.0.1:{pages.port}",
        NEWSWATCH_NOTIFY_FILE=str(notify_yaml),
        NEWSWATCH_NOTIFY_METRICS_PORT=str(notify_port),
        NEWSWATCH_NOTIFY_GROUP=f"notify-{topics.app_id}",
        NEWSWATCH_NOTIFY_DEAD_LETTER_TOPIC=f"notify.dead-letter-{topics.alerts}",
        NEWSWATCH_NOTIFY_AUTO_OFFSET_RESET="earliest",
    )
    notify = start_service(env, tmp_path / "notify.log", "notify")
    fulltext = start_fulltext(env, tmp_path / "fulltext.log")
    worker = start_worker(env, tmp_path / "worker.log")
    poller = start_poller(env, tmp_path / "poller.log")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{ROOT / 'config' / 'prometheus' / 'rules' / 'newswatch.rules.yml'}']\n"
        "scrape_configs:\n"
        f"  - {{job_name: newswatch-worker, static_configs: [{{targets: ['127.0.0.1:{web_port}']}}]}}\n"
        f"  - {{job_name: newswatch-poller, static_configs: [{{targets: ['127.0.0.1:{poller_port}']}}]}}\n"
        f"  - {{job_name: newswatch-fulltext, static_configs: [{{targets: ['127.0.0.1:{fulltext_port}']}}]}}\n"
        f"  - {{job_name: newswatch-notify, static_configs: [{{targets: ['127.0.0.1:{notify_port}']}}]}}\n"
    )
    prometheus = start_prometheus(config, tmp_path / "prom-data", prom_port, log=tmp_path / "prometheus.log")
    assert prometheus is not None, "prometheus is not installed: run `make install`"
    base = f"http://127.0.0.1:{prom_port}"
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make install`"
    try:
        assert wait_ready(base), (tmp_path / "prometheus.log").read_text()[-2000:]
        alerts = collect(kafka_bootstrap, topics.alerts, until=at_least(len(SEED_EVENTS)), timeout=120, watch=worker)
        assert len(alerts) >= 3
        # the worker, poller and stage listen on 127.0.0.1 only (their web servers list every rule and actor)
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout.split("\n")
        for port in (web_port, poller_port, fulltext_port, notify_port):
            local = [line.split()[3] for line in listening if line.split() and line.split()[3].endswith(f":{port}")]
            assert local == [f"127.0.0.1:{port}"], local

        for port in (poller_port, fulltext_port, web_port, notify_port):
            exposition = scrape(port)
            lint = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True)
            # promtool lints Faust's own names too (its counters lack _total); only our names must be clean
            ours = [line for line in (lint.stdout + lint.stderr).splitlines() if "newswatch_faust" not in line]
            assert not [line for line in ours if "newswatch_" in line], lint.stdout + lint.stderr
        exposition = scrape(web_port)
        assert 'newswatch_alerts_emitted_total{rule="drone_attack"' in exposition

        # the Triage row's figures come from a console with analysts' verdicts: tests/integration/test_console.py
        panels = [
            (p["title"], t["expr"])
            for p in json.loads(DASHBOARD.read_text())["panels"]
            for t in p.get("targets", [])
            if "newswatch_console_" not in t["expr"]
        ]
        assert len(panels) >= 12
        deadline, empty = time.monotonic() + 60, panels
        while empty and time.monotonic() < deadline:
            empty = [(title, expr) for title, expr in empty if not query(base, expr)]
            if empty:
                time.sleep(1)
        assert empty == [], f"panels without data: {empty}"
        # a fresh start that just produced articles is not "no articles ingested", not even pending
        assert query(base, 'newswatch_poller_articles_produced_total{feed="seed"}')
        assert query(base, 'ALERTS{alertname="NewswatchNoArticlesIngested"}') == []
        assert query(base, 'newswatch_fulltext_articles_total{text_source="page"} > 0')  # the teaser's page was read
        assert hooks.count >= 3  # the notifier delivered the seed alerts to its webhook
    finally:
        stop(poller)
        stop(fulltext)
        stop(worker)
        stop(notify)
        hooks.close()
        pages.__exit__(None, None, None)
        if prometheus is not None:
            stop(prometheus)
