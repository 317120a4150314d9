"""Faust agents and timers, one module each; importing this package registers them with ``streams.app.app``."""

from agents import classify, lag

__all__ = ["classify", "lag"]
