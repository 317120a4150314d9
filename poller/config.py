"""``config/feeds.yaml``: the feeds to poll, validated into typed objects at load time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from newswatch.yamlconf import ConfigError, load_model

_SLUG = re.compile(r"[^a-z0-9]+")


class Defaults(BaseModel):
    """Values every feed takes unless it sets its own."""

    model_config = ConfigDict(extra="forbid")

    interval: Annotated[float, Field(gt=0, description="seconds between polls")] = 300.0
    tags: dict[str, str] = {}


class Feed(BaseModel):
    """One feed: where it is and the tags that travel with each of its articles."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="http(s):// URL, or a file path relative to the feeds file")
    id: str | None = None
    name: str | None = None
    interval: Annotated[float, Field(gt=0)] | None = None
    tags: dict[str, str] = {}
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if "://" in value and not value.startswith(("http://", "https://", "file://")):
            raise ValueError(f"unsupported URL scheme in '{value}'; use http://, https:// or a file path")
        return value

    @property
    def is_remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))


class FeedsConfig(BaseModel):
    """The whole feeds file: ``defaults`` and a list of ``feeds``."""

    model_config = ConfigDict(extra="forbid")

    defaults: Defaults = Defaults()
    feeds: list[Feed]

    @model_validator(mode="after")
    def _fill_in(self, info: ValidationInfo) -> FeedsConfig:
        base = (info.context or {}).get("path")
        seen: dict[str, int] = {}
        for index, feed in enumerate(self.feeds):
            if feed.id is None:
                feed.id = _SLUG.sub("-", (feed.name or feed.url).lower()).strip("-")[:60]
            if feed.id in seen:
                raise ValueError(
                    f"feeds.{index}.id: duplicate feed id '{feed.id}' (also feed {seen[feed.id]}); "
                    "give one of them a distinct 'id'"
                )
            seen[feed.id] = index
            feed.interval = feed.interval or self.defaults.interval
            feed.tags = {**self.defaults.tags, **feed.tags}
            if not feed.is_remote and base is not None:
                local = Path(feed.url.removeprefix("file://"))
                feed.url = str(local if local.is_absolute() else (Path(base).parent / local).resolve())
        return self


def load_feeds(path: Path | str, *, check_files: bool = True) -> FeedsConfig:
    """Load and validate the feeds file; a local feed file that does not exist is an error naming it."""
    config = load_model(path, FeedsConfig)
    if check_files:
        missing = [
            f"{path}: feed '{feed.id}': file {feed.url} does not exist; fix its 'url' or set 'enabled: false'"
            for feed in config.feeds
            if feed.enabled and not feed.is_remote and not Path(feed.url).exists()
        ]
        if missing:
            raise ConfigError(path, missing)
    return config
