"""The Faust application: only built here; topics in ``streams.topics``, agents in ``agents/``."""

from __future__ import annotations

import faust

from newswatch.settings import get_settings

settings = get_settings()

app = faust.App(
    settings.app_id,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",
    datadir=str(settings.data_dir),
    web_port=settings.worker_web_port,
    web_host="127.0.0.1",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=1,
    # Topics are created by `newswatch worker` before the app starts (see newswatch.kafka_admin).
    topic_allow_declare=True,
    producer_acks=-1,
)
