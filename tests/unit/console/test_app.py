"""The console's pages without Kafka: escaping of feed text, safe links, CSRF and cross-site refusals, auth."""

from __future__ import annotations

import base64
import re

import pytest
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from newswatch.console.app import Console, create_app
from newswatch.console.feedback import FeedbackStore, Verdict
from newswatch.console.history import AlertHistory
from newswatch.console.metrics import ConsoleMetrics
from newswatch.console.security import ConsoleAuth
from tests.console_alerts import alerts_for, seed_article, synthetic, update_of

HOSTILE = '<script>alert("x")</script> \x1b]0;owned\x07 <img src=x onerror=alert(1)>'


def make(auth: ConsoleAuth | None = None) -> tuple[TestClient, Console, list[Verdict]]:
    history, feedback, sent = AlertHistory(1000), FeedbackStore(), []
    history.ready = True
    registry = CollectorRegistry()
    console = Console(
        history=history,
        feedback=feedback,
        send_verdict=sent.append,
        auth=auth or ConsoleAuth(),
        registry=registry,
        metrics=ConsoleMetrics(registry, feedback.all),
        descriptions={"drone_attack": "A specific attack with drones."},
    )
    return TestClient(create_app(console), base_url="http://127.0.0.1:8088"), console, sent


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_a_script_title_and_an_escape_sequence_render_as_text_and_javascript_links_are_dropped() -> None:
    client, console, _ = make()
    alert = synthetic(1, title=HOSTILE)
    alert["article"]["url"] = "javascript:alert(document.cookie)"
    alert["sources"][0]["url"] = "data:text/html,<script>alert(1)</script>"
    alert["matches"][0]["snippet"] = "drones <b onmouseover=alert(1)>here</b>"
    console.history.add(alert)
    for page in (client.get("/").text, client.get(f"/alerts/{alert['alert_id']}").text):
        assert "<script>alert" not in page and "<img" not in page and "<b onmouseover" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert "\x1b" not in page and "\x07" not in page and "\ufffd]0;owned\ufffd" in page
        assert "javascript:" not in page and "data:text/html" not in page
    detail = client.get(f"/alerts/{alert['alert_id']}").text
    assert '<span id="article-link" class="nolink">no web link</span>' in detail
    assert "&lt;b onmouseover=alert(1)&gt;" in detail  # inside a highlighted snippet too


def test_every_page_carries_a_content_security_policy_without_inline_scripts() -> None:
    client, _, _ = make()
    response = client.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text and "onclick" not in response.text


def test_detail_highlights_the_matched_terms_and_marks_the_actors_of_the_seed_story() -> None:
    client, console, _ = make()
    alert = next(a for a in alerts_for(seed_article()) if a["rule"]["id"] == "drone_attack")
    console.history.add(alert)
    page = client.get(f"/alerts/{alert['alert_id']}").text
    assert '<mark class="term">drone attack</mark>' in page
    assert "A specific attack with drones." in page  # the rule's description
    assert 'href="https://example.org/seed-story"' in page


def test_list_folds_updates_counts_sources_and_marks_escalations() -> None:
    client, console, _ = make()
    first = synthetic(1)
    console.history.add(first)
    console.history.add(update_of(first, "Reuters"))
    console.history.add({**synthetic(2), "kind": "escalation", "escalation": {"count": 4, "distinct_sources": 3}})
    page = client.get("/").text
    assert page.count('class="alert ') == 2
    assert "2 sources" in page and 'class="badge escalated"' in page


def test_the_first_page_of_many_alerts_is_paginated() -> None:
    client, console, _ = make()
    for index in range(120):
        console.history.add(synthetic(index))
    first = client.get("/").text
    assert first.count('class="alert ') == 50 and 'rel="next" href="/?page=2"' in first
    last = client.get("/?page=3").text
    assert last.count('class="alert ') == 20 and 'data-live="off"' in last


def test_triage_writes_the_verdict_and_shows_it_and_the_rule_precision() -> None:
    client, console, sent = make()
    alert = synthetic(1)
    console.history.add(alert)
    page = client.get(f"/alerts/{alert['alert_id']}")
    response = client.post(
        f"/alerts/{alert['alert_id']}/triage",
        data={"csrf": csrf_of(page.text), "verdict": "not_relevant", "note": "a drone sale, no attack"},
        headers={"origin": "http://127.0.0.1:8088", "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    (verdict,) = sent
    assert (verdict.alert_id, verdict.verdict, verdict.rule_id, verdict.note) == (
        alert["alert_id"],
        "not_relevant",
        "drone_attack",
        "a drone sale, no attack",
    )
    detail = client.get(f"/alerts/{alert['alert_id']}").text
    assert "Judged <strong>not relevant</strong>" in detail and 'id="rule-precision">0.00<' in detail
    metrics = client.get("/metrics").text
    assert 'newswatch_console_rule_precision{rule="drone_attack"} 0.0' in metrics
    assert 'newswatch_console_triage_total{verdict="not_relevant"} 1.0' in metrics


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({"origin": "http://evil.example", "sec-fetch-site": "cross-site"}, "valid"),
        ({"sec-fetch-site": "same-site"}, "valid"),
        ({}, "missing"),
        ({}, "forged"),
    ],
)
def test_triage_without_a_valid_token_or_from_another_site_is_refused(headers: dict[str, str], token: str) -> None:
    client, console, sent = make()
    alert = synthetic(1)
    console.history.add(alert)
    csrf = csrf_of(client.get(f"/alerts/{alert['alert_id']}").text)
    data = {
        "verdict": "relevant",
        **({"csrf": csrf} if token == "valid" else {"csrf": "ab" * 32} if token == "forged" else {}),
    }
    response = client.post(f"/alerts/{alert['alert_id']}/triage", data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 403 and sent == []


def test_with_credentials_set_every_path_needs_them() -> None:
    client, _, _ = make(ConsoleAuth(token="t0ken"))
    for path in ("/", "/metrics", "/events", "/static/console.js", "/healthz"):
        response = client.get(path)
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert client.get("/", headers={"authorization": "Bearer t0ken"}).status_code == 200
    basic = "Basic " + base64.b64encode(b"analyst:t0ken").decode()
    assert client.get("/metrics", headers={"authorization": basic}).status_code == 200
    assert "t0ken" not in client.get("/", headers={"authorization": "Bearer t0ken"}).text
