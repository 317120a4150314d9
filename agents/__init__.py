"""Faust agents and timers, one module each; importing this package registers them with ``streams.app.app``.

Data flows one way: ``classify`` (articles -> matches, keyed by rule id) -> ``route`` (matches -> alert topics).
"""

from agents import classify, lag, reload, route

__all__ = ["classify", "lag", "reload", "route"]
