"""``newswatch run`` / ``make run``: the whole pipeline on one machine, and nothing left behind on exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from newswatch.alerts.tail import end_offsets, tail
from newswatch.core.kafka import ensure_service_topics
from newswatch.core.settings import get_settings, shipped
from newswatch.local.feedserver import FeedServer, Route
from newswatch.local.kafka import LocalKafka, answers
from newswatch.local.processes import stop_group
from newswatch.local.prometheus import start_prometheus
from newswatch.matcher.examples import checked_matcher
from newswatch.matcher.topics import RuleTopics
from newswatch.poller.config import load_feeds

FULLTEXT_ALLOWED = "NEWSWATCH_FULLTEXT_PRIVATE_ALLOWED"


def log_dir() -> Path:
    """Where ``newswatch run`` writes its children's logs: ``run/`` beside the worker's data folder."""
    return get_settings().data_dir.parent / "run"


SAMPLE_PAGES_PORT = 8766  # config/samples/teasers.rss links here


def _sample_pages() -> FeedServer:
    """A local web server for the pages the summary-only sample feed links to (config/samples/pages/)."""
    server = FeedServer(port=SAMPLE_PAGES_PORT)
    server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    for page in shipped("samples", "pages").glob("*.html"):
        server.routes[f"/{page.name}"] = Route(page.read_bytes(), content_type="text/html")
    return server


def _port_free(host: str, port: int) -> bool:
    # A console that cannot bind would exit and stop the whole run with it: better to run without it and say so.
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _spawn(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    # Own process group: the terminal's Ctrl-C reaches only us, and we stop the children in order.
    # Logs go to files so that the terminal shows alerts only.
    log_dir().mkdir(parents=True, exist_ok=True)
    with open(log_dir() / f"{name}.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "newswatch", *args],
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )


def _stop(proc: subprocess.Popen[bytes], name: str, echo=print, timeout: float = 20.0) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``timeout`` and say so (a stop should never need it)."""
    if not stop_group(proc, signal.SIGTERM, timeout):
        echo(f"{name} did not stop within {timeout:.0f} s and was killed; see {log_dir() / name}.log")


def _never_failing(echo: Callable[[str], object]) -> Callable[[str], None]:
    """``echo`` that cannot fail: a closed terminal (a broken pipe) must never keep the children from being stopped."""

    def safe(text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            echo(text)

    return safe


def run_local(echo=print) -> int:
    """Run Kafka (unless one already answers), a poller, the full-text stage, a worker and the console; print alerts
    until SIGINT/SIGTERM."""
    echo = _never_failing(echo)
    settings = get_settings()
    load_feeds(settings.feeds_file)  # config errors surface before anything starts
    rules = checked_matcher(settings.rules_path, RuleTopics.from_settings(settings)).rules
    kafka = LocalKafka.for_settings(settings)
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started_kafka = False
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stack = contextlib.ExitStack()
    try:
        if answers(kafka.bootstrap):
            echo(f"using the Kafka broker already answering on {kafka.bootstrap}")
        else:
            echo(f"starting local Kafka on {kafka.bootstrap} ...")
            started_kafka = kafka.up()
        ensure_service_topics(settings.service_topics, settings)
        # Alerts from here on: the broker keeps earlier runs' alerts (and the poller's and worker's state), so
        # the items already alerted are neither alerted nor shown again.
        start = end_offsets(settings.kafka_bootstrap, settings.alerts_topic)
        earlier = sum(start.values())
        if settings.fulltext_enabled:
            try:
                pages = stack.enter_context(_sample_pages())
            except OSError:
                echo(f"port {SAMPLE_PAGES_PORT} is taken: the summary-only sample feed keeps its teasers")
            else:
                # the stage refuses private addresses; this one is ours
                allowed = ",".join(filter(None, [settings.fulltext_private_allowed, f"127.0.0.1:{pages.port}"]))
                children.append(("fulltext", _spawn("fulltext", "fulltext", env={FULLTEXT_ALLOWED: allowed})))
        children += [("worker", _spawn("worker", "worker")), ("poller", _spawn("poller", "poll"))]
        console_url = f"http://{settings.console_host}:{settings.console_port}/"
        if _port_free(settings.console_host, settings.console_port):
            children.append(("console", _spawn("console", "console")))
        else:
            console_url = ""
        prometheus = start_prometheus(log=log_dir() / "prometheus.log") if settings.run_prometheus else None
        if prometheus is not None:
            children.insert(0, ("prometheus", prometheus))
            echo("Prometheus scraping poller and worker: http://127.0.0.1:9090 (try newswatch_alerts_emitted_total)")
        elif settings.run_prometheus:
            echo("Prometheus is not installed (scripts/install-system-deps installs it); metrics are not scraped")
        if console_url:
            echo(f"Console (live alerts, evidence, triage): {console_url}")
        else:
            echo(f"port {settings.console_port} is taken: the console is not started (NEWSWATCH_CONSOLE_PORT)")
        if earlier:
            echo(
                f"{earlier} alerts from earlier runs are kept on the '{settings.alerts_topic}' topic "
                "(newswatch alerts tail --from-beginning shows them); only new ones follow"
            )
        started = ", ".join(name for name, _ in children if name != "prometheus")
        echo(f"{started} started (logs in {log_dir()}/); alerts follow, Ctrl-C stops everything")
        last_check = time.monotonic()

        def should_stop() -> bool:
            nonlocal last_check
            if stopping:
                return True
            if time.monotonic() - last_check > 2:
                last_check = time.monotonic()
                dead = [(name, c) for name, c in children if c.poll() is not None]
                if dead:
                    name, child = dead[0]
                    echo(f"{name} exited (code {child.returncode}; log: {log_dir() / name}.log); stopping")
                    return True
            return False

        tail(
            settings.kafka_bootstrap,
            settings.alerts_topic,
            start=start,
            echo=echo,
            stop=should_stop,
            known_rules=[rule.id for rule in rules.events],
        )
        return 0 if stopping else 1
    finally:
        echo("stopping ...")
        for name, child in reversed(children):
            _stop(child, name, echo)
        stack.close()
        if started_kafka:
            kafka.down()
        echo("stopped")
