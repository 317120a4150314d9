"""The poller's commands: ``newswatch poll [--once] [--feeds FILE] [--shard i/n]`` and ``newswatch feeds status``.

Registered on the ``newswatch`` app by ``newswatch/cli.py``. Heavy imports (kafka, httpx, feedparser) happen
inside the commands so that ``newswatch --help`` stays quick.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from newswatch.core.console import fail, setup_logging, terminal_safe

feeds_app = typer.Typer(help="What the pollers know about each feed.")

FeedsOption = Annotated[
    Path | None, typer.Option(help="Feeds file (default: NEWSWATCH_FEEDS_FILE, config/feeds.yaml).")
]


def poll(
    once: Annotated[bool, typer.Option(help="Poll every feed once, then exit (1 if Kafka refused articles).")] = False,
    feeds: FeedsOption = None,
    shard: Annotated[str, typer.Option(help="This poller's share of the feeds, i/n (i from 0); see README.")] = "0/1",
) -> None:
    """Poll the feeds and produce each new item to the articles topic (a service unless --once)."""
    from newswatch.core.http import poller_limits
    from newswatch.core.kafka import KafkaUnavailable, ensure_service_topics
    from newswatch.core.settings import get_settings
    from newswatch.core.yamlconf import ConfigError
    from newswatch.poller.config import load_feeds
    from newswatch.poller.metrics import PollerMetrics, serve
    from newswatch.poller.produce import ArticleSink, make_producer
    from newswatch.poller.reload import LiveFeeds
    from newswatch.poller.run import Poller, PollerOptions
    from newswatch.poller.shard import Shard
    from newswatch.poller.statestore import ensure_state_topic, read_states

    settings = get_settings()
    setup_logging(kafka_client_level=settings.kafka_client_log_level)
    feeds_file = feeds or settings.feeds_file
    try:
        share = Shard.parse(shard)
        user_agent = poller_user_agent(settings.poller_user_agent)
        if settings.poller_max_items_per_poll < 1:
            raise ValueError("NEWSWATCH_POLLER_MAX_ITEMS_PER_POLL must be at least 1")
        live = LiveFeeds(feeds_file)  # before the load: an edit made while we start is still seen
        config = load_feeds(feeds_file)
        ensure_service_topics(settings.service_topics, settings)
        ensure_state_topic(
            settings.kafka_bootstrap,
            settings.feed_state_topic,
            replication=settings.topic_replication_factor,
            min_insync=settings.topic_min_insync_replicas,
        )
        states = read_states(settings.kafka_bootstrap, settings.feed_state_topic)
        metrics = PollerMetrics()
        sink = ArticleSink(make_producer(settings.kafka_bootstrap), settings.articles_topic, metrics)
    except (ConfigError, KafkaUnavailable, ValueError) as exc:
        fail(str(exc))
    options = PollerOptions(
        limits=poller_limits(settings),
        concurrency=settings.poller_concurrency,
        state_topic=settings.feed_state_topic,
        shard=share,
        start_spread=settings.poller_start_spread_seconds,
        teasers_topic=settings.teasers_topic if settings.fulltext_enabled else None,
        max_items_per_poll=settings.poller_max_items_per_poll,
        user_agent=user_agent,
    )
    poller = Poller(config, sink, options=options, states=states, metrics=metrics)
    logging.getLogger(__name__).info(
        "polling %d feeds (shard %d/%d), %d with saved state", len(poller.feeds), share.index, share.count, len(states)
    )

    async def service() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await poller.run_forever(stop, live=live)

    code = 0
    try:
        if once:
            outcomes = asyncio.run(poller.poll_once())
            produce_failed = sum(1 for o in outcomes if o.error == "produce")
            typer.echo(
                f"polled {len(outcomes)} feeds: {sum(o.new for o in outcomes)} new articles, "
                f"{sum(1 for o in outcomes if o.not_modified)} not modified, "
                f"{sum(1 for o in outcomes if o.error)} failed"
            )
            code = 1 if produce_failed else 0
        else:
            serve(metrics, settings.poller_metrics_port, settings.poller_metrics_host)
            asyncio.run(service())
    finally:
        sink.close()
    raise typer.Exit(code)


def poller_user_agent(configured: str) -> str:
    """The User-Agent the poller sends: NEWSWATCH_POLLER_USER_AGENT, else newswatch's own (naming the tool).

    Raises ValueError for a value an HTTP header cannot carry (a line break would inject headers).
    """
    from newswatch.core.http import USER_AGENT

    agent = configured.strip() or USER_AGENT
    if not (agent.isascii() and agent.isprintable()):
        raise ValueError("NEWSWATCH_POLLER_USER_AGENT must be printable ASCII on one line")
    return agent


def _ago(when: float | None, now: float) -> str:
    if not when:
        return "never"
    return f"{_span(now - when)} ago"


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.0f}d"


@feeds_app.command("status")
def feeds_status(feeds: FeedsOption = None) -> None:
    """A table of every feed: last success, last error, items and next poll (read from the feed-state topic)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from newswatch.core.kafka import KafkaUnavailable
    from newswatch.core.settings import get_settings
    from newswatch.core.yamlconf import ConfigError
    from newswatch.poller.articles import clean
    from newswatch.poller.config import load_feeds
    from newswatch.poller.state import FeedState
    from newswatch.poller.statestore import read_states

    settings = get_settings()
    try:
        configured = [f.key for f in load_feeds(feeds or settings.feeds_file, check_files=False).feeds if f.enabled]
        states = read_states(settings.kafka_bootstrap, settings.feed_state_topic)
    except (ConfigError, KafkaUnavailable) as exc:
        fail(str(exc))
    now = time.time()
    table = Table(title=Text(f"feeds ({settings.feed_state_topic} on {settings.kafka_bootstrap})"))
    for column in ("feed", "last success", "last error", "items", "next poll"):
        table.add_column(column, no_wrap=column != "last error")
    # configured feeds first (in file order), then feeds that only the state topic still knows
    for key in [*configured, *sorted(set(states) - set(configured))]:
        state = states.get(key, FeedState())
        error = "" if not state.last_error else f"{state.last_error} ×{state.failures}: {state.last_error_detail}"
        error = clean(error)  # a record written by an older poller may quote a server's control characters
        if key not in states:
            next_poll = "not polled yet"
        elif state.next_poll <= now:
            next_poll = "due"
        else:
            next_poll = f"in {_span(state.next_poll - now)}"
        # Text, not markup: a feed's error text and a key read off the state topic may hold [brackets] or
        # control characters; terminal_safe so they can drive neither rich nor the terminal.
        table.add_row(
            Text(terminal_safe(key if key in configured else f"{key} (not in feeds file)")),
            _ago(state.last_success, now),
            Text(terminal_safe(error), style="red"),
            Text(terminal_safe(f"{state.items} listed, {state.produced} produced")),
            next_poll,
        )
    Console(width=max(120, Console().width)).print(table)
