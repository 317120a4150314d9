"""``config/feeds.yaml``: the feeds to poll, validated into typed objects at load time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from newswatch.yamlconf import ConfigError, line_of, load_model, read_yaml

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
        if value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            if not parts.hostname or any(ch.isspace() for ch in value):
                raise ValueError(f"'{value}' is not a valid URL: it needs a host name and no spaces")
        return value

    @property
    def key(self) -> str:
        """The feed id (always set once the file is loaded)."""
        return self.id or ""

    @property
    def is_remote(self) -> bool:
        """True for http(s) feeds; False for a local file path named explicitly in the feeds file."""
        return self.url.startswith(("http://", "https://"))


class FeedsConfig(BaseModel):
    """The whole feeds file: ``defaults`` and a list of ``feeds``."""

    model_config = ConfigDict(extra="forbid")

    defaults: Defaults = Defaults()
    feeds: list[Feed]

    @model_validator(mode="after")
    def _fill_in(self, info: ValidationInfo) -> FeedsConfig:
        base = (info.context or {}).get("path")
        for feed in self.feeds:
            if feed.id is None:
                feed.id = _SLUG.sub("-", (feed.name or feed.url).lower()).strip("-")[:60]
            feed.interval = feed.interval or self.defaults.interval
            feed.tags = {**self.defaults.tags, **feed.tags}
            if not feed.is_remote and base is not None:
                local = Path(feed.url.removeprefix("file://"))
                feed.url = str(local if local.is_absolute() else (Path(base).parent / local).resolve())
        return self


def _duplicate_ids(path: Path, config: FeedsConfig) -> list[str]:
    """One ``file:line: feeds.N.id`` problem per feed whose id an earlier feed already has.

    Checked here rather than in a pydantic validator because a model-level error has no location,
    and the line of the second occurrence is what the person editing the file needs.
    """
    data = read_yaml(path)
    first: dict[str, int] = {}
    problems = []
    for index, feed in enumerate(config.feeds):
        if feed.key in first:
            line = line_of(data, ["feeds", index, "id"])
            other = line_of(data, ["feeds", first[feed.key]])
            problems.append(
                f"{path}:{line}: feeds.{index}.id: duplicate feed id '{feed.key}' (also feed {first[feed.key]}"
                f"{f' at line {other}' if other else ''}); give one of them a distinct 'id'"
            )
        else:
            first[feed.key] = index
    return problems


def load_feeds(path: Path | str, *, check_files: bool = True) -> FeedsConfig:
    """Load and validate the feeds file; a duplicate id or a missing local feed file is an error naming it."""
    path = Path(path)
    config = load_model(path, FeedsConfig)
    duplicates = _duplicate_ids(path, config)
    if duplicates:
        raise ConfigError(path, duplicates)
    if check_files:
        missing = [
            f"{path}: feed '{feed.id}': file {feed.url} does not exist; fix its 'url' or set 'enabled: false'"
            for feed in config.feeds
            if feed.enabled and not feed.is_remote and not Path(feed.url).exists()
        ]
        if missing:
            raise ConfigError(path, missing)
    return config
