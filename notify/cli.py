"""The notifier's commands: ``newswatch notify`` (the service) and ``newswatch notify check`` (validate the file).
Registered on the ``newswatch`` app by newswatch/cli.py.

Heavy imports (aiokafka, httpx, jinja2) happen inside the commands so that ``newswatch --help`` stays quick.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from newswatch.core.console import fail, setup_logging

notify_app = typer.Typer(
    help="Deliver alerts to Alertmanager and webhooks, as config/notify.yaml routes them.", invoke_without_command=True
)

FileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="The notify file (default: NEWSWATCH_NOTIFY_FILE, config/notify.yaml)."),
]


@notify_app.callback()
def notify(ctx: typer.Context, file: FileOption = None) -> None:
    """Consume the alert topic and deliver each alert to the sinks the notify file routes it to (a service)."""
    if ctx.invoked_subcommand is not None:
        return
    import httpx

    from newswatch.core.kafka import KafkaUnavailable, ensure_service_topics, security
    from newswatch.core.kafka_security import SecurityConfigError
    from newswatch.core.settings import get_settings
    from newswatch.core.yamlconf import ConfigError
    from newswatch.notify.deliver import Deliverer, Sinks
    from newswatch.notify.metrics import NotifyMetrics, serve
    from newswatch.notify.reload import LiveNotify
    from newswatch.notify.stage import NotifyStage, NotifyTopics

    settings = get_settings()
    setup_logging(kafka_client_level=settings.kafka_client_log_level)
    try:
        live = LiveNotify(file or settings.notify_file)
        ensure_service_topics([settings.alerts_topic, settings.notify_dead_letter_topic], settings)
    except (ConfigError, KafkaUnavailable, SecurityConfigError) as exc:
        fail(str(exc))
    metrics = NotifyMetrics()
    serve(metrics, settings.notify_metrics_port, settings.notify_metrics_host)
    topics = NotifyTopics(
        settings.kafka_bootstrap,
        settings.alerts_topic,
        settings.notify_dead_letter_topic,
        settings.notify_group,
        settings.notify_auto_offset_reset,
        client_options=security().aiokafka(),
    )

    async def service() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # no redirects: a signed POST is not replayed to wherever a receiver points (a 3xx is a config error)
        limits = httpx.Limits(max_connections=settings.notify_in_flight)
        async with httpx.AsyncClient(follow_redirects=False, limits=limits) as client:
            sinks = Sinks(metrics)
            stage = NotifyStage(
                topics, live, sinks, Deliverer(sinks, client, metrics), metrics, in_flight=settings.notify_in_flight
            )
            logging.getLogger(__name__).info(
                "delivering %s to %s (group %s)", topics.alerts, ", ".join(live.config.sinks), topics.group
            )
            await stage.run(stop)

    asyncio.run(service())


@notify_app.command("check")
def check(file: FileOption = None) -> None:
    """Validate the notify file (sinks, routes, secrets, templates); exit 1 with each problem's file:line."""
    from newswatch.core.settings import get_settings
    from newswatch.core.yamlconf import ConfigError
    from newswatch.notify.config import load_notify

    path = file or get_settings().notify_file
    try:
        config = load_notify(path)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: {len(config.sinks)} sinks, {len(config.routes)} routes: ok")
