"""Reach the Kafka cluster: one clear error when it is not there, and topic creation at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)

from newswatch.core.kafka_security import KafkaSecurity, catching_refusals, diagnose, sasl_refusal
from newswatch.core.settings import Settings, get_settings

# kafka-python 3 reports "no broker answered" as a bootstrap timeout or a connection error.
UNREACHABLE = (KafkaTimeoutError, KafkaConnectionError, OSError)


class KafkaUnavailable(RuntimeError):
    """No broker answered at the configured address."""

    def __init__(self, bootstrap: str, detail: str = "") -> None:
        super().__init__(
            f"Kafka is not reachable at {bootstrap}{f' ({detail})' if detail else ''}. "
            "Start the local broker with `newswatch kafka up` (or `make kafka-up`), "
            "or point NEWSWATCH_KAFKA_BOOTSTRAP at your cluster."
        )
        self.bootstrap = bootstrap


class KafkaAuthFailed(KafkaUnavailable):
    """The broker answered and refused our credentials."""

    def __init__(self, bootstrap: str, security: KafkaSecurity, detail: str = "") -> None:
        RuntimeError.__init__(
            self,
            f"Kafka at {bootstrap} refused to authenticate {security.describe()}"
            f"{f' ({detail})' if detail else ''}. Check NEWSWATCH_KAFKA_SASL_USERNAME, the password "
            "(NEWSWATCH_KAFKA_SASL_PASSWORD or _PASSWORD_FILE) and NEWSWATCH_KAFKA_SASL_MECHANISM.",
        )
        self.bootstrap = bootstrap


def security() -> KafkaSecurity:
    """The process's Kafka client security, from its settings."""
    return KafkaSecurity.from_settings(get_settings())


@contextmanager
def reaching(bootstrap: str, using: KafkaSecurity | None = None) -> Iterator[None]:
    """Turn kafka-python's connection errors inside the block into one clear error: KafkaAuthFailed for refused
    credentials, KafkaUnavailable naming the address (and, when a TLS probe can tell, the setting to fix)."""
    # a refused login reaches us as a timeout; the broker's refusal is only in kafka-python's log
    with catching_refusals() as refusals:
        try:
            yield
        except (SaslAuthenticationFailedError, UnsupportedSaslMechanismError) as exc:
            raise KafkaAuthFailed(bootstrap, using or security(), str(exc)[:200]) from None
        except UNREACHABLE as exc:
            using = using or security()
            if refusals.found and using.uses_sasl:
                raise KafkaAuthFailed(bootstrap, using, refusals.found) from None
            found = diagnose(bootstrap, using)
            if not found and using.uses_sasl:
                refused = sasl_refusal(bootstrap, using)
                if refused:
                    raise KafkaAuthFailed(bootstrap, using, refused) from None
            raise KafkaUnavailable(bootstrap, found or type(exc).__name__) from None


def admin_client(bootstrap: str, using: KafkaSecurity | None = None) -> KafkaAdminClient:
    """An admin client, or KafkaUnavailable naming the address."""
    using = using or security()
    with reaching(bootstrap, using):
        return KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=10_000, bootstrap_timeout_ms=10_000, **using.kafka_python()
        )


def consumer(bootstrap: str, *topics: str, using: KafkaSecurity | None = None, **config: Any) -> KafkaConsumer:
    """A kafka-python consumer (no group, no auto-commit unless ``config`` says so), or KafkaUnavailable."""
    using = using or security()
    options: dict[str, Any] = {"bootstrap_timeout_ms": 10_000, "enable_auto_commit": False, **config}
    with reaching(bootstrap, using):
        return KafkaConsumer(*topics, bootstrap_servers=bootstrap, **using.kafka_python(), **options)


def producer(bootstrap: str, using: KafkaSecurity | None = None, **config: Any) -> KafkaProducer:
    """A kafka-python producer with ``config``, or KafkaUnavailable."""
    using = using or security()
    with reaching(bootstrap, using):
        return KafkaProducer(bootstrap_servers=bootstrap, **using.kafka_python(), **config)


def ensure_topics(
    bootstrap: str,
    names: list[str],
    *,
    partitions: int = 1,
    replication: int = 1,
    configs: dict[str, dict[str, str]] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    Consumers in a group are only assigned topics that exist when they join, so every topic is created
    before any producer or worker starts rather than left to broker auto-creation.
    """
    admin = admin_client(bootstrap)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in dict.fromkeys(names) if name not in existing]
        if not missing:
            return []
        new = [NewTopic(name, partitions, replication, topic_configs=(configs or {}).get(name, {})) for name in missing]
        try:
            admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass  # another process created it between list and create
        except KafkaError as exc:
            if "TopicAlreadyExists" not in str(exc):
                raise
        return missing
    finally:
        admin.close()


def ensure_service_topics(names: list[str], settings: Settings | None = None) -> list[str]:
    """Create newswatch's own topics with the deployment's partitions, replication and ``min.insync.replicas``.

    Every process that creates topics (``newswatch topics``, the worker, the poller, the rule reloader) goes
    through here, so a topic is laid out the same whichever process happens to create it first.
    """
    settings = settings or get_settings()
    config = (
        {"min.insync.replicas": str(settings.topic_min_insync_replicas)} if settings.topic_min_insync_replicas else {}
    )
    # Alert topics (`alerts` and the rules' own, named `alerts.*`) keep their own retention: subscribers replay them.
    alerts = {**config, "retention.ms": str(settings.alerts_retention_hours * 3600 * 1000)}
    alert_topics = {name for name in names if name.split(".")[0] == settings.alerts_topic}
    return ensure_topics(
        settings.kafka_bootstrap,
        names,
        partitions=settings.topic_partitions,
        replication=settings.topic_replication_factor,
        configs={name: alerts if name in alert_topics else config for name in names},
    )
