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
)
