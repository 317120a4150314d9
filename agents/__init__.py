"""Faust agents, one module each; importing this package registers them with ``streams.app.app``."""

from agents import classify

__all__ = ["classify"]
