"""The rule language as typed models: what a rules file may contain, checked field by field at load time.

A rules file holds any of three top-level keys: ``actors`` (who can be mentioned), ``lists`` (named term lists
that rules reuse) and ``events`` (what to detect). Cross-file checks (duplicate ids, references to lists and
actors) live in ``matcher.load``; this module checks what one file can check on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import re2
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from newswatch.matcher.topics import RuleTopics

Severity = Literal["info", "low", "medium", "high", "critical"]
Scope = Literal["title", "title_summary", "full"]
Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(value: object) -> object:
    """A rule file's duration ("30m", "2h", "1d") in seconds, converted once at load."""
    if isinstance(value, str):
        found = _DURATION.match(value.strip())
        if not found:
            raise ValueError(f"'{value}' is not a duration; write a number and a unit: 90s, 30m, 2h or 1d")
        return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    raise ValueError("write a duration as a number and a unit: 90s, 30m, 2h or 1d")


# Seconds, written in rule files as "30m", "2h", "1d" (suppress, escalate.within).
Duration = Annotated[float, BeforeValidator(_seconds)]

MIN_STEM = 3  # a stem shorter than this ("a*") would hit nearly every word of every article


class Strict(BaseModel):
    """Every rule model refuses unknown keys, so a misspelt key is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_phrase(text: str) -> str:
    """A phrase term: words, each optionally ending in ``*`` (a stem) with at least MIN_STEM letters before it."""
    words = text.split()
    if not words:
        raise ValueError("empty term; write at least one word")
    for word in words:
        if "*" in word.rstrip("*") or word.count("*") > 1:
            raise ValueError(f"'{word}': '*' may only end a word (a stem), as in 'mercenar*'")
        if word.endswith("*") and not word[-2:-1].isalnum():
            raise ValueError(f"'{word}': a stem ends in a letter or digit before '*'")
        if word.endswith("*") and len(word) - 1 < MIN_STEM:
            raise ValueError(f"stem '{word}' is too short; give at least {MIN_STEM} letters before '*'")
    return text


class CaseTerm(Strict):
    """A phrase with explicit case handling: ``{term: US, case: true}`` matches "US" but not "us"."""

    term: str
    case: bool = False

    @field_validator("term")
    @classmethod
    def _phrase(cls, value: str) -> str:
        return check_phrase(value)


class RegexTerm(Strict):
    """An RE2 regular expression (linear time), case-insensitive unless ``case: true``."""

    regex: str
    case: bool = False

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re2.compile(value)
        except re2.error as exc:
            why = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise ValueError(f"invalid RE2 regex: {why}; RE2 has no backreferences or lookaround") from None
        if re2.compile(value).search("") is not None:
            raise ValueError("this regex matches the empty string, so it would match every article")
        return value


def _term_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "phrase"
    if isinstance(value, dict):
        return "regex" if "regex" in value else "term"
    return None


def _phrase_str(value: str) -> str:
    if value.startswith("$"):
        if not LIST_REF.match(value):
            raise ValueError(f"'{value}' is not a list reference; write $name with a-z, 0-9 and _")
        return value
    return check_phrase(value)


LIST_REF = re.compile(r"^\$([a-z][a-z0-9_]*)$")
Phrase = Annotated[str, AfterValidator(_phrase_str)]
# A term: "phrase", "stem*", "$list_name" (a named list), {term: ..., case: true} or {regex: ...}.
Term = Annotated[
    Annotated[Phrase, Tag("phrase")] | Annotated[CaseTerm, Tag("term")] | Annotated[RegexTerm, Tag("regex")],
    Discriminator(_term_tag),
]


class ActorSelector(Strict):
    """Which actors a condition asks for: by id, by type, or either; ``within`` N words of the event terms."""

    id: str | list[str] | None = None
    type: str | list[str] | None = None
    within: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _something(self) -> ActorSelector:
        if self.id is None and self.type is None:
            raise ValueError("give the actor 'id' or 'type' (or both), e.g. {type: country}")
        return self

    @property
    def ids(self) -> list[str]:
        """The actor ids asked for (empty when only types are given)."""
        return [self.id] if isinstance(self.id, str) else list(self.id or [])

    @property
    def types(self) -> list[str]:
        """The actor types asked for."""
        return [self.type] if isinstance(self.type, str) else list(self.type or [])


class ActorItem(Strict):
    """An actor mention used as one side of ``near``: ``{actor: {type: country}}``."""

    actor: ActorSelector


def _item_tag(value: Any) -> str | None:
    if isinstance(value, dict) and value.keys() & Condition.model_fields.keys() - {"scope"}:
        return "condition"
    return _term_tag(value)


# An item of any/all/none: a term, or a nested condition block.
Item = Annotated[
    Annotated[Phrase, Tag("phrase")]
    | Annotated[CaseTerm, Tag("term")]
    | Annotated[RegexTerm, Tag("regex")]
    | Annotated["Condition", Tag("condition")],
    Discriminator(_item_tag),
]


def _near_tag(value: Any) -> str | None:
    if isinstance(value, list):
        return "group"
    if isinstance(value, dict) and "actor" in value:
        return "actor"
    return _term_tag(value)


# One side of ``near``: a term, a list of terms (or "$list"), or an actor selector.
NearSide = Annotated[
    Annotated[Phrase, Tag("phrase")]
    | Annotated[CaseTerm, Tag("term")]
    | Annotated[RegexTerm, Tag("regex")]
    | Annotated[list[Term], Tag("group")]
    | Annotated[ActorItem, Tag("actor")],
    Discriminator(_near_tag),
]


class Condition(Strict):
    """A condition block; every key given must hold (Sigma's implicit AND within a selection).

    ``any``: at least one item (at least ``min_hits`` term occurrences when given); ``all``: every item;
    ``none``: no item; ``near`` + ``within``: a hit of each side no more than ``within`` words apart;
    ``actor``: an actor of the given id/type is mentioned; ``scope``: which fields this block looks at.
    """

    any: list[Item] | None = None
    all: list[Item] | None = None
    none: list[Item] | None = None
    near: list[NearSide] | None = Field(default=None, min_length=2, max_length=2)
    within: int | None = Field(default=None, gt=0)
    min_hits: int | None = Field(default=None, gt=0)
    actor: ActorSelector | None = None
    scope: Scope | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Condition:
        if (self.near is None) != (self.within is None):
            raise ValueError("'near' and 'within' go together: near: [A, B], within: N (words)")
        if self.min_hits is not None and self.any is None:
            raise ValueError("'min_hits' counts the hits of 'any'; add an 'any' list")
        if all(getattr(self, key) is None for key in ("any", "all", "none", "near", "actor")):
            raise ValueError("a condition needs at least one of any, all, none, near, actor")
        return self


class Examples(Strict):
    """Snippets the rule must match and must not match; ``newswatch rules check`` runs them."""

    match: list[str | dict[str, str]] = []
    no_match: list[str | dict[str, str]] = []


class Escalate(Strict):
    """Raise an escalation alert when an event repeats often enough (the route agent counts, alerts/escalation.py)."""

    count: int = Field(gt=1, le=1000)  # alerts.escalation keeps the last 1,000 matches per rule
    distinct_sources: int | None = Field(default=None, gt=0)
    within: Duration
    severity: Severity
    per_actor: bool = False  # count separately for each actor the matches mention (near the evidence)


class Event(Strict):
    """An event to detect in articles, and how to recognise it."""

    id: Ident
    title: str
    category: str = "general"
    severity: Severity = "medium"
    description: str = ""
    tags: list[str] = []
    topic: str | None = None
    scope: Scope = "full"
    match: Condition
    examples: Examples = Examples()
    suppress: Duration | None = None
    escalate: Escalate | None = None

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The loader passes the deployment's topic names; without them, the defaults.
        topics = (info.context or {}).get("rule_topics") or RuleTopics()
        problem = topics.problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class Actor(Strict):
    """Someone or something articles mention: a state, a leader, an organisation, an armed group."""

    id: Ident
    name: str
    type: Annotated[str, Field(pattern=r"^[a-z][a-z_]*$")]
    aliases: list[Term] = []
    demonyms: list[Term] = []
    exclude: list[Term] = []

    @model_validator(mode="after")
    def _named(self) -> Actor:
        if not self.aliases and not self.demonyms:
            raise ValueError(f"actor '{self.id}' has no aliases or demonyms, so it can never be found")
        return self


class RuleFile(Strict):
    """One YAML file of the rule set; a rule set is any number of these."""

    actors: list[Actor] = []
    lists: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], list[Term]] = {}
    events: list[Event] = []


Condition.model_rebuild()


@dataclass
class RuleSet:
    """Every actor, named list and event of a rule set, with where each event was written."""

    events: list[Event] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)
    lists: dict[str, list[Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # event id -> "file:line:col"
    files: list[Path] = field(default_factory=list)
