"""One story, one alert: decide whether a match is a new story, a copy of one already alerted, or suppressed.

A story is the same when its URL is the same, its normalised title is the same, or its text's SimHash is within
a few bits of one already seen (syndicated copies, a re-published item with a new guid): what identifies an
article's story is computed by alerts.fingerprint.

The state lives in a key-value store (the route agent's Faust table, a dict in tests) as a few small entries per
rule rather than one value per rule: every write is one changelog message, and rewriting a whole rule's stories
on each match cost the worker most of its time under load (bench/RESULTS.md, "Burst"). Per rule ``R``:

- ``R|rule``: the rule's story counter, its oldest remembered story and the time of its last alert (``suppress``);
- ``R|slot|N``: one story (its alert id, URL, title, fingerprint, sources). Stories fill a ring of ``MAX_STORIES``
  slots, so the newest story evicts the oldest and a rule's state stays bounded whatever the news volume; stories
  older than the window are forgotten as new ones arrive.

A new story is two writes, an update one. The lookup of a rule's stories by URL, title and fingerprint
(:class:`StoryIndex`) is derived from its story records and kept in memory only: written to the table as well, it
was six more changelog messages per new story, three quarters of all the worker's writes, and the producer's
queue of them held every agent back (issue 20: p99 7 s at 250 articles/s with it, 0.2 s without). The index is
rebuilt from the records when the process starts, and whenever the rule's ``R|rule`` entry no longer matches the
index (another worker decided the rule's matches meanwhile, or a decision stopped half way). Its entries:

- ``R|urlh|H``, ``R|titleh|H``: the slot of the newest story seen with that URL or title, ``H`` a 128-bit hash of
  it;
- ``R|fp<i>|B``: the slots whose SimHash has ``B`` as its ``i``-th 16-bit band. Two hashes within 3 bits of each
  other share at least one of four bands (the pigeonhole principle), so these find every near-duplicate without
  comparing against every story.

State written by earlier versions also holds those index entries in the table (and, earlier still, ``R|url|U``
and ``R|title|T``): they are no longer read, and are deleted as their stories leave.

All keys of a rule are written while processing that rule's matches, so they share its partition.

Bounded in bytes, not only in count: keys are a rule id plus at most ~40 bytes; a story record holds its URL and
title (within the article caps of alerts/limits.py), at most ``MAX_SOURCES`` sources and ``MAX_SOURCES_BYTES`` of
them, and ``MAX_SEEN`` delivery hashes of 32 characters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from newswatch.alerts.fingerprint import SIMHASH_BITS
from newswatch.alerts.limits import MAX_SOURCES_BYTES

NEAR_DUPLICATE_BITS = 3  # texts whose fingerprints differ in at most this many bits are one story
BANDS = NEAR_DUPLICATE_BITS + 1  # so that a near-duplicate always shares a whole band
BAND_BITS = SIMHASH_BITS // BANDS
MAX_STORIES = 5_000  # per rule: the ring's size, the most stories remembered within the window
MAX_SOURCES = 50  # per story, listed in its record and in its update messages
MAX_SEEN = 200  # per story, the deliveries remembered (with their revision) to tell a redelivery from a new source
EXPIRE_PER_ALERT = 8  # expired stories forgotten per new story: more than one, so forgetting keeps up
MAX_BAND_SLOTS = 64  # per band value; more only when many distinct stories share 16 bits of fingerprint

Store = MutableMapping[str, Any]


@dataclass
class Decision:
    """What to do with one match.

    ``alert``: a new story; ``update``: a new source of a story already alerted (same alert id, next revision);
    ``resend``: this very delivery (same article from the same feed) was decided before, a redelivery after a
    crash, so send the message it got then again (same revision, same sources) rather than risk it having been
    lost; ``suppress``: inside the rule's suppress window.
    """

    action: Literal["alert", "update", "resend", "suppress"]
    alert_id: str
    revision: int = 0
    sources: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


def _titled(story: dict[str, Any]) -> bool:
    return len(story["title"] or "") > 20  # short titles ("Live updates") are shared by different stories


def _same_story(known: dict[str, Any], story: dict[str, Any]) -> bool:
    if story["url"] and known.get("url") == story["url"]:
        return True
    if _titled(story) and known.get("title") == story["title"]:
        return True
    return bin(known["fp"] ^ story["fp"]).count("1") <= NEAR_DUPLICATE_BITS


def _source(story: dict[str, Any]) -> dict[str, Any]:
    return {key: story[key] for key in ("source", "feed_id", "url", "article_id")}


def delivery_key(story: dict[str, Any]) -> str:
    """What makes a match a redelivery: the same article id *from the same feed*.

    The article id is feed-independent (a hash of the item's guid or URL), so that two feeds carrying one item
    are recognised as one story; the feed tells the second feed's copy (an ``update``) from a redelivery of the
    first one's message after a crash (a ``resend``).
    """
    return f"{story.get('article_id')}\x1f{story.get('feed_id') or story.get('source') or ''}"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _seen_key(story: dict[str, Any]) -> str:
    """The delivery key as a story record remembers it: hashed, so ``MAX_SEEN`` of them stay a few kB."""
    return _digest(delivery_key(story))


def _add_source(sources: list[dict[str, Any]], source: dict[str, Any]) -> list[dict[str, Any]]:
    """``sources`` with ``source`` added, unless it holds MAX_SOURCES already or more than MAX_SOURCES_BYTES (as
    JSON; so at most that plus one source, whose fields the article caps bound).

    Whether one is added depends on the list alone, never on the new source's size: once a story's list is full
    it stays as it is, so the sources of revision ``r`` are always the first ``r + 1`` (a ``resend`` relies on it).
    """
    if len(sources) >= MAX_SOURCES:
        return sources
    if len(json.dumps(sources, ensure_ascii=False).encode("utf-8", "surrogatepass")) > MAX_SOURCES_BYTES:
        return sources
    return [*sources, source]


def _seen_revision(known: dict[str, Any], story: dict[str, Any]) -> int | None:
    """The revision this delivery was decided as, when the story has seen it before."""
    keys = {_seen_key(story), delivery_key(story)}  # state written before kept the key itself
    for entry in known["seen"]:
        if isinstance(entry, list) and entry[0] in keys:
            return int(entry[1])
        # state written before deliveries were keyed by feed: a bare article id, its revision unknown
        if entry == story["article_id"]:
            return 0 if known["alert_id"] == story.get("alert_id") else int(known["revision"])
    return None


def _bands(fp: int) -> list[str]:
    mask = (1 << BAND_BITS) - 1
    return [f"fp{i}|{fp >> (i * BAND_BITS) & mask:04x}" for i in range(BANDS)]


def _index_keys(rule: str, story: dict[str, Any]) -> tuple[list[str], list[str]]:
    """A story's single-slot index keys (URL, title: hashed) and its band keys (lists of slots)."""
    single = [f"{rule}|urlh|{_digest(story['url'])}"] if story["url"] else []
    if _titled(story):
        single.append(f"{rule}|titleh|{_digest(story['title'])}")
    return single, [f"{rule}|{band}" for band in _bands(story["fp"])]


def _legacy_keys(rule: str, story: dict[str, Any]) -> list[str]:
    """The URL and title keys state written before hashing used: evicted, never read or written."""
    single = [f"{rule}|url|{story['url']}"] if story["url"] else []
    if _titled(story):
        single.append(f"{rule}|title|{story['title']}")
    return single


def _candidates(index: Store, rule: str, story: dict[str, Any]) -> set[int]:
    single, bands = _index_keys(rule, story)
    slots = {slot for key in single if (slot := index.get(key)) is not None}
    for key in bands:
        slots.update(index.get(key) or ())
    return slots


def _unindex(store: Store, rule: str, slot: int, old: dict[str, Any]) -> None:
    """Drop the index entries of the story leaving ``slot`` (those that still point at it) from ``store``."""
    single, bands = _index_keys(rule, old)
    for key in single:
        if store.get(key) == slot:
            del store[key]
    for key in bands:
        known = store.get(key)
        if known is None:
            continue
        slots = [s for s in known if s != slot]
        if slots:
            store[key] = slots
        else:
            del store[key]


def _evict(store: Store, index: Store, rule: str, slot: int, old: dict[str, Any]) -> None:
    """Forget the story leaving ``slot`` in the index, and any index entries earlier versions wrote for it in the
    table (only read there, so a table without them costs no write)."""
    _unindex(index, rule, slot, old)
    _unindex(store, rule, slot, old)
    for key in _legacy_keys(rule, old):
        if store.get(key) == slot:
            del store[key]


def _index(index: Store, rule: str, slot: int, record: dict[str, Any]) -> None:
    single, bands = _index_keys(rule, record)
    for key in single:
        index[key] = slot
    for key in bands:
        index[key] = [*(s for s in index.get(key) or () if s != slot), slot][-MAX_BAND_SLOTS:]


def _remember(store: Store, index: Store, rule: str, slot: int, record: dict[str, Any]) -> None:
    old = store.get(f"{rule}|slot|{slot}")
    if old is not None:
        _evict(store, index, rule, slot, old)
    store[f"{rule}|slot|{slot}"] = record
    _index(index, rule, slot, record)


def _expire(store: Store, index: Store, rule: str, state: dict[str, Any], now: float, window: float) -> None:
    """Forget the rule's oldest stories once they are older than the window (a few per call, oldest first).

    Without this a quiet rule would keep up to ``MAX_STORIES`` stories however old; with it, a rule's state is what
    the window holds, so memory levels off after one window instead of growing until every ring is full.
    """
    oldest, seq = state.get("oldest", 0), state.get("seq", 0)
    for _ in range(EXPIRE_PER_ALERT):
        if oldest >= seq:
            break
        slot = oldest % MAX_STORIES
        record = store.get(f"{rule}|slot|{slot}")
        if record is not None and record["seq"] == oldest:
            if now - record["first_seen"] <= window:
                break
            _evict(store, index, rule, slot, record)
            del store[f"{rule}|slot|{slot}"]
        oldest += 1
    state["oldest"] = oldest


def _version(state: dict[str, Any] | None) -> tuple[int, int]:
    """What changes in ``R|rule`` whenever the rule's index would: a story added (seq) or forgotten (oldest)."""
    state = state or {}
    return state.get("seq", 0), state.get("oldest", 0)


class StoryIndex:
    """Each rule's lookup of its stories by URL, title and fingerprint band, derived from the story records in the
    store and kept in memory (see the module's docstring). One per store; the route agent keeps one for its
    table."""

    def __init__(self) -> None:
        self._rules: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}

    def of(self, store: Store, rule: str, state: dict[str, Any] | None) -> dict[str, Any]:
        """The index of ``rule`` matching its ``state`` (``R|rule``), rebuilt from its story records if it does not."""
        version = _version(state)
        cached = self._rules.get(rule)
        if cached is not None and cached[0] == version:
            return cached[1]
        index: dict[str, Any] = {}
        seq, oldest = version
        for number in range(max(oldest, seq - MAX_STORIES), seq):  # oldest first: newer stories win a shared key
            slot = number % MAX_STORIES
            record = store.get(f"{rule}|slot|{slot}")
            if record is not None and record.get("seq") == number:
                _index(index, rule, slot, record)
        self._rules[rule] = (version, index)
        return index

    def changing(self, rule: str) -> None:
        """The rule's index and state are about to change: until :meth:`changed`, the index is not trusted (a
        decision that stops half way leaves it to be rebuilt)."""
        self._rules.pop(rule, None)

    def changed(self, rule: str, state: dict[str, Any], index: dict[str, Any]) -> None:
        """The rule's index after a change, matching its new ``state``."""
        self._rules[rule] = (_version(state), index)

    def clear(self) -> None:
        """Forget every index (they are rebuilt on use)."""
        self._rules.clear()


