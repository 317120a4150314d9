"""Deployment settings, read from the environment (prefix ``NEWSWATCH_``) with defaults that run locally."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where Kafka is, what the topics are called and where the config files live."""

    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    articles_topic: str = "articles"
    alerts_topic: str = "alerts"
    app_id: str = "newswatch"
    feeds_file: Path = ROOT / "config" / "feeds.yaml"
    rules_path: Path = ROOT / "config" / "rules"
    # Faust keeps its local table state here; one folder per worker process.
    data_dir: Path = ROOT / ".cache" / "faust"
    worker_web_port: int = 6066
    worker_web_host: str = "127.0.0.1"
    topic_partitions: int = 1
    # Matches of one rule for the same story within this many seconds raise one alert (later sources: updates).
    story_window_seconds: float = 86_400.0
    # "at_least_once" (default; duplicates keep their alert_id) or "exactly_once" (Kafka transactions).
    processing_guarantee: str = "at_least_once"
    # Malformed article messages are copied here (empty: only logged and counted).
    dead_letter_topic: str = "articles.dead-letter"
    # The poller: its state topic, metrics port and fetch limits.
    feed_state_topic: str = "feed-state"
    poller_metrics_port: int = 9101
    poller_metrics_host: str = "127.0.0.1"
    poller_concurrency: int = 20
    poller_max_bytes: int = 10 * 1024 * 1024
    poller_refuse_private: bool = False


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
