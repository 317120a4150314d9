"""What a list view shows: filters read from the URL's query string, and written back into it.

The URL carries every filter, so a view can be shared by its link. Values are cut to a sane length and unknown
severities dropped: the query string is whatever a link says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from newswatch.console.history import Story

SEVERITIES = ("info", "low", "medium", "high", "critical")  # the alert contract's, lowest first
MAX_VALUE = 200  # characters of one filter value
MAX_VALUES = 20  # values of one repeatable filter


def _clip(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip()[:MAX_VALUE] for v in values if v and v.strip()))[:MAX_VALUES]


def parse_time(value: str) -> datetime | None:
    """An ISO time (a ``datetime-local`` input's ``2026-12-06T10:30`` too, read as UTC), or None."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """The filters of one list view; empty fields filter nothing."""

    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    actor: str = ""
    source: str = ""
    since: str = ""
    until: str = ""
    text: str = ""
    page: int = 1
    _times: tuple[datetime | None, datetime | None] = field(default=(None, None), compare=False, repr=False)

    @classmethod
    def from_query(cls, query: Mapping[str, list[str]]) -> Filters:
        """The filters of a query string parsed into lists (``rule`` and ``severity`` repeat)."""

        def one(name: str) -> str:
            return (_clip(query.get(name, [])) or ("",))[0]

        try:
            page = max(1, min(10_000, int(one("page") or 1)))
        except ValueError:
            page = 1
        since, until = one("since"), one("until")
        return cls(
            rules=_clip(query.get("rule", [])),
            severities=tuple(s for s in _clip(query.get("severity", [])) if s in SEVERITIES),
            actor=one("actor"),
            source=one("source"),
            since=since,
            until=until,
            text=one("q"),
            page=page,
            _times=(parse_time(since) if since else None, parse_time(until) if until else None),
        )

    def query(self, *, page: int | None = None) -> str:
        """This view as a query string (``page`` replaced when given), for links that keep the filters."""
        pairs = [("rule", r) for r in self.rules] + [("severity", s) for s in self.severities]
        pairs += [
            (k, v)
            for k, v in (
                ("actor", self.actor),
                ("source", self.source),
                ("since", self.since),
                ("until", self.until),
                ("q", self.text),
            )
            if v
        ]
        page = self.page if page is None else page
        if page > 1:
            pairs.append(("page", str(page)))
        return urlencode(pairs)

    @property
    def active(self) -> bool:
        """True when any filter narrows the list."""
        return bool(self.rules or self.severities or self.actor or self.source or self.since or self.until or self.text)

    def keep(self, story: Story) -> bool:
        """True when ``story`` passes every filter."""
        rule, article = story.rule, story.article
        if self.rules and rule.get("id") not in self.rules:
            return False
        if self.severities and rule.get("severity") not in self.severities:
            return False
        if self.actor:
            wanted = self.actor.casefold()
            actors = story.alert.get("actors") or []
            names = [f"{a.get('id', '')} {a.get('name', '')}" for a in actors if isinstance(a, dict)]
            if not any(wanted in name.casefold() for name in names):
                return False
        if self.source:
            wanted = self.source.casefold()
            names = [str(s.get("source") or s.get("feed_id") or "") for s in story.sources]
            if not any(wanted in name.casefold() for name in [str(article.get("source") or ""), *names]):
                return False
        since, until = self._times
        if (self.since and since is None) or (self.until and until is None):
            return False  # an unreadable time shows nothing rather than silently everything
        if since or until:
            detected = parse_time(story.first_detected)
            if detected is None or (since and detected < since) or (until and detected > until):
                return False
        return not self.text or self.text.casefold() in searchable(story)


def searchable(story: Story) -> str:
    """The text free-text search looks in: title, rule, source and the evidence snippets, case-folded."""
    rule, article = story.rule, story.article
    parts = [article.get("title"), article.get("source"), rule.get("id"), rule.get("title")]
    parts += [m.get("snippet") for m in story.alert.get("matches") or [] if isinstance(m, dict)]
    return " ".join(str(p) for p in parts if p).casefold()