def decide(
    store: Store,
    rule: str,
    *,
    alert_id: str,
    story: dict[str, Any],
    now: float,
    window: float,
    suppress: float | None = None,
    index: StoryIndex | None = None,
) -> Decision:
    """Decide for one match of ``rule``, updating that rule's entries in ``store``.

    ``story``: from ``story_of(article)``; ``window``: seconds a story is remembered; ``suppress``: after an alert,
    seconds in which new stories of the same rule are not alerted (ElastAlert's ``realert``); ``index``: the
    store's :class:`StoryIndex` (without one, the rule's index is rebuilt for this call). Entries are replaced,
    never mutated in place: an assignment is what writes a Faust table's changelog.
    """
    index = index if index is not None else StoryIndex()
    state = dict(store.get(f"{rule}|rule") or {})
    lookup = index.of(store, rule, state)
    source = _source(story)
    known_stories = []
    for slot in _candidates(lookup, rule, story):
        known = store.get(f"{rule}|slot|{slot}")
        if known is not None and now - known["first_seen"] <= window:
            known_stories.append((known["seq"], slot, known))
    for _, slot, known in sorted(known_stories, key=lambda item: item[0]):  # oldest story first
        revision = _seen_revision(known, {**story, "alert_id": alert_id})
        if revision is not None:
            # The message this delivery got the first time: its revision and the sources listed then, so one
            # (alert id, revision) never names two different articles.
            sources = known["sources"][: revision + 1]
            return Decision("resend", known["alert_id"], revision, sources, "redelivered")
        if _same_story(known, story):
            revision = known["revision"] + 1
            known = {
                **known,
                "sources": _add_source(known["sources"], source),
                "seen": [*known["seen"], [_seen_key(story), revision]][-MAX_SEEN:],
                "revision": revision,
            }
            store[f"{rule}|slot|{slot}"] = known
            return Decision("update", known["alert_id"], known["revision"], known["sources"], "same_story")
    last = state.get("last_alert_at")
    if suppress and last is not None and now - last < suppress:
        return Decision("suppress", alert_id, 0, [source], "suppress_window")
    seq = state.get("seq", 0)
    record = {
        "seq": seq,
        "alert_id": alert_id,
        "url": story["url"],
        "title": story["title"],
        "fp": story["fp"],
        "first_seen": now,
        "revision": 0,
        "sources": [source],
        "seen": [[_seen_key(story), 0]],
    }
    index.changing(rule)
    _expire(store, lookup, rule, state, now, window)
    _remember(store, lookup, rule, seq % MAX_STORIES, record)
    # the ring may just have overwritten the oldest story: it is no longer there to expire
    state["oldest"] = max(state["oldest"], seq + 1 - MAX_STORIES)
    state = {**state, "seq": seq + 1, "last_alert_at": now}
    store[f"{rule}|rule"] = state
    index.changed(rule, state, lookup)
    return Decision("alert", alert_id, 0, [source], "new_story")
