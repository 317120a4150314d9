"""The console's integration tests: a real ``newswatch console`` process, alerts on a test topic, headless Chromium.

Chromium and its driver are Debian's (``chromium``, ``chromium-driver``, installed by scripts/install-system-deps);
Selenium is handed both paths and told to stay offline, so nothing downloads a browser or a driver.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from newswatch.core.kafka import producer as kafka_producer
from tests.console_alerts import message
from tests.integration.helpers import free_port, log_tail, start_service, stop

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def produce_alerts(bootstrap: str, topic: str, alerts: Iterable[dict[str, Any]]) -> int:
    """Send alerts as the worker does (key = rule id, headers); wait for every acknowledgement."""
    producer = kafka_producer(bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    count = 0
    for alert in alerts:
        key, value, headers = message(alert)
        producer.send(topic, key=key, value=value, headers=headers)
        count += 1
    producer.flush(60)
    producer.close()
    return count


def health(port: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def fetch(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


class ConsoleProcess:
    """A running ``newswatch console`` on a free port, its history read."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = log
        self.proc = start_service(env, log, "console", "--port", str(self.port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the console answers with its history and verdicts read; its health then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"console exited {self.proc.returncode}\n{log_tail(self.log)}"
            try:
                found = health(self.port)
                if found["history_read"] and found["feedback_read"]:
                    return found
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"console not ready in {timeout} s\n{log_tail(self.log)}")

    def rss_bytes(self) -> int:
        """The process's resident memory."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        stop(self.proc)


@contextmanager
def running_console(env: dict[str, str], log: Path, port: int | None = None) -> Iterator[ConsoleProcess]:
    console = ConsoleProcess(env, log, port)
    try:
        console.wait_ready()
        yield console
    finally:
        console.stop()


def chromium_missing() -> str:
    """Why the browser tests cannot run here, or ""."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    return f"{', '.join(missing)} missing: run `make install` (scripts/install-system-deps)" if missing else ""


def headless_chromium(downloads: Path):
    """Debian's Chromium, headless, driven through Debian's chromedriver; Selenium Manager never runs."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager, were it ever reached, must not download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={downloads}",
        "--disable-gpu",
        "--no-first-run",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
