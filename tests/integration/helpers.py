"""Run real newswatch processes against the test broker and read what they produce."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
from kafka import KafkaConsumer, TopicPartition

from newswatch.local.processes import free_port, stop_group
from tests.conftest import ROOT, Topics

__all__ = ["free_port"]

ALERT_SCHEMA = json.loads((ROOT / "config" / "schemas" / "alert.v1.json").read_text())


def service_env(bootstrap: str, topics: Topics, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment a newswatch process needs to use this test's broker and topics."""
    return {
        **os.environ,
        "NEWSWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "NEWSWATCH_ARTICLES_TOPIC": topics.articles,
        "NEWSWATCH_ALERTS_TOPIC": topics.alerts,
        "NEWSWATCH_APP_ID": topics.app_id,
        "NEWSWATCH_DATA_DIR": str(tmp_path / "faust"),
        "NEWSWATCH_WORKER_WEB_PORT": str(free_port()),
        "NEWSWATCH_TOPIC_PARTITIONS": str(topics.partitions),
        # the pollers send every item to articles unless a test runs the full-text stage (start_fulltext)
        "NEWSWATCH_FULLTEXT_ENABLED": "false",
        "NEWSWATCH_TEASERS_TOPIC": f"teasers-{topics.articles}",
        "NEWSWATCH_FULLTEXT_GROUP": f"fulltext-{topics.app_id}",
        **extra,
    }


def start_service(env: dict[str, str], log: Path, *command: str) -> subprocess.Popen[bytes]:
    """A real ``newswatch <command>`` process in its own session, logging to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "newswatch", *command],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """A real Faust worker process (``newswatch worker [args]``), logging to ``log``."""
    return start_service(env, log, "worker", *args)


def start_poller(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A real poller service process (``newswatch poll``), logging to ``log``."""
    return start_service(env, log, "poll")


def start_fulltext(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A real full-text stage process (``newswatch fulltext``), logging to ``log``."""
    return start_service(env, log, "fulltext")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Stop a process started by these helpers and wait for it."""
    stop_group(proc, sig, timeout)


def at_least(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    """A ``collect`` condition: at least ``count`` messages read."""
    return lambda messages: len(messages) >= count


def collect(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 90.0,
    settle: float = 0.0,
    watch: subprocess.Popen[bytes] | None = None,
) -> list[dict[str, Any]]:
    """Read JSON messages from ``topic`` (from the start) until ``until(messages)`` holds, then ``settle`` s more.

    With ``watch``, stop early when that process (the worker under test) has exited.
    """
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, enable_auto_commit=False
    )
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    done_at: float | None = None
    try:
        while time.monotonic() < deadline and (watch is None or watch.poll() is None):
            for records in consumer.poll(timeout_ms=500).values():
                messages.extend(json.loads(r.value) for r in records)
            if done_at is None and until(messages):
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at >= settle:
                break
    finally:
        consumer.close()
    for message in messages:  # every alert any integration test reads must keep the published contract
        if isinstance(message, dict) and "alert_id" in message:
            jsonschema.validate(message, ALERT_SCHEMA)
    return messages


class AlertWatch:
    """An open reader of one alert topic (all partitions, from the start) that tests poll as a stream goes on."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, enable_auto_commit=False
        )
        self.alerts: list[dict[str, Any]] = []
        self.timestamps: list[int] = []  # each alert's record timestamp (ms), in the order of ``alerts``

    def wait(
        self,
        until: Callable[[list[dict[str, Any]]], bool],
        *,
        timeout: float,
        watch: list[subprocess.Popen[bytes]] | None = None,
    ) -> bool:
        """Read until ``until(alerts so far)`` holds (True) or ``timeout`` passes or a watched process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=500).values():
                self.alerts.extend(json.loads(r.value) for r in records)
                self.timestamps.extend(r.timestamp for r in records)
            if until(self.alerts):
                return True
            if any(proc.poll() is not None for proc in watch or []):
                return False
        return False

    def close(self) -> None:
        self.consumer.close()


def log_tail(*logs: Path, chars: int = 3000) -> str:
    """The ends of some process logs, for an assertion message."""
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}" for log in logs if log.exists())


def produced(bootstrap: str, topic: str) -> int:
    """Messages on ``topic`` now (the sum of its partitions' end offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()
