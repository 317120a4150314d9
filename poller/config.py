"""``config/feeds.yaml``: the feeds to poll, validated into typed objects at load time."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from newswatch.core.yamlconf import ConfigError, line_of, load_model, read_yaml

_SLUG = re.compile(r"[^a-z0-9]+")
# A derived id: a readable slug of at most this many characters; a URL's (or a long name's) slug is cut shorter
# and followed by a hash of the whole, so two feeds never share an id however long their common prefix.
MAX_DERIVED_ID = 60
_HASH_CHARS = 10  # 40 bits: a collision among 10,000 feeds has odds of about 1 in 20,000
_LINE = re.compile(r"^.*?:(\d+)[:\s]")

# Whether an item's web page is read for its whole text (poller/teasers.py): "auto" when the feed's text is short.
FulltextMode = Literal["auto", "always", "never"]


class Defaults(BaseModel):
    """Values every feed takes unless it sets its own."""

    model_config = ConfigDict(extra="forbid")

    interval: Annotated[float, Field(gt=0, description="seconds between polls")] = 300.0
    tags: dict[str, str] = {}
    fulltext: FulltextMode = "auto"


class Feed(BaseModel):
    """One feed: where it is and the tags that travel with each of its articles."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="http(s):// URL, or a file path relative to the feeds file")
    id: str | None = None
    name: str | None = None
    interval: Annotated[float, Field(gt=0)] | None = None
    tags: dict[str, str] = {}
    enabled: bool = True
    fulltext: FulltextMode | None = None

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
                feed.id = default_id(feed.name, feed.url)
            feed.interval = feed.interval or self.defaults.interval
            feed.fulltext = feed.fulltext or self.defaults.fulltext
            feed.tags = {**self.defaults.tags, **feed.tags}
            if not feed.is_remote and base is not None:
                local = Path(feed.url.removeprefix("file://"))
                feed.url = str(local if local.is_absolute() else (Path(base).parent / local).resolve())
        return self


def default_id(name: str | None, url: str) -> str:
    """The id of a feed that sets none: its name as a lower-case slug, else a slug of its URL's host and path.

    A URL's user name, password, query and fragment never appear in the id (it becomes a metric label, a state
    key and part of every alert), but the query counts in the hash that ends it: ``rss?section=world`` and
    ``rss?section=sport`` are two feeds.
    """
    if name and (slug := _slug(name)):
        if len(slug) <= MAX_DERIVED_ID:
            return slug
        return _with_hash(slug, name)
    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if _port(parts) else "")
    visible = f"{host}{parts.path}"
    hidden = f"{parts.scheme}://{host}{parts.path}?{parts.query}"  # no userinfo: it names no different feed
    return _with_hash(_slug(visible) or "feed", hidden)


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def _port(parts: Any) -> int | None:
    try:
        return parts.port
    except ValueError:  # a port that is not a number: the URL validator reports it
        return None


def _with_hash(slug: str, basis: str) -> str:
    digest = hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    return f"{slug[: MAX_DERIVED_ID - _HASH_CHARS - 1].rstrip('-')}-{digest}"


def _raw_key(item: Any) -> str | None:
    """A feed's id as the file gives it, before validation (so duplicates are found even in an invalid file)."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("id"), str):
        return item["id"]
    url, name = item.get("url"), item.get("name")
    return default_id(name if isinstance(name, str) else None, url) if isinstance(url, str) else None


def _duplicate_ids(path: Path, data: Any) -> list[str]:
    """One ``file:line: feeds.N.id`` problem per feed whose id an earlier feed already has.

    Checked on the parsed YAML rather than in a pydantic validator: a model-level error has no location (the
    line of the second occurrence is what the person editing needs), and it is reported together with every
    other problem of the file instead of only once those are fixed.
    """
    feeds = data.get("feeds") if isinstance(data, dict) else None
    first: dict[str, int] = {}
    problems = []
    for index, item in enumerate(feeds if isinstance(feeds, list) else []):
        key = _raw_key(item)
        if key is None:
            continue
        if key in first:
            line = line_of(data, ["feeds", index, "id"] if "id" in item else ["feeds", index])
            other = line_of(data, ["feeds", first[key]])
            problems.append(
                f"{path}:{line}: feeds.{index}.id: duplicate feed id '{key}' (also feed {first[key]}"
                f"{f' at line {other}' if other else ''}); give one of them a distinct 'id'"
            )
        else:
            first[key] = index
    return problems


def _by_line(problem: str) -> int:
    match = _LINE.match(problem)
    return int(match.group(1)) if match else 0


def load_feeds(path: Path | str, *, check_files: bool = True) -> FeedsConfig:
    """Load and validate the feeds file; a duplicate id or a missing local feed file is an error naming it."""
    path = Path(path)
    duplicates = _duplicate_ids(path, read_yaml(path))
    try:
        config = load_model(path, FeedsConfig)
    except ConfigError as exc:
        raise ConfigError(path, sorted(exc.problems + duplicates, key=_by_line)) from None
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
