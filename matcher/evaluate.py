"""Decide a compiled condition on a scanned article; return the evidence (the hits that made it true).

``evaluate`` returns None when the condition is false, else the list of hits that satisfied it (empty for a
block true without evidence, such as a lone ``none``).
"""

from __future__ import annotations

from matcher.compile import Actors, Group, Node
from matcher.scan import RawHit, Scan


def _group(group: Group, scan: Scan, fields: frozenset[str]) -> list[RawHit]:
    found: list[RawHit] = []
    for tid in group:
        hits = scan.hits.get(tid)
        if hits:
            found.extend(h for h in hits if h[0] in fields)
    return found


def _item(item: Group | Node, scan: Scan, fields: frozenset[str]) -> list[RawHit] | None:
    if isinstance(item, Node):
        return evaluate(item, scan)
    hits = _group(item, scan, fields)
    return hits or None


def _side(side: Group | Actors, scan: Scan, fields: frozenset[str]) -> list[RawHit]:
    if isinstance(side, Actors):
        return [h for a in side.indices for h in scan.mentions.get(a, ()) if h[0] in fields]
    return _group(side, scan, fields)


def _near(node: Node, scan: Scan) -> list[RawHit] | None:
    assert node.near is not None
    left = _side(node.near[0], scan, node.fields)
    right = _side(node.near[1], scan, node.fields) if left else []
    found: set[RawHit] = set()
    for a in left:
        for b in right:
            gap = scan.gap(a, b)
            if gap is not None and gap <= node.within:
                found.update((a, b))
    return sorted(found) or None


def _actor(actors: Actors, scan: Scan, fields: frozenset[str], evidence: list[RawHit]) -> bool:
    mentions = [h for a in actors.indices for h in scan.mentions.get(a, ()) if h[0] in fields]
    if actors.within is None:
        return bool(mentions)
    return any((gap := scan.gap(m, e)) is not None and gap <= actors.within for m in mentions for e in evidence)


def evaluate(node: Node, scan: Scan) -> list[RawHit] | None:
    """The evidence that ``node`` holds in ``scan``'s article, or None when it does not."""
    evidence: list[RawHit] = []
    if node.any is not None:
        true = False
        for item in node.any:
            hits = _item(item, scan, node.fields)
            if hits is not None:
                true = True
                evidence.extend(hits)
        if not true or len(evidence) < node.min_hits:
            return None
    if node.all is not None:
        for item in node.all:
            hits = _item(item, scan, node.fields)
            if hits is None:
                return None
            evidence.extend(hits)
    if node.near is not None:
        hits = _near(node, scan)
        if hits is None:
            return None
        evidence.extend(hits)
    if node.none is not None and any(_item(item, scan, node.fields) is not None for item in node.none):
        return None
    if node.actor is not None and not _actor(node.actor, scan, node.fields, evidence):
        return None
    return evidence
