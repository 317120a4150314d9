"""The worker's input: a message on ``articles`` or on the matches topic, or the reason it is not usable.

Neither decoder raises, whatever the bytes (the agents dead-letter what they refuse, streams/deadletter.py). A
decoded article holds only the fields the worker reads, each of its type, within its byte cap (alerts/limits.py)
and free of lone surrogates, so that matching, alert building and every message sent after it cannot fail on it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from newswatch.alerts.limits import (
    MAX_FEED_ID_BYTES,
    MAX_FEED_TAG_BYTES,
    MAX_FEED_TAGS,
    MAX_ID_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_SHORT_BYTES,
    MAX_SOURCE_BYTES,
    MAX_TITLE_BYTES,
    MAX_URL_BYTES,
    clean_surrogates,
    clip,
    utf8_len,
)
from newswatch.matcher.compile import FIELDS

# The poller caps an article at well under 1 MB; anything bigger on the topic did not come from it.
MAX_ARTICLE_BYTES = 1_048_576
# A matches message is sent by a worker, which cannot send more than this (alerts/limits.py).
MAX_MATCHES_BYTES = MAX_MESSAGE_BYTES

# Every reason a message is refused: the values of the dead-letter metric's ``reason`` label and header.
REASONS = (
    "too_large",  # over MAX_ARTICLE_BYTES
    "not_json",  # not JSON, or not UTF-8/16/32
    "too_deep",  # JSON nested deeper than the parser's recursion limit
    "no_id",  # not an object, or no non-empty string ``id``
    "bad_field",  # a field of the wrong type
    "field_too_large",  # a field the worker copies into its messages over its byte cap (alerts/limits.py)
    "undecodable",  # anything else the decoder did not foresee
    "classify_failed",  # decoded, but matching or building its match messages raised
    "bad_match",  # a matches-topic message the route agent cannot read
)

# Metadata the worker copies into alerts: (name, byte cap). ``None`` is allowed for each, as the poller writes it.
# Over its cap, an identity (``id``, ``url``, ``feed_id``) is refused rather than cut, so that none is ever silently
# changed; display text (``title``, ``source``) is cut on a character boundary.
_META = (
    ("url", MAX_URL_BYTES),
    ("feed_id", MAX_FEED_ID_BYTES),
    ("published", MAX_SHORT_BYTES),
    ("fetched_at", MAX_SHORT_BYTES),
)
_DISPLAY = (("title", MAX_TITLE_BYTES), ("source", MAX_SOURCE_BYTES))
TEXT_SOURCES = ("feed", "page")  # the alert schema's enum


class Refused(ValueError):
    """A message is not usable; ``reason`` is one of REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _load(raw: bytes) -> tuple[Any, bool]:
    """The JSON value and whether its strings may hold lone surrogates.

    orjson parses strict UTF-8 JSON, which is what every producer writes, several times faster than ``json`` (a
    tenth of the worker's time went on decoding, issue 20), and refuses a lone surrogate, so its strings need no
    cleaning. Anything it refuses (``NaN``, a BOM, UTF-16, a ``"\\ud800"`` escape, nesting past 1,024) is read by
    ``json`` as before. One difference is kept: an integer beyond 64 bits comes back as a float.
    """
    try:
        return orjson.loads(raw), False
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw), True
    except RecursionError:
        raise Refused("too_deep") from None
    except (ValueError, UnicodeDecodeError):
        raise Refused("not_json") from None


def _text(value: Any, max_bytes: int | None = None, *, surrogates: bool = True) -> str:
    """A text field: falsy (missing, null, "", 0, [] as older producers wrote) is "", any other non-string refused;
    lone surrogates replaced unless the parser ruled them out (``surrogates=False``)."""
    if not value:
        return ""
    if not isinstance(value, str):
        raise Refused("bad_field")
    if surrogates:
        value = clean_surrogates(value)
    if max_bytes is not None and len(value) * 4 > max_bytes and utf8_len(value) > max_bytes:
        raise Refused("field_too_large")
    return value


