"""The Faust application: only built here; topics in ``streams.topics``, agents in ``agents/``."""

from __future__ import annotations

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import REGISTRY

from newswatch.settings import get_settings
from streams.metrics import WorkerMetrics

settings = get_settings()

app = faust.App(
    settings.app_id,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",
    datadir=str(settings.data_dir),
    web_port=settings.worker_web_port,
    web_host=settings.worker_web_host,
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=1,
    # Topics are created by `newswatch worker` before the app starts (see newswatch.kafka_admin).
    topic_allow_declare=True,
    producer_acks=-1,
    processing_guarantee=settings.processing_guarantee,
)

# Faust's own stream/table/producer metrics (newswatch_faust_*) and ours share one registry and are
# served together at http://<worker>:<web port>/metrics.
setup_prometheus_sensors(app, pattern="/metrics", registry=REGISTRY, name_prefix="newswatch_faust")
metrics = WorkerMetrics(REGISTRY)
