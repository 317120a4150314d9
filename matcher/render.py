"""Show a person what the matcher found: events, evidence with the matched words highlighted, actors."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from newswatch.core.console import terminal_safe
from newswatch.matcher.engine import Analysis, Hit

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
CONTEXT = 80  # characters shown either side of a hit


def plain(text: object, style: str = "") -> Text:
    """Feed or rule text for the console: a ``Text``, so ``[bold]`` in it is shown, not read as rich markup, and
    ``terminal_safe``, so its control characters cannot drive the terminal."""
    return Text(terminal_safe(text), style=style)


def highlighted(text: str, hits: list[Hit], start: int, end: int) -> Text:
    """``text[start:end]`` with every hit inside it in bold reverse.

    Each slice is made safe on its own: the hits' offsets are into the raw text, and making it safe may drop
    characters (bidi overrides).
    """
    out = Text()
    pos = start
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start < pos or hit.end > end:
            continue
        out.append(plain(text[pos : hit.start]))
        out.append(plain(text[hit.start : hit.end], style="bold reverse"))
        pos = hit.end
    out.append(plain(text[pos:end]))
    return out


def _word_bounds(text: str, lo: int, hi: int, first: int, last: int) -> tuple[int, int]:
    """``lo``/``hi`` moved inwards to whole words (never past the hits ``first``..``last``), so a passage does not
    start with the tail of a cut word ("used Russia of" from "accused") or end with the head of one."""
    if lo > 0 and not text[lo - 1].isspace():
        space = next((i for i in range(lo, first) if text[i].isspace()), None)
        lo = first if space is None else space + 1
    if hi < len(text) and not text[hi].isspace():
        space = next((i for i in range(hi - 1, last - 1, -1) if text[i].isspace()), None)
        hi = last if space is None else space
    return lo, hi


def _passages(fields: dict[str, str], hits: list[Hit]) -> list[tuple[str, Text]]:
    """Merge hits that are close together into passages, so a sentence with three hits is shown once."""
    passages = []
    by_field: dict[str, list[Hit]] = {}
    for hit in hits:
        by_field.setdefault(hit.field, []).append(hit)
    for field, found in by_field.items():
        text = fields[field]
        found.sort(key=lambda h: h.start)
        group = [found[0]]
        for hit in [*found[1:], None]:
            if hit is not None and hit.start - group[-1].end <= 2 * CONTEXT:
                group.append(hit)
                continue
            lo, hi = max(0, group[0].start - CONTEXT), min(len(text), group[-1].end + CONTEXT)
            lo, hi = _word_bounds(text, lo, hi, group[0].start, group[-1].end)
            passages.append((field, highlighted(text, group, lo, hi)))
            if hit is not None:
                group = [hit]
    return passages


def terms_as_written(hits: list[Hit], origins: dict[str, str]) -> list[str]:
    """The rule's terms that hit, as the rule names them: a term reached through a list shows as that list, with
    the words it found (``$attack_words (hit, strike)``), not as the list's member (an unreadable regex)."""
    direct: set[str] = set()
    via: dict[str, set[str]] = {}
    for hit in hits:
        origin = origins.get(hit.pattern)
        if origin is None:
            direct.add(hit.pattern)
        else:
            via.setdefault(origin, set()).add(hit.term.lower())
    listed = [f"{name} ({', '.join(sorted(found))})" for name, found in via.items()]
    return sorted(direct, key=str.lower) + sorted(listed)


def show(
    console: Console,
    article: dict[str, Any],
    analysis: Analysis,
    fields: dict[str, str],
    origins: dict[str, str] | None = None,
) -> None:
    """Print the events found in ``article`` with highlighted evidence, then its actors.

    ``origins``: label -> list name (``Compiled.origins``), so terms found through a list are shown as that list.
    """
    console.print(plain(article.get("title") or "(no title)", style="bold"))
    if not analysis.events:
        console.print("[dim]no event matched[/dim]")
    for event in analysis.events:
        rule = event.rule
        style = SEVERITY_STYLE.get(rule.severity, "")
        heading = Text(rule.severity.upper(), style=style) + plain(f" {rule.id}: {rule.title}  score {event.score}")
        console.rule(heading)
        terms = terms_as_written(event.hits, origins or {})
        tags = ", ".join(rule.tags) or "-"
        console.print(plain(f"terms: {', '.join(terms)}   tags: {tags}   topic: {rule.topic or '-'}"))
        for field, passage in _passages(fields, event.hits):
            console.print(plain(f"  [{field}] ", style="dim") + passage)
        near = [f"{a.name} ({a.count})" for a in event.actors if a.near]
        if near:
            console.print(plain(f"actors near the evidence: {', '.join(near)}"))
    if analysis.actors:
        table = Table("actor", "type", "mentions", title="actors mentioned", title_justify="left")
        for actor in analysis.actors:
            table.add_row(plain(f"{actor.name} ({actor.id})"), plain(actor.type), str(actor.count))
        console.print(table)
