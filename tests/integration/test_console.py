"""The analyst's console in a real browser (headless Chromium), against the real broker and real processes.

What an analyst sees: history on opening the page, a new story arriving without a reload, filters that live in
the URL, the evidence highlighted, a verdict that every console shares and keeps across restarts and that moves
the rule's precision, hostile titles shown as text, cross-site posts refused, and a page that stays quick with
10,000 alerts held. Screenshots of the list and the detail view are taken on the way (docs/console.md shows
them; UPDATE_SCREENSHOTS=1 writes them into docs/images/).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from newswatch.console.feedback import read_all
from newswatch.core.settings import Settings
from tests.conftest import ROOT, Topics
from tests.console_alerts import SEED_TITLE, alerts_for, seed_article, synthetic, update_of
from tests.integration.article_stream import produce
from tests.integration.console_helpers import (
    ConsoleProcess,
    chromium_missing,
    fetch,
    headless_chromium,
    produce_alerts,
    running_console,
)
from tests.integration.helpers import free_port, log_tail, service_env, start_worker, stop

pytestmark = pytest.mark.integration

SEED_EVENTS = {"foreign_fighters", "mercenaries", "drone_attack", "ceasefire_talks", "prisoner_exchange"}
HOSTILE_TITLE = '<script>document.title="owned"</script> Drones hit <b>depot</b>'
ESC_TITLE = "Drones over Odesa \x1b]0;retitled\x07\x1b[2J cleared?"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = chromium_missing()
    assert not missing, missing
    driver = headless_chromium(tmp_path_factory.mktemp("chromium"))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(condition, timeout: float = 20.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    return condition()


def rows(driver: Any) -> list[tuple[str, str]]:
    """(rule, title) of each row the list shows, read in one script run: the live refresh may replace the rows at
    any moment, and element handles taken before it would go stale."""
    return [
        (rule, title)
        for rule, title in driver.execute_script(
            "return Array.from(document.querySelectorAll('tbody#rows tr.alert'))"
            ".map(r => [r.dataset.rule, r.querySelector('td.title a').textContent])"
        )
    ]


def screenshot(driver: Any, tmp_path: Path, name: str) -> Path:
    folder = ROOT / "docs" / "images" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 10_000
    return path


def console_env(bootstrap: str, topics: Topics, tmp_path: Path, **extra: str) -> dict[str, str]:
    return service_env(
        bootstrap,
        topics,
        tmp_path,
        NEWSWATCH_FEEDBACK_TOPIC=f"feedback-{topics.alerts}",
        NEWSWATCH_CONSOLE_GROUP=f"console-{topics.alerts}",
        **extra,
    )


def test_history_shows_on_open_and_the_seed_storys_alerts_arrive_live_without_a_reload(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, browser: Any
) -> None:
    earlier = synthetic(1, title="Earlier today: drones over Kharkiv")
    produce_alerts(kafka_bootstrap, topics.alerts, [earlier])
    env = console_env(kafka_bootstrap, topics, tmp_path)
    with running_console(env, tmp_path / "console.log") as console:
        browser.get(console.url + "/")
        assert rows(browser) == [("drone_attack", "Earlier today: drones over Kharkiv")]  # history on open
        live = wait_for(lambda: browser.find_element("id", "live").is_displayed(), 30)
        assert live, f"the page's live stream did not connect\n{log_tail(tmp_path / 'console.log')}"
        browser.execute_script("window.notReloaded = true")
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            produce(kafka_bootstrap, topics.articles, [seed_article()])
            produced = time.monotonic()
            seed_rows = lambda: {r for r, t in rows(browser) if t == SEED_TITLE}  # noqa: E731
            assert wait_for(lambda: seed_rows() == SEED_EVENTS, timeout=120, every=0.5), (
                f"{rows(browser)}\n{log_tail(tmp_path / 'worker.log', tmp_path / 'console.log')}"
            )
            print(f"seed alerts on the open page {time.monotonic() - produced:.1f} s after the article was produced")
        finally:
            stop(worker)
        assert browser.execute_script("return window.notReloaded") is True  # arrived live, the page was not reloaded
        assert rows(browser)[-1][1] == "Earlier today: drones over Kharkiv"  # newest first
        screenshot(browser, tmp_path, "console-list.png")


def test_filters_detail_triage_shared_across_consoles_and_restarts_and_hostile_titles(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    seed = alerts_for(seed_article())
    drone = next(a for a in seed if a["rule"]["id"] == "drone_attack")
    hostile = synthetic(2, title=HOSTILE_TITLE)
    hostile["article"]["url"] = "javascript:document.title='clicked'"
    escaped = synthetic(3, title=ESC_TITLE, rule="mercenaries")
    produce_alerts(kafka_bootstrap, topics.alerts, [*seed, update_of(drone, "Kyiv Independent"), hostile, escaped])
    env = console_env(kafka_bootstrap, topics, tmp_path)
    first = ConsoleProcess(env, tmp_path / "console-1.log")
    try:
        first.wait_ready()
        # filter by rule with the form: the list narrows and the URL carries the filter
        browser.get(first.url + "/")
        assert len(rows(browser)) == 7
        Select(browser.find_element(By.NAME, "rule")).select_by_value("mercenaries")
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        wait_for(lambda: "rule=mercenaries" in browser.current_url)
        filtered = rows(browser)
        assert {r for r, _ in filtered} == {"mercenaries"} and len(filtered) == 2
        shared = browser.current_url
        browser.switch_to.new_window("tab")
        browser.get(shared)  # the link opened afresh shows the same list
        assert rows(browser) == filtered
        browser.close()
        browser.switch_to.window(browser.window_handles[0])

        # hostile titles are text: no script ran, no tag was made, the escape sequence is inert
        browser.get(first.url + "/")
        assert browser.title == "newswatch console"
        titles = [t for _, t in rows(browser)]
        assert HOSTILE_TITLE in titles
        assert not browser.find_elements(By.CSS_SELECTOR, "td.title b")
        esc_shown = next(t for t in titles if t.startswith("Drones over Odesa"))
        assert "\x1b" not in esc_shown and "\x07" not in esc_shown and "\ufffd]0;retitled" in esc_shown
        browser.get(f"{first.url}/alerts/{hostile['alert_id']}")
        assert browser.find_element(By.ID, "title").text == HOSTILE_TITLE and browser.title.endswith("console")
        assert browser.find_element(By.ID, "article-link").tag_name == "span"  # the javascript: link is no link

        # detail: the seed story's matched terms highlighted, actors marked, its two sources
        browser.get(f"{first.url}/alerts/{drone['alert_id']}")
        marked = {m.text.lower() for m in browser.find_elements(By.CSS_SELECTOR, "mark.term")}
        assert {"drone", "drone attack"} & marked, marked
        assert browser.find_elements(By.CSS_SELECTOR, "mark.actor")
        assert "Kyiv Independent" in browser.find_element(By.CSS_SELECTOR, "section.sources").text
        screenshot(browser, tmp_path, "console-detail.png")

        # triage: "not relevant" with a note
        browser.find_element(By.NAME, "note").send_keys("a drone attack only mentioned in passing")
        browser.find_element(By.ID, "not-relevant").click()
        assert wait_for(lambda: browser.find_elements(By.ID, "verdict")), browser.page_source[-3000:]
        assert "Judged not relevant" in browser.find_element(By.ID, "verdict").text
        assert browser.find_element(By.ID, "rule-precision").text == "0.00"
        settings = Settings(kafka_bootstrap=kafka_bootstrap, feedback_topic=env["NEWSWATCH_FEEDBACK_TOPIC"])
        verdicts = read_all(settings)
        assert verdicts[drone["alert_id"]].verdict == "not_relevant"
        assert verdicts[drone["alert_id"]].note == "a drone attack only mentioned in passing"
        assert compacted(kafka_bootstrap, settings.feedback_topic)

        # a second console sees the verdict, in its pages and on /metrics
        with running_console(env, tmp_path / "console-2.log") as second:
            browser.get(f"{second.url}/alerts/{drone['alert_id']}")
            assert "Judged not relevant" in browser.find_element(By.ID, "verdict").text
            browser.get(second.url + "/")
            precision = browser.find_element(By.CSS_SELECTOR, '#precision tr[data-rule="drone_attack"] td.value')
            assert precision.text == "0.00"
            assert 'newswatch_console_rule_precision{rule="drone_attack"} 0.0' in fetch(second.port, "/metrics")
            # and moves with a further verdict made there: precision 1 of 2 relevant
            browser.get(f"{second.url}/alerts/{next(a for a in seed if a['rule']['id'] == 'mercenaries')['alert_id']}")
            browser.find_element(By.ID, "relevant").click()
            wait_for(lambda: browser.find_elements(By.ID, "verdict"))

        # a cross-site page posting a verdict to the first console is refused, and changes nothing
        attack = attacker_page(first.url + f"/alerts/{drone['alert_id']}/triage")
        try:
            browser.get(f"http://localhost:{attack.server_port}/")
            wait_for(lambda: "refused" in browser.page_source, 10)
            assert "refused" in browser.page_source
        finally:
            attack.shutdown()
        assert read_all(settings)[drone["alert_id"]].verdict == "not_relevant"

        # the verdict survives a restart of the console
        first.stop()
        first = ConsoleProcess(env, tmp_path / "console-3.log")
        first.wait_ready()
        browser.get(f"{first.url}/alerts/{drone['alert_id']}")
        assert "Judged not relevant" in browser.find_element(By.ID, "verdict").text
        metrics = fetch(first.port, "/metrics")
        assert 'newswatch_console_triaged_alerts{rule="drone_attack",verdict="not_relevant"} 1.0' in metrics
        assert 'newswatch_console_rule_precision{rule="mercenaries"} 1.0' in metrics
        # every console metric the Grafana dashboard's Triage row queries has a sample now
        dashboard = json.loads((ROOT / "config" / "grafana" / "dashboards" / "newswatch.json").read_text())
        queried = {
            name
            for panel in dashboard["panels"]
            for target in panel.get("targets", [])
            for name in re.findall(r"\bnewswatch_console_[a-z_]+", target["expr"])
        }
        assert queried and all(re.search(rf"^{name}{{", metrics, re.MULTILINE) for name in queried), queried

        # the export reads the shared verdicts: one labelled line for the seed article
        done = subprocess.run(
            [sys.executable, "-m", "newswatch", "feedback", "export"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        (line,) = [text for text in done.stdout.splitlines() if text]
        assert '"drone_attack": false' in line and '"mercenaries": true' in line and '"id": "seed-1"' in line
    finally:
        first.stop()


def compacted(bootstrap: str, topic: str) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        return found["topic"][topic]["cleanup.policy"]["value"] == "compact"
    finally:
        admin.close()


def attacker_page(target: str) -> http.server.ThreadingHTTPServer:
    """Another site whose page posts a verdict to ``target`` as soon as it loads (a CSRF attempt)."""
    page = (
        f'<html><body><form id="f" method="post" action="{target}">'
        '<input name="verdict" value="relevant"><input name="csrf" value="guessed"></form>'
        '<script>document.getElementById("f").submit()</script></body></html>'
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_bound_to_a_public_address_without_credentials_it_refuses_to_start(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    env = console_env(kafka_bootstrap, topics, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "newswatch", "console", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "without authentication" in done.stderr and "NEWSWATCH_CONSOLE_TOKEN" in done.stderr
    # with a token it starts, and a request without the token is turned away
    token_env = {**env, "NEWSWATCH_CONSOLE_HOST": "0.0.0.0", "NEWSWATCH_CONSOLE_TOKEN": "s3cret-t0ken"}
    console = ConsoleProcess(token_env, tmp_path / "console.log")
    try:
        import urllib.error
        import urllib.request

        def answer() -> int:
            try:
                return urllib.request.urlopen(console.url + "/", timeout=5).status
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                return 0

        assert wait_for(lambda: answer() == 401, 30)
        request = urllib.request.Request(console.url + "/healthz", headers={"Authorization": "Bearer s3cret-t0ken"})
        assert urllib.request.urlopen(request, timeout=5).status == 200
    finally:
        console.stop()
    assert "s3cret-t0ken" not in (tmp_path / "console.log").read_text()


def test_ten_thousand_alerts_in_history_the_first_page_is_quick_and_memory_stays_bounded(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, browser: Any
) -> None:
    produce_alerts(kafka_bootstrap, topics.alerts, (synthetic(i, severity="medium") for i in range(10_000)))
    env = console_env(kafka_bootstrap, topics, tmp_path, NEWSWATCH_CONSOLE_HISTORY_SIZE="10000")
    with running_console(env, tmp_path / "console.log") as console:
        assert wait_for(lambda: fetch(console.port, "/healthz").count('"alerts":10000'), 30)
        started = time.monotonic()
        browser.get(console.url + "/")
        first_page = time.monotonic() - started
        assert len(rows(browser)) == 50 and browser.find_element("id", "total").text == "10000"
        assert first_page < 2.0, f"first page took {first_page:.2f} s"
        started = time.monotonic()
        browser.get(console.url + "/?q=report+9999")
        assert len(rows(browser)) == 1 and time.monotonic() - started < 2.0
        full = console.rss_bytes()
        # 5,000 more stories: the oldest go, the count and the memory stay where they were
        produce_alerts(kafka_bootstrap, topics.alerts, (synthetic(i) for i in range(10_000, 15_000)))
        assert wait_for(
            lambda: (
                '"alerts":10000' in fetch(console.port, "/healthz") and "Story 14999" in fetch(console.port, "/rows")
            ),
            30,
        )
        after = console.rss_bytes()
        print(
            f"first page with 10,000 alerts: {first_page:.2f} s; console RSS: {full / 2**20:.0f} MiB with 10,000 "
            f"alerts, {after / 2**20:.0f} MiB after 5,000 more"
        )
        assert after < full * 1.25 and after < 400 * 2**20
