"""Shared fixtures: paths to the team's data, and the real Kafka broker for integration tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Fuzz tests (Hypothesis, marked `fuzz`): `make test` runs a short, derandomized profile, so a run is the same on
# every machine and never flaky; `make test-slow` runs the long profile (HYPOTHESIS_PROFILE=long), random each time.
settings.register_profile(
    "default", max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("long", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = ROOT / "config" / "samples"
# The broker's jars, fetched once by Maven and shared by every broker a test starts (`make run` keeps them here too).
KAFKA_LIBS = ROOT / ".cache" / "kafka" / "libs"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: the seed story, real feeds, feedparser's corpus and real articles."""
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not there (the team's shared data sits next to the checkout)")
    return SHARED


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka broker: the one already answering at NEWSWATCH_KAFKA_BOOTSTRAP, else a local one we start."""
    from newswatch.local.kafka import LocalKafka, answers

    bootstrap = os.environ.get("NEWSWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    if answers(bootstrap):
        yield bootstrap
        return
    host, _, port = bootstrap.rpartition(":")
    # Throwaway storage of its own (the jars are shared): a test run never touches `make run`'s kept data.
    home = ROOT / ".cache" / "kafka-test"
    kafka = LocalKafka(home=home, host=host, port=int(port), controller_port=int(port) + 1, libs=KAFKA_LIBS)
    kafka.up(fresh=True)
    try:
        yield bootstrap
    finally:
        kafka.down()


# Most tests run one worker, for which one partition is enough and quickest to assign and recover; the
# scale-out tests (tests/integration/test_scaling.py) use the deployment default of 8.
TEST_PARTITIONS = 1


@dataclass(frozen=True)
class Topics:
    """Topic names private to one test, so tests never read each other's messages, and their partition count
    (``service_env`` hands it to the processes, so the matches topic and the table get the same)."""

    articles: str
    alerts: str
    app_id: str
    partitions: int = TEST_PARTITIONS


def make_topics(bootstrap: str, name: str, partitions: int = TEST_PARTITIONS) -> Topics:
    """Fresh topics named after ``name`` (a test's), created with ``partitions`` partitions."""
    from newswatch.core.kafka import ensure_topics

    suffix = f"{name[:30]}-{uuid.uuid4().hex[:8]}".replace("[", "-").replace("]", "")
    names = Topics(f"articles-{suffix}", f"alerts-{suffix}", f"newswatch-test-{suffix}", partitions)
    ensure_topics(bootstrap, [names.articles, names.alerts], partitions=partitions)
    return names


@pytest.fixture
def topics(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Topics:
    """Fresh, created topics for this test."""
    return make_topics(kafka_bootstrap, request.node.name)
