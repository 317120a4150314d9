"""Faust tables, backed by changelog topics so their state survives a worker restart."""

from __future__ import annotations

import faust
from faust.types import TableT

from newswatch.core.settings import Settings

# The route agent's state: per rule, its stories (alerts.stories: many small entries, "<rule id>|...") and its
# escalation counts ("<rule id>|escalation"). Faust writes an entry's changelog message to the partition of the
# event being processed, and the matches topic is keyed by rule id, so all of a rule's entries live in the
# partition whose worker decides that rule's matches.


def declare_route_state(app: faust.App, settings: Settings) -> TableT:
    """The ``route-state`` table on ``app``, with as many partitions as the matches topic."""
    return app.Table(
        "route-state",
        default=None,
        partitions=settings.topic_partitions,
        key_type=str,
        # Faust applies changelog messages in batches of this many per partition, when it recovers a partition and
        # while it keeps a standby copy of another worker's. Entries are small (a story is at most ~10 kB with its 50
        # sources), so this bounds a batch to a few MB per partition.
        recovery_buffer_size=500,
    )
