"""The SAX reader feedparser's strict parser is built with: expat that refuses entity declarations.

feedparser strips a DOCTYPE's entity declarations only up to the first ``<\\w`` of the document, which a DTD
comment containing ``<x`` moves past them; whatever declarations it misses, expat expands (a "billion laughs"
grew a 2 MB feed into a 100 MB title and a 1 GB peak). Here expat refuses every declaration that could expand
into more than one character, wherever it sits and whatever the document's encoding, before any reference is
expanded. ``poller/parse.py`` points feedparser at this module (``xml.sax.make_parser`` imports it by name).
"""

from __future__ import annotations

import threading
from typing import Any
from xml.sax import SAXException
from xml.sax.expatreader import ExpatParser

# Set when the parser running in this thread refused a declaration: feedparser reports the refusal only as a
# parse error of its strict parser (and then tries its loose one), so parse.py asks here what happened.
_refused = threading.local()


class EntitiesRefused(SAXException):
    """The document declares an entity that could expand (a memory bomb, or an external file)."""


def single_character(value: str | None, system_id: str | None, is_parameter: bool) -> bool:
    """True for a declaration that names one character (``<!ENTITY nbsp "&#160;">``): it cannot expand."""
    return not is_parameter and system_id is None and value is not None and len(value) <= 1


class SafeExpatParser(ExpatParser):
    """expat as xml.sax uses it, with entity declarations refused (see the module docstring)."""

    def reset(self) -> None:
        """Make a fresh expat parser, then install the refusing handler (``reset`` replaces ``_parser``)."""
        super().reset()
        self._parser.EntityDeclHandler = self._entity_decl  # type: ignore[attr-defined]

    def _entity_decl(
        self,
        name: str,
        is_parameter: bool,
        value: str | None,
        base: str | None,
        system_id: str | None,
        public_id: str | None,
        notation: str | None,
    ) -> None:
        if single_character(value, system_id, bool(is_parameter)):
            return
        _refused.name = name
        raise EntitiesRefused(f"the document declares the XML entity '{name[:60]}'")


def create_parser(*args: Any, **kwargs: Any) -> SafeExpatParser:
    """The factory ``xml.sax.make_parser`` calls on a module named in its parser list."""
    return SafeExpatParser(*args, **kwargs)


def take_refusal() -> str | None:
    """The entity name the last parse in this thread refused, if any (and forget it)."""
    name = getattr(_refused, "name", None)
    _refused.name = None
    return name
