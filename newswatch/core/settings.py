"""Deployment settings, read from the environment (prefix ``NEWSWATCH_``) with defaults that run locally."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def shipped(*parts: str) -> Path:
    """A file newswatch ships in its ``newswatch.config`` package data (the repository's ``config/``).

    Found through the package, not the checkout: the same call works in a checkout, an editable install and a
    plain ``pip install .`` (files on disk; zipped installs are not supported).
    """
    return Path(str(files("newswatch.config").joinpath(*parts)))


# Where the local broker, the worker's Faust folder and `newswatch run`'s logs live unless settings say otherwise:
# ./.cache of the directory newswatch runs in (the checkout, for `make run`), made absolute when settings are read:
# the broker's tools (Maven, Java) run in other directories.
STATE_DIR = Path(".cache")


class Settings(BaseSettings):
    """Where Kafka is, what the topics are called and where the config files live."""

    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    # How every Kafka client connects (newswatch/core/kafka_security.py, docs/deploy.md). PLAINTEXT suits the
    # embedded local broker; a real cluster takes SASL_SSL (SCRAM) or SSL with a client certificate (mTLS).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr | None = None  # or, better, a file only this service can read:
    kafka_sasl_password_file: Path | None = None
    kafka_ssl_cafile: Path | None = None  # the CA that signed the brokers' certificates (default: the system's)
    kafka_ssl_certfile: Path | None = None  # client certificate and key, for mTLS
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_check_hostname: bool = True
    # kafka-python's own log lines are shown from this level up (its refused connections repeat our errors).
    kafka_client_log_level: str = "CRITICAL"
    # Where `newswatch kafka up` / `make run` keep the local broker's jars, data and logs.
    local_kafka_dir: Path = Field(default_factory=lambda: (STATE_DIR / "kafka").resolve())
    articles_topic: str = "articles"
    alerts_topic: str = "alerts"
    app_id: str = "newswatch"
    feeds_file: Path = Field(default_factory=lambda: shipped("feeds.yaml"))
    rules_path: Path = Field(default_factory=lambda: shipped("rules"))
    # Faust keeps its local table state here; one folder per worker process (`newswatch worker --web-port N`
    # alone gives each worker on a host its own folder, see newswatch/cli.py).
    data_dir: Path = Field(default_factory=lambda: (STATE_DIR / "faust").resolve())
    worker_web_port: int = 6066
    worker_web_host: str = "127.0.0.1"
    # Seconds without a heartbeat before Kafka declares a worker dead and hands its partitions to the others:
    # how long a crashed worker's share waits. Faust's default.
    worker_session_timeout_seconds: float = 60.0
    # How long a worker's send may wait for the broker before it counts as failed; the worker then refuses to
    # commit past it, restarts and sends again (streams/delivery.py). Faust's default.
    worker_producer_timeout_seconds: float = 1200.0
    # The longest a worker's fetch waits at the broker for new data. Faust fixes it at 1,500 ms, and a consumer has
    # one fetch in flight per broker: one sent for idle partitions (a rule topic's quiet partitions, the table's
    # changelog) held back the busy ones' next records that long (issue 20: stalls of 1.5-4.5 s at 500 articles/s).
    worker_fetch_max_wait_ms: int = Field(default=100, ge=1, le=1500)
    # How long the worker's producer waits to fill a batch before sending it: fewer, larger produce requests.
    worker_producer_linger_ms: int = Field(default=0, ge=0, le=1000)
    # The classify agent sends the matches of a batch of articles together, one message per rule (agents/batch.py):
    # a batch closes when it holds this many articles or after the wait, whichever comes first. 1: one per match.
    worker_match_batch: int = Field(default=200, ge=1, le=10_000)
    worker_match_batch_wait_ms: int = Field(default=20, ge=1, le=1000)
    # Partitions of `articles`, `alerts`, the rule topics, the matches topic and the route-state table: the most
    # workers that can share the work. Every process of one deployment must use the same value (the table's
    # partitions must equal the matches topic's), and a topic's count only ever grows (see docs/scaling.md).
    # How long Kafka keeps alerts (`alerts` and the rules' `alerts.*` topics); subscribers can replay within it.
    alerts_retention_hours: int = 24 * 14
    topic_partitions: int = 8
    # Copies of each topic newswatch creates, and the in-sync copies an acks=all write needs (0: broker default).
    # One broker locally; a production cluster uses 3 and 2 (docker-compose.cluster.yml).
    topic_replication_factor: int = 1
    topic_min_insync_replicas: int = 0
    # Matches of one rule for the same story within this many seconds raise one alert (later sources: updates).
    story_window_seconds: float = 86_400.0
    # "at_least_once" (default; duplicates keep their alert_id) or "exactly_once" (Kafka transactions).
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    # Malformed article messages are copied here (empty: only logged and counted).
    dead_letter_topic: str = "articles.dead-letter"
    # The poller: its state topic, metrics port and fetch limits.
    feed_state_topic: str = "feed-state"
    poller_metrics_port: int = 9101
    poller_metrics_host: str = "127.0.0.1"
    poller_concurrency: int = 20
    poller_max_bytes: int = 10 * 1024 * 1024
    # Feeds and their redirects are third parties' URLs: hosts with a private, loopback, link-local or reserved
    # address are refused unless listed here ("host" or "host:port", comma-separated), e.g. an intranet feed.
    # Local file paths in the feeds file are not fetched over the network and need no entry.
    poller_refuse_private: bool = True
    poller_private_allowed: str = ""
    poller_user_agent: str = ""  # empty: newswatch's own, naming the tool (core/http.py USER_AGENT)
    poller_max_items_per_poll: int = 200  # new articles one feed produces per poll; the rest on the next polls
    # The full-text stage (`newswatch fulltext`, docs/fulltext.md): items whose feed gives only a teaser go to
    # teasers_topic; the stage reads each item's page and passes the article on to articles_topic.
    # false: the pollers send every item straight to articles_topic (no stage to run).
    fulltext_enabled: bool = True
    teasers_topic: str = "articles.teasers"
    fulltext_group: str = "newswatch-fulltext"
    fulltext_metrics_port: int = 9102
    fulltext_metrics_host: str = "127.0.0.1"
    fulltext_in_flight: int = 32  # articles whose page is being read at once, all hosts together
    fulltext_per_host: int = 2  # fetches at once to one host
    fulltext_host_interval_seconds: float = 1.0  # least time between two fetches started on one host
    fulltext_max_bytes: int = 5 * 1024 * 1024  # a page's size cap (decompressed)
    fulltext_deadline_seconds: float = 20.0  # one page fetch, redirects included
    fulltext_retries: int = 2  # further tries after a timeout, connection error, 429 or 5xx
    fulltext_extractors: int = 2  # processes extracting text (CPU-bound)
    fulltext_extract_timeout_seconds: float = 10.0  # one page's extraction; past it the process is replaced
    fulltext_extract_memory_bytes: int = 1024 * 1024 * 1024  # address-space cap of each extraction process
    fulltext_max_text_bytes: int = 200_000  # the extracted text kept (UTF-8)
    fulltext_user_agent: str = ""  # empty: newswatch's own (core/http.py USER_AGENT)
    # Page links come from third parties' feeds: private and local addresses are refused unless listed here
    # ("host" or "host:port", comma-separated), e.g. the sample pages `newswatch run` serves on 127.0.0.1:8766.
    fulltext_refuse_private: bool = True
    fulltext_private_allowed: str = ""
    # The notifier (`newswatch notify`, docs/notify.md): alerts from alerts_topic to the sinks notify_file routes
    # them to; what no sink accepted after its last try goes to notify_dead_letter_topic with the reason.
    notify_file: Path = Field(default_factory=lambda: shipped("notify.yaml"))
    notify_group: str = "newswatch-notify"
    notify_dead_letter_topic: str = "notify.dead-letter"
    notify_metrics_port: int = 9103
    notify_metrics_host: str = "127.0.0.1"
    notify_in_flight: int = 64  # alerts being delivered at once, all sinks together
    # where a notifier whose group has no committed offset starts: "latest" (a first start does not send the alert
    # topics' 14 days of history to people), or "earliest"
    notify_auto_offset_reset: Literal["latest", "earliest"] = "latest"
    # `newswatch run` starts a Prometheus on 127.0.0.1:9090 scraping poller and worker (false: you run your own).
    run_prometheus: bool = True
    # New feeds' first polls are spread over this many seconds when there are more than poller_concurrency of
    # them; fewer are polled at once.
    poller_start_spread_seconds: float = 60.0
    # The analyst's console (`newswatch console`, docs/console.md). Loopback by default: bound elsewhere it
    # refuses to start without a token or basic-auth credentials (console/security.py).
    console_host: str = "127.0.0.1"
    console_port: int = 8088
    console_history_size: int = 10_000  # stories kept in memory and read back from the alert topic at start
    console_group: str = "newswatch-console"  # the console's consumer group (its offsets show its lag)
    console_token: SecretStr | None = None  # `Authorization: Bearer <token>`, or as a basic-auth password
    console_token_file: Path | None = None
    console_user: str = ""  # basic auth: user and password (or a file holding the password)
    console_password: SecretStr | None = None
    console_password_file: Path | None = None
    # Analysts' verdicts, one per alert (key: alert_id), compacted so the latest verdict per alert stays.
    feedback_topic: str = "alert-feedback"

    @property
    def service_topics(self) -> list[str]:
        """The topics pollers and workers write to, created by whichever starts first (Faust makes its own)."""
        return [
            self.articles_topic,
            self.alerts_topic,
            *([self.teasers_topic] if self.fulltext_enabled else []),
            *([self.dead_letter_topic] if self.dead_letter_topic else []),
        ]

    @property
    def bootstrap_address(self) -> tuple[str, int]:
        """The first bootstrap server as (host, port): where a local broker is started when none answers."""
        first = self.kafka_bootstrap.split(",")[0].strip()
        host, _, port = first.rpartition(":")
        return host or "127.0.0.1", int(port or 9092)

    @property
    def worker_data_dir(self) -> Path:
        """This worker's own Faust folder: one per web port, so workers sharing a host never share a folder."""
        return self.data_dir / f"worker-{self.worker_web_port}"


class UnknownSetting(ValueError):
    """A ``NEWSWATCH_*`` environment variable that no setting reads: a typo would otherwise be silently ignored."""


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One message per ``NEWSWATCH_*`` variable in ``environ`` that is not a setting, with the likeliest fix."""
    known = {f"NEWSWATCH_{name.upper()}" for name in Settings.model_fields}
    problems = []
    for variable in sorted(name for name in environ if name.upper().startswith("NEWSWATCH_")):
        if variable.upper() in known:
            continue
        close = difflib.get_close_matches(variable.upper(), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else " (see README, Command and settings reference)"
        problems.append(f"{variable} is not a newswatch setting{hint}")
    return problems


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment; UnknownSetting for a misspelt variable."""
    problems = unknown_variables(os.environ)
    if problems:
        raise UnknownSetting("; ".join(problems))
    return Settings()
