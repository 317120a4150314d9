"""``newswatch console``: build the console from settings, start its topic readers, serve it with uvicorn."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

import uvicorn
from prometheus_client import CollectorRegistry

from newswatch.console.app import Console, create_app
from newswatch.console.feedback import FeedbackStore, FeedbackWriter, ensure_feedback_topic
from newswatch.console.history import AlertHistory
from newswatch.console.metrics import ConsoleMetrics
from newswatch.console.reader import read_alert_topic, read_feedback_topic, start
from newswatch.console.security import ConsoleAuth, check_binding
from newswatch.core.kafka import ensure_service_topics
from newswatch.core.settings import Settings
from newswatch.matcher.load import load_rules
from newswatch.matcher.topics import RuleTopics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listen:
    """Where the console listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """The console's URL (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def rule_descriptions(settings: Settings) -> dict[str, str]:
    """Each event rule's description from the rule files; empty when they cannot be read (the page goes without)."""
    try:
        rules = load_rules(settings.rules_path, RuleTopics.from_settings(settings))
    except Exception as exc:  # noqa: BLE001 - descriptions are a nicety: an unreadable pack must not stop the console
        log.warning("console: rule descriptions unavailable (%s)", str(exc).splitlines()[0][:200])
        return {}
    return {event.id: event.description for event in rules.events if event.description}


def serve(settings: Settings, listen: Listen) -> int:
    """Run the console until SIGINT/SIGTERM; 1 when a topic reader failed (e.g. Kafka went away for good)."""
    auth = ConsoleAuth.from_settings(settings)
    check_binding(listen.host, auth)  # before anything else: an unprotected console on a public address never starts
    # the alert topic as the worker would make it, so a console started first still reads every partition
    ensure_service_topics([settings.alerts_topic], settings)
    ensure_feedback_topic(settings)
    history, feedback, stop = AlertHistory(settings.console_history_size), FeedbackStore(), threading.Event()
    writer = FeedbackWriter(settings)
    registry = CollectorRegistry()
    console = Console(
        history=history,
        feedback=feedback,
        send_verdict=writer.send,
        auth=auth,
        registry=registry,
        metrics=ConsoleMetrics(registry, feedback.all),
        descriptions=rule_descriptions(settings),
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(console),
            host=listen.host,
            port=listen.port,
            log_level="warning",
            access_log=False,  # request lines would carry filters analysts typed; errors are still logged
            timeout_graceful_shutdown=3,  # open live streams end at shutdown instead of holding it up
        )
    )
    failures: list[BaseException] = []

    def failed(exc: BaseException) -> None:
        log.error("console: a topic reader stopped: %s", exc)
        failures.append(exc)
        server.should_exit = True

    start("console-alerts", lambda: read_alert_topic(settings, history, stop), failed)
    start("console-feedback", lambda: read_feedback_topic(settings, feedback, stop), failed)

    async def main() -> None:
        console.stopping = asyncio.Event()
        watcher = asyncio.create_task(_stop_streams_on_exit(server, console.stopping))
        try:
            await server.serve()
        finally:
            watcher.cancel()

    log.info("console: %s (alerts from %s, verdicts on %s)", listen.url, settings.alerts_topic, settings.feedback_topic)
    try:
        asyncio.run(main())
    finally:
        stop.set()
        writer.close()
    return 1 if failures else 0


async def _stop_streams_on_exit(server: uvicorn.Server, stopping: asyncio.Event) -> None:
    # uvicorn sets should_exit on SIGTERM/SIGINT; the live streams are told to end so shutdown is quick.
    while not server.should_exit:
        await asyncio.sleep(0.2)
    stopping.set()
