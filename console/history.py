"""The alerts a console holds: one story per ``alert_id``, its updates folded in, at most ``limit`` stories.

Fed by the topic reader's thread and read by the web requests, so every access takes the lock. Memory is bounded
by the number of stories (each keeps only its latest revision's document and a capped source list); past the
limit the story detected longest ago goes first.
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from typing import Any

MAX_SOURCES = 50  # sources listed per story; a story reported by hundreds of feeds keeps the first ones


def _mapping(value: object) -> dict[str, Any]:
    # alerts come off a shared topic: a wrong shape is shown as missing rather than breaking the page
    return value if isinstance(value, dict) else {}


@dataclass
class Story:
    """One alert and its updates: the latest revision's document, every source seen, how many messages."""

    alert_id: str
    alert: dict[str, Any]
    first_detected: str
    order: int  # arrival number of the first message: ties of ``first_detected`` keep arrival order
    messages: int = 1
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``alert``, ``update`` or ``escalation`` (of the latest revision)."""
        return str(self.alert.get("kind") or "alert")

    @property
    def escalated(self) -> bool:
        """True for an escalation alert."""
        return self.kind == "escalation"

    @property
    def rule(self) -> dict[str, Any]:
        """The rule part of the alert (``id``, ``title``, ``severity``, ...), empty when missing."""
        return _mapping(self.alert.get("rule"))

    @property
    def article(self) -> dict[str, Any]:
        """The article part of the alert (``title``, ``url``, ``source``, ...), empty when missing."""
        return _mapping(self.alert.get("article"))

    @property
    def revision(self) -> int:
        """The latest revision seen."""
        revision = self.alert.get("revision")
        return revision if isinstance(revision, int) else 0

    def absorb(self, alert: dict[str, Any]) -> None:
        """Fold a further message of this story in: a higher revision replaces the document; sources add up."""
        self.messages += 1
        revision = alert.get("revision")
        if isinstance(revision, int) and revision >= self.revision:
            self.alert = alert
        self._add_sources(alert)

    def _add_sources(self, alert: dict[str, Any]) -> None:
        known = {(s.get("article_id"), s.get("url")) for s in self.sources}
        for source in alert.get("sources") or []:
            source = _mapping(source)
            key = (source.get("article_id"), source.get("url"))
            if source and key not in known and len(self.sources) < MAX_SOURCES:
                known.add(key)
                self.sources.append(source)


def new_story(alert: dict[str, Any], order: int) -> Story:
    """A story started by ``alert`` (its first message read)."""
    story = Story(
        alert_id=str(alert["alert_id"]),
        alert=alert,
        first_detected=str(alert.get("detected_at") or ""),
        order=order,
    )
    story._add_sources(alert)
    return story


class AlertHistory:
    """At most ``limit`` stories, keyed by ``alert_id``; ``version`` changes on every change (for live pages)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._stories: dict[str, Story] = {}
        # History is read from several partitions, so stories do not arrive in time order: a heap finds the one
        # detected longest ago to evict, and the newest-first list is sorted once per change, not per request.
        self._oldest: list[tuple[str, int, str]] = []
        self._sorted: tuple[int, list[Story]] = (-1, [])
        self._lock = threading.Lock()
        self._arrivals = 0
        self.version = 0
        self.ready = False  # set by the reader once the history on the topic is read

    def __len__(self) -> int:
        with self._lock:
            return len(self._stories)

    def add(self, alert: dict[str, Any]) -> Story | None:
        """Fold ``alert`` in; None (ignored) for a document without an ``alert_id``."""
        alert_id = alert.get("alert_id")
        if not isinstance(alert_id, str) or not alert_id:
            return None
        with self._lock:
            self._arrivals += 1
            story = self._stories.get(alert_id)
            if story is not None:
                story.absorb(alert)
            else:
                story = new_story(alert, self._arrivals)
                self._stories[alert_id] = story
                heapq.heappush(self._oldest, (story.first_detected, story.order, alert_id))
                while len(self._stories) > self.limit:
                    _, _, gone = heapq.heappop(self._oldest)
                    self._stories.pop(gone, None)
            self.version += 1
            return story

    def get(self, alert_id: str) -> Story | None:
        """The story of ``alert_id``, or None."""
        with self._lock:
            return self._stories.get(alert_id)

    def newest_first(self) -> list[Story]:
        """Every story, the newest first detected first (a shared list: do not change it)."""
        with self._lock:
            version, stories = self._sorted
            if version != self.version:
                stories = sorted(self._stories.values(), key=lambda s: (s.first_detected, s.order), reverse=True)
                self._sorted = (self.version, stories)
            return stories
