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
    topic_partitions: int = 1


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
