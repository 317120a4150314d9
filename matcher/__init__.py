"""The rule language and matching engine: which events and actors an article mentions."""

from matcher.engine import EventMatch, Hit, Matcher
from matcher.rules import RuleSet, load_rules

__all__ = ["EventMatch", "Hit", "Matcher", "RuleSet", "load_rules"]
