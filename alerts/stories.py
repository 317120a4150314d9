"""One story, one alert: decide whether a match is a new story, a copy of one already alerted, or suppressed.

A story is the same when its URL is the same, its normalised title is the same, or its text's SimHash is within
a few bits of one already seen (syndicated copies, a re-published item with a new guid). The state for one rule is
a small JSON-able dict kept in a Faust table keyed by rule id, so it survives restarts through the changelog.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

_WORD = re.compile(r"\w+", re.UNICODE)
SIMHASH_BITS = 64
NEAR_DUPLICATE_BITS = 3  # texts whose fingerprints differ in at most this many bits are one story
MAX_STORIES = 2_000  # per rule, within the window; bounds the table value whatever the news volume
# A rule's state is one table value, and every change to it is one changelog message: Kafka refuses messages
# over 1 MB by default, and a refused changelog write crashes the worker on the same match again after every
# restart. Stories carry their sources, so 2,000 stories can pass that (a 50,000-article burst did, see
# bench/RESULTS.md "Burst"); the oldest stories are forgotten first to stay within this many bytes of JSON,
# which leaves room for the escalation state (alerts.escalation) in the same value.
MAX_STORIES_BYTES = 400_000


def simhash(text: str) -> int:
    """A 64-bit SimHash of the text's word 3-shingles (Charikar): near-identical texts get near-identical hashes."""
    words = [w.lower() for w in _WORD.findall(text)]
    shingles = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))] if words else []
    weights = [0] * SIMHASH_BITS
    for shingle in shingles:
        value = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        for bit in range(SIMHASH_BITS):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(SIMHASH_BITS) if weights[bit] > 0)


def title_key(title: str) -> str:
    """The title reduced to its lower-cased words, so punctuation and case changes are the same title."""
    return " ".join(w.lower() for w in _WORD.findall(title or ""))


def fingerprint_text(article: dict[str, Any]) -> str:
    """The part of an article that identifies the story: title and the start of its text."""
    body = article.get("content") or article.get("summary") or article.get("text") or ""
    return f"{article.get('title') or ''} {body[:2000]}"


def story_of(article: dict[str, Any]) -> dict[str, Any]:
    """What the dedup state needs of an article (small: it travels with every match and lives in a table)."""
    return {
        "article_id": article.get("id"),
        "url": article.get("url"),
        "title": title_key(article.get("title", "")),
        "fp": simhash(fingerprint_text(article)),
        "source": article.get("source"),
        "feed_id": article.get("feed_id"),
    }


@dataclass
class Decision:
    """What to do with one match.

    ``alert``: a new story; ``update``: a new source of a story already alerted (same alert id, next revision);
    ``resend``: this very match was decided before (a redelivery after a crash), so send the same message again
    rather than risk it having been lost; ``suppress``: inside the rule's suppress window.
    """

    action: Literal["alert", "update", "resend", "suppress"]
    alert_id: str
    revision: int = 0
    sources: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


def _same_story(known: dict[str, Any], story: dict[str, Any]) -> bool:
    if story["url"] and known.get("url") == story["url"]:
        return True
    if len(story["title"]) > 20 and known.get("title") == story["title"]:
        return True
    return bin(known["fp"] ^ story["fp"]).count("1") <= NEAR_DUPLICATE_BITS


def _source(story: dict[str, Any]) -> dict[str, Any]:
    return {key: story[key] for key in ("source", "feed_id", "url", "article_id")}


def decide(
    state: dict[str, Any],
    *,
    alert_id: str,
    story: dict[str, Any],
    now: float,
    window: float,
    suppress: float | None = None,
) -> Decision:
    """Decide for one match of one rule, updating ``state`` (that rule's table value) in place.

    ``story``: from ``story_of(article)``; ``window``: seconds a story is remembered; ``suppress``: after an alert,
    seconds in which new stories of the same rule are not alerted (ElastAlert's ``realert``).
    """
    stories: list[dict[str, Any]] = [s for s in state.get("stories", []) if now - s["first_seen"] <= window]
    source = _source(story)
    decision: Decision
    for known in stories:
        seen_ids = {s.get("article_id") for s in known["sources"]}
        if known["alert_id"] == alert_id or story["article_id"] in seen_ids:
            decision = Decision("resend", known["alert_id"], known["revision"], known["sources"], "redelivered")
            break
        if _same_story(known, story):
            known["sources"] = [*known["sources"], source][:50]
            known["revision"] += 1
            decision = Decision("update", known["alert_id"], known["revision"], known["sources"], "same_story")
            break
    else:
        last = state.get("last_alert_at")
        if suppress and last is not None and now - last < suppress:
            decision = Decision("suppress", alert_id, 0, [source], "suppress_window")
        else:
            stories.append(
                {
                    "alert_id": alert_id,
                    "url": story["url"],
                    "title": story["title"],
                    "fp": story["fp"],
                    "first_seen": now,
                    "revision": 0,
                    "sources": [source],
                }
            )
            state["last_alert_at"] = now
            decision = Decision("alert", alert_id, 0, [source], "new_story")
    state["stories"] = within_budget(stories[-MAX_STORIES:])
    return decision


def within_budget(stories: list[dict[str, Any]], budget: int = MAX_STORIES_BYTES) -> list[dict[str, Any]]:
    """The newest stories whose JSON fits in ``budget`` bytes (stories are kept oldest first)."""
    total, keep = 0, 0
    for story in reversed(stories):
        total += len(json.dumps(story)) + 1
        if total > budget:
            break
        keep += 1
    return stories[len(stories) - max(keep, 1) :]  # the story just decided is always kept
