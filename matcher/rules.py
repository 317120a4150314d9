"""Rule files: YAML validated into typed rules at load time (errors carry file and line)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from newswatch.yamlconf import load_model

Severity = Literal["info", "low", "medium", "high", "critical"]


class EventRule(BaseModel):
    """One event to detect: it matches when any of its keywords appears in the article."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    category: str = "general"
    severity: Severity = "medium"
    keywords: list[str] = Field(min_length=1)


class RuleSet(BaseModel):
    """Every event rule of one rules file."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventRule]


def load_rules(path: Path | str) -> RuleSet:
    """Load and validate a rules file."""
    return load_model(path, RuleSet)