def _optional(value: Any, max_bytes: int | None, surrogates: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused("bad_field")
    return _text(value, max_bytes, surrogates=surrogates) or None


def _feed_tags(value: Any, surrogates: bool) -> dict[str, str]:
    if not value:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise Refused("bad_field")
    if len(value) > MAX_FEED_TAGS:
        raise Refused("field_too_large")
    return {
        _text(k, MAX_FEED_TAG_BYTES, surrogates=surrogates): _text(v, MAX_FEED_TAG_BYTES, surrogates=surrogates)
        for k, v in value.items()
    }


def _article(raw: bytes | None) -> dict[str, Any]:
    raw = raw or b""
    if len(raw) > MAX_ARTICLE_BYTES:
        raise Refused("too_large")
    data, surrogates = _load(raw)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise Refused("no_id")
    article: dict[str, Any] = {"id": _text(data["id"], MAX_ID_BYTES, surrogates=surrogates)}
    # Only the fields the message has: the worker reads each with ``.get``, as it always has.
    for name in FIELDS:  # matched; only the title is copied into alerts (cut below)
        if name in data:
            article[name] = _text(data[name], surrogates=surrogates)
    for name, max_bytes in _META:
        if name in data:
            article[name] = _optional(data[name], max_bytes, surrogates)
    if "source" in data:
        article["source"] = _optional(data["source"], None, surrogates)
    for name, max_bytes in _DISPLAY:
        if article.get(name):
            article[name] = clip(article[name], max_bytes)
    if "text_source" in data:
        if data["text_source"] not in (*TEXT_SOURCES, None):
            raise Refused("bad_field")
        article["text_source"] = data["text_source"]
    if "feed_tags" in data:
        article["feed_tags"] = _feed_tags(data["feed_tags"], surrogates)
    return article


def decode_article(raw: bytes | None) -> tuple[dict[str, Any] | None, str]:
    """The article in a message and ``"ok"``, or None and the reason (one of REASONS) it is not usable.

    The article keeps only what the worker reads (``id``, the text fields, ``url``, ``source``, ``feed_id``,
    ``feed_tags``, ``published``, ``fetched_at``, ``text_source``) of those the message has, lone surrogates
    replaced by U+FFFD, ``title`` and ``source`` cut to their caps. Never raises.
    """
    try:
        return _article(raw), "ok"
    except Refused as refused:
        return None, refused.reason
    except Exception:  # noqa: BLE001 - a hostile message must never stop the agent; the reason says what to look at
        return None, "undecodable"


def _match(candidate: Any) -> dict[str, Any] | None:
    try:
        alert, story = candidate.get("alert"), candidate.get("story")
        options = candidate.get("options") or {}
        rule = alert.get("rule")
        ok = (
            isinstance(rule.get("id"), str)
            and 0 < utf8_len(rule["id"]) <= MAX_FEED_ID_BYTES
            and isinstance(alert.get("alert_id"), str)
            and isinstance(story, dict)
            and isinstance(story.get("fp"), int)
            and isinstance(options, dict)
            and (options.get("escalate") is None or isinstance(options["escalate"], dict))
            and (options.get("topic") is None or isinstance(options["topic"], str))
        )
    except Exception:  # noqa: BLE001 - not a dict where one is expected: the same answer as a wrong field
        return None
    return candidate if ok else None


def decode_matches(raw: bytes | None) -> list[dict[str, Any]] | None:
    """The matches in a matches-topic message, in order: ``{"matches": [match, ...]}`` as the classify agent
    writes it (agents/batch.py), or one match (``alert``, ``story``, ``options``) as workers before it did; None
    when it is not such a message or any match in it is not one. Never raises.

    The topic is internal, but a message from an older worker or another client must not stop the route agent
    any more than a bad article stops the classify agent.
    """
    try:
        if raw is None or len(raw) > MAX_MATCHES_BYTES:
            return None
        data, lenient = _load(raw)
        if lenient:  # workers write strict UTF-8 JSON; a lone surrogate in an alert would stop its send
            return None
        found = data["matches"] if isinstance(data, dict) and "matches" in data else [data]
        if not isinstance(found, list) or not found:
            return None
    except Exception:  # noqa: BLE001 - bad JSON, too deep: all one answer
        return None
    matches = [_match(candidate) for candidate in found]
    return None if any(match is None for match in matches) else matches  # type: ignore[return-value]
