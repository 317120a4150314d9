"""`newswatch run` as a person runs it on one machine: stop it, start it again, and nothing is alerted twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from newswatch.local.kafka import LocalKafka
from tests.conftest import KAFKA_LIBS, ROOT, SAMPLES
from tests.integration.helpers import free_port
from tests.integration.test_pipeline import SEED_EVENTS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ALERT_LINE = re.compile(r"^\[(INFO|LOW|MEDIUM|HIGH|CRITICAL) *\] (\S+) ")


class Run:
    """One ``newswatch run`` process whose terminal output is read line by line as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newswatch", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if predicate(self.lines):
                return True
            time.sleep(0.2)
        return predicate(self.lines)

    def alerted_rules(self) -> list[str]:
        return [m.group(2) for line in self.lines if (m := ALERT_LINE.match(line))]

    def stop(self) -> tuple[int, float]:
        """Ctrl-C, as a person stops it; the exit code and the seconds it took."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(90)
        self.reader.join(5)
        return code, time.monotonic() - started


def test_run_stop_and_run_again_alerts_nothing_twice_and_keeps_the_history(tmp_path: Path) -> None:
    home = tmp_path / "kafka"
    home.mkdir()
    LocalKafka(home=KAFKA_LIBS.parent).fetch()  # the cached jars (a no-op when the suite's broker fetched them)
    (home / "libs").symlink_to(KAFKA_LIBS)
    port = free_port()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}}}\n")
    env = {
        **os.environ,
        "NEWSWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
        "NEWSWATCH_LOCAL_KAFKA_DIR": str(home),
        "NEWSWATCH_FEEDS_FILE": str(feeds),
        "NEWSWATCH_DATA_DIR": str(tmp_path / "faust"),
        "NEWSWATCH_WORKER_WEB_PORT": str(free_port()),
        "NEWSWATCH_POLLER_METRICS_PORT": str(free_port()),
        "NEWSWATCH_RUN_PROMETHEUS": "false",
        "NEWSWATCH_TOPIC_PARTITIONS": "1",
    }
    logs = tmp_path / "run"

    first = Run(env)
    try:
        got_all = first.wait_for(lambda _: set(first.alerted_rules()) >= SEED_EVENTS, timeout=180)
    finally:
        code, took = first.stop()
    assert got_all, "\n".join(first.lines)
    assert code == 0 and took < 30 and "was killed" not in "\n".join(first.lines), "\n".join(first.lines)
    assert sorted(first.alerted_rules()) == sorted(SEED_EVENTS)

    second = Run(env)
    try:
        # the poller polls the feed at once and the worker is ready: give both the time they took the first run
        assert second.wait_for(lambda lines: any("alerts follow" in line for line in lines), timeout=120)
        assert second.wait_for(lambda _: (logs / "poller.log").exists(), timeout=30)
        assert second.wait_for(lambda _: "saved state" in (logs / "poller.log").read_text(errors="replace"), 60)
        time.sleep(20)
    finally:
        code, _ = second.stop()
    output = "\n".join(second.lines)
    assert code == 0, output
    assert second.alerted_rules() == [], output  # the feed's item was polled before: nothing produced, nothing shown
    assert f"{len(SEED_EVENTS)} alerts from earlier runs are kept" in output, output
    poller_log = (logs / "poller.log").read_text(errors="replace")
    assert "1 with saved state" in poller_log, poller_log[-2000:]

    # The history is still there, once: `alerts tail --from-beginning` on the broker's kept data.
    kafka = LocalKafka(home=home, port=port, controller_port=port + 1)
    kafka.up()
    try:
        tail = subprocess.run(
            [sys.executable, "-m", "newswatch", "alerts", "tail", "--from-beginning"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired as done:
        history = (done.stdout or b"").decode() if isinstance(done.stdout, bytes) else (done.stdout or "")
    else:
        history = tail.stdout
    finally:
        kafka.down()
    rules = [m.group(2) for line in history.splitlines() if (m := ALERT_LINE.match(line))]
    assert sorted(rules) == sorted(SEED_EVENTS), history
