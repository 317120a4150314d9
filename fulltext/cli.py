"""The full-text stage's command: ``newswatch fulltext``. Registered on the ``newswatch`` app by newswatch/cli.py.

Heavy imports (aiokafka, httpx) happen inside the command so that ``newswatch --help`` stays quick.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from newswatch.core.console import fail, setup_logging


def fulltext() -> None:
    """Read the web page of each teaser item and pass the article on with its whole text (a service)."""
    from newswatch.core.http import USER_AGENT, FetchLimits, make_client
    from newswatch.core.kafka import KafkaUnavailable, ensure_service_topics, security
    from newswatch.core.kafka_security import SecurityConfigError
    from newswatch.core.settings import get_settings
    from newswatch.fulltext.extract import ExtractLimits, Extractor
    from newswatch.fulltext.metrics import FulltextMetrics, serve
    from newswatch.fulltext.pages import PAGE_TYPES, PageReader, ReaderOptions
    from newswatch.fulltext.stage import FulltextStage, StageTopics

    settings = get_settings()
    setup_logging(kafka_client_level=settings.kafka_client_log_level)
    if not settings.fulltext_enabled:
        fail("the full-text stage is off (NEWSWATCH_FULLTEXT_ENABLED=false): pollers send every item to articles")
    try:
        ensure_service_topics(settings.service_topics, settings)
    except (KafkaUnavailable, SecurityConfigError) as exc:
        fail(str(exc))
    metrics = FulltextMetrics()
    serve(metrics, settings.fulltext_metrics_port, settings.fulltext_metrics_host)
    limits = FetchLimits(
        max_bytes=settings.fulltext_max_bytes,
        deadline=settings.fulltext_deadline_seconds,
        refuse_private=settings.fulltext_refuse_private,
        private_allowed=frozenset(h.strip() for h in settings.fulltext_private_allowed.split(",") if h.strip()),
    )
    options = ReaderOptions(
        limits=limits,
        per_host=settings.fulltext_per_host,
        host_interval=settings.fulltext_host_interval_seconds,
        retries=settings.fulltext_retries,
        max_text_bytes=settings.fulltext_max_text_bytes,
    )
    topics = StageTopics(
        settings.kafka_bootstrap,
        settings.teasers_topic,
        settings.articles_topic,
        settings.fulltext_group,
        client_options=security().aiokafka(),
    )
    extract_limits = ExtractLimits(settings.fulltext_extract_timeout_seconds, settings.fulltext_extract_memory_bytes)

    async def service() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        extractor = Extractor(settings.fulltext_extractors, extract_limits)
        client = make_client(
            limits,
            max_connections=settings.fulltext_in_flight,
            user_agent=settings.fulltext_user_agent or USER_AGENT,
            accept=PAGE_TYPES,
        )
        try:
            async with client:
                reader = PageReader(client, extractor, metrics, options)
                stage = FulltextStage(topics, reader, metrics, in_flight=settings.fulltext_in_flight)
                logging.getLogger(__name__).info(
                    "reading pages of %s into %s (group %s)", topics.teasers, topics.articles, topics.group
                )
                await stage.run(stop)
        finally:
            extractor.close()

    asyncio.run(service())
