"""Faust tables, backed by changelog topics so their state survives a worker restart."""

from __future__ import annotations

from newswatch.settings import get_settings
from streams.app import app

# Per rule id: the stories alerted within the story window (alerts.stories) and the escalation counts
# (alerts.escalation). Keyed like the matches topic, so a rule's state lives in the partition that decides it.
rule_state = app.Table(
    "rule-state",
    default=dict,
    partitions=get_settings().topic_partitions,
    key_type=str,
    # Faust applies changelog messages in batches of this many per partition, when it recovers a partition and
    # while it keeps a standby copy of another worker's. Its default, 1,000, holds up to 1,000 whole rule states
    # (each up to ~400 kB, alerts.stories.MAX_STORIES_BYTES) in memory: the burst bench's second worker peaked at
    # 1.1 GB that way. 50 bounds a batch to ~20 MB per partition (recovery applies smaller batches, more often).
    recovery_buffer_size=50,
)
