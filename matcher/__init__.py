"""The rule language and matching engine: which events and actors an article mentions."""

from newswatch.matcher.engine import ActorMention, Analysis, EventMatch, Hit, Matcher
from newswatch.matcher.load import load_rules
from newswatch.matcher.model import RuleSet

__all__ = ["ActorMention", "Analysis", "EventMatch", "Hit", "Matcher", "RuleSet", "load_rules"]
